// Arithmetic: + - * / with broadcasting, scalars, neg, pow; values, gradients, errors.
#include <cmath>
#include <string>

#include "test_util.h"

using namespace ag;

namespace {

using BinOp = Tensor (*)(const Tensor&, const Tensor&);

// Checks first and second derivatives of op(a, b) for the given shapes (float64).
void check_binary(BinOp op, const Shape& sa, const Shape& sb, double shift_b = 0.0) {
  INFO("shapes " << shape_str(sa) << " and " << shape_str(sb));
  Tensor a = agt::input(sa, 1.0);
  Tensor b = agt::input(sb, 2.0, 1.0, shift_b);
  auto fn = [op](const std::vector<Tensor>& in) { return op(in[0], in[1]); };
  agt::check_gradients(fn, {a, b});
  agt::check_second_gradients(fn, {a, b});
}

Tensor add_op(const Tensor& a, const Tensor& b) { return a + b; }
Tensor sub_op(const Tensor& a, const Tensor& b) { return a - b; }
Tensor mul_op(const Tensor& a, const Tensor& b) { return a * b; }
Tensor div_op(const Tensor& a, const Tensor& b) { return a / b; }

}  // namespace

TEST_CASE("tensor-tensor + - * / forward values, with broadcasting") {
  Tensor a = tensor({1, 2, 3, 4, 5, 6}, {2, 3}, kFloat64);
  Tensor r = tensor({10, 20, 30}, {3}, kFloat64);
  Tensor s = a + r;  // [2,3] + [3]
  CHECK(s.shape() == Shape{2, 3});
  agt::check_values(s, {11, 22, 33, 14, 25, 36});

  Tensor c = tensor({1, 2, 3, 4}, {4, 1}, kFloat64);
  Tensor d = tensor({10, 20, 30}, {1, 3}, kFloat64);
  Tensor e = c - d;  // [4,1] - [1,3]
  CHECK(e.shape() == Shape{4, 3});
  agt::check_values(e, {-9, -19, -29, -8, -18, -28, -7, -17, -27, -6, -16, -26});

  Tensor f = tensor({1, 2, 3, 4, 5, 6}, {2, 1, 3}, kFloat64);
  Tensor g = tensor({1, 10, 100, 1000}, {4, 1}, kFloat64);
  Tensor h = f * g;  // [2,1,3] * [4,1] -> [2,4,3]
  CHECK(h.shape() == Shape{2, 4, 3});
  const auto hv = h.to_vector<double>();
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 4; ++j)
      for (int k = 0; k < 3; ++k)
        CHECK(hv[static_cast<std::size_t>((i * 4 + j) * 3 + k)] == (i * 3 + k + 1) * std::pow(10.0, j));

  Tensor z = scalar_tensor(2.0, kFloat64);
  Tensor v = tensor({1, 4, 8}, {3}, kFloat64);
  CHECK((z / v).shape() == Shape{3});
  agt::check_values(z / v, {2.0, 0.5, 0.25});
  agt::check_values(v / z, {0.5, 2.0, 4.0});
  CHECK((z * z).dim() == 0);
  CHECK((z * z).item<double>() == 4.0);

  agt::check_values(tensor({1, 2}, {2}, kFloat64) / tensor({4, 8}, {2}, kFloat64), {0.25, 0.25});
  agt::check_values(add(a, a), {2, 4, 6, 8, 10, 12});
  agt::check_values(sub(a, r), {-9, -18, -27, -6, -15, -24});
  agt::check_values(mul(r, r), {100, 400, 900});
  agt::check_values(div(r, tensor({5}, {1}, kFloat64)), {2, 4, 6});
  CHECK((zeros({0, 3}, kFloat64) + r).shape() == Shape{0, 3});
}

