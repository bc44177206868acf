// The reference cells of nn/reference_cells.h (plain ops, no hand-derived gradient): hand-computed
// steps, gradchecked to second order, equal to the fused cells (values and gradients, float64 and
// float32), and nn's cells and recurrent layers equal explicit loops of them. (Loops of them match
// PyTorch's RNN, LSTM and GRU in tests/test_parity.cpp; tests/test_fused.cpp checks every fused op
// against them.)
#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <tuple>

#include "nn/nn.h"
#include "test_util.h"

using namespace ag;
namespace ref = nn::reference;

namespace {

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

double sigm(double v) { return 1.0 / (1.0 + std::exp(-v)); }

Tensor both(const std::tuple<Tensor, Tensor>& hc) { return cat({std::get<0>(hc), std::get<1>(hc)}, -1); }

// A deterministic leaf of dtype dt requiring grad.
Tensor leaf(const Shape& s, Dtype dt, double seed, double scale = 1.0, double shift = 0.0) {
  Tensor t = agt::input(s, seed, scale, shift, false).to(dt);
  t.requires_grad_();
  return t;
}

// The same relative tolerance (doctest Approx, scale 1) for float64 and a float32 one.
double tol_for(Dtype dt) { return dt == kFloat64 ? 1e-12 : 2e-5; }

Tensor t1(double v) { return tensor({v}, {1, 1}, kFloat64); }

// An explicit loop over layers and time of step(x_t, state, layer) -> state' (state[0] = h, the layer's
// output) with the layers' parameters of m, from initial states [num_layers, B, H]. Returns the output
// and every final state [num_layers, B, H], flattened into one vector.
template <class Step>
Tensor loop_of_cells(const nn::RNNBase& m, const Tensor& input, const std::vector<Tensor>& initial, Step step) {
  Tensor layer_in = m.options.batch_first() ? transpose(input, 0, 1) : input;
  std::vector<std::vector<Tensor>> finals(initial.size());
  for (std::size_t k = 0; k < m.layers.size(); ++k) {
    std::vector<Tensor> state;
    for (const Tensor& s : initial) state.push_back(select(s, 0, static_cast<std::int64_t>(k)));
    std::vector<Tensor> hs;
    for (std::int64_t t = 0; t < layer_in.size(0); ++t) {
      state = step(select(layer_in, 0, t), state, m.layers[k]);
      hs.push_back(state[0]);
    }
    for (std::size_t i = 0; i < state.size(); ++i) finals[i].push_back(state[i]);
    layer_in = stack(hs, 0);
  }
  std::vector<Tensor> parts{flatten(m.options.batch_first() ? transpose(layer_in, 0, 1) : layer_in)};
  for (const auto& f : finals) parts.push_back(flatten(stack(f, 0)));
  return cat(parts, 0);
}

Tensor flat(const std::vector<Tensor>& ts) {
  std::vector<Tensor> parts;
  for (const Tensor& t : ts) parts.push_back(flatten(t));
  return cat(parts, 0);
}

}  // namespace

