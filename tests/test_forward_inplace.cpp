// Forward-mode AD through in-place ops (Note: forward mode of in-place ops in autograd/ops/inplace.cpp):
// the new tangent of a tensor with its own storage, computed out of place (the old tangent tensor is
// left as it was), and the ag::Error, with nothing changed, when the tensor written shares its storage
// with others (a view of a base, a base with views, a make_dual result whose primal lives).
#include <doctest/doctest.h>

#include "test_util.h"

using namespace ag;
using namespace ag::indexing;
namespace fw = ag::autograd::forward_ad;

namespace {

Tensor plain(const Shape& s, double seed, double shift = 0.0) { return agt::input(s, seed, 1.0, shift, false); }

/// A dual tensor with its own storage (its primal, a temporary, is gone).
Tensor own_dual(const Shape& s, double seed, double tseed) {
  return fw::make_dual(plain(s, seed, 2.0), plain(s, tseed));
}

Tensor tangent(const Tensor& t) { return fw::unpack_dual(t).tangent; }

std::vector<double> vals(const Tensor& t) { return t.to_vector<double>(); }

/// Elementwise f over the values of a and b (same numel).
template <class F>
std::vector<double> zip(const std::vector<double>& a, const std::vector<double>& b, F f) {
  std::vector<double> r(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) r[i] = f(a[i], b[i % b.size()]);
  return r;
}

}  // namespace

TEST_CASE("forward_inplace: add_, sub_, mul_, div_ with tensors give the JVP of the op (own storage)") {
  fw::dual_level level;
  const Tensor d = own_dual({2, 3}, 0.4, 0.9);
  const auto dv = vals(fw::unpack_dual(d).primal), td = vals(tangent(d));

  SUBCASE("mul_ of a dual by a dual") {
    Tensor y = own_dual({2, 3}, 1.0, 2.0);
    const Tensor ty_old = tangent(y);
    const auto yv = vals(y), ty = vals(ty_old);
    y.mul_(d);
    agt::check_values(y, zip(yv, dv, [](double a, double b) { return a * b; }));
    std::vector<double> want(6);
    for (std::size_t i = 0; i < 6; ++i) want[i] = ty[i] * dv[i] + yv[i] * td[i];
    agt::check_values(tangent(y), want);
    agt::check_values(ty_old, ty, 1e-300);  // the old tangent was replaced, not written
  }
  SUBCASE("a plain tensor takes a tangent from a dual operand") {
    Tensor y = plain({2, 3}, 3.0) * 1.0;
    const auto yv = vals(y);
    CHECK_FALSE(tangent(y).defined());
    y.mul_(d);
    agt::check_values(tangent(y), zip(yv, td, [](double a, double b) { return a * b; }));
    Tensor z = plain({2, 3}, 3.0) * 1.0;
    z.add_(d, 2.0);
    agt::check_values(tangent(z), zip(td, td, [](double a, double) { return 2.0 * a; }));
  }
  SUBCASE("sub_ and div_ of duals") {
    Tensor y = own_dual({2, 3}, 1.5, 2.5);
    const auto yv = vals(y), ty = vals(tangent(y));
    y.sub_(d, 0.5);
    agt::check_values(tangent(y), zip(ty, td, [](double a, double b) { return a - 0.5 * b; }));
    Tensor z = own_dual({2, 3}, 1.5, 2.5);
    z.div_(d);
    std::vector<double> want(6);
    for (std::size_t i = 0; i < 6; ++i) want[i] = (ty[i] - yv[i] / dv[i] * td[i]) / dv[i];
    agt::check_values(z, zip(yv, dv, [](double a, double b) { return a / b; }));
    agt::check_values(tangent(z), want);
  }
  SUBCASE("a broadcast operand: its tangent is broadcast too") {
    const Tensor r = own_dual({3}, 0.7, 1.7);
    const auto rv = vals(fw::unpack_dual(r).primal), tr = vals(tangent(r));
    Tensor y = own_dual({2, 3}, 1.0, 2.0);
    const auto yv = vals(y), ty = vals(tangent(y));
    y.mul_(r);
    std::vector<double> want(6);
    for (std::size_t i = 0; i < 6; ++i) want[i] = ty[i] * rv[i % 3] + yv[i] * tr[i % 3];
    agt::check_values(tangent(y), want);
    Tensor z = plain({2, 3}, 0.1) * 1.0;
    z.add_(r);
    agt::check_values(tangent(z), zip(std::vector<double>(6, 0.0), tr, [](double, double b) { return b; }));
  }
  SUBCASE("an operand without tangent leaves add_'s tangent as it is") {
    Tensor y = own_dual({2, 3}, 1.0, 2.0);
    const Tensor ty = tangent(y);
    y.add_(plain({2, 3}, 5.0));
    CHECK(tangent(y).impl() == ty.impl());
    y.mul_(plain({2, 3}, 5.0));
    agt::check_values(tangent(y), zip(vals(ty), vals(plain({2, 3}, 5.0)), [](double a, double b) { return a * b; }));
  }
  SUBCASE("x.mul_(x): both factors move") {
    Tensor y = own_dual({2, 3}, 1.0, 2.0);
    const auto yv = vals(y), ty = vals(tangent(y));
    y.mul_(y);
    agt::check_values(tangent(y), zip(yv, ty, [](double a, double b) { return 2.0 * a * b; }));
  }
}

