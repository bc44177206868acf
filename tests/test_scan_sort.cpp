// cumsum, cumprod, prod, sort, argsort, topk (autograd/ops/scan_sort.h): values, indices, gradients
// (first and second order, zeros included for the products), PyTorch's conventions, errors.
#include <cmath>
#include <limits>

#include "test_util.h"

using namespace ag;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

using UnOp = std::function<Tensor(const Tensor&)>;

void check_both(const UnOp& op, const Tensor& x) {
  const GradcheckFn fn = [op](const std::vector<Tensor>& in) { return op(in[0]); };
  agt::check_gradients(fn, {x});
  agt::check_second_gradients(fn, {x});
}

void check_error(const std::function<void()>& f, const std::string& needle) {
  const std::string msg = agt::error_message(f);
  INFO("message: " << msg);
  CHECK(msg.find(needle) != std::string::npos);
}

Tensor f64(std::initializer_list<double> v, const Shape& shape = {}) { return tensor(v, shape, kFloat64); }

std::vector<std::int64_t> ints(const Tensor& t) { return t.to_vector<std::int64_t>(); }

/// A float64 leaf holding v (shape `shape`) whose entries at the listed flat positions are exactly 0.
Tensor with_zeros(const Tensor& v, std::initializer_list<std::int64_t> at) {
  Tensor t = v.detach().clone();
  for (auto k : at) t.data<double>()[k] = 0.0;
  return t.requires_grad_();
}

}  // namespace

// ---- cumsum, cumprod --------------------------------------------------------------------------------------

TEST_CASE("scan: cumsum and cumprod values along each dim") {
  const Tensor x = f64({1, 2, 3, 4, 5, 6}, {2, 3});
  agt::check_values(cumsum(x, 1), {1, 3, 6, 4, 9, 15});
  agt::check_values(cumsum(x, 0), {1, 2, 3, 5, 7, 9});
  agt::check_values(cumsum(x, -1), {1, 3, 6, 4, 9, 15});
  agt::check_values(cumprod(x, 1), {1, 2, 6, 4, 20, 120});
  agt::check_values(cumprod(x, 0), {1, 2, 3, 4, 10, 18});
  CHECK(cumsum(scalar_tensor(2.5, kFloat64), 0).item<double>() == 2.5);  // 0-d
  CHECK(cumsum(scalar_tensor(2.5, kFloat64), 0).dim() == 0);
  CHECK(cumprod(zeros({0, 3}, kFloat64), 1).shape() == Shape{0, 3});
  CHECK(cumsum(tensor({1.0, 2.0}, {2}, kFloat32), 0).dtype() == kFloat32);
  const auto n = cumsum(f64({1, kNaN, 2}, {3}), 0).to_vector<double>();
  CHECK(n[0] == 1);
  CHECK(std::isnan(n[1]));
  CHECK(std::isnan(n[2]));
}

TEST_CASE("scan: cumsum gradient is the reversed running sum; second order") {
  Tensor x = f64({1, 2, 3}, {3}).requires_grad_();
  sum(cumsum(x, 0) * f64({1, 10, 100}, {3})).backward();
  agt::check_values(x.grad(), {111, 110, 100});
  check_both([](const Tensor& t) { return cumsum(t, 1) * t; }, agt::input({2, 3, 2}));
  check_both([](const Tensor& t) { return square(cumsum(t, 0)); }, agt::input({3, 2}));
  check_both([](const Tensor& t) { return cumsum(t, -1); }, agt::input({4}));
  check_both([](const Tensor& t) { return cumsum(t, 0) * t; }, scalar_tensor(0.7, kFloat64).requires_grad_());
}

