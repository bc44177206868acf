// Forward mode (JVP rules) of the view, shape, index and matmul ops, each checked alone: gradcheck
// with check_forward_ad on functions made of that op only (the JVP Jacobian against finite
// differences and the tape's), and forward over reverse through the ops their VJPs use
// (strided_scatter, put_rows, scatter_add, index_put, matmul): fn(x, u) = grad(op(x), x, u).
#include <doctest/doctest.h>

#include "test_util.h"

using namespace ag;
using namespace ag::indexing;
namespace fw = ag::autograd::forward_ad;

namespace {

Tensor in(const Shape& s, double seed) { return agt::input(s, seed); }
Tensor idx(const std::vector<std::int64_t>& v) { return tensor(v, {static_cast<std::int64_t>(v.size())}, kInt64); }

/// gradcheck with forward mode of x -> f(x).
void check1(const std::function<Tensor(const Tensor&)>& f, const Tensor& x) {
  agt::check_gradients([&](const std::vector<Tensor>& v) { return f(v[0]); }, {x});
}

/// d<f(xs), u>/dxs inside a gradcheck'd function: recorded (create_graph) when grad mode is on, and
/// computed with grad mode switched on under the finite differences (as gradgradcheck does).
std::vector<Tensor> vjp(const std::function<Tensor()>& f, const std::vector<Tensor>& xs, const Tensor& u) {
  const bool outer = GradMode::is_enabled();
  AutoGradMode on(true);
  return grad({f()}, xs, {u}, outer, outer, true);
}

/// Forward over reverse: (x, u) -> d<f(x), u>/dx, so the JVP rules of f's VJP ops are checked (in u).
void check_vjp(const std::function<Tensor(const Tensor&)>& f, const Tensor& x) {
  const Tensor u = agt::input(f(x.detach()).shape(), 0.37);
  agt::check_gradients([&](const std::vector<Tensor>& v) { return vjp([&] { return f(v[0]); }, {v[0]}, v[1])[0]; },
                       {x, u});
}

}  // namespace

TEST_CASE("forward views: the tangent of every view op is the same view of the input's tangent") {
  const Tensor x = in({3, 4}, 0.2), x3 = in({2, 3, 4}, 0.5);
  check1([](const Tensor& a) { return a.t().contiguous(); }, x);
  check1([](const Tensor& a) { return a.reshape({4, 3}); }, x);
  check1([](const Tensor& a) { return a.t().reshape({-1}); }, x);  // the copy path
  check1([](const Tensor& a) { return a.view({2, 6}); }, x);
  check1([](const Tensor& a) { return a.flatten(1, 2); }, x3);
  check1([](const Tensor& a) { return a.unsqueeze(1).squeeze(); }, x);
  check1([](const Tensor& a) { return a.unsqueeze(-1).squeeze(-1); }, x);
  check1([](const Tensor& a) { return a.permute({2, 0, 1}); }, x3);
  check1([](const Tensor& a) { return a.transpose(0, -1); }, x3);
  check1([](const Tensor& a) { return a.t(); }, x);
  check1([](const Tensor& a) { return a.unsqueeze(1).expand({2, 3, 3, 4}); }, x);
  check1([](const Tensor& a) { return broadcast_to(a, {2, 3, 4}); }, x);
  check1([](const Tensor& a) { return a.select(1, -2); }, x3);
  check1([](const Tensor& a) { return a.slice(2, 1, 4, 2); }, x3);
  check1([](const Tensor& a) { return a.t().slice(0, -3); }, x);  // of a strided view
  check1([](const Tensor& a) { return a.narrow(0, 1, 2); }, x);
  check1([](const Tensor& a) { return a.diagonal(1); }, x);
  check1([](const Tensor& a) { return a.diagonal(-1, 2, 0); }, x3);
  check1([](const Tensor& a) { return a.unfold(1, 2, 1); }, x);
  check1([](const Tensor& a) { return a.as_strided({2, 2}, {1, 4}, 1); }, x);
  check1([](const Tensor& a) { return a.slice(0, 1).as_strided({3, 2}, {2, 1}); }, x);
  check1([](const Tensor& a) { return sum_to(a, {1, 4}); }, x3);
  check1([](const Tensor& a) { return a.t().t().index({}); }, x);
}

