// Fused ops (linear, recurrent cells, softmax cross-entropy): equal to their composites (values and
// gradients), gradchecked to first and second order, with broadcasting, reuse and error cases. The
// composites are nn's: the reference cells of nn/reference_cells.h and nll_loss of log_softmax.
#include <algorithm>
#include <cmath>
#include <tuple>

#include "nn/nn.h"
#include "test_util.h"

using namespace ag;

namespace {

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

// The reference cells of nn/ (plain ops) that the fused ops are checked against.
namespace ref = nn::reference;

// The identity [n, n]: a reference cell with W_ih = I and no b_ih takes x as its input gates x W_ih^T + b_ih
// (exactly: each product is one term times 1 plus zeros), which is what the *_gates ops take.
Tensor eye(std::int64_t n) {
  const Tensor e = zeros({n, n}, kFloat64);
  for (std::int64_t i = 0; i < n; ++i) e.data<double>()[i * (n + 1)] = 1.0;
  return e;
}

// -log_softmax picked at the target, with nn's ops: nll_loss of log_softmax, unreduced.
Tensor composed_cross_entropy(const Tensor& z, const Tensor& target) {
  return nn::functional::nll_loss(log_softmax(z, 1), target, nn::Reduction::None);
}

Tensor both(const std::tuple<Tensor, Tensor>& hc) { return cat({std::get<0>(hc), std::get<1>(hc)}, 1); }

}  // namespace

TEST_CASE("linear: equals x W^T + b in values and gradients, for 1-D, 2-D and 3-D inputs") {
  const Tensor w = agt::input({3, 4}, 0.7), b = agt::input({3}, 1.9);
  for (const Shape& xs : {Shape{4}, Shape{5, 4}, Shape{2, 5, 4}}) {
    CAPTURE(shape_str(xs));
    const Tensor x = agt::input(xs, 0.2);
    agt::check_same_function([](const auto& v) { return linear(v[0], v[1], v[2]); },
                             [](const auto& v) { return ref::linear(v[0], v[1], v[2]); }, {x, w, b});
    agt::check_same_function([](const auto& v) { return linear(v[0], v[1]); },
                             [](const auto& v) { return ref::linear(v[0], v[1]); }, {x, w});
    agt::check_both_orders([](const auto& v) { return linear(v[0], v[1], v[2]); }, {x, w, b});
  }
  // hand-computed: [1, 2] [[1, 0], [2, -1], [0, 3]]^T + [0.5, 0, -1] = [1.5, 0, 5]
  const Tensor y = linear(tensor({1, 2}, {1, 2}, kFloat64), tensor({1, 0, 2, -1, 0, 3}, {3, 2}, kFloat64),
                          tensor({0.5, 0, -1}, {3}, kFloat64));
  CHECK(y.shape() == Shape{1, 3});
  agt::check_values(y, {1.5, 0.0, 5.0});
  // float32, and the reuse case linear(x, x, b) with x square
  agt::check_values(linear(tensor({1, 2}, {1, 2}), tensor({1, 0, 2, -1}, {2, 2}), tensor({1, 1}, {2})), {2.0, 1.0});
  const Tensor sq = agt::input({3, 3}, 2.1);
  agt::check_same_function([](const auto& v) { return linear(v[0], v[0], v[1]); },
                           [](const auto& v) { return ref::linear(v[0], v[0], v[1]); }, {sq, b});
  agt::check_both_orders([](const auto& v) { return linear(v[0], v[0], v[1]); }, {sq, b});
}

TEST_CASE("linear: zero-size dims and one recorded op") {
  const Tensor b = tensor({1, 2}, {2}, kFloat64);
  agt::check_values(linear(zeros({3, 0}, kFloat64), zeros({2, 0}, kFloat64), b), {1, 2, 1, 2, 1, 2});
  agt::check_values(linear(zeros({3, 0}, kFloat64), zeros({2, 0}, kFloat64)), std::vector<double>(6, 0.0));
  CHECK(linear(zeros({0, 4}, kFloat64), zeros({2, 4}, kFloat64), b).shape() == Shape{0, 2});
  const Tensor x = agt::input({2, 3}), w = agt::input({4, 3});
  const auto before = Tape::current().num_nodes();
  Tensor y = linear(x, w, agt::input({4}));
  CHECK(Tape::current().num_nodes() == before + 1);
}

TEST_CASE("linear: misuse throws naming the op, the shapes and the dtypes") {
  const Tensor x = zeros({2, 3}, kFloat64), w = zeros({4, 3}, kFloat64);
  CHECK_THROWS_AS(linear(x, zeros({4, 2}, kFloat64)), Error);
  CHECK(agt::error_message([&] {
          linear(x, zeros({4, 2}, kFloat64));
        }).find("linear: expects input [..., in] and weight [out, in], got float64[2, 3]") == 0);
  CHECK_THROWS_AS(linear(x, zeros({4, 3})), Error);
  CHECK(agt::error_message([&] { linear(x, zeros({4, 3})); }).find("float32") != std::string::npos);
  CHECK_THROWS_AS(linear(x, w, zeros({3}, kFloat64)), Error);
  CHECK(agt::error_message([&] { linear(x, w, zeros({3}, kFloat64)); }).find("linear: bias must be [4]") == 0);
  CHECK_THROWS_AS(linear(x, w, zeros({4})), Error);
  CHECK_THROWS_AS(linear(x, zeros({3}, kFloat64)), Error);
  CHECK_THROWS_AS(linear(scalar_tensor(1.0, kFloat64), w), Error);
  CHECK_THROWS_AS(linear(zeros({2, 3}, kInt64), zeros({4, 3}, kInt64)), Error);
  CHECK_THROWS_AS(linear(Tensor(), w), Error);
}

