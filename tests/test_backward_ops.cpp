// Backward ops (tanh_backward, sigmoid_backward, threshold_backward, lstm_cell_backward, gru_cell_backward,
// softmax_cross_entropy_backward): values equal to the closed forms, gradchecked to first and second
// order as ops of their own; the VJPs of tanh, sigmoid, relu and the fused ops call them (so a double
// backward records them); a plain backward records nothing; misuse throws naming the op.
#include <algorithm>
#include <cmath>
#include <string>
#include <tuple>

#include "test_util.h"

using namespace ag;

namespace {

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

// Exact equality of every element (the backward op's forward is the loop the VJP ran before).
void check_bitwise(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  CHECK(a.to_vector<double>() == b.to_vector<double>());
}

Tensor flat_cat(const std::vector<Tensor>& ts) {
  std::vector<Tensor> parts;
  for (const Tensor& t : ts) parts.push_back(reshape(t, {-1}));
  return cat(parts, 0);
}

// The names of the tape's nodes from index `from` on.
std::vector<std::string> names_from(std::size_t from) {
  std::vector<std::string> got;
  for (auto i = from; i < Tape::current().num_nodes(); ++i) got.emplace_back(Tape::current().node(i)->name);
  return got;
}

bool has(const std::vector<std::string>& names, const std::string& n) {
  return std::find(names.begin(), names.end(), n) != names.end();
}

}  // namespace

TEST_CASE(
    "tanh_backward, sigmoid_backward, threshold_backward: values, both orders, and the activations' VJPs use them") {
  const Tensor g = agt::input({3, 4}, 0.2, 1.3), y = agt::input({3, 4}, 1.1, 0.9);
  // values: the closed forms, bitwise as the fused loops computed them
  const auto gv = g.to_vector<double>(), yv = y.to_vector<double>();
  std::vector<double> et, es, er;
  for (std::size_t k = 0; k < gv.size(); ++k) {
    et.push_back(gv[k] * (1.0 - yv[k] * yv[k]));
    es.push_back(gv[k] * (yv[k] * (1.0 - yv[k])));
    er.push_back(yv[k] > 0.25 ? gv[k] : 0.0);
  }
  CHECK(tanh_backward(g, y).to_vector<double>() == et);
  CHECK(sigmoid_backward(g, y).to_vector<double>() == es);
  CHECK(threshold_backward(g, y, 0.25).to_vector<double>() == er);
  agt::check_values(tanh_backward(g.to(kFloat32), y.to(kFloat32)), et, 1e-6);
  agt::check_values(sigmoid_backward(g.to(kFloat32), y.to(kFloat32)), es, 1e-6);

  agt::check_both_orders([](const auto& v) { return tanh_backward(v[0], v[1]); }, {g, y});
  agt::check_both_orders([](const auto& v) { return sigmoid_backward(v[0], v[1]); }, {g, y});
  agt::check_both_orders([](const auto& v) { return threshold_backward(v[0], v[1], 0.25); },
                         {g, y});  // cos values avoid 0.25
  // the same tensor as grad and output
  agt::check_both_orders([](const auto& v) { return tanh_backward(v[0], v[0]); }, {y});
  agt::check_both_orders([](const auto& v) { return sigmoid_backward(v[0], v[0]); }, {y});

  // the original ops: first and second order, and their gradient is the backward op's value
  const Tensor x = agt::input({2, 3}, 0.7, 1.5);
  for (const auto& entry : std::vector<std::pair<std::string, std::function<Tensor(const Tensor&)>>>{
           {"tanh_backward", [](const Tensor& t) { return tanh(t); }},
           {"sigmoid_backward", [](const Tensor& t) { return sigmoid(t); }},
           {"threshold_backward", [](const Tensor& t) { return relu(t); }}}) {
    const std::string name = entry.first;
    const auto op = entry.second;
    CAPTURE(name);
    agt::check_both_orders([op](const auto& v) { return op(v[0]) * v[0]; }, {x});
    const Tensor yx = op(x), u = agt::input(x.shape(), 0.4, 1.0, 0.0, false);
    const auto before = Tape::current().num_nodes();
    const Tensor dx = grad({yx}, {x}, {u}, true, false)[0];  // plain backward: nothing recorded
    CHECK(Tape::current().num_nodes() == before);
    CHECK_FALSE(dx.requires_grad());
    const Tensor expect = name == "tanh_backward"      ? tanh_backward(u, yx.detach())
                          : name == "sigmoid_backward" ? sigmoid_backward(u, yx.detach())
                                                       : threshold_backward(u, yx.detach(), 0.0);
    check_bitwise(dx, expect);
    const auto at = Tape::current().num_nodes();
    const Tensor ug = u.detach().requires_grad_();  // (threshold_backward records only for a grad requiring grad)
    const Tensor dxg = grad({yx}, {x}, {ug}, true, true)[0];  // create_graph: the backward op is recorded
    CHECK(has(names_from(at), name));
    check_bitwise(dxg, expect);
  }
}