TEST_CASE("nn reference cells: hand-computed steps follow the equations (gate order i, f, g, o and r, z, n)") {
  // linear: [1, 2] [[1, 0], [2, -1], [0, 3]]^T + [0.5, 0, -1] = [1.5, 0, 5]; without bias; 1-D input
  const Tensor w = tensor({1, 0, 2, -1, 0, 3}, {3, 2}, kFloat64);
  agt::check_values(ref::linear(tensor({1, 2}, {1, 2}, kFloat64), w, tensor({0.5, 0, -1}, {3}, kFloat64)),
                    {1.5, 0.0, 5.0});
  agt::check_values(ref::linear(tensor({1, 2}, {2}, kFloat64), w), {1.0, 0.0, 6.0});
  CHECK(ref::linear(tensor({1, 2}, {2}, kFloat64), w).shape() == Shape{3});

  const double x = 0.7, h = -0.4, c = 0.9;
  SUBCASE("rnn_cell, tanh and relu") {
    const double pre = 0.5 * x + 0.1 - 0.3 * h + 0.2;
    agt::check_values(ref::rnn_cell(t1(x), t1(h), t1(0.5), t1(-0.3), tensor({0.1}, {1}, kFloat64),
                                    tensor({0.2}, {1}, kFloat64)),
                      {std::tanh(pre)});
    agt::check_values(ref::rnn_cell(t1(x), t1(h), t1(0.5), t1(-0.3), tensor({0.1}, {1}, kFloat64),
                                    tensor({0.2}, {1}, kFloat64), nn::Nonlinearity::ReLU),
                      {pre});
    agt::check_values(ref::rnn_cell(t1(-2.0), t1(h), t1(0.5), t1(-0.3), Tensor(), Tensor(), nn::Nonlinearity::ReLU),
                      {0.0});
    // unbatched: x [in], h [H] -> [H]
    const Tensor u = ref::rnn_cell(tensor({x}, {1}, kFloat64), tensor({h}, {1}, kFloat64), t1(0.5), t1(-0.3));
    CHECK(u.shape() == Shape{1});
    agt::check_values(u, {std::tanh(0.5 * x - 0.3 * h)});
  }
  SUBCASE("lstm_cell") {
    const std::vector<double> wi{0.3, -0.2, 0.6, 0.45}, wh{-0.5, 0.25, 0.15, -0.35}, bi{0.05, 0.4, -0.1, 0.2},
        bh{0.1, -0.05, 0.3, 0.0};
    auto gate = [&](int k) { return wi[k] * x + bi[k] + wh[k] * h + bh[k]; };
    const double i = sigm(gate(0)), f = sigm(gate(1)), g = std::tanh(gate(2)), o = sigm(gate(3));
    const double c2 = f * c + i * g, h2 = o * std::tanh(c2);
    auto [hn, cn] = ref::lstm_cell(t1(x), t1(h), t1(c), tensor(wi, {4, 1}, kFloat64), tensor(wh, {4, 1}, kFloat64),
                                   tensor(bi, {4}, kFloat64), tensor(bh, {4}, kFloat64));
    agt::check_values(hn, {h2});
    agt::check_values(cn, {c2});
    // H = 1, all gate pre-activations 0 except g = 1, no biases: c' = 0.5 * 2 + 0.5 * tanh(1)
    auto [h1, c1] = ref::lstm_cell(t1(1), t1(0), t1(2), tensor({0, 0, 1, 0}, {4, 1}, kFloat64),
                                   tensor({0, 0, 0, 0}, {4, 1}, kFloat64));
    const double c_expected = 1.0 + 0.5 * std::tanh(1.0);
    agt::check_values(c1, {c_expected});
    agt::check_values(h1, {0.5 * std::tanh(c_expected)});
    // unbatched
    auto [hu, cu] = ref::lstm_cell(tensor({x}, {1}, kFloat64), tensor({h}, {1}, kFloat64), tensor({c}, {1}, kFloat64),
                                   tensor(wi, {4, 1}, kFloat64), tensor(wh, {4, 1}, kFloat64),
                                   tensor(bi, {4}, kFloat64), tensor(bh, {4}, kFloat64));
    CHECK(hu.shape() == Shape{1});
    agt::check_values(hu, {h2});
    agt::check_values(cu, {c2});
  }
  SUBCASE("gru_cell") {
    const std::vector<double> wi{0.3, -0.2, 0.6}, wh{-0.5, 0.25, 0.15}, bi{0.05, 0.4, -0.1}, bh{0.1, -0.05, 0.3};
    const double r = sigm(wi[0] * x + bi[0] + wh[0] * h + bh[0]);
    const double z = sigm(wi[1] * x + bi[1] + wh[1] * h + bh[1]);
    const double n = std::tanh(wi[2] * x + bi[2] + r * (wh[2] * h + bh[2]));
    agt::check_values(ref::gru_cell(t1(x), t1(h), tensor(wi, {3, 1}, kFloat64), tensor(wh, {3, 1}, kFloat64),
                                    tensor(bi, {3}, kFloat64), tensor(bh, {3}, kFloat64)),
                      {(1 - z) * n + z * h});
    // x = 1, h = 2, W_ih = (0, 0, 1), W_hh = (0, 0, 1), no bias: r = z = 1/2, n = tanh(1 + 1/2 * 2), h' = n / 2 + 1
    agt::check_values(ref::gru_cell(t1(1), t1(2), tensor({0, 0, 1}, {3, 1}, kFloat64),
                                    tensor({0, 0, 1}, {3, 1}, kFloat64)),
                      {0.5 * std::tanh(2.0) + 1.0});
  }
}

