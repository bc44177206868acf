// In-place ops: values (broadcasting, alpha), version counters, and the rules that keep the tape
// correct: refused on tracked tensors in grad mode, allowed under NoGradGuard, detected by backward.
#include <cstdint>
#include <limits>
#include <string>

#include "test_util.h"

using namespace ag;

TEST_CASE("add_/sub_/mul_/div_ with tensors: values, broadcasting other into self, alpha") {
  Tensor x = tensor({1, 2, 3, 4, 5, 6}, {2, 3}, kFloat64);
  Tensor& r = x.add_(tensor({10, 20, 30}, {3}, kFloat64));
  CHECK(&r == &x);
  agt::check_values(x, {11, 22, 33, 14, 25, 36});
  x.sub_(tensor({1, 2}, {2, 1}, kFloat64));
  agt::check_values(x, {10, 21, 32, 12, 23, 34});
  x.add_(ones({3}, kFloat64), 2.5);
  agt::check_values(x, {12.5, 23.5, 34.5, 14.5, 25.5, 36.5});
  x.sub_(ones({2, 3}, kFloat64), 0.5);
  agt::check_values(x, {12, 23, 34, 14, 25, 36});
  x.mul_(tensor({2, 0.5, -1}, {1, 3}, kFloat64));
  agt::check_values(x, {24, 11.5, -34, 28, 12.5, -36});
  x.div_(scalar_tensor(2.0, kFloat64));
  agt::check_values(x, {12, 5.75, -17, 14, 6.25, -18});
  x.div_(tensor({4, 1, 2}, {3}, kFloat64));
  agt::check_values(x, {3, 5.75, -8.5, 3.5, 6.25, -9});

  Tensor y = tensor({1.0, 2.0}, {2}, kFloat32);
  y.add_(y);  // self as other
  agt::check_values(y, {2.0, 4.0});
  y.mul_(y.detach());  // an alias of self
  agt::check_values(y, {4.0, 16.0});
  y.sub_(y, 0.5);
  agt::check_values(y, {2.0, 8.0});

  Tensor s = scalar_tensor(1.0, kFloat64);
  s.add_(scalar_tensor(2.0, kFloat64), 3.0);
  CHECK(s.item<double>() == 7.0);

  // other must broadcast INTO self; dtypes must match; int64 tensors are not supported here
  CHECK_THROWS_AS(tensor({1, 2, 3}, {3}, kFloat64).add_(ones({2, 3}, kFloat64)), Error);
  CHECK_THROWS_AS(ones({2, 3}, kFloat64).mul_(ones({2}, kFloat64)), Error);
  CHECK_THROWS_AS(ones({3}, kFloat64).add_(ones({3}, kFloat32)), Error);
  CHECK_THROWS_AS(ones({3}, kInt64).add_(ones({3}, kInt64)), Error);
  const std::string m = agt::error_message([] { tensor({1, 2, 3}, {3}, kFloat64).add_(ones({2, 3}, kFloat64)); });
  CHECK(m.find("add_") != std::string::npos);
  CHECK(m.find("[2, 3]") != std::string::npos);
  CHECK(m.find("[3]") != std::string::npos);
  CHECK_THROWS_AS(Tensor().add_(ones({1})), Error);
}