TEST_CASE("scan: cumprod gradient, with and without zeros; second order") {
  // without zeros: grad_k = sum_{j >= k} g_j y_j / x_k
  Tensor x = f64({2, 3, 4}, {3}).requires_grad_();
  sum(cumprod(x, 0)).backward();
  agt::check_values(x.grad(), {1 + 3 + 12, 2 + 8, 6});
  // one zero: x = [2, 0, 4]: y = [2, 0, 0]; dy0/dx = [1,0,0], dy1 = [0,2,0], dy2 = [0,8,0]
  Tensor z = f64({2, 0, 4}, {3}).requires_grad_();
  sum(cumprod(z, 0)).backward();
  agt::check_values(z.grad(), {1, 10, 0});
  // two zeros: x = [0, 3, 0]: only y0 = x0 and y1 = x0 x1 move with x0
  Tensor zz = f64({0, 3, 0}, {3}).requires_grad_();
  sum(cumprod(zz, 0) * f64({1, 10, 100}, {3})).backward();
  agt::check_values(zz.grad(), {1 + 30, 0, 0});
  // cumprod is a polynomial: finite differences are exact at zeros too
  const Tensor base = agt::input({3, 4}, 1.0, 0.5, 1.0);
  check_both([](const Tensor& t) { return cumprod(t, 1); }, base);
  check_both([](const Tensor& t) { return cumprod(t, 0) * t; }, base);
  check_both([](const Tensor& t) { return cumprod(t, 1); }, with_zeros(base, {1, 8, 10}));  // rows: 1, 0, 2 zeros
  check_both([](const Tensor& t) { return square(cumprod(t, 0)); }, with_zeros(base, {0, 4, 6}));
  check_both([](const Tensor& t) { return cumprod(t, 0); }, agt::input({1, 3}));  // size-1 dim
  check_both([](const Tensor& t) { return cumprod(t, 0) * 2.0; }, scalar_tensor(0.7, kFloat64).requires_grad_());
}

// ---- prod ---------------------------------------------------------------------------------------------------

TEST_CASE("prod: values") {
  const Tensor x = f64({1, 2, 3, 4, 5, 6}, {2, 3});
  CHECK(prod(x).item<double>() == 720);
  CHECK(prod(x).dim() == 0);
  agt::check_values(prod(x, 1), {6, 120});
  agt::check_values(prod(x, 0), {4, 10, 18});
  CHECK(prod(x, 1, true).shape() == Shape{2, 1});
  CHECK(prod(zeros({0}, kFloat64)).item<double>() == 1);  // empty product
  agt::check_values(prod(zeros({2, 0}, kFloat64), 1), {1, 1});
  CHECK(prod(scalar_tensor(-3.0, kFloat64), 0).item<double>() == -3);
  CHECK(std::isnan(prod(f64({1, kNaN}, {2})).item<double>()));
}

TEST_CASE("prod: gradients with no zero, one zero and several zeros (as PyTorch)") {
  Tensor a = f64({2, 3, 4}, {3}).requires_grad_();
  prod(a).backward();
  agt::check_values(a.grad(), {12, 8, 6});
  Tensor b = f64({2, 0, 4}, {3}).requires_grad_();
  prod(b).backward();
  agt::check_values(b.grad(), {0, 8, 0});  // the product of the others at the zero
  Tensor c = f64({0, 3, 0}, {3}).requires_grad_();
  prod(c).backward();
  agt::check_values(c.grad(), {0, 0, 0});
  // over a dim: rows with no zero, one zero, two zeros
  Tensor d = f64({1, 2, 3, 0, 2, 3, 0, 0, 3}, {3, 3}).requires_grad_();
  sum(prod(d, 1)).backward();
  agt::check_values(d.grad(), {6, 3, 2, 6, 0, 0, 0, 0, 0});
  Tensor e = f64({1, 2, 3, 0, 2, 3}, {2, 3}).requires_grad_();
  sum(prod(e, 0, true) * f64({1, 10, 100}, {1, 3})).backward();
  agt::check_values(e.grad(), {0, 20, 300, 1, 20, 300});

  const Tensor base = agt::input({3, 4}, 1.0, 0.5, 1.0);
  check_both([](const Tensor& t) { return prod(t); }, base);
  check_both([](const Tensor& t) { return prod(t, 1); }, base);
  check_both([](const Tensor& t) { return prod(t, 0, true) * t; }, base);
  check_both([](const Tensor& t) { return prod(t); }, with_zeros(base, {5}));
  // several zeros in a slice: dim reductions are right to second order (exclusive products)
  check_both([](const Tensor& t) { return prod(t, 1); }, with_zeros(base, {1, 8, 10}));
  check_both([](const Tensor& t) { return prod(t, 0); }, with_zeros(base, {0, 4, 5}));
  check_both([](const Tensor& t) { return prod(t, 0); }, scalar_tensor(0.7, kFloat64).requires_grad_());
  // prod() of all elements with two zeros or more: the first derivative is exact (0), but as in PyTorch
  // its gradient is a constant, so the second derivative is reported as 0
  agt::check_gradients([](const std::vector<Tensor>& in) { return prod(in[0]); }, {with_zeros(base, {1, 2})});
}

