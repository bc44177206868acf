// libtorch's Tensor surface: ag::Scalar and item(), compound assignment, the methods that forward to
// free functions (each equal to its function, bitwise), the composed functions norm / all / any / argmin /
// masked_fill / sum and mean over several dims (values from PyTorch 1.13, gradcheck), TORCH_CHECK and
// AT_ASSERT, and the device shims.
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <sstream>

#include "nn/nn.h"
#include "test_util.h"

using namespace ag;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

Tensor f64(std::initializer_list<double> v, const Shape& shape) { return tensor(v, shape, kFloat64); }

/// Same shape, dtype and bits (NaN included).
void check_identical(const Tensor& a, const Tensor& b) {
  REQUIRE(a.defined());
  REQUIRE(b.defined());
  CHECK(a.shape() == b.shape());
  REQUIRE(a.dtype() == b.dtype());
  const auto va = a.to_vector<double>(), vb = b.to_vector<double>();
  REQUIRE(va.size() == vb.size());
  CHECK(std::memcmp(va.data(), vb.data(), va.size() * sizeof(double)) == 0);
}

void check_identical(const std::tuple<Tensor, Tensor>& a, const std::tuple<Tensor, Tensor>& b) {
  check_identical(std::get<0>(a), std::get<0>(b));
  check_identical(std::get<1>(a), std::get<1>(b));
}

void check_error(const std::function<void()>& f, const std::string& needle) {
  const std::string msg = agt::error_message(f);
  INFO("message: " << msg);
  CHECK(msg.find(needle) != std::string::npos);
}

template <class T>
concept HasItem = requires(const Tensor& t) {
  t.template item<T>();
};
template <class T>
concept HasScalarTo = requires(const Scalar& s) {
  s.template to<T>();
};

}  // namespace

// ---- Scalar and item ----------------------------------------------------------------------------------

TEST_CASE("Scalar: kinds, checked conversions, printing") {
  const Scalar d(2.75), i(std::int64_t{-3}), b(true), i32(7), f(1.5f), z;
  CHECK(d.isFloatingPoint());
  CHECK(i.isIntegral(false));
  CHECK(i32.isIntegral(false));
  CHECK(f.isFloatingPoint());
  CHECK(b.isBoolean());
  CHECK(b.isIntegral(true));
  CHECK(!b.isIntegral(false));
  CHECK(z.toLong() == 0);
  CHECK(d.toDouble() == 2.75);
  CHECK(d.toFloat() == 2.75f);
  CHECK(d.toLong() == 2);  // truncation toward zero
  CHECK(Scalar(-2.75).toInt() == -2);
  CHECK(d.toBool());
  CHECK(Scalar(0.0).toBool() == false);
  CHECK(Scalar(kNaN).toBool());
  CHECK(i.toDouble() == -3.0);
  CHECK(i.to<int>() == -3);
  CHECK(b.toLong() == 1);
  CHECK(b.toDouble() == 1.0);
  CHECK(Scalar(false).toDouble() == 0.0);
  CHECK(-d == Scalar(-2.75));
  CHECK(-i == Scalar(3));
  CHECK(Scalar(1) != Scalar(1.0));  // kinds differ
  static_assert(HasScalarTo<float> && HasScalarTo<double> && HasScalarTo<std::int64_t> && HasScalarTo<int> &&
                HasScalarTo<bool>);
  static_assert(!HasScalarTo<char> && !HasScalarTo<unsigned> && !HasScalarTo<long double>);

  std::ostringstream os;
  os << d << " " << i << " " << b << " " << Scalar(false);
  CHECK(os.str() == "2.75 -3 true false");
}

TEST_CASE("Scalar: out-of-range conversions are errors") {
  check_error([] { (void)Scalar(1e20).toLong(); }, "cannot be converted to type int64_t without overflow");
  check_error([] { (void)Scalar(kNaN).toLong(); }, "without overflow");
  check_error([] { (void)Scalar(kInf).toInt(); }, "cannot be converted to type int");
  check_error([] { (void)Scalar(std::int64_t{1} << 40).toInt(); }, "cannot be converted to type int without overflow");
  check_error([] { (void)Scalar(1e300).toFloat(); }, "cannot be converted to type float");
  check_error([] { (void)-Scalar(true); }, "negation of a bool");
  CHECK(std::isinf(Scalar(kInf).toFloat()));  // infinities and NaN convert to float
  CHECK(std::isnan(Scalar(kNaN).toFloat()));
  CHECK(Scalar(9.223372036854775e18).toLong() > 0);                                 // just below 2^63
  check_error([] { (void)Scalar(9.223372036854775808e18).toLong(); }, "overflow");  // 2^63
}

TEST_CASE("item(): a Scalar of the tensor's kind; item<T>() for float, double, int64_t, int, bool") {
  const Tensor x = tensor({2.5}, {1});
  const Scalar s = x.item();
  CHECK(s.isFloatingPoint());
  CHECK(s.toDouble() == 2.5);
  CHECK(x.item().to<float>() == 2.5f);
  const Tensor n = scalar_tensor(-7.0, kInt64);
  CHECK(n.item().isIntegral(false));
  CHECK(n.item().toLong() == -7);
  CHECK(n.item<int>() == -7);
  CHECK(x.item<float>() == 2.5f);
  CHECK(x.item<double>() == 2.5);
  CHECK(x.item<std::int64_t>() == 2);
  CHECK(x.item<int>() == 2);
  CHECK(x.item<bool>());
  CHECK(!scalar_tensor(0.0).item<bool>());
  CHECK(scalar_tensor(kNaN).item<bool>());
  CHECK(!scalar_tensor(0.0, kInt64).item<bool>());
  static_assert(HasItem<float> && HasItem<double> && HasItem<std::int64_t> && HasItem<int> && HasItem<bool>);
  static_assert(!HasItem<char> && !HasItem<unsigned> && !HasItem<std::int16_t> && !HasItem<long double>);

  check_error([] { (void)tensor({1.0, 2.0}, {2}).item(); }, "item: a tensor with 2 elements");
  check_error([] { (void)Tensor().item(); }, "item");
  check_error([] { (void)scalar_tensor(3e9, kInt64).item<int>(); }, "does not fit in a 32-bit integer");
  check_error([] { (void)scalar_tensor(3e9).item<int>(); }, "does not fit in a 32-bit integer");
}

