// Comparisons (1/0 results of the inputs' dtype, never recorded) and where().
#include "test_util.h"

using namespace ag;

TEST_CASE("comparisons: tensor vs tensor values for all six, with broadcasting") {
  const Tensor a = tensor({1, 2, 3, 4, 5, 6}, {2, 3}, kFloat64);
  const Tensor b = tensor({2, 2, 7}, {3}, kFloat64);
  agt::check_values(eq(a, b), {0, 1, 0, 0, 0, 0});
  agt::check_values(ne(a, b), {1, 0, 1, 1, 1, 1});
  agt::check_values(lt(a, b), {1, 0, 1, 0, 0, 1});
  agt::check_values(le(a, b), {1, 1, 1, 0, 0, 1});
  agt::check_values(gt(a, b), {0, 0, 0, 1, 1, 0});
  agt::check_values(ge(a, b), {0, 1, 0, 1, 1, 0});
  const Tensor r = lt(a, b);
  CHECK(r.shape() == Shape{2, 3});
  CHECK(r.dtype() == kFloat64);
  // a column against a row broadcasts both ways
  const Tensor col = tensor({1, 3}, {2, 1}, kFloat32);
  const Tensor row = tensor({0, 1, 2, 3}, {4}, kFloat32);
  const Tensor g = gt(col, row);
  CHECK(g.shape() == Shape{2, 4});
  CHECK(g.dtype() == kFloat32);
  agt::check_values(g, {1, 0, 0, 0, 1, 1, 1, 0});
  // 0-d against a vector
  agt::check_values(eq(scalar_tensor(2.0, kFloat64), b), {1, 1, 0});
}

TEST_CASE("comparisons: operators and tensor vs scalar versions") {
  const Tensor a = tensor({-1.0, 0.5, 2.0}, {3}, kFloat64);
  const Tensor b = tensor({0.0, 0.5, 1.0}, {3}, kFloat64);
  agt::check_values(a == b, {0, 1, 0});
  agt::check_values(a != b, {1, 0, 1});
  agt::check_values(a < b, {1, 0, 0});
  agt::check_values(a <= b, {1, 1, 0});
  agt::check_values(a > b, {0, 0, 1});
  agt::check_values(a >= b, {0, 1, 1});
  agt::check_values(eq(a, 0.5), {0, 1, 0});
  agt::check_values(ne(a, 0.5), {1, 0, 1});
  agt::check_values(lt(a, 0.5), {1, 0, 0});
  agt::check_values(le(a, 0.5), {1, 1, 0});
  agt::check_values(gt(a, 0.5), {0, 0, 1});
  agt::check_values(ge(a, 0.5), {0, 1, 1});
  agt::check_values(a == 2.0, {0, 0, 1});
  agt::check_values(a != 2.0, {1, 1, 0});
  agt::check_values(a < 0.0, {1, 0, 0});
  agt::check_values(a <= -1.0, {1, 0, 0});
  agt::check_values(a > -1.0, {0, 1, 1});
  agt::check_values(a >= 0.6, {0, 0, 1});
  // a float32 tensor compares with the scalar rounded to float32, as libtorch does
  const Tensor f = tensor({0.1, 0.2}, {2}, kFloat32);
  agt::check_values(eq(f, 0.1), {1, 0});
}

TEST_CASE("comparisons: int64 inputs give int64 results; int64 vs a fractional scalar compares exactly") {
  const Tensor a = tensor(std::vector<std::int64_t>{1, 2, 3, 4}, {4});
  const Tensor b = tensor(std::vector<std::int64_t>{3}, {1});
  const Tensor r = a >= b;
  CHECK(r.dtype() == kInt64);
  CHECK(r.to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 0, 1, 1});
  CHECK((a == b).to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 0, 1, 0});
  CHECK(lt(a, 2.5).to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 1, 0, 0});
  CHECK(eq(a, 2.5).to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 0, 0, 0});
  CHECK(ge(a, 4.0).to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 0, 0, 1});
}