TEST_CASE("tensor-scalar and scalar-tensor ops keep the tensor's dtype") {
  Tensor x = tensor({1.0, 2.0, 4.0});
  Tensor y = x * 0.5;
  CHECK(y.dtype() == kFloat32);
  agt::check_values(y, {0.5, 1.0, 2.0});
  CHECK((0.5 * x).dtype() == kFloat32);
  agt::check_values(x + 1.0, {2, 3, 5});
  agt::check_values(1.0 + x, {2, 3, 5});
  agt::check_values(x - 1.0, {0, 1, 3});
  agt::check_values(1.0 - x, {0, -1, -3});
  agt::check_values(x / 4.0, {0.25, 0.5, 1.0});
  agt::check_values(4.0 / x, {4.0, 2.0, 1.0});
  agt::check_values(2.0 * x, {2, 4, 8});
  CHECK((1.0 - x).dtype() == kFloat32);
  CHECK((4.0 / x).dtype() == kFloat32);
  agt::check_values(sub(x, 0.5), {0.5, 1.5, 3.5});
  agt::check_values(sub(0.5, x), {-0.5, -1.5, -3.5});
  agt::check_values(div(1.0, x), {1.0, 0.5, 0.25});
  Tensor d = tensor({3.0}, {1}, kFloat64) * 2.0;
  CHECK(d.dtype() == kFloat64);
  CHECK(d.item<double>() == 6.0);
  CHECK_THROWS_AS(ones({2}, kInt64) * 2.0, Error);
  CHECK_THROWS_AS(ones({2}, kInt64) + ones({2}, kInt64), Error);
}

TEST_CASE("unary minus, neg, pow and square: values") {
  Tensor x = tensor({-2.0, 0.5, 3.0}, {3}, kFloat64);
  agt::check_values(-x, {2.0, -0.5, -3.0});
  agt::check_values(neg(x), {2.0, -0.5, -3.0});
  agt::check_values(x.neg(), {2.0, -0.5, -3.0});
  agt::check_values(pow(x, 3.0), {-8.0, 0.125, 27.0});
  agt::check_values(pow(x, 0.0), {1.0, 1.0, 1.0});
  agt::check_values(x.pow(-1.0), {-0.5, 2.0, 1.0 / 3.0});
  agt::check_values(pow(x, 2.0), {4.0, 0.25, 9.0});
  agt::check_values(square(x), {4.0, 0.25, 9.0});
  Tensor p = tensor({4.0, 0.25, 9.0}, {3}, kFloat64);
  agt::check_values(pow(p, 0.5), {2.0, 0.5, 3.0});
  agt::check_values(pow(p, -2.0), {1.0 / 16, 16.0, 1.0 / 81});
  CHECK(std::isnan(pow(tensor({-4.0}, {1}, kFloat64), 0.5).item<double>()));
  CHECK(pow(tensor({2.0}), 3.0).dtype() == kFloat32);
}

TEST_CASE("gradients of + - * / by hand") {
  Tensor a = tensor({1.0, 2.0, 3.0, 4.0, 5.0, 6.0}, {2, 3}, kFloat64).requires_grad_();
  Tensor b = tensor({2.0, 4.0, 8.0}, {3}, kFloat64).requires_grad_();
  sum(a / b).backward();
  agt::check_values(a.grad(), {0.5, 0.25, 0.125, 0.5, 0.25, 0.125});
  // d/db sum_i a_ij / b_j = -sum_i a_ij / b_j^2
  agt::check_values(b.grad(), {-5.0 / 4, -7.0 / 16, -9.0 / 64});

  a.set_grad(Tensor());
  b.set_grad(Tensor());
  sum(a * b - b).backward();
  agt::check_values(a.grad(), {2, 4, 8, 2, 4, 8});
  agt::check_values(b.grad(), {5 - 2, 7 - 2, 9 - 2});

  Tensor x = tensor({1.5, -2.0}, {2}, kFloat64).requires_grad_();
  sum(pow(x, 3.0)).backward();
  agt::check_values(x.grad(), {3 * 2.25, 3 * 4.0});
  x.set_grad(Tensor());
  sum(pow(x, 0.0)).backward();
  agt::check_values(x.grad(), {0.0, 0.0});
  x.set_grad(Tensor());
  sum(2.0 / x).backward();
  agt::check_values(x.grad(), {-2.0 / 2.25, -2.0 / 4.0});
}

TEST_CASE("gradcheck and gradgradcheck of + - * / with broadcasting and 0-d") {
  const std::vector<std::pair<Shape, Shape>> shapes = {{{2, 3}, {2, 3}}, {{2, 3}, {3}},
                                                       {{4, 1}, {1, 3}}, {{2, 1, 3}, {4, 1}},
                                                       {{}, {3}},        {{3}, {}},
                                                       {{}, {}}};
  for (const auto& [sa, sb] : shapes) {
    check_binary(add_op, sa, sb);
    check_binary(sub_op, sa, sb);
    check_binary(mul_op, sa, sb);
    check_binary(div_op, sa, sb, 2.5);  // keep the divisor away from 0
  }
}