// ---- compound assignment ------------------------------------------------------------------------------

TEST_CASE("compound assignment: in place, as add_/sub_/mul_/div_") {
  Tensor x = f64({1, 2, 3}, {3});
  const Tensor alias = x;
  const Tensor y = f64({10, 20, 30}, {3});
  const auto v0 = x.version();
  x += y;
  agt::check_values(alias, {11, 22, 33});
  x -= 1.0;
  agt::check_values(alias, {10, 21, 32});
  x *= 2.0;
  agt::check_values(alias, {20, 42, 64});
  x /= y;
  agt::check_values(alias, {2, 2.1, 64.0 / 30});
  x *= y;
  x -= y;
  x += 0.5;
  x /= 4.0;
  CHECK(x.version() == v0 + 8);
  CHECK(&(x += 1.0) == &x);
  CHECK(x.impl() == alias.impl());

  // the same values as the named in-place ops, bitwise
  Tensor a = f64({0.1, 0.2, 0.3}, {3}), b = a.clone();
  a += y;
  b.add_(y);
  a /= 3.0;
  b.div_(3.0);
  check_identical(a, b);

  Tensor m = f64({1, 2, 3, 4}, {2, 2});
  m += f64({10, 20}, {2});  // broadcasting into self
  agt::check_values(m, {11, 22, 13, 24});
  check_error([&] { x += f64({1, 2, 3, 4}, {2, 2}); }, "add_: ");
}

TEST_CASE("compound assignment on a leaf requiring grad: refused in grad mode (as add_), allowed under NoGradGuard") {
  Tensor w = f64({1, 2}, {2}).requires_grad_();
  const std::string from_add = agt::error_message([&] { w.add_(1.0); });
  CHECK(!from_add.empty());
  CHECK(agt::error_message([&] { w += 1.0; }) == from_add);
  check_error([&] { w -= f64({1, 1}, {2}); }, "sub_: a leaf");
  check_error([&] { w *= 2.0; }, "mul_: a leaf");
  check_error([&] { w /= 2.0; }, "div_: a leaf");
  Tensor r = w * 2.0;  // a recorded result
  check_error([&] { r += 1.0; }, "a result recorded on the tape");
  Tensor plain = f64({1, 2}, {2});
  check_error([&] { plain += w; }, "requires grad");
  {
    NoGradGuard g;
    w += 1.0;
    w *= f64({2, 3}, {2});
    w -= 1.0;
    w /= 2.0;
  }
  agt::check_values(w, {1.5, 4});
  CHECK(w.requires_grad());
  CHECK(w.is_leaf());
  check_error(
      [] {
        Tensor i = scalar_tensor(3.0, kInt64);
        i /= 2.0;
      },
      "div_");
}

// ---- methods against their free functions -----------------------------------------------------------------

TEST_CASE("pointwise math methods equal their free functions") {
  const Tensor x = f64({0.3, -0.7, 0.55, -0.1, 0.9, 0.25}, {2, 3});
  const Tensor p = f64({1.3, 0.7, 2.5, 0.1, 4.5, 3.25}, {2, 3});
  const Tensor y = f64({0.5, 0.2, -0.4}, {3});
  check_identical(x.sin(), sin(x));
  check_identical(x.cos(), cos(x));
  check_identical(x.tan(), tan(x));
  check_identical(x.asin(), asin(x));
  check_identical(x.acos(), acos(x));
  check_identical(x.atan(), atan(x));
  check_identical(x.atan2(y), atan2(x, y));
  check_identical(x.sinh(), sinh(x));
  check_identical(x.cosh(), cosh(x));
  check_identical(x.erf(), erf(x));
  check_identical(x.log1p(), log1p(x));
  check_identical(x.expm1(), expm1(x));
  check_identical(p.log2(), log2(p));
  check_identical(p.log10(), log10(p));
  check_identical(p.rsqrt(), rsqrt(p));
  check_identical(p.reciprocal(), reciprocal(p));
  check_identical(x.sign(), sign(x));
  check_identical(p.floor(), floor(p));
  check_identical(p.ceil(), ceil(p));
  check_identical(p.round(), round(p));
  check_identical(p.round(1), round(p, 1));
  check_identical(p.trunc(), trunc(p));
  check_identical(p.frac(), frac(p));
  check_identical(p.fmod(y), fmod(p, y));
  check_identical(p.fmod(0.6), fmod(p, 0.6));
  check_identical(x.remainder(y), remainder(x, y));
  check_identical(x.remainder(0.4), remainder(x, 0.4));
  check_identical(x.minimum(y), minimum(x, y));
  check_identical(x.maximum(y), maximum(x, y));
  check_identical(x.max(y), maximum(x, y));
  check_identical(x.min(y), minimum(x, y));
  check_identical(x.lerp(p, y), lerp(x, p, y));
  check_identical(x.lerp(p, 0.3), lerp(x, p, 0.3));
  check_identical(x.addcmul(p, y, 0.5), addcmul(x, p, y, 0.5));
  check_identical(x.addcdiv(p, y), addcdiv(x, p, y));
  check_identical(x.square(), square(x));
  check_identical(x.clamp_min(0.2), clamp_min(x, 0.2));
  check_identical(x.clamp_max(0.2), clamp_max(x, 0.2));
  check_identical(x.add(y), add(x, y));
  check_identical(x.add(y, 2.5), add(x, mul(y, 2.5)));
  check_identical(x.add(1.5), add(x, 1.5));
  check_identical(x.add(1.5, 2.0), add(x, 3.0));
  check_identical(x.sub(y), sub(x, y));
  check_identical(x.sub(y, -0.5), sub(x, mul(y, -0.5)));
  check_identical(x.sub(1.5), sub(x, 1.5));
  check_identical(x.mul(y), mul(x, y));
  check_identical(x.mul(3.0), mul(x, 3.0));
  check_identical(x.div(y), div(x, y));
  check_identical(x.div(3.0), div(x, 3.0));
  check_identical(x.type_as(tensor({1.0f}, {1})), to(x, kFloat32));
  check_identical(x.where(gt(x, 0.0), p), where(gt(x, 0.0), x, p));
  check_identical(x.where(gt(x, 0.0), -1.0), where(gt(x, 0.0), x, -1.0));
}