TEST_CASE("forward_inplace: scalar ops, fill_, zero_, copy_ and index_put_ (own storage)") {
  fw::dual_level level;
  Tensor y = own_dual({2, 3}, 1.0, 2.0);
  const auto ty = vals(tangent(y));
  y.mul_(3.0);
  agt::check_values(tangent(y), zip(ty, ty, [](double a, double) { return 3.0 * a; }));
  y.div_(2.0);
  agt::check_values(tangent(y), zip(ty, ty, [](double a, double) { return 1.5 * a; }));
  const Tensor before = tangent(y);
  y.add_(1.0);
  y.sub_(4.0);
  CHECK(tangent(y).impl() == before.impl());  // unchanged
  y.fill_(2.0);
  agt::check_values(y, std::vector<double>(6, 2.0));
  agt::check_values(tangent(y), std::vector<double>(6, 0.0));

  Tensor z = own_dual({2, 3}, 1.0, 2.0);
  z.zero_();
  agt::check_values(tangent(z), std::vector<double>(6, 0.0));
  Tensor w = plain({2, 3}, 1.0) * 1.0;  // no tangent: fill_ gives none
  w.fill_(1.0);
  CHECK_FALSE(tangent(w).defined());

  SUBCASE("copy_ of a dual gives its tangent, broadcast and converted") {
    const Tensor d = own_dual({3}, 0.4, 0.9);
    Tensor a = plain({2, 3}, 1.0) * 1.0;
    a.copy_(d);
    agt::check_values(a, zip(std::vector<double>(6), vals(d), [](double, double b) { return b; }));
    agt::check_values(tangent(a), zip(std::vector<double>(6), vals(tangent(d)), [](double, double b) { return b; }));
    Tensor f = zeros({3}, kFloat32);
    f.copy_(d);
    REQUIRE(tangent(f).defined());
    CHECK(tangent(f).dtype() == kFloat32);
    agt::check_values(tangent(f), vals(tangent(d)), 1e-6);
    Tensor b = own_dual({3}, 1.0, 2.0);  // a dual overwritten by a plain tensor: zero tangent
    b.copy_(plain({3}, 7.0));
    agt::check_values(tangent(b), {0.0, 0.0, 0.0});
  }
  SUBCASE("index_put_ writes the value's tangent where it writes the value") {
    Tensor a = own_dual({2, 3}, 1.0, 2.0);
    const auto ta = vals(tangent(a));
    const Tensor v = own_dual({2}, 0.3, 0.8);
    const auto tv = vals(tangent(v));
    a.index_put_({Slice(), 1}, v);
    agt::check_values(tangent(a), {ta[0], tv[0], ta[2], ta[3], tv[1], ta[5]});
    a.index_put_({0, tensor(std::vector<std::int64_t>{0, 2}, {2}, kInt64)}, 5.0);
    agt::check_values(tangent(a), {0.0, tv[0], 0.0, ta[3], tv[1], ta[5]});
    Tensor p = plain({2, 3}, 1.0) * 1.0;  // no tangent: takes one from the value, zeros elsewhere
    p.index_put_({1}, v.index({Slice(0, 1)}).expand({3}));
    agt::check_values(tangent(p), {0.0, 0.0, 0.0, tv[0], tv[0], tv[0]});
  }
}