TEST_CASE("nn reference cells: composed of plain tape ops, none of them fused") {
  Tape& tape = Tape::current();
  const Tensor x = agt::input({2, 3}), h = agt::input({2, 4}), c = agt::input({2, 4}, 2.0);
  auto names = [&](const auto& run) {
    const auto before = tape.num_nodes();
    const auto keep = run();
    std::vector<std::string> got;
    for (auto i = before; i < tape.num_nodes(); ++i) got.emplace_back(tape.node(i)->name);
    return got;
  };
  const std::vector<std::string> fused{
      "linear",          "rnn_tanh_cell",         "rnn_relu_cell",  "rnn_tanh_cell_gates", "rnn_relu_cell_gates",
      "fused_lstm_cell", "fused_lstm_cell_gates", "fused_gru_cell", "fused_gru_cell_gates"};
  auto check_plain = [&](const std::vector<std::string>& got, std::size_t at_least) {
    CHECK(got.size() >= at_least);
    for (const auto& n : got) {
      INFO(n);
      CHECK(std::find(fused.begin(), fused.end(), n) == fused.end());
    }
  };
  check_plain(names([&] { return ref::linear(x, agt::input({4, 3}), agt::input({4})); }), 2);
  check_plain(names([&] {
                return ref::rnn_cell(x, h, agt::input({4, 3}), agt::input({4, 4}), agt::input({4}), agt::input({4}));
              }),
              6);
  check_plain(names([&] { return both(ref::lstm_cell(x, h, c, agt::input({16, 3}), agt::input({16, 4}))); }), 10);
  check_plain(
      names([&] {
        return ref::gru_cell(x, h, agt::input({12, 3}), agt::input({12, 4}), agt::input({12}), agt::input({12}));
      }),
      10);
}

TEST_CASE("nn reference cells: gradcheck and gradgradcheck in float64, with and without biases, over three steps") {
  const Tensor x = agt::input({3, 2}, 0.1), h = agt::input({3, 4}, 0.9, 0.5), c = agt::input({3, 4}, 2.5, 0.8);
  SUBCASE("linear") {
    const Tensor w = agt::input({3, 4}, 0.7), b = agt::input({3}, 1.9);
    agt::check_both_orders([](const auto& v) { return ref::linear(v[0], v[1], v[2]); }, {h, w, b});
    agt::check_both_orders([](const auto& v) { return ref::linear(v[0], v[1]); }, {agt::input({2, 3, 4}, 0.4), w});
    agt::check_both_orders([](const auto& v) { return ref::linear(v[0], v[0], v[1]); }, {agt::input({3, 3}, 2.1), b});
  }
  SUBCASE("rnn_cell, tanh and relu") {
    const Tensor wi = agt::input({4, 2}, 1.3), wh = agt::input({4, 4}, 2.2, 0.6), bi = agt::input({4}, 0.4, 0.3),
                 bh = agt::input({4}, 3.1, 0.3);
    const Fn tanh3 = [](const auto& v) {  // three steps with the same weights
      Tensor s = v[1];
      for (int t = 0; t < 3; ++t) s = ref::rnn_cell(v[0], s, v[2], v[3], v[4], v[5]);
      return s;
    };
    agt::check_both_orders(tanh3, {x, h, wi, wh, bi, bh});
    agt::check_both_orders([](const auto& v) { return ref::rnn_cell(v[0], v[1], v[2], v[3]); }, {x, h, wi, wh});
    {  // the relu kinks must stay clear of the finite-difference step
      NoGradGuard g;
      for (double v : (matmul(x, t(wi)) + bi + matmul(h, t(wh)) + bh).to_vector<double>()) CHECK(std::abs(v) > 1e-3);
    }
    agt::check_both_orders(
        [](const auto& v) { return ref::rnn_cell(v[0], v[1], v[2], v[3], v[4], v[5], nn::Nonlinearity::ReLU); },
        {x, h, wi, wh, bi, bh});
  }
  SUBCASE("lstm_cell") {
    const Tensor wi = agt::input({16, 2}, 1.3), wh = agt::input({16, 4}, 2.2, 0.6), bi = agt::input({16}, 0.4, 0.3),
                 bh = agt::input({16}, 3.1, 0.3);
    const Fn unrolled = [](const auto& v) {
      Tensor hh = v[1], cc = v[2];
      for (int t = 0; t < 3; ++t) std::tie(hh, cc) = ref::lstm_cell(v[0], hh, cc, v[3], v[4], v[5], v[6]);
      return cat({hh, cc}, 1);
    };
    agt::check_both_orders(unrolled, {x, h, c, wi, wh, bi, bh});
    agt::check_both_orders([](const auto& v) { return both(ref::lstm_cell(v[0], v[1], v[2], v[3], v[4])); },
                           {x, h, c, wi, wh});
    agt::check_both_orders(
        [](const auto& v) { return std::get<0>(ref::lstm_cell(v[0], v[1], v[2], v[3], v[4], v[5], v[6])); },
        {x, h, c, wi, wh, bi, bh});
  }
  SUBCASE("gru_cell, also unbatched") {
    const Tensor wi = agt::input({12, 2}, 1.3), wh = agt::input({12, 4}, 2.2, 0.6), bi = agt::input({12}, 0.4, 0.3),
                 bh = agt::input({12}, 3.1, 0.3);
    const Fn steps = [](const auto& v) {
      Tensor s = v[1];
      for (int t = 0; t < 3; ++t) s = ref::gru_cell(v[0], s, v[2], v[3], v[4], v[5]);
      return s;
    };
    agt::check_both_orders(steps, {x, h, wi, wh, bi, bh});
    agt::check_both_orders([](const auto& v) { return ref::gru_cell(v[0], v[1], v[2], v[3]); }, {x, h, wi, wh});
    agt::check_both_orders([](const auto& v) { return ref::gru_cell(v[0], v[1], v[2], v[3], v[4], v[5]); },
                           {agt::input({2}, 0.8), agt::input({4}, 2.2, 0.5), wi, wh, bi, bh});
  }
}