TEST_CASE("comparison methods equal their free functions (1/0 in the inputs' dtype)") {
  const Tensor x = f64({0.3, -0.7, 0.5, kNaN}, {2, 2});
  const Tensor y = f64({0.3, 0.5}, {2});
  check_identical(x.eq(y), eq(x, y));
  check_identical(x.ne(y), ne(x, y));
  check_identical(x.lt(y), lt(x, y));
  check_identical(x.le(y), le(x, y));
  check_identical(x.gt(y), gt(x, y));
  check_identical(x.ge(y), ge(x, y));
  check_identical(x.eq(0.5), eq(x, 0.5));
  check_identical(x.ne(0.5), ne(x, 0.5));
  check_identical(x.lt(0.5), lt(x, 0.5));
  check_identical(x.le(0.5), le(x, 0.5));
  check_identical(x.gt(0.5), gt(x, 0.5));
  check_identical(x.ge(0.5), ge(x, 0.5));
  CHECK(x.eq(y).dtype() == kFloat64);
  agt::check_values(x.ge(y), {1, 0, 1, 0});
}

TEST_CASE("reduction, scan, sort and matrix methods equal their free functions") {
  const Tensor x = agt::input({3, 4}, 0.7, 1.0, 0.0, false);
  const Tensor pos = agt::input({3, 4}, 0.2, 0.5, 1.5, false);
  check_identical(x.max(), max(x));
  check_identical(x.min(), min(x));
  {
    auto [v, i] = x.max(1);
    auto r = max(x, 1);
    check_identical(v, r.values);
    check_identical(i, r.indices);
    auto [v2, i2] = x.min(0, true);
    auto r2 = min(x, 0, true);
    check_identical(v2, r2.values);
    check_identical(i2, r2.indices);
    CHECK(v2.shape() == Shape{1, 4});
  }
  check_identical(x.amax(1), amax(x, 1));
  check_identical(x.amin(0, true), amin(x, 0, true));
  check_identical(x.argmax(1), argmax(x, 1));
  check_identical(x.argmax(0, true), argmax(x, 0, true));
  check_identical(x.argmax(), argmax(x));
  check_identical(x.argmin(1), argmin(x, 1));
  check_identical(x.argmin(), argmin(x));
  CHECK(x.argmax(std::nullopt, true).shape() == Shape{1, 1});
  check_identical(x.softmax(1), softmax(x, 1));
  check_identical(x.log_softmax(0), log_softmax(x, 0));
  check_identical(x.logsumexp(1, true), logsumexp(x, 1, true));
  check_identical(x.norm(), norm(x));
  check_identical(x.norm(3.0), norm(x, 3.0));
  check_identical(x.norm(1.0, 1, true), norm(x, 1.0, 1, true));
  check_identical(x.norm(2.0, {0, 1}), norm(x, 2.0, {0, 1}));
  check_identical(x.sum({0, 1}), sum(x, {0, 1}));
  check_identical(x.sum({1}), sum(x, 1));
  check_identical(x.mean({0, 1}, true), mean(x, {0, 1}, true));
  check_identical(pos.prod(), prod(pos));
  check_identical(pos.prod(1, true), prod(pos, 1, true));
  check_identical(x.all(), all(x));
  check_identical(x.all(1), all(x, 1));
  check_identical(x.any(), any(x));
  check_identical(x.any(0, true), any(x, 0, true));
  check_identical(x.var(), var(x));
  check_identical(x.var(false), var(x, false));
  check_identical(x.var(1), var(x, 1));  // dim 1, not `unbiased`
  check_identical(x.var(0, false, true), var(x, 0, false, true));
  check_identical(x.var(1, std::optional<double>(0.5)), var(x, 1, std::optional<double>(0.5)));
  check_identical(x.std(), ag::std(x));
  check_identical(x.std(1), ag::std(x, 1));
  check_identical(x.std(std::nullopt, std::optional<double>(2.0), false), ag::std(x, std::nullopt, 2.0, false));
  check_identical(x.cumsum(1), cumsum(x, 1));
  check_identical(pos.cumprod(0), cumprod(pos, 0));
  check_identical(x.sort(), sort(x));
  check_identical(x.sort(0, true), sort(x, 0, true));
  check_identical(x.argsort(1, true), argsort(x, 1, true));
  check_identical(x.topk(2), topk(x, 2));
  check_identical(x.topk(2, 0, false, true), topk(x, 2, 0, false, true));
  const Tensor idx = tensor({2, 0}, {2}, kInt64);
  check_identical(x.index_select(1, idx), index_select(x, 1, idx));
  const Tensor gidx = tensor({0, 3, 1, 1, 2, 0}, {3, 2}, kInt64);
  check_identical(x.gather(1, gidx), gather(x, 1, gidx));

  const Tensor a = agt::input({3, 4}, 0.1, 1.0, 0.0, false), b = agt::input({4, 2}, 0.9, 1.0, 0.0, false);
  const Tensor c = agt::input({3, 2}, 0.4, 1.0, 0.0, false);
  check_identical(a.mm(b), mm(a, b));
  check_identical(c.addmm(a, b), addmm(c, a, b));
  check_identical(c.addmm(a, b, 0.5, 2.0), addmm(c, a, b, 0.5, 2.0));
  const Tensor ba = agt::input({2, 3, 4}, 0.3, 1.0, 0.0, false), bb = agt::input({2, 4, 5}, 0.6, 1.0, 0.0, false);
  check_identical(ba.bmm(bb), bmm(ba, bb));
  const Tensor u = f64({1, 2, 3}, {3}), v = f64({-1, 0.5, 2}, {3});
  check_identical(u.dot(v), dot(u, v));
  check_identical(u.outer(v), outer(u, v));
}