TEST_CASE("rnn_tanh_cell and rnn_relu_cell: equal the composite, gradchecked with reuse across time") {
  const Tensor x = agt::input({3, 2}, 0.1), h = agt::input({3, 4}, 0.9, 0.5);
  const Tensor wi = agt::input({4, 2}, 1.3), wh = agt::input({4, 4}, 2.2, 0.6), bi = agt::input({4}, 0.4, 0.3),
               bh = agt::input({4}, 3.1, 0.3);
  agt::check_same_function([](const auto& v) { return rnn_tanh_cell(v[0], v[1], v[2], v[3], v[4], v[5]); },
                           [](const auto& v) { return ref::rnn_cell(v[0], v[1], v[2], v[3], v[4], v[5]); },
                           {x, h, wi, wh, bi, bh});
  agt::check_same_function([](const auto& v) { return rnn_relu_cell(v[0], v[1], v[2], v[3], v[4], v[5]); },
                           [](const auto& v) {
                             return ref::rnn_cell(v[0], v[1], v[2], v[3], v[4], v[5], nn::Nonlinearity::ReLU);
                           },
                           {x, h, wi, wh, bi, bh});
  agt::check_same_function([](const auto& v) { return rnn_tanh_cell(v[0], v[1], v[2], v[3]); },
                           [](const auto& v) { return ref::rnn_cell(v[0], v[1], v[2], v[3]); }, {x, h, wi, wh});
  // hand-computed: tanh(1 * 0.5 + 0 + 1 * 2 + 0.25) = tanh(2.75), relu(-1 * 0.5 + 2 * 0.1) = 0
  agt::check_values(rnn_tanh_cell(tensor({1}, {1, 1}, kFloat64), tensor({1}, {1, 1}, kFloat64),
                                  tensor({0.5}, {1, 1}, kFloat64), tensor({2}, {1, 1}, kFloat64),
                                  tensor({0.25}, {1}, kFloat64)),
                    {std::tanh(2.75)});
  agt::check_values(rnn_relu_cell(tensor({-1}, {1, 1}, kFloat64), tensor({2}, {1, 1}, kFloat64),
                                  tensor({0.5}, {1, 1}, kFloat64), tensor({0.1}, {1, 1}, kFloat64)),
                    {0.0});

  const Fn tanh3 = [](const auto& v) {  // three steps with the same weights
    Tensor s = v[1];
    for (int t = 0; t < 3; ++t) s = rnn_tanh_cell(v[0], s, v[2], v[3], v[4], v[5]);
    return s;
  };
  agt::check_both_orders(tanh3, {x, h, wi, wh, bi, bh});
  agt::check_both_orders([](const auto& v) { return rnn_relu_cell(v[0], v[1], v[2], v[3], v[4], v[5]); },
                         {x, h, wi, wh, bi, bh});
  // the same tensor as input and hidden state, and as both biases
  const Tensor s = agt::input({2, 4}, 0.6), w2 = agt::input({4, 4}, 1.7, 0.5);
  agt::check_same_function([](const auto& v) { return rnn_tanh_cell(v[0], v[0], v[1], v[1], v[2], v[2]); },
                           [](const auto& v) { return ref::rnn_cell(v[0], v[0], v[1], v[1], v[2], v[2]); },
                           {s, w2, bi});
  agt::check_both_orders([](const auto& v) { return rnn_tanh_cell(v[0], v[0], v[1], v[1], v[2], v[2]); }, {s, w2, bi});
}

TEST_CASE("rnn cells: misuse throws naming the op, the shapes and the dtypes") {
  const Tensor x = zeros({3, 2}, kFloat64), h = zeros({3, 4}, kFloat64), wi = zeros({4, 2}, kFloat64),
               wh = zeros({4, 4}, kFloat64);
  CHECK_THROWS_AS(rnn_tanh_cell(x, zeros({2, 4}, kFloat64), wi, wh), Error);
  CHECK(agt::error_message([&] {
          rnn_tanh_cell(x, zeros({2, 4}, kFloat64), wi, wh);
        }).find("rnn_tanh_cell: expects input [B, in] and hidden state [B, H], got float64[3, 2] and float64[2, 4]") ==
        0);
  CHECK_THROWS_AS(rnn_relu_cell(x, h, zeros({4, 3}, kFloat64), wh), Error);
  CHECK(agt::error_message([&] {
          rnn_relu_cell(x, h, zeros({4, 3}, kFloat64), wh);
        }).find("rnn_relu_cell: weight_ih must be [4, 2]") == 0);
  CHECK_THROWS_AS(rnn_tanh_cell(x, h, wi, zeros({4, 3}, kFloat64)), Error);
  CHECK_THROWS_AS(rnn_tanh_cell(x, h, wi, wh, zeros({3}, kFloat64)), Error);
  CHECK(agt::error_message([&] {
          rnn_tanh_cell(x, h, wi, wh, Tensor(), zeros({5}, kFloat64));
        }).find("bias_hh must be [4]") != std::string::npos);
  CHECK_THROWS_AS(rnn_tanh_cell(x, h.to(kFloat32), wi, wh), Error);
  CHECK(agt::error_message([&] { rnn_tanh_cell(x, h.to(kFloat32), wi, wh); }).find("dtype mismatch") !=
        std::string::npos);
  CHECK_THROWS_AS(rnn_tanh_cell(zeros({2}, kFloat64), zeros({4}, kFloat64), wi, wh), Error);
}

TEST_CASE("fused_lstm_cell: equals the composite cell, gradchecked to second order with reuse across time") {
  const Tensor x = agt::input({2, 3}, 0.1), h = agt::input({2, 2}, 0.9, 0.5), c = agt::input({2, 2}, 2.5, 0.8);
  const Tensor wi = agt::input({8, 3}, 1.3), wh = agt::input({8, 2}, 2.2, 0.6), bi = agt::input({8}, 0.4, 0.3),
               bh = agt::input({8}, 3.1, 0.3);
  agt::check_same_function(
      [](const auto& v) { return both(fused_lstm_cell(v[0], v[1], v[2], v[3], v[4], v[5], v[6])); },
      [](const auto& v) { return both(ref::lstm_cell(v[0], v[1], v[2], v[3], v[4], v[5], v[6])); },
      {x, h, c, wi, wh, bi, bh});
  agt::check_same_function([](const auto& v) { return both(fused_lstm_cell(v[0], v[1], v[2], v[3], v[4])); },
                           [](const auto& v) { return both(ref::lstm_cell(v[0], v[1], v[2], v[3], v[4])); },
                           {x, h, c, wi, wh});
  // only h' used (no gradient reaches c'), and only c' used
  agt::check_same_function(
      [](const auto& v) { return std::get<0>(fused_lstm_cell(v[0], v[1], v[2], v[3], v[4], v[5], v[6])); },
      [](const auto& v) { return std::get<0>(ref::lstm_cell(v[0], v[1], v[2], v[3], v[4], v[5], v[6])); },
      {x, h, c, wi, wh, bi, bh});
  agt::check_same_function(
      [](const auto& v) { return std::get<1>(fused_lstm_cell(v[0], v[1], v[2], v[3], v[4], v[5], v[6])); },
      [](const auto& v) { return std::get<1>(ref::lstm_cell(v[0], v[1], v[2], v[3], v[4], v[5], v[6])); },
      {x, h, c, wi, wh, bi, bh});
  // hand-computed, H = 1, all gate pre-activations 0 except g = 1: c' = 0.5 * 2 + 0.5 * tanh(1)
  auto [h1, c1] =
      fused_lstm_cell(tensor({1}, {1, 1}, kFloat64), tensor({0}, {1, 1}, kFloat64), tensor({2}, {1, 1}, kFloat64),
                      tensor({0, 0, 1, 0}, {4, 1}, kFloat64), tensor({0, 0, 0, 0}, {4, 1}, kFloat64));
  const double c_expected = 1.0 + 0.5 * std::tanh(1.0);
  agt::check_values(c1, {c_expected});
  agt::check_values(h1, {0.5 * std::tanh(c_expected)});

  const Fn unrolled = [](const auto& v) {  // three steps with the same weights
    Tensor hh = v[1], cc = v[2];
    for (int t = 0; t < 3; ++t) std::tie(hh, cc) = fused_lstm_cell(v[0], hh, cc, v[3], v[4], v[5], v[6]);
    return cat({hh, cc}, 1);
  };
  agt::check_both_orders(unrolled, {x, h, c, wi, wh, bi, bh});
  // the same tensor as input, hidden and cell state
  const Tensor s = agt::input({2, 2}, 0.6), w2 = agt::input({8, 2}, 1.7, 0.5);
  agt::check_both_orders([](const auto& v) { return both(fused_lstm_cell(v[0], v[0], v[0], v[1], v[1], v[2], v[2])); },
                         {s, w2, bi});
}