TEST_CASE("nn reference cells: equal the fused cells in values and gradients, float64 and float32") {
  for (Dtype dt : {kFloat64, kFloat32}) {
    CAPTURE(dtype_name(dt));
    const double tol = tol_for(dt);
    const Tensor x = leaf({3, 5}, dt, 0.1), h = leaf({3, 4}, dt, 0.9, 0.5), c = leaf({3, 4}, dt, 2.5, 0.8);
    auto w = [dt](std::int64_t rows, std::int64_t cols, double seed) { return leaf({rows, cols}, dt, seed, 0.6); };
    auto b = [dt](std::int64_t n, double seed) { return leaf({n}, dt, seed, 0.3); };
    {  // linear
      const Tensor wl = w(4, 5, 0.7), bl = b(4, 1.9);
      agt::check_same_function([](const auto& v) { return linear(v[0], v[1], v[2]); },
                               [](const auto& v) { return ref::linear(v[0], v[1], v[2]); }, {x, wl, bl}, tol);
      agt::check_same_function([](const auto& v) { return linear(v[0], v[1]); },
                               [](const auto& v) { return ref::linear(v[0], v[1]); }, {leaf({2, 3, 5}, dt, 0.2), wl},
                               tol);
    }
    {  // rnn cells
      const Tensor wi = w(4, 5, 1.3), wh = w(4, 4, 2.2), bi = b(4, 0.4), bh = b(4, 3.1);
      agt::check_same_function([](const auto& v) { return rnn_tanh_cell(v[0], v[1], v[2], v[3], v[4], v[5]); },
                               [](const auto& v) { return ref::rnn_cell(v[0], v[1], v[2], v[3], v[4], v[5]); },
                               {x, h, wi, wh, bi, bh}, tol);
      agt::check_same_function([](const auto& v) { return rnn_relu_cell(v[0], v[1], v[2], v[3], v[4], v[5]); },
                               [](const auto& v) {
                                 return ref::rnn_cell(v[0], v[1], v[2], v[3], v[4], v[5], nn::Nonlinearity::ReLU);
                               },
                               {x, h, wi, wh, bi, bh}, tol);
      agt::check_same_function([](const auto& v) { return rnn_tanh_cell(v[0], v[1], v[2], v[3]); },
                               [](const auto& v) { return ref::rnn_cell(v[0], v[1], v[2], v[3]); }, {x, h, wi, wh},
                               tol);
      // the gates form after one projection
      agt::check_same_function(
          [](const auto& v) { return rnn_tanh_cell_gates(linear(v[0], v[2], v[4]), v[1], v[3], v[5]); },
          [](const auto& v) { return ref::rnn_cell(v[0], v[1], v[2], v[3], v[4], v[5]); }, {x, h, wi, wh, bi, bh}, tol);
      agt::check_same_function(
          [](const auto& v) { return rnn_relu_cell_gates(linear(v[0], v[2], v[4]), v[1], v[3], v[5]); },
          [](const auto& v) { return ref::rnn_cell(v[0], v[1], v[2], v[3], v[4], v[5], nn::Nonlinearity::ReLU); },
          {x, h, wi, wh, bi, bh}, tol);
    }
    {  // lstm cells
      const Tensor wi = w(16, 5, 1.3), wh = w(16, 4, 2.2), bi = b(16, 0.4), bh = b(16, 3.1);
      agt::check_same_function(
          [](const auto& v) { return both(fused_lstm_cell(v[0], v[1], v[2], v[3], v[4], v[5], v[6])); },
          [](const auto& v) { return both(ref::lstm_cell(v[0], v[1], v[2], v[3], v[4], v[5], v[6])); },
          {x, h, c, wi, wh, bi, bh}, tol);
      agt::check_same_function([](const auto& v) { return both(fused_lstm_cell(v[0], v[1], v[2], v[3], v[4])); },
                               [](const auto& v) { return both(ref::lstm_cell(v[0], v[1], v[2], v[3], v[4])); },
                               {x, h, c, wi, wh}, tol);
      agt::check_same_function(
          [](const auto& v) { return std::get<0>(fused_lstm_cell(v[0], v[1], v[2], v[3], v[4], v[5], v[6])); },
          [](const auto& v) { return std::get<0>(ref::lstm_cell(v[0], v[1], v[2], v[3], v[4], v[5], v[6])); },
          {x, h, c, wi, wh, bi, bh}, tol);
      agt::check_same_function(
          [](const auto& v) { return std::get<1>(fused_lstm_cell(v[0], v[1], v[2], v[3], v[4], v[5], v[6])); },
          [](const auto& v) { return std::get<1>(ref::lstm_cell(v[0], v[1], v[2], v[3], v[4], v[5], v[6])); },
          {x, h, c, wi, wh, bi, bh}, tol);
      agt::check_same_function(
          [](const auto& v) { return both(fused_lstm_cell_gates(linear(v[0], v[3], v[5]), v[1], v[2], v[4], v[6])); },
          [](const auto& v) { return both(ref::lstm_cell(v[0], v[1], v[2], v[3], v[4], v[5], v[6])); },
          {x, h, c, wi, wh, bi, bh}, tol);
    }
    {  // gru cells
      const Tensor wi = w(12, 5, 1.3), wh = w(12, 4, 2.2), bi = b(12, 0.4), bh = b(12, 3.1);
      agt::check_same_function([](const auto& v) { return fused_gru_cell(v[0], v[1], v[2], v[3], v[4], v[5]); },
                               [](const auto& v) { return ref::gru_cell(v[0], v[1], v[2], v[3], v[4], v[5]); },
                               {x, h, wi, wh, bi, bh}, tol);
      agt::check_same_function([](const auto& v) { return fused_gru_cell(v[0], v[1], v[2], v[3]); },
                               [](const auto& v) { return ref::gru_cell(v[0], v[1], v[2], v[3]); }, {x, h, wi, wh},
                               tol);
      agt::check_same_function(
          [](const auto& v) { return fused_gru_cell_gates(linear(v[0], v[2], v[4]), v[1], v[3], v[5]); },
          [](const auto& v) { return ref::gru_cell(v[0], v[1], v[2], v[3], v[4], v[5]); }, {x, h, wi, wh, bi, bh}, tol);
      // the same tensor as input and hidden state, and as both biases
      const Tensor s = leaf({3, 4}, dt, 0.6), w2 = w(12, 4, 1.7);
      agt::check_same_function([](const auto& v) { return fused_gru_cell(v[0], v[0], v[1], v[1], v[2], v[2]); },
                               [](const auto& v) { return ref::gru_cell(v[0], v[0], v[1], v[1], v[2], v[2]); },
                               {s, w2, bi}, tol);
    }
  }
}