TEST_CASE("methods record like their functions: gradients through x.norm(), x.max(dim), x.softmax(dim)") {
  const Tensor x = agt::input({2, 3}, 0.4);
  agt::check_same_function([](const std::vector<Tensor>& in) { return in[0].norm(3.0, 1); },
                           [](const std::vector<Tensor>& in) { return norm(in[0], 3.0, 1); }, {x}, 1e-15);
  agt::check_same_function([](const std::vector<Tensor>& in) { return std::get<0>(in[0].max(1, true)); },
                           [](const std::vector<Tensor>& in) { return max(in[0], 1, true).values; }, {x}, 1e-15);
  agt::check_same_function([](const std::vector<Tensor>& in) { return in[0].softmax(0).addcmul(in[0], in[0]); },
                           [](const std::vector<Tensor>& in) { return addcmul(softmax(in[0], 0), in[0], in[0]); }, {x},
                           1e-15);
}

// ---- composed functions: values from PyTorch 1.13, gradients by gradcheck ----------------------------------

TEST_CASE("norm: values as torch.norm for p = 2, 1, 3, 0.5, inf, -inf, 0") {
  // x = torch.tensor([[1.5, -2.0, 0.5], [0.0, 3.0, -1.0]], dtype=torch.float64);
  // x.norm(p).item(), x.norm(p, dim=1).tolist(), x.norm(p, dim=0, keepdim=True).tolist()
  const Tensor x = f64({1.5, -2.0, 0.5, 0.0, 3.0, -1.0}, {2, 3});
  struct Case {
    double p, all;
    std::vector<double> dim1, dim0;
  };
  const std::vector<Case> cases = {
      {2, 4.06201920231798, {2.5495097567963922, 3.1622776601683795}, {1.5, 3.605551275463989, 1.118033988749895}},
      {1, 8.0, {4.0, 4.0}, {1.5, 5.0, 1.5}},
      {3, 3.4056423038445396, {2.2571787177370006, 3.0365889718756622}, {1.5, 3.2710663101885897, 1.040041911525952}},
      {0.5,
       36.94349438321567,
       {11.196152422706632, 7.464101615137754},
       {1.4999999999999998, 9.898979485566358, 2.914213562373095}},
      {kInf, 3.0, {2.0, 3.0}, {1.5, 3.0, 1.0}},
      {-kInf, 0.0, {0.5, 0.0}, {0.0, 2.0, 0.5}},
      {0, 5.0, {3.0, 2.0}, {1.0, 2.0, 2.0}},
  };
  for (const auto& c : cases) {
    INFO("p = " << c.p);
    const Tensor all_ = norm(x, c.p);
    CHECK(all_.dim() == 0);
    CHECK(all_.item<double>() == doctest::Approx(c.all).epsilon(1e-14));
    agt::check_values(norm(x, c.p, 1), c.dim1, 1e-14);
    const Tensor d0 = norm(x, c.p, 0, true);
    CHECK(d0.shape() == Shape{1, 3});
    agt::check_values(d0, c.dim0, 1e-14);
    agt::check_values(norm(x, c.p, {0, 1}), {c.all}, 1e-14);
    agt::check_values(norm(x.to(kFloat32), c.p, 1), c.dim1, 1e-6);
  }
  // torch.norm(x, 2, dim=[0, 1]).item()
  CHECK(norm(x, 2.0, {-1, 0}).item<double>() == doctest::Approx(4.06201920231798).epsilon(1e-14));
  CHECK(norm(x, 2.0, {0, 1}, true).shape() == Shape{1, 1});
  CHECK(norm(scalar_tensor(-3.0, kFloat64)).item<double>() == 3.0);
  check_error([&] { (void)norm(x, 2.0, {1, -1}); }, "norm: dim 1 appears multiple times");
  check_error([&] { (void)norm(x, 2.0, 2); }, "norm");
  check_error([&] { (void)norm(x, kNaN); }, "NaN");
}