TEST_CASE("fused_lstm_cell: misuse throws naming the op, the shapes and the dtypes") {
  const Tensor x = zeros({2, 3}, kFloat64), h = zeros({2, 2}, kFloat64), c = zeros({2, 2}, kFloat64),
               wi = zeros({8, 3}, kFloat64), wh = zeros({8, 2}, kFloat64);
  CHECK_NOTHROW(fused_lstm_cell(x, h, c, wi, wh));
  CHECK_THROWS_AS(fused_lstm_cell(x, h, zeros({2, 3}, kFloat64), wi, wh), Error);
  CHECK(agt::error_message([&] {
          fused_lstm_cell(x, h, zeros({2, 3}, kFloat64), wi, wh);
        }).find("fused_lstm_cell: cell state float64[2, 3] must have the shape of hidden state float64[2, 2]") == 0);
  CHECK_THROWS_AS(fused_lstm_cell(x, h, c, zeros({6, 3}, kFloat64), wh), Error);
  CHECK(agt::error_message([&] {
          fused_lstm_cell(x, h, c, zeros({6, 3}, kFloat64), wh);
        }).find("fused_lstm_cell: weight_ih must be [8, 3]") == 0);
  CHECK_THROWS_AS(fused_lstm_cell(x, h, c.to(kFloat32), wi, wh), Error);
  CHECK_THROWS_AS(fused_lstm_cell(x, h, c, wi, wh, zeros({4}, kFloat64)), Error);
  CHECK_THROWS_AS(fused_lstm_cell(x, h, Tensor(), wi, wh), Error);
}

TEST_CASE("rnn cells from input gates: equal the composite and the x-taking cells, gradchecked with reuse") {
  const Tensor x = agt::input({3, 2}, 0.1), h = agt::input({3, 4}, 0.9, 0.5), xg = agt::input({3, 4}, 1.1, 1.5);
  const Tensor wi = agt::input({4, 2}, 1.3), wh = agt::input({4, 4}, 2.2, 0.6), bi = agt::input({4}, 0.4, 0.3),
               bh = agt::input({4}, 3.1, 0.3);
  agt::check_same_function([](const auto& v) { return rnn_tanh_cell_gates(v[0], v[1], v[2], v[3]); },
                           [](const auto& v) { return ref::rnn_cell(v[0], v[1], eye(4), v[2], Tensor(), v[3]); },
                           {xg, h, wh, bh});
  agt::check_same_function([](const auto& v) { return rnn_relu_cell_gates(v[0], v[1], v[2]); },
                           [](const auto& v) {
                             return ref::rnn_cell(v[0], v[1], eye(4), v[2], Tensor(), Tensor(), nn::Nonlinearity::ReLU);
                           },
                           {xg, h, wh});
  // linear(x, W_ih, b_ih) then the gates cell is the x-taking cell
  agt::check_same_function(
      [](const auto& v) { return rnn_tanh_cell_gates(linear(v[0], v[2], v[4]), v[1], v[3], v[5]); },
      [](const auto& v) { return rnn_tanh_cell(v[0], v[1], v[2], v[3], v[4], v[5]); }, {x, h, wi, wh, bi, bh});
  // hand-computed: tanh(0.25 + 1 * 2 + 0.5) = tanh(2.75)
  agt::check_values(rnn_tanh_cell_gates(tensor({0.25}, {1, 1}, kFloat64), tensor({1}, {1, 1}, kFloat64),
                                        tensor({2}, {1, 1}, kFloat64), tensor({0.5}, {1}, kFloat64)),
                    {std::tanh(2.75)});
  agt::check_both_orders([](const auto& v) { return rnn_tanh_cell_gates(v[0], v[1], v[2], v[3]); }, {xg, h, wh, bh});
  agt::check_both_orders([](const auto& v) { return rnn_relu_cell_gates(v[0], v[1], v[2], v[3]); }, {xg, h, wh, bh});
  // three steps: one projection unbound over time, W_hh reused at every step; and h as the input gates too
  const Tensor xs = agt::input({3, 3, 2}, 0.8);
  const Fn unrolled = [](const auto& v) {
    const std::vector<Tensor> g = unbind(linear(v[0], v[2], v[4]), 0);
    Tensor s = v[1];
    for (const Tensor& gt : g) s = rnn_tanh_cell_gates(gt, s, v[3], v[5]);
    return s;
  };
  agt::check_both_orders(unrolled, {xs, h, wi, wh, bi, bh});
  agt::check_both_orders([](const auto& v) { return rnn_tanh_cell_gates(v[0], v[0], v[1], v[2]); }, {h, wh, bh});
}

