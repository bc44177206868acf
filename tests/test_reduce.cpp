// Reductions: sum, mean, max/min (values and indices), amax/amin, argmax.
#include <limits>

#include "test_util.h"

using namespace ag;

namespace {

const Shape kShape3 = {3, 4, 5};

// Reference max/min over dim d of a row-major 3-D tensor, read element by element.
std::vector<double> brute_extreme(const Tensor& x, std::int64_t d, bool is_max, std::vector<std::int64_t>* idx) {
  const auto v = x.to_vector<double>();
  const Shape& s = x.shape();
  std::vector<double> out;
  auto at = [&](std::int64_t a, std::int64_t b, std::int64_t c) {
    return v[static_cast<std::size_t>((a * s[1] + b) * s[2] + c)];
  };
  Shape rest = s;
  rest.erase(rest.begin() + d);
  for (std::int64_t p = 0; p < rest[0]; ++p)
    for (std::int64_t q = 0; q < rest[1]; ++q) {
      double best = 0;
      std::int64_t best_k = -1;
      for (std::int64_t k = 0; k < s[static_cast<std::size_t>(d)]; ++k) {
        const double e = d == 0 ? at(k, p, q) : d == 1 ? at(p, k, q) : at(p, q, k);
        if (best_k < 0 || (is_max ? e > best : e < best)) {
          best = e;
          best_k = k;
        }
      }
      out.push_back(best);
      if (idx) idx->push_back(best_k);
    }
  return out;
}

}  // namespace

TEST_CASE("sum: forward values over all elements, a dim, keepdim and a negative dim") {
  Tensor x = tensor({1, 2, 3, 4, 5, 6}, {2, 3}, kFloat64);
  CHECK(sum(x).dim() == 0);
  CHECK(sum(x).item<double>() == 21.0);
  agt::check_values(sum(x, 0), {5, 7, 9});
  CHECK(sum(x, 0).shape() == Shape{3});
  Tensor k = sum(x, 1, true);
  CHECK(k.shape() == Shape{2, 1});
  agt::check_values(k, {6, 15});
  agt::check_values(sum(x, -1), {6, 15});
  CHECK(sum(scalar_tensor(2.5, kFloat64), 0).item<double>() == 2.5);
  CHECK(sum(scalar_tensor(2.5, kFloat64), -1, true).dim() == 0);
  // Over an empty dim the sum is 0 (the identity), as in libtorch.
  agt::check_values(sum(zeros({2, 0}, kFloat64), 1), {0, 0});
}

TEST_CASE("sum: gradcheck over all, every dim (negative too), keepdim, 0-d input and reuse") {
  Tensor x = agt::input(kShape3);
  agt::check_gradients([](const std::vector<Tensor>& in) { return sum(in[0]); }, {x});
  for (std::int64_t d = -3; d < 3; ++d)
    for (bool keep : {false, true}) {
      CAPTURE(d);
      CAPTURE(keep);
      agt::check_gradients([d, keep](const std::vector<Tensor>& in) { return sum(in[0], d, keep); }, {x});
    }
  Tensor s = scalar_tensor(0.7, kFloat64).requires_grad_();
  agt::check_gradients([](const std::vector<Tensor>& in) { return sum(in[0]); }, {s});
  agt::check_gradients([](const std::vector<Tensor>& in) { return sum(in[0], 0); }, {s});
  agt::check_gradients([](const std::vector<Tensor>& in) { return sum(in[0], -1, true); }, {s});
  agt::check_gradients([](const std::vector<Tensor>& in) { return sum(in[0] * in[0], 1); }, {x});
}

TEST_CASE("sum: gradgradcheck through a nonlinear input") {
  Tensor x = agt::input({3, 4});
  for (std::int64_t d : {0, 1, -1})
    agt::check_second_gradients([d](const std::vector<Tensor>& in) { return sum(in[0] * in[0] * in[0], d); }, {x});
  agt::check_second_gradients([](const std::vector<Tensor>& in) { return sum(exp(in[0])); }, {x});
  Tensor s = scalar_tensor(0.4, kFloat64).requires_grad_();
  agt::check_second_gradients([](const std::vector<Tensor>& in) { return sum(in[0] * in[0], 0, true); }, {s});
}