// ---- sort, argsort, topk ------------------------------------------------------------------------------------

TEST_CASE("sort: values and indices, stable, NaN last (first descending)") {
  const Tensor x = f64({1, 3, 1, 3, 2, kNaN, 3}, {7});
  auto [v, i] = sort(x);
  CHECK(i.dtype() == kInt64);
  CHECK(ints(i) == std::vector<std::int64_t>{0, 2, 4, 1, 3, 6, 5});
  auto vv = v.to_vector<double>();
  CHECK(vv[0] == 1);
  CHECK(vv[4] == 3);
  CHECK(std::isnan(vv[6]));
  auto [dv, di] = sort(x, 0, true);
  CHECK(ints(di) == std::vector<std::int64_t>{5, 1, 3, 6, 4, 0, 2});  // as torch (stable, NaN first)
  CHECK(std::isnan(dv.to_vector<double>()[0]));
  CHECK(ints(argsort(x)) == std::vector<std::int64_t>{0, 2, 4, 1, 3, 6, 5});
  CHECK(ints(argsort(x, -1, true)) == std::vector<std::int64_t>{5, 1, 3, 6, 4, 0, 2});
  // along dim 0 of a matrix
  const Tensor m = f64({3, 1, 2, 5, 1, 0}, {3, 2});
  auto [mv, mi] = sort(m, 0);
  agt::check_values(mv, {1, 0, 2, 1, 3, 5});
  CHECK(ints(mi) == std::vector<std::int64_t>{2, 2, 1, 0, 0, 1});
  CHECK(ints(argsort(m, 1)) == std::vector<std::int64_t>{1, 0, 0, 1, 1, 0});
  // 0-d: itself and index 0
  auto [sv, si] = sort(scalar_tensor(4.0, kFloat64), 0);
  CHECK(sv.dim() == 0);
  CHECK(sv.item<double>() == 4);
  CHECK(si.item<std::int64_t>() == 0);
  CHECK(std::get<0>(sort(zeros({2, 0}, kFloat64), 1)).shape() == Shape{2, 0});
}

TEST_CASE("sort, argsort, topk: int64 tensors (labels) too") {
  const Tensor labels = tensor(std::vector<std::int64_t>{4, -2, 4, 9, 0}, {5});
  auto [v, i] = sort(labels, 0, true);
  CHECK(v.dtype() == kInt64);
  CHECK(ints(v) == std::vector<std::int64_t>{9, 4, 4, 0, -2});
  CHECK(ints(i) == std::vector<std::int64_t>{3, 0, 2, 4, 1});
  CHECK(ints(argsort(labels)) == std::vector<std::int64_t>{1, 4, 0, 2, 3});
  auto [tv, ti] = topk(labels, 2, 0, false);
  CHECK(ints(tv) == std::vector<std::int64_t>{-2, 0});
  CHECK(ints(ti) == std::vector<std::int64_t>{1, 4});
}