TEST_CASE("fused_lstm_cell_gates: equals the composite cell, gradchecked to second order with reuse") {
  const Tensor x = agt::input({2, 3}, 0.1), h = agt::input({2, 2}, 0.9, 0.5), c = agt::input({2, 2}, 2.5, 0.8);
  const Tensor xg = agt::input({2, 8}, 1.7, 1.2), wi = agt::input({8, 3}, 1.3), wh = agt::input({8, 2}, 2.2, 0.6),
               bi = agt::input({8}, 0.4, 0.3), bh = agt::input({8}, 3.1, 0.3);
  // the reference cell with W_ih = I and no b_ih takes xg as the input gates
  const Tensor eye8 = eye(8);
  agt::check_same_function([](const auto& v) { return both(fused_lstm_cell_gates(v[0], v[1], v[2], v[3], v[4])); },
                           [eye8](const auto& v) {
                             return both(ref::lstm_cell(v[0], v[1], v[2], eye8, v[3], Tensor(), v[4]));
                           },
                           {xg, h, c, wh, bh});
  agt::check_same_function([](const auto& v) { return std::get<0>(fused_lstm_cell_gates(v[0], v[1], v[2], v[3])); },
                           [eye8](const auto& v) { return std::get<0>(ref::lstm_cell(v[0], v[1], v[2], eye8, v[3])); },
                           {xg, h, c, wh});
  // linear(x, W_ih, b_ih) then the gates cell is the x-taking cell
  agt::check_same_function(
      [](const auto& v) { return both(fused_lstm_cell_gates(linear(v[0], v[3], v[5]), v[1], v[2], v[4], v[6])); },
      [](const auto& v) { return both(fused_lstm_cell(v[0], v[1], v[2], v[3], v[4], v[5], v[6])); },
      {x, h, c, wi, wh, bi, bh});
  agt::check_both_orders([](const auto& v) { return both(fused_lstm_cell_gates(v[0], v[1], v[2], v[3], v[4])); },
                         {xg, h, c, wh, bh});
  const Tensor xs = agt::input({3, 2, 3}, 0.8);
  const Fn unrolled = [](const auto& v) {  // one projection unbound over three steps, W_hh reused
    Tensor hh = v[1], cc = v[2];
    for (const Tensor& g : unbind(linear(v[0], v[3], v[5]), 0))
      std::tie(hh, cc) = fused_lstm_cell_gates(g, hh, cc, v[4], v[6]);
    return cat({hh, cc}, 1);
  };
  agt::check_both_orders(unrolled, {xs, h, c, wi, wh, bi, bh});
  // the same tensor as hidden and cell state
  agt::check_both_orders([](const auto& v) { return both(fused_lstm_cell_gates(v[0], v[1], v[1], v[2], v[3])); },
                         {xg, h, wh, bh});
}

TEST_CASE(
    "fused_gru_cell and fused_gru_cell_gates: equal PyTorch's GRU cell written with ops, gradchecked with reuse") {
  const Tensor x = agt::input({2, 3}, 0.1), h = agt::input({2, 2}, 0.9, 0.5), xg = agt::input({2, 6}, 1.7, 1.2);
  const Tensor wi = agt::input({6, 3}, 1.3), wh = agt::input({6, 2}, 2.2, 0.6), bi = agt::input({6}, 0.4, 0.3),
               bh = agt::input({6}, 3.1, 0.3);
  agt::check_same_function([](const auto& v) { return fused_gru_cell(v[0], v[1], v[2], v[3], v[4], v[5]); },
                           [](const auto& v) { return ref::gru_cell(v[0], v[1], v[2], v[3], v[4], v[5]); },
                           {x, h, wi, wh, bi, bh});
  agt::check_same_function([](const auto& v) { return fused_gru_cell(v[0], v[1], v[2], v[3]); },
                           [](const auto& v) { return ref::gru_cell(v[0], v[1], v[2], v[3]); }, {x, h, wi, wh});
  agt::check_same_function([](const auto& v) { return fused_gru_cell_gates(v[0], v[1], v[2], v[3]); },
                           [](const auto& v) { return ref::gru_cell(v[0], v[1], eye(6), v[2], Tensor(), v[3]); },
                           {xg, h, wh, bh});
  // hand-computed, H = 1: xg = (0, 0, 1), h = 2, W_hh = (0, 0, 1), no bias: r = z = 1/2, n = tanh(1 + 1/2 * 2),
  // h' = n / 2 + 1
  agt::check_values(fused_gru_cell_gates(tensor({0, 0, 1}, {1, 3}, kFloat64), tensor({2}, {1, 1}, kFloat64),
                                         tensor({0, 0, 1}, {3, 1}, kFloat64)),
                    {0.5 * std::tanh(2.0) + 1.0});
  agt::check_both_orders([](const auto& v) { return fused_gru_cell(v[0], v[1], v[2], v[3], v[4], v[5]); },
                         {x, h, wi, wh, bi, bh});
  agt::check_both_orders([](const auto& v) { return fused_gru_cell_gates(v[0], v[1], v[2], v[3]); }, {xg, h, wh, bh});
  const Tensor xs = agt::input({3, 2, 3}, 0.8);
  const Fn unrolled = [](const auto& v) {  // one projection unbound over three steps, W_hh reused
    Tensor s = v[1];
    for (const Tensor& g : unbind(linear(v[0], v[2], v[4]), 0)) s = fused_gru_cell_gates(g, s, v[3], v[5]);
    return s;
  };
  agt::check_both_orders(unrolled, {xs, h, wi, wh, bi, bh});
  const Fn steps = [](const auto& v) {  // the x-taking cell over three steps, same weights
    Tensor s = v[1];
    for (int t = 0; t < 3; ++t) s = fused_gru_cell(v[0], s, v[2], v[3], v[4], v[5]);
    return s;
  };
  agt::check_both_orders(steps, {x, h, wi, wh, bi, bh});
  // the same tensor as input and hidden state, and as both biases
  const Tensor s = agt::input({2, 2}, 0.6), w2 = agt::input({6, 2}, 1.7, 0.5);
  agt::check_both_orders([](const auto& v) { return fused_gru_cell(v[0], v[0], v[1], v[1], v[2], v[2]); }, {s, w2, bi});
}

TEST_CASE("the x-taking cells equal linear then their *_gates form bitwise (nn's checkpointed layers rely on it)") {
  for (Dtype dt : {kFloat32, kFloat64}) {
    CAPTURE(dtype_name(dt));
    const Tensor x = agt::input({5, 7}, 0.3).to(dt), h = agt::input({5, 6}, 0.9, 0.5).to(dt),
                 c = agt::input({5, 6}, 1.9, 0.5).to(dt);
    auto w = [dt](std::int64_t g, std::int64_t n, double seed) { return agt::input({g, n}, seed, 0.4).to(dt); };
    auto b = [dt](std::int64_t g, double seed) { return agt::input({g}, seed, 0.3).to(dt); };
    const Tensor wi1 = w(6, 7, 1.1), wh1 = w(6, 6, 1.2), bi1 = b(6, 1.3), bh1 = b(6, 1.4);
    CHECK(rnn_tanh_cell(x, h, wi1, wh1, bi1, bh1).to_vector<double>() ==
          rnn_tanh_cell_gates(linear(x, wi1, bi1), h, wh1, bh1).to_vector<double>());
    CHECK(rnn_relu_cell(x, h, wi1, wh1, bi1, bh1).to_vector<double>() ==
          rnn_relu_cell_gates(linear(x, wi1, bi1), h, wh1, bh1).to_vector<double>());
    const Tensor wi4 = w(24, 7, 2.1), wh4 = w(24, 6, 2.2), bi4 = b(24, 2.3), bh4 = b(24, 2.4);
    CHECK(both(fused_lstm_cell(x, h, c, wi4, wh4, bi4, bh4)).to_vector<double>() ==
          both(fused_lstm_cell_gates(linear(x, wi4, bi4), h, c, wh4, bh4)).to_vector<double>());
    const Tensor wi3 = w(18, 7, 3.1), wh3 = w(18, 6, 3.2), bi3 = b(18, 3.3), bh3 = b(18, 3.4);
    CHECK(fused_gru_cell(x, h, wi3, wh3, bi3, bh3).to_vector<double>() ==
          fused_gru_cell_gates(linear(x, wi3, bi3), h, wh3, bh3).to_vector<double>());
  }
}