TEST_CASE("mean: forward values, gradcheck and gradgradcheck") {
  Tensor x = tensor({1, 2, 3, 4, 5, 6}, {2, 3}, kFloat64);
  CHECK(mean(x).item<double>() == 3.5);
  agt::check_values(mean(x, 0), {2.5, 3.5, 4.5});
  CHECK(mean(x, 1, true).shape() == Shape{2, 1});
  agt::check_values(mean(x, 1, true), {2, 5});
  agt::check_values(mean(x, -2), {2.5, 3.5, 4.5});
  CHECK(mean(scalar_tensor(-1.5, kFloat64), 0).item<double>() == -1.5);

  Tensor xg = tensor({1, 2, 3, 4, 5, 6}, {2, 3}, kFloat64).requires_grad_();
  mean(xg, 1).backward(tensor({3.0, 6.0}, {2}, kFloat64));
  agt::check_values(xg.grad(), {1, 1, 1, 2, 2, 2});

  Tensor a = agt::input(kShape3);
  agt::check_gradients([](const std::vector<Tensor>& in) { return mean(in[0]); }, {a});
  for (std::int64_t d = -3; d < 3; ++d)
    for (bool keep : {false, true}) {
      CAPTURE(d);
      CAPTURE(keep);
      agt::check_gradients([d, keep](const std::vector<Tensor>& in) { return mean(in[0], d, keep); }, {a});
    }
  Tensor s = scalar_tensor(0.3, kFloat64).requires_grad_();
  agt::check_gradients([](const std::vector<Tensor>& in) { return mean(in[0]); }, {s});
  agt::check_gradients([](const std::vector<Tensor>& in) { return mean(in[0], -1, true); }, {s});
  Tensor b = agt::input({3, 4});
  agt::check_second_gradients([](const std::vector<Tensor>& in) { return mean(in[0] * in[0] * in[0]); }, {b});
  for (std::int64_t d : {0, -1})
    agt::check_second_gradients([d](const std::vector<Tensor>& in) { return mean(in[0] * in[0] * in[0], d, true); },
                                {b});
}

TEST_CASE("max/min over a dim: values, int64 indices of the first extreme, keepdim, negative dim") {
  Tensor x = tensor({1, 5, 5, 7, -2, 7}, {2, 3}, kFloat64);
  ValuesIndices m = max(x, 1);
  CHECK(m.values.shape() == Shape{2});
  CHECK(m.indices.dtype() == kInt64);
  agt::check_values(m.values, {5, 7});
  CHECK(m.indices.to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 0});
  ValuesIndices n = min(x, -1, true);
  CHECK(n.values.shape() == Shape{2, 1});
  CHECK(n.indices.shape() == Shape{2, 1});
  agt::check_values(n.values, {1, -2});
  CHECK(n.indices.to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 1});
  ValuesIndices c = max(x, 0);
  agt::check_values(c.values, {7, 5, 7});
  CHECK(c.indices.to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 0, 1});
  ValuesIndices z = min(scalar_tensor(4.0, kFloat64), 0);
  CHECK(z.values.dim() == 0);
  CHECK(z.values.item<double>() == 4.0);
  CHECK(z.indices.item<std::int64_t>() == 0);
  // Reducing a non-empty dim of a tensor that has another empty dim is fine.
  CHECK(max(zeros({0, 3}, kFloat64), 1).values.shape() == Shape{0});

  // Every dim of a 3-D tensor (inner > 1 and inner == 1 paths), float32 and float64.
  for (Dtype dt : {kFloat64, kFloat32}) {
    Tensor a = agt::input(kShape3, 0.3, 1.0, 0.0, false).to(dt);
    for (std::int64_t d = 0; d < 3; ++d) {
      CAPTURE(d);
      std::vector<std::int64_t> imax, imin;
      const auto vmax = brute_extreme(a, d, true, &imax);
      const auto vmin = brute_extreme(a, d, false, &imin);
      ValuesIndices mx = max(a, d), mn = min(a, d - 3);
      CHECK(mx.values.dtype() == dt);
      agt::check_values(mx.values, vmax);
      agt::check_values(mn.values, vmin);
      CHECK(mx.indices.to_vector<std::int64_t>() == imax);
      CHECK(mn.indices.to_vector<std::int64_t>() == imin);
      CHECK(argmax(a, d).to_vector<std::int64_t>() == imax);
      agt::check_values(amax(a, d), vmax);
      agt::check_values(amin(a, d), vmin);
    }
  }
}

TEST_CASE("max/min over a dim: the gradient goes to the first extreme on ties; indices never require grad") {
  Tensor x = tensor({1, 5, 5, 7, -2, 7}, {2, 3}, kFloat64).requires_grad_();
  ValuesIndices m = max(x, 1);
  CHECK(m.values.requires_grad());
  CHECK_FALSE(m.indices.requires_grad());
  m.values.backward(tensor({2.0, 3.0}, {2}, kFloat64));
  agt::check_values(x.grad(), {0, 2, 0, 3, 0, 0});

  Tensor y = tensor({4, 1, 1, 0, 0, 9}, {2, 3}, kFloat64).requires_grad_();
  sum(min(y, 1, true).values * tensor({5.0, 7.0}, {2, 1}, kFloat64)).backward();
  agt::check_values(y.grad(), {0, 5, 0, 7, 0, 0});
}