TEST_CASE("comparisons are not recorded and never require grad") {
  Tape& tape = Tape::current();
  const Tensor x = agt::input({3});
  const Tensor y = agt::input({3}, 2.0);
  const auto before = tape.num_nodes();
  const Tensor r = lt(x, y);
  const Tensor s = x > 0.0;
  CHECK_FALSE(r.requires_grad());
  CHECK_FALSE(s.requires_grad());
  CHECK(r.is_leaf());
  CHECK(tape.num_nodes() == before);
}

TEST_CASE("comparisons: errors for dtype mixes, shapes and undefined tensors") {
  const Tensor a = zeros({3}, kFloat64);
  CHECK_THROWS_AS(eq(a, zeros({3}, kFloat32)), Error);
  CHECK_THROWS_AS(lt(a, zeros({3}, kInt64)), Error);
  CHECK_THROWS_AS(zeros({3}, kInt64) > a, Error);
  CHECK_THROWS_AS(ge(a, zeros({4}, kFloat64)), Error);
  CHECK_THROWS_AS(ne(zeros({2, 3}, kFloat64), zeros({3, 2}, kFloat64)), Error);
  CHECK_THROWS_AS(le(Tensor(), a), Error);
  CHECK_THROWS_AS(gt(Tensor(), 1.0), Error);
  try {
    eq(a, zeros({3}, kFloat32));
    FAIL("expected an error");
  } catch (const Error& e) {
    const std::string msg = e.what();
    CHECK(msg.find("eq") != std::string::npos);
    CHECK(msg.find("float32") != std::string::npos);
    CHECK(msg.find("float64") != std::string::npos);
  }
}

TEST_CASE("where: forward values with a mask of any dtype (nonzero is true) and broadcasting") {
  const Tensor a = tensor({1, 2, 3, 4}, {4}, kFloat64);
  const Tensor b = tensor({10, 20, 30, 40}, {4}, kFloat64);
  agt::check_values(where(tensor({1.0, 0.0, -0.5, 0.0}, {4}, kFloat64), a, b), {1, 20, 3, 40});
  agt::check_values(where(tensor({0.0, 2.0, 0.0, 1.0}, {4}, kFloat32), a, b), {10, 2, 30, 4});
  agt::check_values(where(tensor(std::vector<std::int64_t>{0, 0, 7, 1}), a, b), {10, 20, 3, 4});
  // mask [2, 1], a [1, 3], b [3]: every argument broadcasts
  const Tensor m = tensor({1.0, 0.0}, {2, 1}, kFloat64);
  const Tensor p = tensor({1, 2, 3}, {1, 3}, kFloat64);
  const Tensor q = tensor({-1, -2, -3}, {3}, kFloat64);
  const Tensor r = where(m, p, q);
  CHECK(r.shape() == Shape{2, 3});
  agt::check_values(r, {1, 2, 3, -1, -2, -3});
  // mask [3], a [2, 1], b 0-d
  const Tensor r2 =
      where(tensor({1.0, 0.0, 1.0}, {3}, kFloat64), tensor({5, 6}, {2, 1}, kFloat64), scalar_tensor(0.0, kFloat64));
  CHECK(r2.shape() == Shape{2, 3});
  agt::check_values(r2, {5, 0, 5, 6, 0, 6});
  // a mask of higher rank than a and b
  const Tensor r3 = where(tensor({1.0, 0.0, 0.0, 1.0}, {2, 2, 1}, kFloat64), p, q);
  CHECK(r3.shape() == Shape{2, 2, 3});
  agt::check_values(r3, {1, 2, 3, -1, -2, -3, -1, -2, -3, 1, 2, 3});
  // scalar overloads
  agt::check_values(where(a > 2.5, a, 0.0), {0, 0, 3, 4});
  agt::check_values(where(a > 2.5, -1.0, b), {10, 20, -1, -1});
  // int64 values (not differentiable)
  const Tensor li = where(tensor({1.0, 0.0}, {2}, kFloat64), tensor(std::vector<std::int64_t>{1, 2}),
                          tensor(std::vector<std::int64_t>{8, 9}));
  CHECK(li.dtype() == kInt64);
  CHECK(li.to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 9});
}