TEST_CASE("cells from input gates and the GRU cell: misuse throws naming the op, the shapes and the dtypes") {
  const Tensor h = zeros({3, 4}, kFloat64), wh = zeros({4, 4}, kFloat64);
  CHECK_NOTHROW(rnn_tanh_cell_gates(zeros({3, 4}, kFloat64), h, wh));
  CHECK_THROWS_AS(rnn_tanh_cell_gates(zeros({3, 5}, kFloat64), h, wh), Error);
  CHECK(agt::error_message([&] {
          rnn_tanh_cell_gates(zeros({3, 5}, kFloat64), h, wh);
        })
            .find("rnn_tanh_cell_gates: input gates must be [3, 4] (1 gates) for hidden state float64[3, 4], got "
                  "float64[3, 5]") == 0);
  CHECK_THROWS_AS(rnn_relu_cell_gates(zeros({2, 4}, kFloat64), h, wh), Error);
  CHECK(agt::error_message([&] {
          rnn_relu_cell_gates(zeros({2, 4}, kFloat64), h, wh);
        })
            .find("rnn_relu_cell_gates: expects input gates [B, G*H] and hidden state [B, H], got float64[2, 4] and "
                  "float64[3, 4]") == 0);
  CHECK_THROWS_AS(rnn_tanh_cell_gates(zeros({3, 4}, kFloat64), h, zeros({4, 3}, kFloat64)), Error);
  CHECK_THROWS_AS(rnn_tanh_cell_gates(zeros({3, 4}, kFloat64), h, wh, zeros({3}, kFloat64)), Error);
  CHECK_THROWS_AS(rnn_tanh_cell_gates(zeros({3, 4}), h, wh), Error);
  CHECK(agt::error_message([&] {
          rnn_tanh_cell_gates(zeros({3, 4}), h, wh);
        }).find("dtype mismatch") != std::string::npos);
  CHECK_THROWS_AS(rnn_tanh_cell_gates(Tensor(), h, wh), Error);
  const Tensor c = zeros({3, 4}, kFloat64), wh4 = zeros({16, 4}, kFloat64);
  CHECK_NOTHROW(fused_lstm_cell_gates(zeros({3, 16}, kFloat64), h, c, wh4));
  CHECK_THROWS_AS(fused_lstm_cell_gates(zeros({3, 12}, kFloat64), h, c, wh4), Error);
  CHECK(agt::error_message([&] {
          fused_lstm_cell_gates(zeros({3, 12}, kFloat64), h, c, wh4);
        }).find("fused_lstm_cell_gates: input gates must be [3, 16] (4 gates)") == 0);
  CHECK_THROWS_AS(fused_lstm_cell_gates(zeros({3, 16}, kFloat64), h, zeros({3, 2}, kFloat64), wh4), Error);
  CHECK_THROWS_AS(fused_lstm_cell_gates(zeros({3, 16}, kFloat64), h, c, wh4, zeros({4}, kFloat64)), Error);
  const Tensor x = zeros({3, 2}, kFloat64), wi3 = zeros({12, 2}, kFloat64), wh3 = zeros({12, 4}, kFloat64);
  CHECK_NOTHROW(fused_gru_cell(x, h, wi3, wh3));
  CHECK_THROWS_AS(fused_gru_cell(x, h, zeros({12, 3}, kFloat64), wh3), Error);
  CHECK(agt::error_message([&] {
          fused_gru_cell(x, h, zeros({12, 3}, kFloat64), wh3);
        }).find("fused_gru_cell: weight_ih must be [12, 2]") == 0);
  CHECK_THROWS_AS(fused_gru_cell(x, h, wi3, wh4), Error);
  CHECK(agt::error_message([&] { fused_gru_cell(x, h, wi3, wh4); }).find("fused_gru_cell: weight_hh must be [12, 4]") ==
        0);
  CHECK_THROWS_AS(fused_gru_cell(x, h, wi3, wh3, zeros({4}, kFloat64)), Error);
  CHECK_THROWS_AS(fused_gru_cell(x, h, wi3.to(kFloat32), wh3), Error);
  CHECK_THROWS_AS(fused_gru_cell(x, zeros({2, 4}, kFloat64), wi3, wh3), Error);
  CHECK_THROWS_AS(fused_gru_cell(zeros({3, 2}, kInt64), zeros({3, 4}, kInt64), zeros({12, 2}, kInt64),
                                 zeros({12, 4}, kInt64)),
                  Error);
  CHECK_NOTHROW(fused_gru_cell_gates(zeros({3, 12}, kFloat64), h, wh3));
  CHECK_THROWS_AS(fused_gru_cell_gates(zeros({3, 4}, kFloat64), h, wh3), Error);
  CHECK(agt::error_message([&] {
          fused_gru_cell_gates(zeros({3, 4}, kFloat64), h, wh3);
        }).find("fused_gru_cell_gates: input gates must be [3, 12] (3 gates)") == 0);
  CHECK_THROWS_AS(fused_gru_cell_gates(zeros({3, 12}, kFloat64), h, wh3, zeros({4}, kFloat64)), Error);
}

TEST_CASE("softmax_cross_entropy: equals -log_softmax picked at the target, gradchecked to second order") {
  const Tensor z = agt::input({4, 3}, 0.3, 2.0);
  const Tensor t = tensor({2, 0, 1, 2}, {4}, kInt64);
  const Fn fused = [t](const auto& v) { return softmax_cross_entropy(v[0], t); };
  const Fn composite = [t](const auto& v) { return composed_cross_entropy(v[0], t); };
  agt::check_same_function(fused, composite, {z});
  agt::check_both_orders(fused, {z});
  agt::check_both_orders([t](const auto& v) { return sum(mul(softmax_cross_entropy(v[0], t), v[0].sum(1))); }, {z});
  // hand-computed: logits [0, ln 3] target 1 -> -log(3/4); target 0 -> log 4
  agt::check_values(softmax_cross_entropy(tensor({0, std::log(3.0), 0, std::log(3.0)}, {2, 2}, kFloat64),
                                          tensor({1, 0}, {2}, kInt64)),
                    {-std::log(0.75), std::log(4.0)});
  // extreme logits: finite, and the gradient is softmax - onehot as for the composite
  const Tensor big = tensor({-1e30, -1e30, 1e30, 0}, {2, 2}, kFloat64).requires_grad_();
  const Tensor tb = tensor({0, 1}, {2}, kInt64);
  agt::check_values(softmax_cross_entropy(big, tb), {std::log(2.0), 1e30});
  agt::check_same_function([tb](const auto& v) { return softmax_cross_entropy(v[0], tb); },
                           [tb](const auto& v) { return composed_cross_entropy(v[0], tb); }, {big});
}