TEST_CASE("lstm_cell_backward: the kernel's values, both orders, and fused_lstm_cell's double backward records it") {
  constexpr std::int64_t B = 2, H = 3;
  const Tensor dh = agt::input({B, H}, 0.3, 1.2), dc = agt::input({B, H}, 1.9, 0.8), c = agt::input({B, H}, 2.5, 0.9);
  const Tensor gates = agt::input({B, 4 * H}, 0.8, 0.4, 0.5), tc = agt::input({B, H}, 1.4, 0.7);
  auto [dg, dcp] = lstm_cell_backward(dh, dc, gates, c, tc);
  REQUIRE(dg.shape() == Shape{B, 4 * H});
  REQUIRE(dcp.shape() == Shape{B, H});
  // the closed form with ops
  const Tensor i = narrow(gates, 1, 0, H), f = narrow(gates, 1, H, H), g = narrow(gates, 1, 2 * H, H),
               o = narrow(gates, 1, 3 * H, H);
  const Tensor dct = dc + dh * o * (1.0 - tc * tc);
  agt::check_values(
      dg, cat({dct * g * i * (1.0 - i), dct * c * f * (1.0 - f), dct * i * (1.0 - g * g), dh * tc * o * (1.0 - o)}, 1)
              .to_vector<double>());
  agt::check_values(dcp, (dct * f).to_vector<double>());
  const Fn fn = [](const auto& v) {
    auto [a, b] = lstm_cell_backward(v[0], v[1], v[2], v[3], v[4]);
    return cat({a, b}, 1);
  };
  agt::check_both_orders(fn, {dh, dc, gates, c, tc});
  // one tensor in several roles
  agt::check_both_orders(
      [](const auto& v) { return flat_cat({std::get<0>(lstm_cell_backward(v[0], v[0], v[1], v[0], v[0]))}); },
      {dh, gates});

  // fused_lstm_cell: a plain backward gives the kernel's values bitwise and records nothing; with
  // create_graph it records lstm_cell_backward, and the values agree
  const Tensor x = agt::input({B, 2}, 0.1), h = agt::input({B, H}, 0.9, 0.5), wi = agt::input({4 * H, 2}, 1.3),
               wh = agt::input({4 * H, H}, 2.2, 0.6), bi = agt::input({4 * H}, 0.4, 0.3);
  auto [h2, c2] = fused_lstm_cell(x, h, c, wi, wh, bi);
  const Tensor u1 = agt::input({B, H}, 0.6, 1.0, 0.0, false), u2 = agt::input({B, H}, 1.6, 1.0, 0.0, false);
  const auto before = Tape::current().num_nodes();
  const auto plain = grad({h2, c2}, {x, h, c, wi, wh, bi}, {u1, u2}, true, false);
  CHECK(Tape::current().num_nodes() == before);
  const auto graph = grad({h2, c2}, {x, h, c, wi, wh, bi}, {u1, u2}, true, true);
  CHECK(has(names_from(before), "lstm_cell_backward"));
  for (std::size_t k = 0; k < plain.size(); ++k) {
    CAPTURE(k);
    agt::check_values(graph[k], plain[k].to_vector<double>());
  }
  // the x-less form, in float32 too (the loop's values)
  const Tensor xg = agt::input({B, 4 * H}, 1.7, 1.2);
  auto [hg, cg] = fused_lstm_cell_gates(xg, h, c, wh);
  const auto pg = grad({hg, cg}, {xg, c}, {u1, u2}, true, false);
  const auto gg = grad({hg, cg}, {xg, c}, {u1, u2}, true, true);
  agt::check_values(gg[0], pg[0].to_vector<double>());
  agt::check_values(gg[1], pg[1].to_vector<double>());
}