TEST_CASE("where: gradient values by hand, and the mask gets no gradient") {
  Tensor a = tensor({1, 2, 3}, {3}, kFloat64).requires_grad_();
  Tensor b = tensor({4.0}, {1}, kFloat64).requires_grad_();
  Tensor m = tensor({1.0, 0.0, 1.0}, {3}, kFloat64).requires_grad_();
  sum(where(m, a, b) * tensor({1.0, 10.0, 100.0}, {3}, kFloat64)).backward();
  agt::check_values(a.grad(), {1, 0, 100});
  agt::check_values(b.grad(), {10});
  CHECK_FALSE(m.grad().defined());
}

TEST_CASE("where: gradcheck with all three args broadcast, a reused input, scalar overloads; gradgradcheck") {
  const Tensor m = tensor({1.0, 0.0, 0.0, 1.0, 1.0, 0.0}, {3, 1, 2}, kFloat64);
  const Tensor a = agt::input({1, 4, 1}, 1.0);
  const Tensor b = agt::input({4, 2}, 2.0);
  agt::check_gradients([m](const std::vector<Tensor>& in) { return where(m, in[0], in[1]); }, {a, b});
  // reuse: x on both sides, and x * x in one branch
  const Tensor x = agt::input({3, 2}, 3.0);
  const Tensor mx = tensor({0.0, 1.0}, {2}, kFloat64);
  agt::check_gradients([mx](const std::vector<Tensor>& in) { return where(mx, in[0] * in[0], in[0]); }, {x});
  agt::check_gradients([mx](const std::vector<Tensor>& in) { return where(mx, in[0], exp(in[0])) * in[0]; }, {x});
  // a mask computed from the input itself
  agt::check_gradients([](const std::vector<Tensor>& in) { return where(in[0] > 0.0, in[0], in[0] * -0.1); }, {x});
  agt::check_gradients([m](const std::vector<Tensor>& in) { return where(m, in[0], 2.5); }, {a});
  agt::check_gradients([m](const std::vector<Tensor>& in) { return where(m, -1.0, in[0]); }, {b});
  agt::check_second_gradients([m](const std::vector<Tensor>& in) { return where(m, in[0] * in[0], tanh(in[1])); },
                              {a, b});
  agt::check_second_gradients([mx](const std::vector<Tensor>& in) { return where(mx, in[0], 0.0) * in[0]; }, {x});
}

TEST_CASE("where: errors for non-broadcastable shapes, dtype mixes and undefined tensors") {
  const Tensor a = zeros({2, 3}, kFloat64);
  CHECK_THROWS_AS(where(ones({2, 3}, kFloat64), a, zeros({2, 2}, kFloat64)), Error);
  CHECK_THROWS_AS(where(ones({4}, kFloat64), a, a), Error);
  CHECK_THROWS_AS(where(ones({3, 1, 1}, kFloat64), a, zeros({4, 1, 1}, kFloat64)), Error);
  CHECK_THROWS_AS(where(ones({2, 3}, kFloat64), a, zeros({2, 3}, kFloat32)), Error);
  CHECK_THROWS_AS(where(ones({2, 3}, kFloat64), a, zeros({2, 3}, kInt64)), Error);
  CHECK_THROWS_AS(where(Tensor(), a, a), Error);
  CHECK_THROWS_AS(where(ones({2, 3}, kFloat64), Tensor(), 0.0), Error);
  CHECK_THROWS_AS(where(ones({2, 3}, kFloat64), 0.0, Tensor()), Error);
  try {
    where(ones({4}, kFloat64), a, a);
    FAIL("expected an error");
  } catch (const Error& e) {
    const std::string msg = e.what();
    CHECK(msg.find("where") != std::string::npos);
    CHECK(msg.find("[4]") != std::string::npos);
    CHECK(msg.find("[2, 3]") != std::string::npos);
  }
}