TEST_CASE("norm: gradients (gradcheck, second order), 0 at a zero norm as torch") {
  const Tensor x = agt::input({3, 4}, 0.3);
  for (double p : {2.0, 1.0, 3.0, 1.5, kInf, -kInf}) {
    INFO("p = " << p);
    agt::check_gradients([p](const std::vector<Tensor>& in) { return norm(in[0], p); }, {x});
    agt::check_gradients([p](const std::vector<Tensor>& in) { return norm(in[0], p, 1, true); }, {x});
    agt::check_gradients([p](const std::vector<Tensor>& in) { return norm(in[0], p, {0, 1}); }, {x});
  }
  agt::check_second_gradients([](const std::vector<Tensor>& in) { return norm(in[0], 2.0, 0); }, {x});
  agt::check_second_gradients([](const std::vector<Tensor>& in) { return norm(in[0], 3.0); }, {x});
  // z = torch.zeros(3, dtype=torch.float64, requires_grad=True); z.norm().backward() -> zeros (also p = 3)
  for (double p : {2.0, 3.0}) {
    Tensor z = zeros({3}, TensorOptions(kFloat64).requires_grad(true));
    norm(z, p).backward();
    agt::check_values(z.grad(), {0, 0, 0});
  }
  // x.norm(3).backward() for the x of the values test
  Tensor y = f64({1.5, -2.0, 0.5, 0.0, 3.0, -1.0}, {2, 3}).requires_grad_();
  norm(y, 3.0).backward();
  agt::check_values(y.grad(),
                    {0.1939922831303852, -0.3448751700095737, 0.021554698125598355, 0.0, 0.7759691325215408,
                     -0.08621879250239342},
                    1e-13);
  // inf norm: the gradient is split between the ties of the max, over every reduced dim (as torch):
  // torch.tensor([[3., -3.], [3., 1.]]).norm(float('inf')) -> grad [[1/3, -1/3], [1/3, 0]]
  Tensor t = f64({3, -3, 3, 1}, {2, 2}).requires_grad_();
  norm(t, kInf).backward();
  agt::check_values(t.grad(), {1.0 / 3, -1.0 / 3, 1.0 / 3, 0}, 1e-15);
}

TEST_CASE("all, any: values as torch (1/0 in the input's dtype), dims, NaN, empty, int64") {
  // a = torch.tensor([[1., 0., 2.], [3., 4., float('nan')]]): a.all() False, a.any() True,
  // a.all(1) [False, True], a.any(0) [True, True, True]; torch.zeros(0).all() True, .any() False
  const Tensor a = tensor({1.0, 0.0, 2.0, 3.0, 4.0, kNaN}, {2, 3});
  CHECK(all(a).dim() == 0);
  CHECK(all(a).dtype() == kFloat32);
  CHECK(all(a).item<double>() == 0.0);
  CHECK(any(a).item<double>() == 1.0);
  agt::check_values(all(a, 1), {0, 1});
  agt::check_values(any(a, 0), {1, 1, 1});
  CHECK(all(zeros({0})).item<bool>());
  CHECK(!any(zeros({0})).item<bool>());
  // torch.tensor([[0., 0.], [0., 1.]]).any(1, keepdim=True) -> [[False], [True]]
  const Tensor b = any(tensor({0.0, 0.0, 0.0, 1.0}, {2, 2}), 1, true);
  CHECK(b.shape() == Shape{2, 1});
  agt::check_values(b, {0, 1});
  const Tensor i = tensor({3, 0, -2}, {3}, kInt64);
  CHECK(all(i).dtype() == kInt64);
  CHECK(all(i).item<std::int64_t>() == 0);
  CHECK(any(i).item<std::int64_t>() == 1);
  CHECK(all(tensor({3, -2}, {2}, kInt64)).item<bool>());
  CHECK(!all(a).requires_grad());
  CHECK(!any(agt::input({3})).requires_grad());
  check_error([] { (void)all(Tensor()); }, "all");
}

TEST_CASE("argmin: the first min (NaN counts as the min, as torch); argmax/argmin of the flattened tensor") {
  // torch.tensor([[2., 1., 1.], [0., float('nan'), -1.]]).argmin(1) -> [1, 1]; .argmin() -> 4; .argmax() -> 4
  const Tensor x = f64({2, 1, 1, 0, kNaN, -1}, {2, 3});
  agt::check_values(argmin(x, 1), {1, 1});
  CHECK(argmin(x, 1).dtype() == kInt64);
  CHECK(argmin(x).item<std::int64_t>() == 4);
  CHECK(argmax(x).item<std::int64_t>() == 4);
  CHECK(argmin(f64({2, 1, 1, 3}, {4})).item<std::int64_t>() == 1);
  CHECK(argmin(x, 0, true).shape() == Shape{1, 3});
  Tensor r = agt::input({4});
  CHECK(!argmin(r, 0).requires_grad());
  check_error([&] { (void)argmin(x, 2); }, "argm");
}

TEST_CASE("masked_fill: where(mask, value, x), mask broadcasting to x; gradient to the unmasked elements") {
  const Tensor x = f64({1, 2, 3, 4, 5, 6}, {2, 3});
  const Tensor mask = f64({1, 0, 1}, {3});
  agt::check_values(masked_fill(x, mask, -1.0), {-1, 2, -1, -1, 5, -1});
  agt::check_values(x.masked_fill(gt(x, 3.5), 0.0), {1, 2, 3, 0, 0, 0});
  agt::check_values(masked_fill(x, mask, scalar_tensor(7.0, kFloat32)), {7, 2, 7, 7, 5, 7});
  CHECK(masked_fill(x, mask, scalar_tensor(7.0, kFloat32)).dtype() == kFloat64);
  Tensor w = f64({1, 2, 3, 4, 5, 6}, {2, 3}).requires_grad_();
  Tensor v = scalar_tensor(0.5, kFloat64).requires_grad_();
  sum(masked_fill(w, mask, v) * w).backward();
  agt::check_values(w.grad(), {0.5, 4, 0.5, 0.5, 10, 0.5});  // v where masked, 2w elsewhere
  agt::check_values(v.grad(), {1 + 3 + 4 + 6});
  agt::check_gradients([&](const std::vector<Tensor>& in) { return masked_fill(in[0], mask, in[1]); },
                       {agt::input({2, 3}), scalar_tensor(0.5, kFloat64).requires_grad_()});
  check_error([&] { (void)masked_fill(mask, x, 1.0); }, "masked_fill: ");
  check_error([&] { (void)masked_fill(x, mask, f64({1, 2}, {2})); }, "0-dimensional value");
}