TEST_CASE("softmax_cross_entropy: wide rows (8-lane max and sum, vectorized exp) and NaN propagation") {
  // 37 classes: four 8-wide blocks and a tail of 5; the row maxima sit in a block, in the tail, first
  const Tensor z = agt::input({3, 37}, 0.1, 3.0);
  {
    NoGradGuard no_grad;
    z.narrow(1, 13, 1).narrow(0, 0, 1).fill_(9.0);
    z.narrow(1, 35, 1).narrow(0, 1, 1).fill_(9.0);
    z.narrow(1, 0, 1).narrow(0, 2, 1).fill_(9.0);
  }
  const Tensor t = tensor({13, 2, 36}, {3}, kInt64);
  agt::check_same_function([t](const auto& v) { return softmax_cross_entropy(v[0], t); },
                           [t](const auto& v) { return composed_cross_entropy(v[0], t); }, {z});
  // float32 over a 10000-wide vocabulary, against the float64 result
  manual_seed(7);
  const Tensor wide = randn({4, 10000}, kFloat64) * 3.0;
  const Tensor tw = tensor({0, 9999, 5000, 1234}, {4}, kInt64);
  const auto l64 = softmax_cross_entropy(wide, tw).to_vector<double>();
  const auto l32 = softmax_cross_entropy(wide.to(kFloat32), tw).to_vector<float>();
  for (std::size_t i = 0; i < l64.size(); ++i) CHECK(l32[i] == doctest::Approx(l64[i]).epsilon(1e-5));
  // a NaN anywhere in a row: that row's loss and gradient are NaN, the other rows are untouched
  const Tensor zn = tensor({0.5, std::nan(""), 1.0, 2.0, 0.0, 1.0}, {2, 3}, kFloat64).requires_grad_();
  const Tensor ln = softmax_cross_entropy(zn, tensor({0, 1}, {2}, kInt64));
  const auto lv = ln.to_vector<double>();
  CHECK(std::isnan(lv[0]));
  CHECK(lv[1] == doctest::Approx(std::log(std::exp(2.0) + 1.0 + std::exp(1.0)) - 0.0));
  ln.sum().backward();
  const auto g = zn.grad().to_vector<double>();
  for (int k = 0; k < 3; ++k) CHECK(std::isnan(g[static_cast<std::size_t>(k)]));
  for (int k = 3; k < 6; ++k) CHECK(std::isfinite(g[static_cast<std::size_t>(k)]));
}

TEST_CASE("softmax_cross_entropy: misuse throws naming the op, the shapes and the dtypes") {
  const Tensor z = zeros({2, 3}, kFloat64);
  CHECK_THROWS_AS(softmax_cross_entropy(z, tensor({0, 3}, {2}, kInt64)), Error);
  CHECK(agt::error_message([&] {
          softmax_cross_entropy(z, tensor({0, 3}, {2}, kInt64));
        }).find("softmax_cross_entropy: target 3 at position 1 is out of range for 3 classes (logits float64[2, 3])") ==
        0);
  CHECK_THROWS_AS(softmax_cross_entropy(z, tensor({-1, 0}, {2}, kInt64)), Error);
  CHECK_THROWS_AS(softmax_cross_entropy(z, tensor({0, 1}, {2}, kFloat64)), Error);
  CHECK(agt::error_message([&] {
          softmax_cross_entropy(z, tensor({0, 1}, {2}, kFloat64));
        }).find("softmax_cross_entropy: target must be int64 [2] for logits float64[2, 3], got float64[2]") == 0);
  CHECK_THROWS_AS(softmax_cross_entropy(z, tensor({0, 1, 1}, {3}, kInt64)), Error);
  CHECK_THROWS_AS(softmax_cross_entropy(zeros({3}, kFloat64), scalar_tensor(0.0, kInt64)), Error);
  CHECK_THROWS_AS(softmax_cross_entropy(zeros({2, 3}, kInt64), tensor({0, 1}, {2}, kInt64)), Error);
}

TEST_CASE("fused ops: each is one recorded op, and nn's Linear, cells and cross_entropy use them") {
  Tape& tape = Tape::current();
  const Tensor x = agt::input({2, 3}), h = agt::input({2, 4});
  auto before = tape.num_nodes();
  Tensor y = rnn_tanh_cell(x, h, agt::input({4, 3}), agt::input({4, 4}), agt::input({4}), agt::input({4}));
  CHECK(tape.num_nodes() == before + 1);
  before = tape.num_nodes();
  auto hc = fused_lstm_cell(x, h, h, agt::input({16, 3}), agt::input({16, 4}));
  CHECK(tape.num_nodes() == before + 1);
  before = tape.num_nodes();
  Tensor yg = rnn_tanh_cell_gates(h, h, agt::input({4, 4}), agt::input({4}));
  auto hcg = fused_lstm_cell_gates(agt::input({2, 16}), h, h, agt::input({16, 4}));
  Tensor gr = fused_gru_cell(x, h, agt::input({12, 3}), agt::input({12, 4}), agt::input({12}), agt::input({12}));
  Tensor grg = fused_gru_cell_gates(agt::input({2, 12}), h, agt::input({12, 4}));
  CHECK(tape.num_nodes() == before + 4);
  before = tape.num_nodes();
  Tensor l = softmax_cross_entropy(x, tensor({0, 2}, {2}, kInt64));
  CHECK(tape.num_nodes() == before + 1);
  CHECK(tape.node(tape.num_nodes() - 1)->name == std::string("softmax_cross_entropy"));

  const Tensor xf = agt::input({2, 3}).to(kFloat32);
  nn::Linear lin(3, 4);
  before = tape.num_nodes();
  Tensor yl = lin(xf);
  REQUIRE(tape.num_nodes() == before + 1);
  CHECK(tape.node(before)->name == std::string("linear"));
  auto one_node = [&](const auto& run, const char* name) {  // an nn cell's forward records its fused op only
    const auto n0 = tape.num_nodes();
    const auto keep = run();
    REQUIRE(tape.num_nodes() == n0 + 1);
    CHECK(tape.node(n0)->name == std::string(name));
  };
  nn::LSTMCell cell(3, 4);
  nn::RNNCell rc(3, 4);
  nn::GRUCell gc(3, 4);
  one_node([&] { return cell(xf); }, "fused_lstm_cell");
  one_node([&] { return rc(xf); }, "rnn_tanh_cell");
  one_node([&] { return gc(xf); }, "fused_gru_cell");
  before = tape.num_nodes();
  Tensor ce = cross_entropy(yl, tensor({0, 3}, {2}, kInt64));
  REQUIRE(tape.num_nodes() == before + 2);  // the fused loss, then mean (one node)
  CHECK(tape.node(before)->name == std::string("softmax_cross_entropy"));
}