TEST_CASE("gradcheck of scalar forms, neg and pow (incl. 0.5, 3, 0 and negative exponents)") {
  const Tensor x = agt::input({2, 3});
  const Tensor pos = agt::input({2, 3}, 0.3, 0.5, 1.5);  // in [1, 2]
  auto check = [](const GradcheckFn& fn, const Tensor& in) {
    agt::check_gradients(fn, {in});
    agt::check_second_gradients(fn, {in});
  };
  check([](const std::vector<Tensor>& in) { return in[0] + 1.5; }, x);
  check([](const std::vector<Tensor>& in) { return 1.5 + in[0]; }, x);
  check([](const std::vector<Tensor>& in) { return in[0] - 1.5; }, x);
  check([](const std::vector<Tensor>& in) { return 1.5 - in[0]; }, x);
  check([](const std::vector<Tensor>& in) { return in[0] * -2.5; }, x);
  check([](const std::vector<Tensor>& in) { return -2.5 * in[0]; }, x);
  check([](const std::vector<Tensor>& in) { return in[0] / 4.0; }, x);
  check([](const std::vector<Tensor>& in) { return 4.0 / in[0]; }, pos);
  check([](const std::vector<Tensor>& in) { return -in[0]; }, x);
  check([](const std::vector<Tensor>& in) { return neg(in[0]); }, x);
  check([](const std::vector<Tensor>& in) { return square(in[0]); }, x);
  for (double p : {0.5, 3.0, 0.0, -1.0, -2.5, 1.0, 2.0}) {
    INFO("exponent " << p);
    check([p](const std::vector<Tensor>& in) { return pow(in[0], p); }, pos);
  }
  check([](const std::vector<Tensor>& in) { return pow(in[0], 3.0); }, x);
  check([](const std::vector<Tensor>& in) { return pow(in[0], 2.0); }, agt::input({}));
}

TEST_CASE("reusing an input: x*x, x/x, x-x and longer expressions") {
  Tensor x = tensor({1.5, -2.0, 0.5}, {3}, kFloat64).requires_grad_();
  sum(x * x).backward();
  agt::check_values(x.grad(), {3.0, -4.0, 1.0});
  x.set_grad(Tensor());
  sum(x / x).backward();
  agt::check_values(x.grad(), {0.0, 0.0, 0.0}, 1e-12);
  x.set_grad(Tensor());
  sum(x - x + x).backward();
  agt::check_values(x.grad(), {1.0, 1.0, 1.0});

  const Tensor a = agt::input({2, 3}, 0.7, 1.0, 3.0);
  auto reuse = [](const std::vector<Tensor>& in) {
    const Tensor& v = in[0];
    return v * v / (v + v * v) - v;
  };
  agt::check_gradients(reuse, {a});
  agt::check_second_gradients(reuse, {a});
  auto selfdiv = [](const std::vector<Tensor>& in) { return in[0] / in[0] + in[0] * in[0]; };
  agt::check_gradients(selfdiv, {a});
  agt::check_second_gradients(selfdiv, {a});
  // the same tensor as both operands of a broadcast: [3,1] * [3] -> [3,3]
  Tensor col = agt::input({3, 1}, 0.2);
  auto outer = [](const std::vector<Tensor>& in) { return in[0] * reshape(in[0], {3}); };
  agt::check_gradients(outer, {col});
  agt::check_second_gradients(outer, {col});
}

TEST_CASE("a dtype mix is an error naming the op, both dtypes and both shapes") {
  Tensor f = ones({2, 3}, kFloat32);
  Tensor d = ones({3}, kFloat64);
  for (const auto& [name, op] :
       std::vector<std::pair<std::string, BinOp>>{{"add", add_op}, {"sub", sub_op}, {"mul", mul_op}, {"div", div_op}}) {
    INFO(name);
    CHECK_THROWS_AS(op(f, d), Error);
    const std::string m = agt::error_message([&] { op(f, d); });
    CHECK(m.find(name) != std::string::npos);
    CHECK(m.find("float32") != std::string::npos);
    CHECK(m.find("float64") != std::string::npos);
    CHECK(m.find("[2, 3]") != std::string::npos);
    CHECK(m.find("[3]") != std::string::npos);
  }
  CHECK_THROWS_AS(ones({2}, kFloat32) + ones({2}, kInt64), Error);
}