TEST_CASE("sum and mean over several dims: values, keepdim, repeats are errors, gradcheck") {
  const Tensor x = agt::input({2, 3, 4}, 0.8);
  agt::check_values(sum(x, {0, 2}), sum(sum(x, 2), 0).to_vector<double>(), 1e-14);
  agt::check_values(sum(x, {2, 0}), sum(sum(x, 2), 0).to_vector<double>(), 1e-14);
  CHECK(sum(x, {0, 2}, true).shape() == Shape{1, 3, 1});
  CHECK(sum(x, {-1, 1}).shape() == Shape{2});
  CHECK(sum(x, {0, 1, 2}).dim() == 0);
  CHECK(sum(x, std::vector<std::int64_t>{}).item<double>() == doctest::Approx(sum(x).item<double>()).epsilon(1e-14));
  CHECK(sum(x, std::vector<std::int64_t>{}, true).shape() == Shape{1, 1, 1});
  agt::check_values(mean(x, {0, 2}), div(sum(x, {0, 2}), 8.0).to_vector<double>(), 1e-15);
  CHECK(mean(x, {1, 2}, true).shape() == Shape{2, 1, 1});
  CHECK(mean(x, std::vector<std::int64_t>{}).item<double>() == doctest::Approx(mean(x).item<double>()).epsilon(1e-14));
  check_error([&] { (void)sum(x, {1, -2}); }, "sum: dim 1 appears multiple times in the list of dims");
  check_error([&] { (void)mean(x, {0, 3}); }, "mean");
  agt::check_both_orders([](const std::vector<Tensor>& in) { return sum(in[0], {0, 2}); }, {x});
  agt::check_both_orders([](const std::vector<Tensor>& in) { return mean(in[0], {1, 0}, true); }, {x});
}

// ---- TORCH_CHECK, AT_ASSERT ----------------------------------------------------------------------------------

TEST_CASE("TORCH_CHECK: ag::Error with the message parts concatenated; AT_ASSERT names the condition") {
  const Tensor x = tensor({1.0, 2.0}, {2});
  TORCH_CHECK(x.dim() == 1, "never thrown");
  const std::string m =
      agt::error_message([&] { TORCH_CHECK(x.dim() == 2, "expected a matrix, got ", x.dim(), " dim"); });
  CHECK(m == "expected a matrix, got 1 dim");
  CHECK(agt::error_message([&] { TORCH_CHECK(x.numel() > 5); }) == "Expected x.numel() > 5 to be true, but got false.");
  CHECK(agt::error_message([] { TORCH_CHECK(false, 'c', 2.5, std::string("s"), Scalar(true)); }) == "c2.5strue");
  const std::string a = agt::error_message([] { AT_ASSERT(1 + 1 == 3); });
  CHECK(a.find("1 + 1 == 3") != std::string::npos);
  CHECK(a.find("test_tensor_surface.cpp") != std::string::npos);
  const std::string b = agt::error_message([] { TORCH_INTERNAL_ASSERT(false, "state ", 4); });
  CHECK(b.find("state 4") != std::string::npos);
  int evaluated = 0;
  TORCH_CHECK(++evaluated == 1, "once");
  CHECK(evaluated == 1);
  if (x.dim() == 1) TORCH_CHECK(true);  // a single statement (no dangling else)
  else FAIL("unreachable");
}

// ---- devices -------------------------------------------------------------------------------------------------

TEST_CASE("Device: from kCPU, kCUDA and strings; printing; bad strings are errors") {
  const Device cpu(kCPU), gpu = kCUDA, cuda0("cuda:0"), cuda1 = std::string("cuda:1"), cpu_s = "cpu";
  CHECK(cpu.is_cpu());
  CHECK(cpu.type() == DeviceType::CPU);
  CHECK(!cpu.has_index());
  CHECK(gpu.is_cuda());
  CHECK(cuda0.is_cuda());
  CHECK(cuda0.index() == 0);
  CHECK(cuda1.index() == 1);
  CHECK(cpu_s == cpu);
  CHECK(cuda0 != gpu);
  CHECK(cuda0.str() == "cuda:0");
  CHECK(Device("cpu:0").index() == 0);
  std::ostringstream os;
  os << cpu << " " << cuda1 << " " << kCUDA;
  CHECK(os.str() == "cpu cuda:1 cuda");
  for (const char* bad : {"gpu", "cuda:", "cuda:x", "cuda:-1", "cuda:01", "CPU", "", "cpu:1", "cuda:999"}) {
    INFO(bad);
    check_error([bad] { (void)Device(bad); }, "Device: ");
  }
  check_error([] { (void)Device(kCUDA, -2); }, "negative");
  CHECK(!cuda::is_available());
  CHECK(cuda::device_count() == 0);
}