TEST_CASE("max/min over a dim: gradcheck on every dim and keepdim, gradgradcheck") {
  Tensor x = agt::input(kShape3);
  for (std::int64_t d = -3; d < 3; ++d)
    for (bool keep : {false, true}) {
      CAPTURE(d);
      CAPTURE(keep);
      agt::check_gradients([d, keep](const std::vector<Tensor>& in) { return max(in[0], d, keep).values; }, {x});
      agt::check_gradients([d, keep](const std::vector<Tensor>& in) { return min(in[0], d, keep).values; }, {x});
    }
  Tensor s = scalar_tensor(0.9, kFloat64).requires_grad_();
  agt::check_gradients([](const std::vector<Tensor>& in) { return max(in[0], 0).values; }, {s});
  agt::check_gradients([](const std::vector<Tensor>& in) { return max(in[0] * in[0], 1).values * in[0].select(1, 0); },
                       {x});
  for (std::int64_t d : {0, 2}) {
    agt::check_second_gradients([d](const std::vector<Tensor>& in) { return max(in[0] * in[0] * in[0], d).values; },
                                {x});
    agt::check_second_gradients([d](const std::vector<Tensor>& in) { return min(exp(in[0]), d, true).values; }, {x});
  }
}

TEST_CASE("max/min of all elements: 0-d result, gradient split evenly between ties") {
  Tensor x = tensor({3, 1, 3, -1}, {2, 2}, kFloat64).requires_grad_();
  Tensor m = max(x);
  CHECK(m.dim() == 0);
  CHECK(m.item<double>() == 3.0);
  (m * 4.0).backward();
  agt::check_values(x.grad(), {2, 0, 2, 0});
  x.set_grad(Tensor());
  Tensor n = min(x);
  CHECK(n.item<double>() == -1.0);
  n.backward();
  agt::check_values(x.grad(), {0, 0, 0, 1});

  Tensor t = tensor({2, 2, 2}, {3}, kFloat64).requires_grad_();
  min(t).backward();
  agt::check_values(t.grad(), {1.0 / 3, 1.0 / 3, 1.0 / 3});

  CHECK(max(scalar_tensor(-2.0, kFloat32)).item<double>() == -2.0);
  Tensor a = agt::input(kShape3);
  agt::check_gradients([](const std::vector<Tensor>& in) { return max(in[0]); }, {a});
  agt::check_gradients([](const std::vector<Tensor>& in) { return min(in[0]); }, {a});
  Tensor s = scalar_tensor(0.9, kFloat64).requires_grad_();
  agt::check_gradients([](const std::vector<Tensor>& in) { return min(in[0]); }, {s});
  agt::check_second_gradients([](const std::vector<Tensor>& in) { return max(in[0] * in[0] * in[0]); }, {a});
  agt::check_second_gradients([](const std::vector<Tensor>& in) { return min(exp(in[0])); }, {a});
}

TEST_CASE("amax/amin over a dim: values, ties split evenly, gradcheck and gradgradcheck") {
  Tensor x = tensor({1, 5, 5, 7, -2, 7}, {2, 3}, kFloat64).requires_grad_();
  Tensor m = amax(x, 1);
  agt::check_values(m, {5, 7});
  m.backward(tensor({2.0, 3.0}, {2}, kFloat64));
  agt::check_values(x.grad(), {0, 1, 1, 1.5, 0, 1.5});

  Tensor y = tensor({1, 0, 4, 1, 0, 9, 1, 3, 4}, {3, 3}, kFloat64).requires_grad_();
  Tensor n = amin(y, 0, true);
  CHECK(n.shape() == Shape{1, 3});
  agt::check_values(n, {1, 0, 4});
  n.backward(tensor({3.0, 4.0, 5.0}, {1, 3}, kFloat64));
  agt::check_values(y.grad(), {1, 2, 2.5, 1, 2, 0, 1, 0, 2.5});

  CHECK(amax(scalar_tensor(1.5, kFloat64), -1).item<double>() == 1.5);
  Tensor a = agt::input(kShape3);
  for (std::int64_t d = -3; d < 3; ++d)
    for (bool keep : {false, true}) {
      CAPTURE(d);
      CAPTURE(keep);
      agt::check_gradients([d, keep](const std::vector<Tensor>& in) { return amax(in[0], d, keep); }, {a});
      agt::check_gradients([d, keep](const std::vector<Tensor>& in) { return amin(in[0], d, keep); }, {a});
    }
  for (std::int64_t d : {0, 1, 2}) {
    agt::check_second_gradients([d](const std::vector<Tensor>& in) { return amax(in[0] * in[0] * in[0], d); }, {a});
    agt::check_second_gradients([d](const std::vector<Tensor>& in) { return amin(exp(in[0]), d, true); }, {a});
  }
}

