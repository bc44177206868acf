// Regression tests for what the libFuzzer targets in fuzz/ found (each was a crash, a sanitizer
// report, a hang or a leak; each is now a result or an ag::Error).
#include <limits>

#include "test_util.h"

using namespace ag;

TEST_CASE("fuzz: arange with more elements than can be counted is an ag::Error (was UB: double -> int64 overflow)") {
  CHECK_THROWS_AS(arange(-4.0, 1e300, 1.5), Error);
  CHECK_THROWS_AS(arange(0.0, 1e300, 0.5, kInt64), Error);
  CHECK_THROWS_AS(arange(1e300, -1e300, -1.0), Error);
  CHECK(arange(0.0, 3.0, 1.0).numel() == 3);
  CHECK(arange(3.0, 0.0, 1.0).numel() == 0);
}

TEST_CASE("fuzz: shapes whose element count overflows int64 are ag::Errors (was UB: signed overflow)") {
  const std::int64_t big = std::int64_t(1) << 32, huge = std::int64_t(1) << 62;
  CHECK_THROWS_AS(zeros({big, big}), Error);
  CHECK_THROWS_AS(full({huge, 4}, 1.0, kFloat64), Error);
  CHECK_THROWS_AS(shape_numel({std::numeric_limits<std::int64_t>::max(), 2}), Error);
  CHECK_THROWS_AS(empty({huge}, kFloat64), Error);  // 2^65 bytes
  Tensor x = ones({2, 3});
  CHECK_THROWS_AS(reshape(x, {big, big, -1}), Error);
  CHECK_THROWS_AS(reshape(x, {huge, 4}), Error);
  // with a zero size too: kernels multiply the other sizes (was UB in split_at: signed overflow)
  CHECK_THROWS_AS(shape_numel({0, huge, huge}), Error);
  CHECK_THROWS_AS(zeros({0, huge, huge}), Error);
  CHECK(shape_numel({0, huge, 1}) == 0);
  Tensor e = zeros({0, huge, 1}, kFloat32);
  CHECK(sum(e, 1).shape() == Shape{0, 1});
}

TEST_CASE("fuzz: matmul with an empty result and a huge batch returns at once (was a hang)") {
  const std::int64_t big = std::int64_t(1) << 32;
  Tensor a = zeros({big, 0, 2}, kFloat64);
  Tensor b = ones({2, 3}, kFloat64);
  Tensor y = matmul(a, b);
  CHECK(y.shape() == Shape{big, 0, 3});
  CHECK(y.numel() == 0);
  // an empty inner dim still gives zeros
  agt::check_values(matmul(zeros({2, 0}, kFloat64), zeros({0, 2}, kFloat64)), {0.0, 0.0, 0.0, 0.0});
}

TEST_CASE("fuzz: backward(create_graph) with a leaf's own tensor as gradient does not alias it (was a leak)") {
  IntrusivePtr<TensorImpl> watch;  // must end up the only reference: x.grad() = x would be a cycle
  {
    Tensor x = tensor({1.0, 2.0}, {2}, kFloat64).requires_grad_();
    watch = x.impl_ptr();
    x.backward(x, false, true);  // the gradient of x w.r.t. itself is the given gradient: x
    REQUIRE(x.grad().defined());
    CHECK(x.grad().impl() != x.impl());  // a copy, not x itself (x.grad() = x was a reference cycle)
    agt::check_values(x.grad(), {1.0, 2.0});
    Tensor y = tensor({3.0}, {1}, kFloat64).requires_grad_();
    y.backward(y);
    CHECK(y.grad().impl() != y.impl());
  }
  Tape::current().reset();
  CHECK(watch.unique());
}

TEST_CASE("fuzz: narrow and slice with huge starts, lengths and steps (was UB: signed overflow)") {
  const std::int64_t max = std::numeric_limits<std::int64_t>::max();
  Tensor x = tensor({1.0, 2.0, 3.0}, {3}, kFloat64);
  CHECK_THROWS_AS(narrow(x, 0, 1, max), Error);
  CHECK_THROWS_AS(narrow(x, 0, max, max), Error);
  CHECK_THROWS_AS(narrow(x, 0, std::numeric_limits<std::int64_t>::min(), 1), Error);
  agt::check_values(narrow(x, 0, -2, 2), {2.0, 3.0});
  agt::check_values(slice(x, 0, 0, max, max), {1.0});
  agt::check_values(slice(x, 0, 1, max, 2), {2.0});
  agt::check_values(slice(x, 0, std::numeric_limits<std::int64_t>::min(), max, 1), {1.0, 2.0, 3.0});
  CHECK(slice(x, 0, max, max, 1).numel() == 0);
}

TEST_CASE("fuzz: sum of an int64 tensor that overflows wraps as libtorch's (was UB: signed overflow)") {
  const ag::Tensor big = ag::full({3}, 4.0e18, ag::kInt64);  // 1.2e19 > 2^63
  const std::int64_t want =
      static_cast<std::int64_t>(std::uint64_t{3} * static_cast<std::uint64_t>(std::int64_t{4000000000000000000}));
  CHECK(ag::sum(big).item<std::int64_t>() == want);
}

TEST_CASE(
    "fuzz: adaptive_avg_pool2d output size, col2im kernel size, conv groups of int64 max are ag::Error (was UB: signed "
    "overflow)") {
  const std::int64_t max = std::numeric_limits<std::int64_t>::max();
  const Tensor x = ag::ones({1, 1, 3, 2}, ag::kFloat64);
  CHECK_THROWS_AS(ag::adaptive_avg_pool2d(x, {max, 1}), Error);
  CHECK_THROWS_AS(ag::adaptive_avg_pool2d(x, {1, max}), Error);
  CHECK_THROWS_AS(ag::adaptive_avg_pool1d(ag::ones({1, 1, 3}, ag::kFloat64), max), Error);
  CHECK(ag::adaptive_avg_pool2d(x, {5, 7}).shape() == ag::Shape{1, 1, 5, 7});  // larger than the input: fine
  // col2im with a kernel whose area overflows
  CHECK_THROWS_AS(ag::col2im(ag::ones({1, 4, 1}, ag::kFloat64), {2, 2}, {max, max}), Error);
  // conv2d with groups whose product with the weight's channels overflows
  CHECK_THROWS_AS(ag::conv2d(ag::ones({1, 7, 3, 3}, ag::kFloat64), ag::ones({7, 7, 1, 1}, ag::kFloat64), {}, 1, 0, 1,
                             max),
                  Error);
}

TEST_CASE("fuzz: softmax_cross_entropy of zero rows and zero classes (was UB: division by zero in the row grain)") {
  const Tensor z = ag::zeros({0, 0}, ag::kFloat64).requires_grad_();
  const Tensor t = ag::zeros({0}, ag::kInt64);
  const Tensor loss = ag::softmax_cross_entropy(z, t);
  CHECK(loss.shape() == ag::Shape{0});
  loss.sum().backward();
  CHECK(z.grad().shape() == ag::Shape{0, 0});
  // classes but no rows, and rows but no classes (no valid target: an error)
  CHECK(ag::softmax_cross_entropy(ag::zeros({0, 5}, ag::kFloat64), t).shape() == ag::Shape{0});
  CHECK_THROWS_AS(ag::softmax_cross_entropy(ag::zeros({2, 0}, ag::kFloat64), ag::zeros({2}, ag::kInt64)), Error);
}