TEST_CASE("non-broadcastable shapes are an error naming both shapes") {
  Tensor a = ones({2, 3}, kFloat64);
  Tensor b = ones({4}, kFloat64);
  for (const auto& [name, op] :
       std::vector<std::pair<std::string, BinOp>>{{"add", add_op}, {"sub", sub_op}, {"mul", mul_op}, {"div", div_op}}) {
    INFO(name);
    CHECK_THROWS_AS(op(a, b), Error);
    const std::string m = agt::error_message([&] { op(a, b); });
    CHECK(m.find(name) != std::string::npos);
    CHECK(m.find("[2, 3]") != std::string::npos);
    CHECK(m.find("[4]") != std::string::npos);
  }
  CHECK_THROWS_AS(ones({2, 3}) * ones({3, 2}), Error);
  CHECK_THROWS_AS(ones({2, 1, 3}) - ones({2, 2, 1, 2}), Error);
}

TEST_CASE("mul's backward reuses the incoming gradient's buffer only when nothing else sees it") {
  // (ops/arith.cpp, vjp_product_last) The gradient reaching mul's node is written in place when
  // the engine holds its only handle; any other handle (a hook keeping it, retain_grad, the
  // caller's grad_outputs, a dual tensor) gets a new tensor, and the values are the same either way.
  for (Dtype dt : {kFloat32, kFloat64}) {
    INFO(dtype_name(dt));
    Tensor a = tensor({1.0, 2.0, 3.0}, {3}, dt).requires_grad_();
    Tensor b = tensor({4.0, 5.0, 6.0}, {3}, dt).requires_grad_();
    Tensor c = tensor({-1.0, 0.5, 2.0}, {3}, dt).requires_grad_();

    // 1. plain: (a * b) * c, the chain's case
    sum((a * b) * c).backward();
    agt::check_values(a.grad(), {-4.0, 2.5, 12.0});
    agt::check_values(b.grad(), {-1.0, 1.0, 6.0});
    agt::check_values(c.grad(), {4.0, 10.0, 18.0});

    // 2. a hook keeps the gradient of a * b: it must not change afterwards
    for (Tensor* t : {&a, &b, &c}) t->set_grad(Tensor());
    Tensor kept;
    Tensor ab = a * b;
    ab.register_hook([&kept](const Tensor& g) { kept = g; });
    sum(ab * c).backward();
    agt::check_values(kept, {-1.0, 0.5, 2.0});
    agt::check_values(a.grad(), {-4.0, 2.5, 12.0});
    agt::check_values(b.grad(), {-1.0, 1.0, 6.0});

    // 3. retain_grad on a * b
    for (Tensor* t : {&a, &b, &c}) t->set_grad(Tensor());
    Tensor ab2 = a * b;
    ab2.retain_grad();
    sum(ab2 * c).backward();
    agt::check_values(ab2.grad(), {-1.0, 0.5, 2.0});
    agt::check_values(a.grad(), {-4.0, 2.5, 12.0});

    // 4. the caller's gradient is not written
    for (Tensor* t : {&a, &b, &c}) t->set_grad(Tensor());
    Tensor go = tensor({1.0, 2.0, 3.0}, {3}, dt);
    (a * b).backward(go);
    agt::check_values(go, {1.0, 2.0, 3.0});
    agt::check_values(a.grad(), {4.0, 10.0, 18.0});
    agt::check_values(b.grad(), {1.0, 4.0, 9.0});

    // 5. 0-d, a chain alternating + and *, against its closed form
    Tensor x = tensor({0.5}, {}, dt).requires_grad_(), s = tensor({0.25}, {}, dt).requires_grad_();
    Tensor m = tensor({1.5}, {}, dt).requires_grad_();
    Tensor y = x;
    for (int i = 0; i < 6; ++i) y = i % 2 == 0 ? y + s : y * m;
    y.backward();
    // y = ((x + s) m + s) m + s) m: dy/dx = m^3, dy/ds = m^3 + m^2 + m
    CHECK(x.grad().item<double>() == doctest::Approx(1.5 * 1.5 * 1.5));
    CHECK(s.grad().item<double>() == doctest::Approx(1.5 * 1.5 * 1.5 + 1.5 * 1.5 + 1.5));
    // dy/dm = 3 m^2 x + 3 m^2 s + 2 m s + s
    CHECK(m.grad().item<double>() == doctest::Approx(3 * 2.25 * 0.5 + 3 * 2.25 * 0.25 + 2 * 1.5 * 0.25 + 0.25));
  }
}