TEST_CASE("forward views: unbind gives each slice its tangent; as_strided beyond the input is an error") {
  const Tensor x = in({3, 4}, 0.2);
  for (std::int64_t d : {0, 1, -1})
    agt::check_gradients([d](const std::vector<Tensor>& v) { return unbind(v[0], d)[1]; }, {x});
  agt::check_gradients(
      [](const std::vector<Tensor>& v) {
        auto parts = unbind(v[0], 1);
        return stack({parts[3], parts[0], parts[3]}, 0);
      },
      {x});
  fw::dual_level level;
  const Tensor d = fw::make_dual(in({3, 4}, 0.2).detach(), in({3, 4}, 0.7).detach());
  const auto parts = unbind(d, 0);
  const auto t = in({3, 4}, 0.7).to_vector<double>();
  agt::check_values(fw::unpack_dual(parts[2]).tangent, {t[8], t[9], t[10], t[11]});
  CHECK(agt::error_message([&] { (void)d.t().as_strided({2}, {1}); }).find("as_strided") != std::string::npos);
}

TEST_CASE("forward views: the VJPs' own ops (strided_scatter, sum_to's expand) have JVP rules") {
  const Tensor x = in({3, 4}, 0.2);
  check_vjp([](const Tensor& a) { return a.select(0, 1); }, x);
  check_vjp([](const Tensor& a) { return a.slice(1, 0, 4, 3); }, x);
  check_vjp([](const Tensor& a) { return a.diagonal(); }, x);
  check_vjp([](const Tensor& a) { return a.unfold(1, 3, 1); }, x);
  check_vjp([](const Tensor& a) { return a.as_strided({2, 3}, {3, 1}, 2); }, x);
  check_vjp([](const Tensor& a) { return a.unsqueeze(0).expand({2, 3, 4}); }, x);
  check_vjp([](const Tensor& a) { return sum_to(a, {4}); }, x);
  check_vjp([](const Tensor& a) { return a.permute({1, 0}).reshape({2, 6}); }, x);
}

TEST_CASE("forward index ops: index_select, gather, cat, stack, index, index_put") {
  const Tensor x = in({3, 4}, 0.2), y = in({2, 4}, 0.9);
  const Tensor c = agt::input({3, 2}, 1.3, 1.0, 0.0, false);  // a constant: zero tangent in cat
  check1([](const Tensor& a) { return a.index_select(1, idx({3, 0, 3})); }, x);
  const Tensor gi = tensor(std::vector<std::int64_t>{0, 2, 2, 1, 1, 0}, {2, 3}, kInt64);
  check1([&](const Tensor& a) { return a.gather(0, gi); }, x);
  check1([&](const Tensor& a) { return a.gather(1, gi); }, x);
  agt::check_gradients([](const std::vector<Tensor>& v) { return cat({v[0], v[1], v[0]}, 0); }, {x, y});
  agt::check_gradients([&](const std::vector<Tensor>& v) { return cat({v[0], c}, 1); }, {x});
  agt::check_gradients(
      [](const std::vector<Tensor>& v) {
        return stack({v[0], v[1]}, -1);
      },
      {x.slice(0, 0, 2).detach().requires_grad_(), y});
  const Tensor mask = gt(x.detach(), 0.0);
  check1([&](const Tensor& a) { return a.index({mask}); }, x);
  check1([&](const Tensor& a) { return a.index({idx({2, 0, 2}), Slice(1, None, 2)}); }, x);
  check1([&](const Tensor& a) { return a.index({Slice(), idx({1, 3})}); }, x);
  check1([&](const Tensor& a) { return masked_select(a, mask); }, x);
  const Tensor vals = in({2}, 0.4);
  agt::check_gradients(
      [](const std::vector<Tensor>& v) {
        return index_put(v[0], {idx({2, 0}), idx({1, 3})}, v[1]);
      },
      {x, vals});
  agt::check_gradients(
      [](const std::vector<Tensor>& v) {
        return index_put(v[0], {Slice(), 2}, v[1]);
      },
      {x, in({3}, 0.8)});
  const Tensor plain_vals = agt::input({2}, 0.4, 1.0, 0.0, false);
  check1([&](const Tensor& a) { return index_put(a, {idx({2, 0}), idx({1, 3})}, plain_vals); }, x);
  check1([&](const Tensor& a) { return index_put(x.detach(), {idx({2, 0}), idx({1, 3})}, a); }, vals);
}