TEST_CASE(
    "nn RNN and GRU layers: one input projection per layer, unbound, W_hh transposed once, then one gates cell per "
    "step; LSTM: one cell per step") {
  Tape& tape = Tape::current();
  constexpr std::int64_t T = 5;
  const Tensor x = agt::input({T, 2, 3}, 0.4, 1.0, 0.0, false).to(kFloat32);
  nn::RNN rnn(nn::RNNOptions(3, 4).num_layers(2));
  nn::LSTM lstm(3, 4);
  nn::GRU gru(3, 4);
  auto names = [&](const auto& run, const char* cell, long layers) {
    const auto before = tape.num_nodes();
    const Tensor out = run();
    std::vector<std::string> got;
    for (auto i = before; i < tape.num_nodes(); ++i) got.emplace_back(tape.node(i)->name);
    REQUIRE(got.size() >= T + 5);
    CHECK(got[0] == "linear");
    CHECK(got[1] == "unbind");
    CHECK(tape.node(before + 1)->num_outputs == T);
    // W_hh as the transposed view of a row-major copy: each step's h W_hh^T reads it as an A B product
    CHECK(got[2] == "transpose");
    CHECK(got[3] == "contiguous");
    CHECK(got[4] == "transpose");
    for (std::size_t t = 0; t < T; ++t) CHECK(got[5 + t] == cell);
    CHECK(std::count(got.begin(), got.end(), std::string("linear")) == layers);
    CHECK(std::count(got.begin(), got.end(), std::string("unbind")) == layers);
    CHECK(std::count(got.begin(), got.end(), std::string(cell)) == layers * T);
  };
  names([&] { return std::get<0>(rnn(x)); }, "rnn_tanh_cell_gates", 2);
  names([&] { return std::get<0>(gru(x)); }, "fused_gru_cell_gates", 1);
  const auto before = tape.num_nodes();
  const Tensor out = std::get<0>(lstm(x));
  std::vector<std::string> got;
  for (auto i = before; i < tape.num_nodes(); ++i) got.emplace_back(tape.node(i)->name);
  REQUIRE(got.size() >= T);  // x requires no grad: its unbind is not recorded
  for (std::size_t t = 0; t < T; ++t) CHECK(got[t] == "fused_lstm_cell");
  CHECK(std::count(got.begin(), got.end(), std::string("linear")) == 0);
  CHECK(std::count(got.begin(), got.end(), std::string("fused_lstm_cell_gates")) == 0);
}

TEST_CASE("fused ops, forward mode: each output's JVP against finite differences and the tape, every input dual") {
  // each output on its own (no other op between it and gradcheck), biases given and left out
  const Tensor x = agt::input({2, 3}, 0.1), h = agt::input({2, 2}, 0.9, 0.5), c = agt::input({2, 2}, 2.5, 0.8);
  SUBCASE("linear, 1-D to 3-D inputs, with and without bias") {
    const Tensor w = agt::input({4, 3}, 1.3), b = agt::input({4}, 0.4, 0.3);
    for (const Tensor& in : {x, agt::input({3}, 2.0), agt::input({2, 2, 3}, 0.3)}) {
      agt::check_gradients([](const auto& v) { return linear(v[0], v[1], v[2]); }, {in, w, b});
      agt::check_gradients([](const auto& v) { return linear(v[0], v[1]); }, {in, w});
    }
  }
  SUBCASE("rnn cells and their *_gates forms") {
    const Tensor wi = agt::input({2, 3}, 1.3), wh = agt::input({2, 2}, 2.2, 0.6), bi = agt::input({2}, 0.4, 0.3),
                 bh = agt::input({2}, 3.1, 0.3), xg = agt::input({2, 2}, 0.7, 0.8);
    agt::check_gradients([](const auto& v) { return rnn_tanh_cell(v[0], v[1], v[2], v[3], v[4], v[5]); },
                         {x, h, wi, wh, bi, bh});
    agt::check_gradients([](const auto& v) { return rnn_relu_cell(v[0], v[1], v[2], v[3], v[4], v[5]); },
                         {x, h, wi, wh, bi, bh});
    agt::check_gradients([](const auto& v) { return rnn_tanh_cell(v[0], v[1], v[2], v[3]); }, {x, h, wi, wh});
    agt::check_gradients([](const auto& v) { return rnn_tanh_cell_gates(v[0], v[1], v[2], v[3]); }, {xg, h, wh, bh});
    agt::check_gradients([](const auto& v) { return rnn_relu_cell_gates(v[0], v[1], v[2]); }, {xg, h, wh});
  }
  SUBCASE("lstm cells: h' and c', x-taking and from input gates") {
    const Tensor wi = agt::input({8, 3}, 1.3), wh = agt::input({8, 2}, 2.2, 0.6), bi = agt::input({8}, 0.4, 0.3),
                 bh = agt::input({8}, 3.1, 0.3), xg = agt::input({2, 8}, 0.7, 0.8);
    for (int k = 0; k < 2; ++k) {
      agt::check_gradients(
          [k](const auto& v) {
            auto hc = fused_lstm_cell(v[0], v[1], v[2], v[3], v[4], v[5], v[6]);
            return k == 0 ? std::get<0>(hc) : std::get<1>(hc);
          },
          {x, h, c, wi, wh, bi, bh});
      agt::check_gradients(
          [k](const auto& v) {
            auto hc = fused_lstm_cell(v[0], v[1], v[2], v[3], v[4]);
            return k == 0 ? std::get<0>(hc) : std::get<1>(hc);
          },
          {x, h, c, wi, wh});
      agt::check_gradients(
          [k](const auto& v) {
            auto hc = fused_lstm_cell_gates(v[0], v[1], v[2], v[3], v[4]);
            return k == 0 ? std::get<0>(hc) : std::get<1>(hc);
          },
          {xg, h, c, wh, bh});
    }
    // only the cell state dual (the gates' tangent is zero)
    agt::check_gradients(
        [wi, wh, x, h](const auto& v) { return std::get<0>(fused_lstm_cell(x.detach(), h.detach(), v[0], wi, wh)); },
        {c});
  }
  SUBCASE("gru cells, x-taking and from input gates") {
    const Tensor wi = agt::input({6, 3}, 1.3), wh = agt::input({6, 2}, 2.2, 0.6), bi = agt::input({6}, 0.4, 0.3),
                 bh = agt::input({6}, 3.1, 0.3), xg = agt::input({2, 6}, 0.7, 0.8);
    agt::check_gradients([](const auto& v) { return fused_gru_cell(v[0], v[1], v[2], v[3], v[4], v[5]); },
                         {x, h, wi, wh, bi, bh});
    agt::check_gradients([](const auto& v) { return fused_gru_cell(v[0], v[1], v[2], v[3]); }, {x, h, wi, wh});
    agt::check_gradients([](const auto& v) { return fused_gru_cell_gates(v[0], v[1], v[2], v[3]); }, {xg, h, wh, bh});
  }
  SUBCASE("softmax_cross_entropy") {
    const Tensor z = agt::input({3, 4}, 0.2, 1.5);
    const Tensor t = tensor({2, 0, 3}, {3}, kInt64);
    agt::check_gradients([t](const auto& v) { return softmax_cross_entropy(v[0], t); }, {z});
  }
}