TEST_CASE("argmax: int64 first index of the max, keepdim, not differentiable; NaN propagates") {
  Tensor x = tensor({1, 5, 5, 7, -2, 7}, {2, 3}, kFloat64).requires_grad_();
  Tensor i = argmax(x, 1);
  CHECK(i.dtype() == kInt64);
  CHECK_FALSE(i.requires_grad());
  CHECK(i.to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 0});
  Tensor k = argmax(x, 0, true);
  CHECK(k.shape() == Shape{1, 3});
  CHECK(k.to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 0, 1});
  CHECK(argmax(scalar_tensor(3.0), 0).item<std::int64_t>() == 0);

  const double nan = std::numeric_limits<double>::quiet_NaN();
  Tensor v = tensor({1.0, nan, 3.0, nan}, {4}, kFloat64);
  CHECK(argmax(v, 0).item<std::int64_t>() == 1);
  ValuesIndices mn = min(v, 0);
  CHECK(std::isnan(mn.values.item<double>()));
  CHECK(mn.indices.item<std::int64_t>() == 1);
  CHECK(std::isnan(max(v).item<double>()));
  CHECK(std::isnan(amax(v, 0).item<double>()));
}

TEST_CASE("reductions: bad dims, int64 inputs and empty dims (except for sum and mean) throw ag::Error") {
  Tensor x = ones({2, 3}, kFloat64);
  CHECK_THROWS_AS(sum(x, 2), Error);
  CHECK_THROWS_AS(sum(x, -3), Error);
  CHECK_THROWS_AS(mean(x, 2), Error);
  CHECK_THROWS_AS(max(x, 2), Error);
  CHECK_THROWS_AS(min(x, -3), Error);
  CHECK_THROWS_AS(amax(x, 5), Error);
  CHECK_THROWS_AS(amin(x, -4), Error);
  CHECK_THROWS_AS(argmax(x, 2), Error);
  CHECK_THROWS_AS(max(scalar_tensor(1.0), 1), Error);
  CHECK_THROWS_AS(sum(Tensor()), Error);
  CHECK_THROWS_AS(max(Tensor()), Error);

  Tensor l = tensor(std::vector<std::int64_t>{1, 2, 3}, {3});
  CHECK(sum(l).item<std::int64_t>() == 6);  // a whole-tensor sum counts in int64, as libtorch's
  CHECK_THROWS_AS(sum(l, 0), Error);
  CHECK_THROWS_AS(mean(l), Error);
  CHECK_THROWS_AS(max(l, 0), Error);
  CHECK_THROWS_AS(min(l), Error);
  CHECK_THROWS_AS(amax(l, 0), Error);
  CHECK_THROWS_AS(argmax(l, 0), Error);
  try {
    amax(l, 0);
  } catch (const Error& e) {
    const std::string msg = e.what();
    CHECK(msg.find("amax") != std::string::npos);
    CHECK(msg.find("int64") != std::string::npos);
  }

  Tensor e = zeros({2, 0}, kFloat64);
  CHECK_THROWS_AS(max(e, 1), Error);
  CHECK_THROWS_AS(min(e, -1, true), Error);
  CHECK_THROWS_AS(amax(e, 1), Error);
  CHECK_THROWS_AS(amin(e, 1), Error);
  CHECK_THROWS_AS(argmax(e, 1), Error);
  CHECK_THROWS_AS(max(e), Error);
  CHECK_THROWS_AS(min(e), Error);
  try {
    max(e, 1);
  } catch (const Error& err) {
    const std::string msg = err.what();
    CHECK(msg.find("max") != std::string::npos);
    CHECK(msg.find("[2, 0]") != std::string::npos);
  }
}

TEST_CASE("mean over an empty dim, or of an empty tensor, is NaN (0/0), as in PyTorch; its gradient is empty") {
  for (Dtype dt : {kFloat64, kFloat32}) {
    CAPTURE(dtype_name(dt));
    Tensor e = zeros({2, 0}, dt).requires_grad_();
    Tensor m = mean(e, 1);
    CHECK(m.shape() == Shape{2});
    for (double v : m.to_vector<double>()) CHECK(std::isnan(v));
    Tensor k = mean(e, -1, /*keepdim=*/true);
    CHECK(k.shape() == Shape{2, 1});
    for (double v : k.to_vector<double>()) CHECK(std::isnan(v));
    Tensor m0 = mean(e, 0);  // over the non-empty dim: an empty result
    CHECK(m0.shape() == Shape{0});
    Tensor all = mean(e);
    CHECK(all.dim() == 0);
    CHECK(std::isnan(all.item<double>()));
    sum(m).backward();
    REQUIRE(e.grad().defined());
    CHECK(e.grad().shape() == Shape{2, 0});
    e.set_grad(Tensor());
    all.backward();
    REQUIRE(e.grad().defined());
    CHECK(e.grad().shape() == Shape{2, 0});
  }
}