TEST_CASE("forward index ops: the VJPs' own ops (put_rows, take_rows, scatter_add, index_put) have JVP rules") {
  const Tensor x = in({3, 4}, 0.2);
  check_vjp([](const Tensor& a) { return a.index_select(0, idx({2, 2, 0})); }, x);
  const Tensor gi = tensor(std::vector<std::int64_t>{0, 2, 2, 1, 1, 0}, {2, 3}, kInt64);
  check_vjp([&](const Tensor& a) { return a.gather(1, gi); }, x);
  check_vjp([](const Tensor& a) { return cat({a, a.slice(0, 1)}, 0); }, x);
  check_vjp([](const Tensor& a) { return a.index({idx({2, 0, 2}), idx({1, 1, 3})}); }, x);
  // forward over forward-over-reverse: put_rows in the gradient of index_select, then its take_rows
  const Tensor u = in({2, 4}, 0.6);
  agt::check_gradients(
      [](const std::vector<Tensor>& v) {
        const bool outer = GradMode::is_enabled();
        AutoGradMode on(true);
        const Tensor g = grad({v[0].index_select(0, idx({1, 1}))}, {v[0]}, {v[1]}, true, true)[0];
        return grad({g}, {v[1]}, {g}, outer, outer, true)[0];
      },
      {x, u});
}

TEST_CASE("forward matmul: dA B + A dB over every rank combination and transpose flag") {
  const std::vector<std::pair<Shape, Shape>> shapes = {
      {{3}, {3}},       {{3}, {3, 2}},       {{2, 3}, {3}},       {{2, 3}, {3, 4}},         {{2, 2, 3}, {3}},
      {{3}, {2, 3, 4}}, {{2, 2, 3}, {3, 4}}, {{2, 3}, {2, 3, 4}}, {{2, 1, 2, 3}, {3, 3, 2}}};
  for (const auto& [sa, sb] : shapes) {
    CAPTURE(shape_str(sa));
    CAPTURE(shape_str(sb));
    agt::check_gradients([](const std::vector<Tensor>& v) { return matmul(v[0], v[1]); }, {in(sa, 0.3), in(sb, 1.1)});
  }
  const Tensor a = in({3, 2}, 0.3), b = in({4, 3}, 1.1);
  agt::check_gradients([](const std::vector<Tensor>& v) { return mm(v[0].t(), v[1].t()); }, {a, b});
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      const Tensor p = in(ta ? Shape{2, 3, 2} : Shape{2, 2, 3}, 0.4), q = in(tb ? Shape{4, 3} : Shape{3, 4}, 0.8);
      agt::check_gradients([ta, tb](const std::vector<Tensor>& v) { return matmul_transposed(v[0], v[1], ta, tb); },
                           {p, q});
      agt::check_gradients([ta, tb](const std::vector<Tensor>& v) { return matmul_transposed(v[0], v[1], ta, tb); },
                           {p, q.detach()});  // one input without tangent
    }
  // forward over reverse: the VJP's matmuls
  agt::check_gradients(
      [](const std::vector<Tensor>& v) {
        const auto g = vjp([&] { return matmul(v[0], v[1]); }, {v[0], v[1]}, v[2]);
        return cat({g[0].flatten(), g[1].flatten()}, 0);
      },
      {in({2, 2, 3}, 0.3), in({3, 4}, 1.1), in({2, 2, 4}, 0.5)});
}