TEST_CASE("fused ops, reverse over forward: the JVP rules are differentiable in the primals and the tangents") {
  namespace fw = ag::autograd::forward_ad;
  const Tensor x = agt::input({2, 3}, 0.1), h = agt::input({2, 2}, 0.9, 0.5), c = agt::input({2, 2}, 2.5, 0.8);
  const Tensor tx = agt::input({2, 3}, 1.1, 0.7), th = agt::input({2, 2}, 0.2, 0.9);
  SUBCASE("fused_lstm_cell: the tangents of h' and c' along (tx, th, tW_hh)") {
    const Tensor wi = agt::input({8, 3}, 1.3), wh = agt::input({8, 2}, 2.2, 0.6), bi = agt::input({8}, 0.4, 0.3),
                 twh = agt::input({8, 2}, 1.6, 0.5);
    agt::check_gradients_reverse_only(
        [](const auto& v) {
          Tensor a, b;
          {
            fw::dual_level level;
            auto [h2, c2] = fused_lstm_cell(fw::make_dual(v[0], v[5]), fw::make_dual(v[1], v[6]), v[2], v[3],
                                            fw::make_dual(v[4], v[7]), Tensor(), v[8]);
            a = fw::unpack_dual(h2).tangent;
            b = fw::unpack_dual(c2).tangent;
          }
          return cat({a, b}, 1);
        },
        {x, h, c, wi, wh, tx, th, twh, bi});
  }
  SUBCASE("fused_gru_cell: the tangent of h' along (tx, th, tb_ih)") {
    const Tensor wi = agt::input({6, 3}, 1.3), wh = agt::input({6, 2}, 2.2, 0.6), bi = agt::input({6}, 0.4, 0.3),
                 bh = agt::input({6}, 3.1, 0.3), tbi = agt::input({6}, 0.5, 0.8);
    agt::check_gradients_reverse_only(
        [](const auto& v) {
          fw::dual_level level;
          const Tensor h2 = fused_gru_cell(fw::make_dual(v[0], v[6]), fw::make_dual(v[1], v[7]), v[2], v[3],
                                           fw::make_dual(v[4], v[8]), v[5]);
          return fw::unpack_dual(h2).tangent;
        },
        {x, h, wi, wh, bi, bh, tx, th, tbi});
  }
  SUBCASE("softmax_cross_entropy and linear") {
    const Tensor z = agt::input({3, 4}, 0.2, 1.5), tz = agt::input({3, 4}, 1.7, 0.6);
    const Tensor t = tensor({2, 0, 3}, {3}, kInt64);
    agt::check_gradients_reverse_only(
        [t](const auto& v) {
          fw::dual_level level;
          return fw::unpack_dual(softmax_cross_entropy(fw::make_dual(v[0], v[1]), t)).tangent;
        },
        {z, tz});
    const Tensor w = agt::input({4, 3}, 1.3), tw = agt::input({4, 3}, 0.6, 0.4);
    agt::check_gradients_reverse_only(
        [](const auto& v) {
          fw::dual_level level;
          return fw::unpack_dual(linear(fw::make_dual(v[0], v[2]), fw::make_dual(v[1], v[3]))).tangent;
        },
        {x, w, tx, tw});
  }
}

TEST_CASE("recurrent cells take W_hh as the transposed view of a row-major copy: same values, gradients to 2nd order") {
  constexpr std::int64_t B = 3, H = 4;
  const Tensor h = agt::input({B, H}, 0.3), c = agt::input({B, H}, 0.9, 0.5), b = agt::input({4 * H}, 1.3, 0.2);
  for (std::int64_t gates : {1, 3, 4}) {
    CAPTURE(gates);
    const Tensor xg = agt::input({B, gates * H}, 0.7), w = agt::input({gates * H, H}, 1.1, 0.5);
    const Tensor bh = narrow(b, 0, 0, gates * H);
    auto cell = [&](const Tensor& x, const Tensor& hh, const Tensor& ww) {
      if (gates == 1) return rnn_tanh_cell_gates(x, hh, ww, bh);
      if (gates == 3) return fused_gru_cell_gates(x, hh, ww, bh);
      auto [h2, c2] = fused_lstm_cell_gates(x, hh, c, ww, bh);
      return h2 + c2;
    };
    const Tensor wt = w.detach().t().contiguous().requires_grad_();  // [H, G*H], row-major
    const Tensor plain = cell(xg, h, w), viewed = cell(xg, h, wt.t());
    CHECK(max(abs(plain - viewed)).item<double>() <= 1e-14);
    const auto g1 = grad({sum(plain * plain)}, {xg, h, w}), g2 = grad({sum(viewed * viewed)}, {xg, h, wt});
    CHECK(max(abs(g1[0] - g2[0])).item<double>() <= 1e-13);
    CHECK(max(abs(g1[1] - g2[1])).item<double>() <= 1e-13);
    CHECK(max(abs(g1[2] - g2[2].t())).item<double>() <= 1e-13);
    agt::check_gradients([&](const std::vector<Tensor>& in) { return cell(in[0], in[1], in[2].t()); }, {xg, h, wt});
    agt::check_second_gradients([&](const std::vector<Tensor>& in) { return cell(in[0], in[1], in[2].t()); },
                                {xg, h, wt});
  }
}