TEST_CASE("Tensor::to(Device), device(), is_cuda(); factories and Module::to refuse CUDA") {
  const Tensor x = f64({1, 2}, {2});
  CHECK(x.device() == Device(kCPU));
  CHECK(!x.is_cuda());
  CHECK(x.is_cpu());
  CHECK(x.to(kCPU).impl() == x.impl());  // nothing changes: the same tensor, as libtorch
  CHECK(x.to(Device("cpu")).impl() == x.impl());
  CHECK(x.cpu().impl() == x.impl());
  check_identical(x.to(kCPU, kFloat32), x.to(kFloat32));
  check_error([&] { (void)x.to(kCUDA); }, "to: this build has no CUDA");
  check_error([&] { (void)x.to("cuda:0"); }, "cannot use device cuda:0");
  check_error([&] { (void)x.cuda(); }, "no CUDA");
  check_error([&] { (void)x.to(kCUDA, kFloat32); }, "no CUDA");
  check_error([] { (void)Tensor().device(); }, "device");

  const Device device(cuda::is_available() ? kCUDA : kCPU);  // the usual porting idiom
  CHECK(zeros({2}, TensorOptions().device(device).dtype(kFloat64)).dtype() == kFloat64);
  CHECK(ones({2}, kCPU).dtype() == kFloat32);
  CHECK(TensorOptions().device(kCUDA).device().is_cuda());
  CHECK(TensorOptions().device() == Device(kCPU));
  CHECK(!TensorOptions().has_device());
  CHECK(TensorOptions(kFloat64).merge_in(ag::device(kCUDA)).device() == Device(kCUDA));
  std::ostringstream os;
  os << TensorOptions().device("cuda:0");
  CHECK(os.str() == "TensorOptions(dtype=float32, requires_grad=false, device=cuda:0)");
  check_error([] { (void)zeros({2}, TensorOptions().device(kCUDA)); }, "zeros: this build has no CUDA");
  check_error([] { (void)randn({2}, kCUDA); }, "randn: this build has no CUDA");
  check_error([&] { (void)ones_like(x, Device("cuda")); }, "ones_like: this build has no CUDA");

  nn::Linear fc(2, 3);
  fc->to(kCPU);
  fc->to(Device("cpu"), kFloat64);
  CHECK(fc->weight.dtype() == kFloat64);
  check_error([&] { fc->to(kCUDA); }, "Module::to: this build has no CUDA");
  check_error([&] { fc->to("cuda", kFloat32); }, "no CUDA");
  CHECK(fc->weight.dtype() == kFloat64);  // unchanged
}

// ---- int32 and bool: storage dtypes ---------------------------------------------------------------------------

TEST_CASE("kInt32 / kBool: creation, to(), printing, item, to_vector; aliases kInt, kFloat, kDouble, kLong") {
  static_assert(kInt == kInt32 && kFloat == kFloat32 && kDouble == kFloat64 && kLong == kInt64);
  const Tensor b = tensor({1.5, 0.0, -2.0, kNaN}, {4}, kBool);
  CHECK(b.dtype() == kBool);
  CHECK(b.element_size() == 1);
  CHECK(!b.is_floating_point());
  agt::check_values(b, {1, 0, 1, 1});  // nonzero (and NaN) is true
  CHECK(b.data<bool>()[1] == false);
  const Tensor i = tensor({1.9, -2.7, 7.0}, {3}, kInt32);
  CHECK(i.dtype() == kInt32);
  CHECK(i.element_size() == 4);
  CHECK(i.data<std::int32_t>()[1] == -2);  // truncation toward zero
  agt::check_values(zeros({2}, kBool), {0, 0});
  agt::check_values(ones({2}, kInt), {1, 1});
  agt::check_values(full({2}, -5.0, kInt32), {-5, -5});
  agt::check_values(full({1}, 0.25, kBool), {1});
  CHECK(empty({3}, kBool).numel() == 3);
  CHECK(zeros_like(b).dtype() == kBool);
  check_error([] { (void)tensor({3e9}, {1}, kInt32); }, "cannot be represented as int32");
  check_error([] { (void)full({1}, -3e9, kInt32); }, "full: value -3000000000 cannot be represented as int32");
  check_error([] { (void)zeros({2}, TensorOptions(kBool).requires_grad(true)); }, "floating point dtype");

  // to(): every pair, with range checks into int32 and int64
  agt::check_values(to(f64({0.0, -0.5, kNaN}, {3}), kBool), {0, 1, 1});
  agt::check_values(to(b, kFloat32), {1, 0, 1, 1});
  agt::check_values(to(b, kInt32), {1, 0, 1, 1});
  agt::check_values(to(i, kInt64), {1, -2, 7});
  agt::check_values(to(i, kFloat64), {1, -2, 7});
  agt::check_values(to(tensor({5, -6}, {2}, kInt64), kInt32), {5, -6});
  agt::check_values(to(tensor({0, 3}, {2}, kInt64), kBool), {0, 1});
  check_error([] { (void)to(scalar_tensor(3e9, kInt64), kInt32); }, "cannot be represented as int32");
  check_error([] { (void)to(scalar_tensor(kNaN, kFloat64), kInt32); }, "cannot be represented as int32");
  Tensor leaf = zeros({2}, kInt32);
  check_error([&] { (void)leaf.requires_grad_(); }, "int32");
  CHECK(!leaf.requires_grad());

  // item and Scalar
  const Tensor b1 = tensor({2.0}, {1}, kBool), b0 = zeros({}, kBool), i1 = tensor({-2.0}, {1}, kInt32);
  CHECK(b1.item().isBoolean());
  CHECK(b1.item().toBool());
  CHECK(b0.item().toBool() == false);
  CHECK(i1.item().isIntegral(false));
  CHECK(i1.item().toLong() == -2);
  CHECK(i1.item<int>() == -2);
  CHECK(i1.item<bool>());
  CHECK(!b0.item<bool>());
  CHECK(b1.item<double>() == 1.0);
  CHECK(i.to_vector<std::int64_t>() == std::vector<std::int64_t>{1, -2, 7});

  // printing as libtorch
  std::ostringstream os;
  os << tensor({1.0, 0.0}, {2}, kBool) << "|" << tensor({3.0, -4.0}, {2}, kInt32);
  CHECK(os.str().find("[ CPUBoolType{2} ]") != std::string::npos);
  CHECK(os.str().find("[ CPUIntType{2} ]") != std::string::npos);
  CHECK(describe(b) == "bool[4]");
  CHECK(dtype_name(kInt32) == "int32");

  // storage ops that do not compute: clone, reshape, detach, copy_
  check_identical(b.clone(), b);
  CHECK(reshape(i, {3, 1}).dtype() == kInt32);
  Tensor dst = zeros({3}, kBool);
  dst.copy_(f64({0, 2, 0}, {3}));
  agt::check_values(dst, {0, 1, 0});
}