TEST_CASE("topk: largest and smallest, ties in index order, NaN largest") {
  const Tensor x = f64({1, 3, 1, 3, 2, kNaN, 3}, {7});
  auto [v, i] = topk(x, 4);
  CHECK(ints(i) == std::vector<std::int64_t>{5, 1, 3, 6});  // PyTorch gives the three 3s in another order
  auto [sv, si] = topk(x, 3, -1, false);
  agt::check_values(sv, {1, 1, 2});
  CHECK(ints(si) == std::vector<std::int64_t>{0, 2, 4});
  const Tensor m = f64({3, 1, 2, 5, 1, 0, 7, 4, 6}, {3, 3});
  auto [mv, mi] = topk(m, 2, 1);
  CHECK(mv.shape() == Shape{3, 2});
  agt::check_values(mv, {3, 2, 5, 1, 7, 6});
  CHECK(ints(mi) == std::vector<std::int64_t>{0, 2, 0, 1, 0, 2});
  auto [cv, ci] = topk(m, 1, 0, true, false);
  CHECK(cv.shape() == Shape{1, 3});
  agt::check_values(cv, {7, 4, 6});
  CHECK(ints(ci) == std::vector<std::int64_t>{2, 2, 2});
  CHECK(std::get<0>(topk(m, 0)).shape() == Shape{3, 0});
  CHECK(std::get<0>(topk(m, 3)).shape() == Shape{3, 3});
  CHECK(std::get<0>(topk(scalar_tensor(4.0, kFloat64), 1)).item<double>() == 4);
  auto [zv, zi] = topk(scalar_tensor(4.0, kFloat64), 0);  // a 0-d input gives itself for k = 0 too (as torch)
  CHECK(zv.dim() == 0);
  CHECK(zi.item<std::int64_t>() == 0);
}

TEST_CASE("sort and topk: gradients scatter back to the indices; second order") {
  Tensor x = f64({3, 1, 2}, {3}).requires_grad_();
  auto [v, i] = sort(x);
  sum(v * f64({1, 10, 100}, {3})).backward();
  agt::check_values(x.grad(), {100, 1, 10});
  Tensor y = f64({3, 1, 2}, {3}).requires_grad_();
  sum(std::get<0>(topk(y, 2)) * f64({1, 10}, {2})).backward();
  agt::check_values(y.grad(), {1, 0, 10});
  const Tensor a = agt::input({3, 4});  // distinct values
  check_both([](const Tensor& t) { return std::get<0>(sort(t, 1)) * t; }, a);
  check_both([](const Tensor& t) { return square(std::get<0>(sort(t, 0, true))); }, a);
  check_both([](const Tensor& t) { return square(std::get<0>(topk(t, 2))); }, a);
  check_both([](const Tensor& t) { return std::get<0>(topk(t, 2, 0, false)) * 3.0; }, a);
  check_both([](const Tensor& t) { return std::get<0>(sort(t, 0)) * t; },
             scalar_tensor(0.7, kFloat64).requires_grad_());
  check_both([](const Tensor& t) { return std::get<0>(topk(t, 1, -1)) * t; },
             scalar_tensor(0.7, kFloat64).requires_grad_());
}

// ---- errors ------------------------------------------------------------------------------------------------

TEST_CASE("scan and sort: misuse throws ag::Error naming the op") {
  const Tensor i = tensor(std::vector<std::int64_t>{3, 1, 2}, {3});
  const Tensor m = zeros({2, 3}, kFloat64);
  check_error([&] { cumsum(i, 0); }, "cumsum: expected a floating");
  check_error([&] { cumprod(i, 0); }, "cumprod: expected a floating");
  check_error([&] { prod(i); }, "prod: expected a floating");
  check_error([&] { prod(i, 0); }, "prod: expected a floating");
  check_error([&] { cumsum(m, 2); }, "cumsum: dim 2 is out of range");
  check_error([&] { cumprod(m, -3); }, "cumprod: dim -3 is out of range");
  check_error([&] { prod(m, 5); }, "prod: dim 5 is out of range");
  check_error([&] { sort(m, 2); }, "sort: dim 2 is out of range");
  check_error([&] { argsort(m, -4); }, "argsort: dim -4");
  check_error([&] { topk(m, 1, 3); }, "topk: dim 3 is out of range");
  check_error([&] { topk(m, 4); }, "topk: k = 4 is out of range");
  check_error([&] { topk(m, 3, 0); }, "topk: k = 3 is out of range");
  check_error([&] { topk(m, -1); }, "topk: k = -1");
  check_error([&] { topk(f64({1.0}), 2); }, "topk: k = 2");
  check_error([&] { cumsum(Tensor(), 0); }, "cumsum");
  check_error([&] { sort(Tensor()); }, "sort");
}