TEST_CASE("scalar in-place ops, zero_, fill_ and copy_") {
  Tensor x = tensor({1.0, -2.0, 4.0});
  x.add_(1.5);
  agt::check_values(x, {2.5, -0.5, 5.5});
  x.sub_(0.5);
  agt::check_values(x, {2.0, -1.0, 5.0});
  x.mul_(-2.0);
  agt::check_values(x, {-4.0, 2.0, -10.0});
  x.div_(4.0);
  agt::check_values(x, {-1.0, 0.5, -2.5});
  x.fill_(7.25);
  agt::check_values(x, {7.25, 7.25, 7.25});
  x.zero_();
  agt::check_values(x, {0.0, 0.0, 0.0});
  CHECK(x.dtype() == kFloat32);

  Tensor l = tensor(std::vector<std::int64_t>{1, -2, 3});
  l.add_(2.0).mul_(3.0).sub_(1.0);
  CHECK(l.to_vector<std::int64_t>() == std::vector<std::int64_t>{8, -1, 14});
  l.fill_(2.9);  // truncates, as libtorch
  CHECK(l.to_vector<std::int64_t>() == std::vector<std::int64_t>{2, 2, 2});
  l.zero_();
  CHECK(l.to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 0, 0});
  CHECK_THROWS_AS(l.add_(0.5), Error);
  CHECK_THROWS_AS(l.mul_(1.5), Error);
  CHECK_THROWS_AS(l.div_(2.0), Error);
  CHECK_THROWS_AS(l.div_(0.0), Error);
  CHECK_THROWS_AS(l.fill_(std::nan("")), Error);
  CHECK_THROWS_AS(l.fill_(1e300), Error);
  Tensor big = tensor(std::vector<std::int64_t>{1, std::numeric_limits<std::int64_t>::max()});
  CHECK_THROWS_AS(big.add_(1.0), Error);
  CHECK(big.to_vector<std::int64_t>()[0] == 1);  // nothing written when the op fails
  CHECK_THROWS_AS(big.mul_(2.0), Error);

  Tensor dst = zeros({2, 3}, kFloat64);
  dst.copy_(tensor({1, 2, 3, 4, 5, 6}, {2, 3}, kFloat64));
  agt::check_values(dst, {1, 2, 3, 4, 5, 6});
  dst.copy_(tensor({7, 8, 9}, {3}, kFloat64));  // broadcast
  agt::check_values(dst, {7, 8, 9, 7, 8, 9});
  dst.copy_(tensor({1.5, 2.5}, {2, 1}, kFloat32));  // broadcast and convert
  agt::check_values(dst, {1.5, 1.5, 1.5, 2.5, 2.5, 2.5});
  Tensor li = zeros({2}, kInt64);
  li.copy_(tensor({3.7, -1.2}, {2}, kFloat64));
  CHECK(li.to_vector<std::int64_t>() == std::vector<std::int64_t>{3, -1});
  CHECK_THROWS_AS(dst.copy_(ones({4}, kFloat64)), Error);
  CHECK_THROWS_AS(tensor({1.0}, {1}).copy_(ones({2, 1})), Error);
  CHECK_THROWS_AS(li.copy_(tensor({std::nan(""), 1.0}, {2})), Error);
}

TEST_CASE("every in-place op bumps the version, shared by views of the same storage") {
  Tensor x = zeros({2, 2}, kFloat64);
  Tensor v = x.reshape({4});
  CHECK(x.version() == 0);
  x.add_(1.0);
  CHECK(x.version() == 1);
  CHECK(v.version() == 1);
  x.add_(ones({2}, kFloat64));
  x.sub_(1.0);
  x.sub_(ones({2, 2}, kFloat64));
  x.mul_(2.0);
  x.mul_(ones({2, 2}, kFloat64));
  x.div_(2.0);
  x.div_(ones({1}, kFloat64));
  x.fill_(3.0);
  x.zero_();
  x.copy_(ones({2, 2}, kFloat64));
  CHECK(x.version() == 11);
  v.add_(1.0);
  CHECK(x.version() == 12);
  CHECK(x.clone().version() == 0);
  CHECK_THROWS_AS(x.add_(ones({3}, kFloat64)), Error);
  CHECK(x.version() == 12);  // a refused op changes nothing
}

TEST_CASE("in-place on a leaf that requires grad: refused in grad mode, allowed under NoGradGuard") {
  Tensor w = tensor({1.0, 2.0}, {2}, kFloat64).requires_grad_();
  CHECK_THROWS_AS(w.add_(1.0), Error);
  CHECK_THROWS_AS(w.mul_(ones({2}, kFloat64)), Error);
  CHECK_THROWS_AS(w.zero_(), Error);
  CHECK_THROWS_AS(w.copy_(ones({2}, kFloat64)), Error);
  const std::string m = agt::error_message([&] { w.sub_(0.1); });
  CHECK(m.find("sub_") != std::string::npos);
  CHECK(m.find("requires grad") != std::string::npos);
  agt::check_values(w, {1.0, 2.0});
  CHECK(w.version() == 0);

  // an rhs that requires grad is refused too: the in-place op is not recorded
  Tensor c = zeros({2}, kFloat64);
  CHECK_THROWS_AS(c.add_(w), Error);
  CHECK_THROWS_AS(c.copy_(w), Error);

  {
    NoGradGuard g;
    w.add_(1.0);
    c.copy_(w);
  }
  agt::check_values(w, {2.0, 3.0});
  agt::check_values(c, {2.0, 3.0});
  CHECK(w.requires_grad());
}