TEST_CASE("nn reference cells: misuse throws naming the cell and the shapes") {
  const Tensor x = zeros({3, 2}, kFloat64), h = zeros({3, 4}, kFloat64);
  CHECK_NOTHROW(ref::lstm_cell(x, h, h, zeros({16, 2}, kFloat64), zeros({16, 4}, kFloat64)));
  CHECK(agt::error_message([&] {
          ref::lstm_cell(x, h, h, zeros({12, 2}, kFloat64), zeros({16, 4}, kFloat64));
        }).find("reference::lstm_cell: weight_ih must be [16, in] (4 gates of hidden size 4), got float64[12, 2]") ==
        0);
  CHECK(agt::error_message([&] {
          ref::gru_cell(x, h, zeros({12, 2}, kFloat64), zeros({12, 3}, kFloat64));
        }).find("reference::gru_cell: weight_hh must be [12, 4], got float64[12, 3]") == 0);
  CHECK(agt::error_message([&] {
          ref::rnn_cell(x, zeros({3, 2, 4}, kFloat64), zeros({4, 2}, kFloat64), zeros({4, 4}, kFloat64));
        }).find("reference::rnn_cell: expects hidden state [B, H] or [H]") == 0);
  CHECK_THROWS_AS(ref::rnn_cell(x, h, zeros({4, 3}, kFloat64), zeros({4, 4}, kFloat64)),
                  Error);  // matmul: x [3, 2], W_ih^T [3, 4]
  CHECK_THROWS_AS(ref::gru_cell(x, Tensor(), zeros({12, 2}, kFloat64), zeros({12, 4}, kFloat64)), Error);
  CHECK_THROWS_AS(ref::linear(x, zeros({4, 3}, kFloat64)), Error);
}