TEST_CASE("forward_inplace: a tangent written into a tensor sharing its storage is an error, nothing changed") {
  fw::dual_level level;
  const Tensor d = own_dual({3}, 0.4, 0.9);

  SUBCASE("a view of a dual base") {
    Tensor base = own_dual({2, 3}, 1.0, 2.0);
    const auto bv = vals(base), tb = vals(tangent(base));
    Tensor v = base.select(0, 1);
    const auto tv = vals(tangent(v));
    const std::string msg = agt::error_message([&] { v.mul_(d); });
    CHECK(msg.find("mul_") != std::string::npos);
    CHECK(msg.find("shared") != std::string::npos);
    CHECK(msg.find("clone()") != std::string::npos);
    CHECK(agt::error_message([&] { v.mul_(2.0); }).find("mul_") != std::string::npos);
    CHECK(agt::error_message([&] { v.div_(2.0); }).find("div_") != std::string::npos);
    CHECK(agt::error_message([&] { v.zero_(); }).find("fill_") != std::string::npos);
    CHECK(agt::error_message([&] { v.copy_(d); }).find("copy_") != std::string::npos);
    CHECK(agt::error_message([&] { v.add_(d); }).find("add_") != std::string::npos);
    CHECK(agt::error_message([&] { v.index_put_({0}, 1.0); }).find("index_put_") != std::string::npos);
    agt::check_values(base, bv, 1e-300);
    agt::check_values(tangent(base), tb, 1e-300);
    agt::check_values(tangent(v), tv, 1e-300);
    // the base, with a view alive, is shared too
    CHECK(agt::error_message([&] { base.mul_(3.0); }).find("mul_") != std::string::npos);
    agt::check_values(base, bv, 1e-300);
    // an op that leaves the tangent as it is stays allowed: the values change in the base too
    v.add_(1.0);
    CHECK(vals(base)[3] == doctest::Approx(bv[3] + 1.0));
    agt::check_values(tangent(v), tv, 1e-300);
    // a tensor of its own takes a tangent from the view
    Tensor c = plain({3}, 2.0) * 1.0;
    c.copy_(v.select(0, 0).expand({3}));
    CHECK(tangent(c).defined());
  }
  SUBCASE("a view without tangent of a plain base cannot take one") {
    Tensor base = plain({2, 3}, 1.0) * 1.0;
    const auto bv = vals(base);
    Tensor v = base.select(0, 1);
    CHECK(agt::error_message([&] { v.copy_(d); }).find("copy_") != std::string::npos);
    CHECK(agt::error_message([&] { v.mul_(d); }).find("mul_") != std::string::npos);
    CHECK(agt::error_message([&] { v.index_put_({Slice()}, d); }).find("index_put_") != std::string::npos);
    agt::check_values(base, bv, 1e-300);
    CHECK_FALSE(tangent(v).defined());
    CHECK_FALSE(tangent(base).defined());
    v.add_(plain({3}, 4.0));  // no tangent involved: a plain in-place op
    CHECK_FALSE(tangent(v).defined());
  }
  SUBCASE("make_dual's result while its primal lives") {
    const Tensor primal = plain({3}, 1.0);
    Tensor x = fw::make_dual(primal, plain({3}, 2.0));
    const auto xv = vals(x);
    CHECK(agt::error_message([&] { x.mul_(d); }).find("make_dual") != std::string::npos);
    agt::check_values(primal, xv, 1e-300);
    agt::check_values(tangent(x), vals(plain({3}, 2.0)), 1e-300);
  }
}