TEST_CASE("the optimizer pattern: w.sub_(w.grad() * lr) under NoGradGuard, then a new backward") {
  Tensor w = tensor({1.0, -2.0, 0.5}, {3}, kFloat64).requires_grad_();
  const Tensor target = tensor({0.0, 1.0, 2.0}, {3}, kFloat64);
  const double lr = 0.25;
  for (int step = 0; step < 3; ++step) {
    Tensor d = w - target;
    Tensor loss = sum(d * d);
    loss.backward();
    const auto before = w.to_vector<double>();
    const auto g = w.grad().to_vector<double>();
    for (std::size_t i = 0; i < 3; ++i) CHECK(g[i] == doctest::Approx(2 * (before[i] - target.to_vector<double>()[i])));
    {
      NoGradGuard ng;
      w.sub_(w.grad() * lr);
      w.grad().zero_();
    }
    const auto after = w.to_vector<double>();
    for (std::size_t i = 0; i < 3; ++i) CHECK(after[i] == doctest::Approx(before[i] - lr * g[i]));
    CHECK(w.requires_grad());
    CHECK(w.is_leaf());
  }
  // with lr = 0.25 each step halves the distance to the target: 3 steps leave 1/8 of it
  agt::check_values(w, {1.0 / 8, 1.0 - 3.0 / 8, 2.0 - 1.5 / 8});
  // a later graph uses the new values
  Tensor y = sum(w * w);
  w.set_grad(Tensor());
  y.backward();
  agt::check_values(w.grad(), {2.0 / 8, 2.0 * (1.0 - 3.0 / 8), 2.0 * (2.0 - 1.5 / 8)});
}

TEST_CASE("in-place on a recorded result is refused") {
  Tensor w = tensor({1.0, 2.0}, {2}, kFloat64).requires_grad_();
  Tensor y = w * 2.0;
  CHECK_THROWS_AS(y.add_(1.0), Error);
  CHECK_THROWS_AS(y.mul_(ones({2}, kFloat64)), Error);
  CHECK_THROWS_AS(y.fill_(0.0), Error);
  const std::string m = agt::error_message([&] { y.div_(2.0); });
  CHECK(m.find("div_") != std::string::npos);
  CHECK(m.find("recorded") != std::string::npos);
  Tensor v = y.reshape({2, 1});  // a recorded view
  CHECK_THROWS_AS(v.zero_(), Error);
  agt::check_values(y, {2.0, 4.0});
  sum(y).backward();
  agt::check_values(w.grad(), {2.0, 2.0});
}

TEST_CASE("in-place into data a graph saved makes backward throw, naming in-place") {
  Tensor w = tensor({1.0, 2.0}, {2}, kFloat64).requires_grad_();
  Tensor x = tensor({3.0, 4.0}, {2}, kFloat64);
  Tensor y = sum(w * x);  // saves x (and w)
  x.add_(1.0);
  CHECK_THROWS_AS(y.backward(), Error);
  Tensor y2 = sum(w * x);
  x.reshape({2, 1}).mul_(2.0);  // through a view of the same storage
  const std::string m = agt::error_message([&] { y2.backward(); });
  CHECK(m.find("in-place") != std::string::npos);

  // the leaf itself, modified under NoGradGuard after the graph saved it
  Tensor a = tensor({1.0, 2.0}, {2}, kFloat64).requires_grad_();
  Tensor z = sum(a * a);
  {
    NoGradGuard g;
    a.mul_(3.0);
  }
  CHECK_THROWS_AS(z.backward(), Error);

  // a kept output (exp saves its result), changed through a detached alias
  Tensor b = tensor({0.0, 1.0}, {2}, kFloat64).requires_grad_();
  Tensor e = exp(b);
  Tensor loss = sum(e);
  e.detach().zero_();
  const std::string m2 = agt::error_message([&] { loss.backward(); });
  CHECK(m2.find("in-place") != std::string::npos);

  // ops that save nothing are not affected
  Tensor p = tensor({1.0, 2.0}, {2}, kFloat64).requires_grad_();
  Tensor q = zeros({2}, kFloat64);
  Tensor s = sum(p + q);
  q.add_(5.0);
  s.backward();
  agt::check_values(p.grad(), {1.0, 1.0});
}