TEST_CASE("gru_cell_backward: the kernel's values, both orders, and fused_gru_cell's double backward records it") {
  constexpr std::int64_t B = 2, H = 3;
  const Tensor dh = agt::input({B, H}, 0.3, 1.2), h = agt::input({B, H}, 2.5, 0.9);
  const Tensor gates = agt::input({B, 4 * H}, 0.8, 0.4, 0.5);
  auto [dxg, dgh, dh0] = gru_cell_backward(dh, gates, h);
  REQUIRE(dxg.shape() == Shape{B, 3 * H});
  REQUIRE(dgh.shape() == Shape{B, 3 * H});
  REQUIRE(dh0.shape() == Shape{B, H});
  const Tensor r = narrow(gates, 1, 0, H), z = narrow(gates, 1, H, H), n = narrow(gates, 1, 2 * H, H),
               hn = narrow(gates, 1, 3 * H, H);
  const Tensor an = dh * (1.0 - z) * (1.0 - n * n), ar = an * hn * r * (1.0 - r), az = dh * (h - n) * z * (1.0 - z);
  agt::check_values(dxg, cat({ar, az, an}, 1).to_vector<double>());
  agt::check_values(dgh, cat({ar, az, an * r}, 1).to_vector<double>());
  agt::check_values(dh0, (dh * z).to_vector<double>());
  const Fn fn = [](const auto& v) {
    auto [a, b, d] = gru_cell_backward(v[0], v[1], v[2]);
    return cat({a, b, d}, 1);
  };
  agt::check_both_orders(fn, {dh, gates, h});
  agt::check_both_orders([](const auto& v) { return flat_cat({std::get<1>(gru_cell_backward(v[0], v[1], v[0]))}); },
                         {dh, gates});

  const Tensor x = agt::input({B, 2}, 0.1), wi = agt::input({3 * H, 2}, 1.3), wh = agt::input({3 * H, H}, 2.2, 0.6),
               bh = agt::input({3 * H}, 3.1, 0.3);
  const Tensor h2 = fused_gru_cell(x, h, wi, wh, Tensor(), bh);
  const Tensor u = agt::input({B, H}, 0.6, 1.0, 0.0, false);
  const auto before = Tape::current().num_nodes();
  const auto plain = grad({h2}, {x, h, wi, wh, bh}, {u}, true, false);
  CHECK(Tape::current().num_nodes() == before);
  const auto graph = grad({h2}, {x, h, wi, wh, bh}, {u}, true, true);
  CHECK(has(names_from(before), "gru_cell_backward"));
  for (std::size_t k = 0; k < plain.size(); ++k) {
    CAPTURE(k);
    agt::check_values(graph[k], plain[k].to_vector<double>());
  }
}

TEST_CASE(
    "softmax_cross_entropy_backward: (softmax - onehot) grad, both orders, and the loss's double backward records it") {
  const Tensor z = agt::input({4, 3}, 0.3, 2.0), g = agt::input({4}, 1.2, 0.8, 0.3);
  const Tensor t = tensor({2, 0, 1, 2}, {4}, kInt64);
  const Tensor dz = softmax_cross_entropy_backward(g, z, t);
  const Tensor onehot = tensor({0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1}, {4, 3}, kFloat64);
  agt::check_values(dz, ((softmax(z, 1) - onehot) * unsqueeze(g, 1)).to_vector<double>());
  agt::check_both_orders([t](const auto& v) { return softmax_cross_entropy_backward(v[0], v[1], t); }, {g, z});
  const Tensor loss = softmax_cross_entropy(z, t);
  const auto before = Tape::current().num_nodes();
  const Tensor plain = grad({loss}, {z}, {g}, true, false)[0];
  CHECK(Tape::current().num_nodes() == before);
  check_bitwise(plain, dz);
  const Tensor graph = grad({loss}, {z}, {g}, true, true)[0];
  CHECK(has(names_from(before), "softmax_cross_entropy_backward"));
  check_bitwise(graph, dz);
}