TEST_CASE(
    "kInt32 / kBool: a bool mask selects in where and masked_fill; computing ops refuse them naming op and dtype") {
  const Tensor x = f64({1, 2, 3}, {3});
  const Tensor mask = tensor({1.0, 0.0, 1.0}, {3}, kBool);
  agt::check_values(where(mask, x, -x), {1, -2, 3});
  agt::check_values(x.masked_fill(mask, 0.0), {0, 2, 0});
  Tensor w = f64({1, 2, 3}, {3}).requires_grad_();
  sum(masked_fill(w, mask, 0.0)).backward();
  agt::check_values(w.grad(), {0, 1, 0});

  const Tensor i = tensor({1.0, 2.0}, {2}, kInt32);
  const Tensor b = tensor({1.0, 0.0}, {2}, kBool);
  check_error([&] { (void)(i + i); }, "add: expected a floating dtype (float32 or float64), got int32");
  check_error([&] { (void)(b * 2.0); }, "mul: expected a floating dtype (float32 or float64), got bool");
  check_error([&] { (void)eq(i, i); }, "eq: int32 tensors are not supported by this op");
  check_error([&] { (void)gt(b, 0.5); }, "gt: bool tensors are not supported by this op");
  CHECK(sum(b).dtype() == kInt64);  // a count, as libtorch's sum of a bool tensor
  check_error([&] { (void)mean(b); }, "bool");
  check_error([&] { (void)exp(i); }, "int32");
  check_error([&] { (void)matmul(i, i); }, "int32");
  check_error([&] { (void)sort(i); }, "sort: int32 tensors are not supported");
  check_error([&] { (void)cat({b, b}); }, "cat: bool tensors are not supported");
  check_error([&] { (void)where(b, i, i); }, "where: int32 tensors are not supported");
  check_error([&] { (void)gather(i, 0, tensor({0}, {1}, kInt64)); }, "gather: int32");
  check_error([&] { (void)index_select(x, 0, tensor({0.0}, {1}, kInt32)); }, "int64");
  check_error([&] { (void)all(b); }, "bool");
  check_error([&] { (void)arange(0, 3, kInt32); }, "arange: int32 tensors are not supported");
  check_error([&] { (void)randint(0, 3, {2}, kBool); }, "randint: bool tensors are not supported");
  check_error(
      [&] {
        Tensor t = zeros({2}, kInt32);
        t.add_(1.0);
      },
      "add_");
  check_error(
      [&] {
        Tensor t = zeros({2}, kBool);
        t.fill_(1.0);
      },
      "fill_");
}

TEST_CASE("kInt32 / kBool: safetensors round trip (I32, BOOL)") {
  OrderedDict<Tensor> d;
  d.insert("mask", tensor({1.0, 0.0, 1.0}, {3}, kBool));
  d.insert("counts", tensor({-4.0, 70000.0}, {2}, kInt32));
  const std::string path = (std::filesystem::temp_directory_path() / "ag_surface_dtypes.safetensors").string();
  nn::save_safetensors(d, path);
  const auto back = nn::load_safetensors(path);
  std::filesystem::remove(path);
  check_identical(back["mask"], d["mask"]);
  check_identical(back["counts"], d["counts"]);
  CHECK(back["mask"].dtype() == kBool);
  CHECK(back["counts"].dtype() == kInt32);
}

TEST_CASE("a Tensor and an ag::Scalar combine with + - * / as libtorch's (x.mm(w) + b.item())") {
  const Tensor x = f64({1, 2, 3}, {3});
  const Scalar s = f64({2}, {}).item();
  agt::check_values(x + s, {3, 4, 5});
  agt::check_values(s + x, {3, 4, 5});
  agt::check_values(x - s, {-1, 0, 1});
  agt::check_values(s - x, {1, 0, -1});
  agt::check_values(x * s, {2, 4, 6});
  agt::check_values(s * x, {2, 4, 6});
  agt::check_values(x / s, {0.5, 1, 1.5});
  agt::check_values(s / x, {2, 1, 2.0 / 3});
  agt::check_values(x + Scalar(std::int64_t{1}), {2, 3, 4});
}

TEST_CASE("sizes() print as libtorch's IntArrayRef; ag::str joins streamed values") {
  const ag::Tensor t = ag::zeros({64, 1, 28, 28});
  std::ostringstream os;
  os << t.sizes();
  CHECK(os.str() == "[64, 1, 28, 28]");
  CHECK(ag::str("data ", t.sizes(), " of ", 3) == "data [64, 1, 28, 28] of 3");
  CHECK(ag::str(ag::zeros({0}).sizes()) == "[0]");
  CHECK(ag::str(ag::tensor(1.0).sizes()) == "[]");
}

TEST_CASE("sum of an integer or bool tensor is an int64 count, as libtorch's") {
  const ag::Tensor pred = ag::tensor({1.0, 2.0, 3.0, 4.0}).to(ag::kInt64);
  const ag::Tensor target = ag::tensor({1.0, 0.0, 3.0, 4.0}).to(ag::kInt64);
  const ag::Tensor correct = pred.eq(target).sum();
  CHECK(correct.dtype() == ag::kInt64);
  CHECK(correct.dim() == 0);
  CHECK(correct.item<std::int64_t>() == 3);
  CHECK(ag::tensor({3.0, -5.0}).to(ag::kInt32).sum().item<std::int64_t>() == -2);
}