TEST_CASE(
    "nn cells: RNNCell, LSTMCell and GRUCell equal one reference step (values, gradients of input, state, "
    "parameters)") {
  for (Dtype dt : {kFloat64, kFloat32}) {
    CAPTURE(dtype_name(dt));
    const double tol = tol_for(dt);
    for (bool bias : {true, false}) {
      CAPTURE(bias);
      const auto opts = nn::RNNCellOptions(5, 4).bias(bias).dtype(dt);
      const Tensor x = leaf({3, 5}, dt, 0.1), h = leaf({3, 4}, dt, 0.9, 0.5), c = leaf({3, 4}, dt, 2.5, 0.8);
      const Tensor xu = leaf({5}, dt, 0.4), hu = leaf({4}, dt, 1.4, 0.5);
      for (auto nl : {nn::Nonlinearity::Tanh, nn::Nonlinearity::ReLU}) {
        nn::RNNCell cell(nn::RNNCellOptions(opts).nonlinearity(nl));
        const auto& m = *cell;
        auto reference = [&m, nl](const auto& v) {
          return ref::rnn_cell(v[0], v[1], m.weight_ih, m.weight_hh, m.bias_ih, m.bias_hh, nl);
        };
        std::vector<Tensor> in{x, h};
        for (const Tensor& p : cell->parameters()) in.push_back(p);
        agt::check_same_function([&m](const auto& v) { return m.forward(v[0], v[1]); }, reference, in, tol);
        in[0] = xu;
        in[1] = hu;
        agt::check_same_function([&m](const auto& v) { return m.forward(v[0], v[1]); }, reference, in,
                                 tol);  // unbatched
        // no state: zeros
        agt::check_same_function([&m](const auto& v) { return m.forward(v[0]); },
                                 [&m, nl](const auto& v) {
                                   return ref::rnn_cell(v[0], zeros({3, 4}, v[0].dtype()), m.weight_ih, m.weight_hh,
                                                        m.bias_ih, m.bias_hh, nl);
                                 },
                                 {x, m.weight_ih}, tol);
      }
      nn::LSTMCell lstm(opts);
      const auto& ml = *lstm;
      std::vector<Tensor> in{x, h, c};
      for (const Tensor& p : lstm->parameters()) in.push_back(p);
      agt::check_same_function(
          [&ml](const auto& v) {
            return both(ml.forward(v[0], {v[1], v[2]}));
          },
          [&ml](const auto& v) {
            return both(ref::lstm_cell(v[0], v[1], v[2], ml.weight_ih, ml.weight_hh, ml.bias_ih, ml.bias_hh));
          },
          in, tol);
      nn::GRUCell gru(opts);
      const auto& mg = *gru;
      std::vector<Tensor> ing{x, h};
      for (const Tensor& p : gru->parameters()) ing.push_back(p);
      agt::check_same_function([&mg](const auto& v) { return mg.forward(v[0], v[1]); },
                               [&mg](const auto& v) {
                                 return ref::gru_cell(v[0], v[1], mg.weight_ih, mg.weight_hh, mg.bias_ih, mg.bias_hh);
                               },
                               ing, tol);
    }
  }
}