TEST_CASE("rnn cells: a plain backward records nothing, a double backward records tanh_backward / threshold_backward") {
  const Tensor x = agt::input({3, 2}, 0.1), h = agt::input({3, 4}, 0.9, 0.5), wi = agt::input({4, 2}, 1.3),
               wh = agt::input({4, 4}, 2.2, 0.6);
  const Tensor u = agt::input({3, 4}, 0.6);  // requiring grad: relu's threshold_backward records only then
  for (bool use_tanh : {true, false}) {
    CAPTURE(use_tanh);
    const Tensor y = use_tanh ? rnn_tanh_cell(x, h, wi, wh) : rnn_relu_cell(x, h, wi, wh);
    const auto before = Tape::current().num_nodes();
    const auto plain = grad({y}, {x, h, wi, wh}, {u}, true, false);
    CHECK(Tape::current().num_nodes() == before);
    const auto graph = grad({y}, {x, h, wi, wh}, {u}, true, true);
    CHECK(has(names_from(before), use_tanh ? "tanh_backward" : "threshold_backward"));
    for (std::size_t k = 0; k < plain.size(); ++k) check_bitwise(graph[k], plain[k]);
  }
}

TEST_CASE("backward ops: misuse throws naming the op, the shapes and the dtypes") {
  const Tensor a = zeros({2, 3}, kFloat64);
  for (const auto& entry : std::vector<std::pair<std::string, std::function<Tensor(const Tensor&, const Tensor&)>>>{
           {"tanh_backward", [](const Tensor&p, const Tensor&q) { return tanh_backward(p, q); }},
           {"sigmoid_backward", [](const Tensor&p, const Tensor&q) { return sigmoid_backward(p, q); }},
           {"threshold_backward", [](const Tensor&p, const Tensor&q) { return threshold_backward(p, q, 0.0); }}}) {
    const std::string name = entry.first;
    const auto op = entry.second;
    CAPTURE(name);
    CHECK_NOTHROW(op(a, a));
    CHECK_THROWS_AS(op(a, zeros({3, 2}, kFloat64)), Error);
    CHECK(agt::error_message([&] { op(a, zeros({3, 2}, kFloat64)); }).find(name + ": grad float64[2, 3] and ") == 0);
    CHECK_THROWS_AS(op(a, zeros({1}, kFloat64)), Error);  // no broadcasting
    CHECK_THROWS_AS(op(a, zeros({2, 3})), Error);
    CHECK(agt::error_message([&] { op(a, zeros({2, 3})); }).find(name + ": dtype mismatch") == 0);
    CHECK_THROWS_AS(op(zeros({2, 3}, kInt64), zeros({2, 3}, kInt64)), Error);
    CHECK(agt::error_message([&] { op(zeros({2, 3}, kInt64), zeros({2, 3}, kInt64)); }).find(name + ":") == 0);
    CHECK_THROWS_AS(op(Tensor(), a), Error);
  }

  const Tensor c = zeros({2, 3}, kFloat64), g4 = zeros({2, 12}, kFloat64);
  CHECK_NOTHROW(lstm_cell_backward(c, c, g4, c, c));
  CHECK_THROWS_AS(lstm_cell_backward(c, c, zeros({2, 9}, kFloat64), c, c), Error);
  CHECK(agt::error_message([&] {
          lstm_cell_backward(c, c, zeros({2, 9}, kFloat64), c, c);
        }).find("lstm_cell_backward: gates (i, f, g, o) must be [2, 12] for float64[2, 3], got float64[2, 9]") == 0);
  CHECK_THROWS_AS(lstm_cell_backward(zeros({3, 3}, kFloat64), c, g4, c, c), Error);
  CHECK(agt::error_message([&] {
          lstm_cell_backward(zeros({3, 3}, kFloat64), c, g4, c, c);
        }).find("lstm_cell_backward: grad_h") == 0);
  CHECK_THROWS_AS(lstm_cell_backward(c, c, g4, c, zeros({2, 4}, kFloat64)), Error);
  CHECK_THROWS_AS(lstm_cell_backward(c, c.to(kFloat32), g4, c, c), Error);
  CHECK(agt::error_message([&] {
          lstm_cell_backward(c, c.to(kFloat32), g4, c, c);
        }).find("lstm_cell_backward: dtype mismatch") == 0);
  CHECK_THROWS_AS(lstm_cell_backward(c, c, g4, zeros({6}, kFloat64), c), Error);
  CHECK_THROWS_AS(lstm_cell_backward(c, c, g4, Tensor(), c), Error);

  const Tensor h = zeros({2, 3}, kFloat64);
  CHECK_NOTHROW(gru_cell_backward(h, g4, h));
  CHECK_THROWS_AS(gru_cell_backward(h, zeros({2, 9}, kFloat64), h), Error);
  CHECK(agt::error_message([&] {
          gru_cell_backward(h, zeros({2, 9}, kFloat64), h);
        }).find("gru_cell_backward: gates (r, z, n, hn) must be [2, 12] for float64[2, 3], got float64[2, 9]") == 0);
  CHECK_THROWS_AS(gru_cell_backward(zeros({2, 4}, kFloat64), g4, h), Error);
  CHECK(agt::error_message([&] {
          gru_cell_backward(zeros({2, 4}, kFloat64), g4, h);
        }).find("gru_cell_backward: grad_h") == 0);
  CHECK_THROWS_AS(gru_cell_backward(h, g4.to(kFloat32), h), Error);
  CHECK_THROWS_AS(gru_cell_backward(zeros({2, 3}, kInt64), zeros({2, 12}, kInt64), zeros({2, 3}, kInt64)), Error);

  const Tensor z = zeros({2, 3}, kFloat64), t = tensor({0, 2}, {2}, kInt64), g = zeros({2}, kFloat64);
  CHECK_NOTHROW(softmax_cross_entropy_backward(g, z, t));
  CHECK_THROWS_AS(softmax_cross_entropy_backward(zeros({3}, kFloat64), z, t), Error);
  CHECK(agt::error_message([&] {
          softmax_cross_entropy_backward(zeros({3}, kFloat64), z, t);
        }).find("softmax_cross_entropy_backward: grad must be [2] for float64[2, 3], got float64[3]") == 0);
  CHECK_THROWS_AS(softmax_cross_entropy_backward(g.to(kFloat32), z, t), Error);
  CHECK_THROWS_AS(softmax_cross_entropy_backward(g, z, tensor({0, 3}, {2}, kInt64)), Error);
  CHECK(agt::error_message([&] {
          softmax_cross_entropy_backward(g, z, tensor({0, 3}, {2}, kInt64));
        }).find("softmax_cross_entropy_backward: target 3 at position 1 is out of range") == 0);
  CHECK_THROWS_AS(softmax_cross_entropy_backward(g, z, tensor({0, 1}, {2}, kFloat64)), Error);
  CHECK_THROWS_AS(softmax_cross_entropy_backward(g, zeros({2}, kFloat64), t), Error);
}