TEST_CASE(
    "nn RNN, LSTM and GRU over time equal an explicit loop of reference cells (layers, batch_first, checkpointing)") {
  constexpr std::int64_t T = 5, B = 2, F = 3, H = 4, L = 2;
  struct Config {
    const char* what;
    bool batch_first, bias;
    std::int64_t checkpoint_every;
  };
  for (Dtype dt : {kFloat64, kFloat32}) {
    CAPTURE(dtype_name(dt));
    const double tol = tol_for(dt);
    for (const Config& cfg : {Config{"time-major", false, true, 0}, Config{"batch_first, no bias", true, false, 0},
                              Config{"checkpoint_every(2)", false, true, 2},
                              Config{"checkpoint auto, batch_first", true, true, nn::kCheckpointAuto}}) {
      CAPTURE(cfg.what);
      const auto opts = nn::RNNOptions(F, H)
                            .num_layers(L)
                            .batch_first(cfg.batch_first)
                            .bias(cfg.bias)
                            .checkpoint_every(cfg.checkpoint_every)
                            .dtype(dt);
      const Tensor x = leaf(cfg.batch_first ? Shape{B, T, F} : Shape{T, B, F}, dt, 0.3);
      const Tensor h0 = leaf({L, B, H}, dt, 1.3, 0.5), c0 = leaf({L, B, H}, dt, 2.1, 0.7);
      {  // RNN, tanh and relu
        for (auto nl : {nn::Nonlinearity::Tanh, nn::Nonlinearity::ReLU}) {
          nn::RNN rnn(nn::RNNOptions(opts).nonlinearity(nl));
          const auto& m = *rnn;
          std::vector<Tensor> in{x, h0};
          for (const Tensor& p : rnn->parameters()) in.push_back(p);
          agt::check_same_function(
              [&m](const auto& v) {
                auto [out, hn] = m.forward(v[0], v[1]);
                return flat({out, hn});
              },
              [&m, nl](const auto& v) {
                return loop_of_cells(m, v[0], {v[1]},
                                     [nl](const Tensor& xt, const std::vector<Tensor>& s, const nn::RNNBase::Layer& l) {
                                       return std::vector<Tensor>{
                                           ref::rnn_cell(xt, s[0], l.w_ih, l.w_hh, l.b_ih, l.b_hh, nl)};
                                     });
              },
              in, tol);
        }
      }
      {  // LSTM
        nn::LSTM lstm(opts);
        const auto& m = *lstm;
        std::vector<Tensor> in{x, h0, c0};
        for (const Tensor& p : lstm->parameters()) in.push_back(p);
        agt::check_same_function(
            [&m](const auto& v) {
              auto [out, st] = m.forward(v[0], {v[1], v[2]});
              return flat({out, std::get<0>(st), std::get<1>(st)});
            },
            [&m](const auto& v) {
              return loop_of_cells(m, v[0], {v[1], v[2]},
                                   [](const Tensor& xt, const std::vector<Tensor>& s, const nn::RNNBase::Layer& l) {
                                     auto [h, c] = ref::lstm_cell(xt, s[0], s[1], l.w_ih, l.w_hh, l.b_ih, l.b_hh);
                                     return std::vector<Tensor>{h, c};
                                   });
            },
            in, tol);
      }
      {  // GRU, also from a zero state
        nn::GRU gru(opts);
        const auto& m = *gru;
        auto cells = [&m](const Tensor& input, const Tensor& s0) {
          return loop_of_cells(m, input, {s0},
                               [](const Tensor& xt, const std::vector<Tensor>& s, const nn::RNNBase::Layer& l) {
                                 return std::vector<Tensor>{ref::gru_cell(xt, s[0], l.w_ih, l.w_hh, l.b_ih, l.b_hh)};
                               });
        };
        std::vector<Tensor> in{x, h0};
        for (const Tensor& p : gru->parameters()) in.push_back(p);
        agt::check_same_function(
            [&m](const auto& v) {
              auto [out, hn] = m.forward(v[0], v[1]);
              return flat({out, hn});
            },
            [&cells](const auto& v) { return cells(v[0], v[1]); }, in, tol);
        agt::check_same_function(
            [&m](const auto& v) {
              auto [out, hn] = m.forward(v[0]);
              return flat({out, hn});
            },
            [&cells, dt](const auto& v) {
              return cells(v[0], zeros({L, B, H}, dt));
            },
            {x, m.layers[0].w_hh, m.layers[1].w_ih}, tol);
      }
    }
  }
}