TEST_CASE("lstm_cell_backward and gru_cell_backward, forward mode: each output's JVP (forward over reverse)") {
  constexpr std::int64_t B = 2, H = 3;
  const Tensor dh = agt::input({B, H}, 0.3, 1.2), dc = agt::input({B, H}, 1.9, 0.8), c = agt::input({B, H}, 2.5, 0.9);
  const Tensor gates = agt::input({B, 4 * H}, 0.8, 0.4, 0.5), tc = agt::input({B, H}, 1.4, 0.7);
  agt::check_gradients([](const auto& v) { return std::get<0>(lstm_cell_backward(v[0], v[1], v[2], v[3], v[4])); },
                       {dh, dc, gates, c, tc});
  agt::check_gradients([](const auto& v) { return std::get<1>(lstm_cell_backward(v[0], v[1], v[2], v[3], v[4])); },
                       {dh, dc, gates, c, tc});
  // only some inputs dual
  agt::check_gradients(
      [dh, dc, c](const auto& v) { return std::get<0>(lstm_cell_backward(dh.detach(), dc.detach(), v[0], c, v[1])); },
      {gates, tc});
  const Tensor h = agt::input({B, H}, 2.5, 0.9);
  for (int k = 0; k < 3; ++k) {
    CAPTURE(k);
    agt::check_gradients(
        [k](const auto& v) {
          auto r = gru_cell_backward(v[0], v[1], v[2]);
          return k == 0 ? std::get<0>(r) : k == 1 ? std::get<1>(r) : std::get<2>(r);
        },
        {dh, gates, h});
  }
  agt::check_gradients([gates](const auto& v) { return std::get<1>(gru_cell_backward(v[0], gates.detach(), v[0])); },
                       {h});
}
