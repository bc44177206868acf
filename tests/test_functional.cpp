// ag::autograd::functional (functional.h): values against torch.autograd.functional in float64
// (tests/data/functional_reference.json, made by tests/data/make_functional_reference.py), and the
// transforms against each other: jvp = J v, vjp = v^T J, hvp = H v, vhp = v^T H, H symmetric.
#include <doctest/doctest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "test_util.h"

using namespace ag;
namespace F = ag::autograd::functional;
using ag::autograd::variable_list;

namespace {

const nlohmann::json& reference() {
  static const nlohmann::json data = [] {
    std::ifstream in(std::string(AG_TEST_DATA_DIR) + "/functional_reference.json");
    if (!in) throw std::runtime_error("cannot open functional_reference.json");
    return nlohmann::json::parse(in);
  }();
  return data;
}

// The functions of make_functional_reference.py, with ag ops.
variable_list pair(const variable_list& in) {
  const Tensor& x = in[0];
  const Tensor& y = in[1];
  return {tanh(x) * y, (x.unsqueeze(0) * exp(y)).sum()};
}
Tensor energy(const variable_list& in) {
  const Tensor& x = in[0];
  const Tensor& y = in[1];
  return (tanh(x) * exp(y) * y).sum() + pow(x, 3.0).sum() + pow((x.unsqueeze(0) * y).sum(), 2.0);
}
Tensor unary(const Tensor& x) { return sin(x) * cumsum(x, 0); }
Tensor unary_scalar(const Tensor& x) { return (sin(x) * cumsum(x, 0)).sum() + prod(x); }

// Inputs as the generator makes them (no grad: the transforms make their own leaves).
Tensor in(const Shape& s, const std::string& name, double scale = 1.0, double shift = 0.0) {
  return agt::input(s, 2.0 * static_cast<double>(name.size()), scale, shift, /*requires_grad=*/false);
}

void check_flat(const std::vector<Tensor>& got, const nlohmann::json& want, const std::string& what) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    const auto v = got[i].to_vector<double>();
    REQUIRE_MESSAGE(v.size() == want[i].size(), what << "[" << i << "]");
    for (std::size_t k = 0; k < v.size(); ++k)
      CHECK_MESSAGE(std::abs(v[k] - want[i][k].get<double>()) <= 1e-12 * std::max(1.0, std::abs(v[k])),
                    what << "[" << i << "][" << k << "]: ag " << v[k] << " vs torch " << want[i][k]);
  }
}
void check_flat(const Tensor& got, const nlohmann::json& want, const std::string& what) {
  const auto v = got.to_vector<double>();
  REQUIRE(v.size() == want.size());
  for (std::size_t k = 0; k < v.size(); ++k)
    CHECK_MESSAGE(std::abs(v[k] - want[k].get<double>()) <= 1e-12 * std::max(1.0, std::abs(v[k])),
                  what << "[" << k << "]: ag " << v[k] << " vs torch " << want[k]);
}
void check_flat(const std::vector<variable_list>& got, const nlohmann::json& want, const std::string& what) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) check_flat(got[i], want[i], what + "[" + std::to_string(i) + "]");
}

void check_close(const Tensor& a, const Tensor& b, double tol = 1e-12) {
  REQUIRE(a.shape() == b.shape());
  const auto va = a.to_vector<double>(), vb = b.to_vector<double>();
  for (std::size_t k = 0; k < va.size(); ++k) CHECK(std::abs(va[k] - vb[k]) <= tol * std::max(1.0, std::abs(va[k])));
}

struct Inputs {
  Tensor x = in({3}, "x"), y = in({2, 3}, "y", 0.5);
  variable_list vout{in({2, 3}, "vout"), in({1}, "vs").sum()};  // 0-d, as the scalar output
  variable_list vin{in({3}, "vx"), in({2, 3}, "vy")};
  Tensor u = in({4}, "u", 0.8, 0.3), vu = in({4}, "vu");
};

}  // namespace

TEST_CASE("functional transforms match torch.autograd.functional (float64)") {
  const auto& ref = reference();
  Inputs d;
  check_flat(F::vjp(pair, {d.x, d.y}, d.vout).second, ref["pair_vjp"], "pair vjp");
  check_flat(F::jvp(pair, {d.x, d.y}, d.vin).second, ref["pair_jvp"], "pair jvp");
  check_flat(F::jacobian(pair, {d.x, d.y}), ref["pair_jacobian"], "pair jacobian");
  check_flat(F::hessian(energy, {d.x, d.y}), ref["energy_hessian"], "energy hessian");
  check_flat(F::hvp(energy, {d.x, d.y}, d.vin).second, ref["energy_hvp"], "energy hvp");
  check_flat(F::vhp(energy, {d.x, d.y}, d.vin).second, ref["energy_vhp"], "energy vhp");
  check_flat(F::jacobian(unary, d.u), ref["unary_jacobian"], "unary jacobian");
  check_flat(F::jvp(unary, d.u, d.vu).second, ref["unary_jvp"], "unary jvp");
  check_flat(F::hessian(unary_scalar, d.u), ref["unary_hessian"], "unary hessian");
  check_flat(F::hvp(unary_scalar, d.u, d.vu).second, ref["unary_hvp"], "unary hvp");
}

TEST_CASE("functional transforms agree with each other: J v, v^T J, H v, v^T H, H symmetric") {
  Inputs d;
  const Tensor J = F::jacobian(unary, d.u);  // [4, 4]
  check_close(F::jvp(unary, d.u, d.vu).second, matmul(J, d.vu));
  check_close(F::vjp(unary, d.u, d.vu).second, matmul(d.vu, J));
  const Tensor H = F::hessian(unary_scalar, d.u);
  check_close(H, H.t().contiguous());
  check_close(F::hvp(unary_scalar, d.u, d.vu).second, matmul(H, d.vu));
  check_close(F::vhp(unary_scalar, d.u, d.vu).second, matmul(d.vu, H));
  // the Hessian is the Jacobian of the gradient
  const Tensor Jg = F::jacobian([](const Tensor& x) { return F::vjp(unary_scalar, x, {}, true).second; }, d.u);
  check_close(Jg, H);
  // several inputs: H[i][j] == H[j][i]^T, shapes x_i.sizes() + x_j.sizes()
  const auto Hm = F::hessian(energy, {d.x, d.y});
  CHECK(Hm[0][1].sizes() == Shape{3, 2, 3});
  CHECK(Hm[1][0].sizes() == Shape{2, 3, 3});
  check_close(Hm[0][1].reshape({3, 6}), Hm[1][0].reshape({6, 3}).t().contiguous());
}

TEST_CASE("functional: jacobian against finite differences") {
  Inputs d;
  const Tensor J = F::jacobian(unary, d.u);
  const auto u = d.u.to_vector<double>();
  const double h = 1e-6;
  for (std::int64_t j = 0; j < 4; ++j) {
    auto up = u, dn = u;
    up[static_cast<std::size_t>(j)] += h;
    dn[static_cast<std::size_t>(j)] -= h;
    const auto fp = unary(tensor(up, {4}, kFloat64)).to_vector<double>();
    const auto fm = unary(tensor(dn, {4}, kFloat64)).to_vector<double>();
    for (std::int64_t i = 0; i < 4; ++i)
      CHECK(
          J.select(0, i).select(0, j).item<double>() ==
          doctest::Approx((fp[static_cast<std::size_t>(i)] - fm[static_cast<std::size_t>(i)]) / (2 * h)).epsilon(1e-7));
  }
}

TEST_CASE("functional: create_graph results are differentiable; without it they are detached") {
  Inputs d;
  Tensor x = d.u.clone().requires_grad_(true);
  auto [out, g] = F::vjp(unary_scalar, x, {}, /*create_graph=*/true);
  CHECK(g.requires_grad());
  CHECK(out.requires_grad());
  // d/dx sum(grad f) = H 1: through the returned gradient back to the caller's leaf x
  g.sum().backward();
  REQUIRE(x.grad().defined());
  const Tensor H = F::hessian(unary_scalar, d.u);
  check_close(x.grad(), H.sum(1));
  auto [out2, g2] = F::vjp(unary_scalar, x);
  CHECK_FALSE(g2.requires_grad());
  CHECK_FALSE(out2.requires_grad());
  CHECK_FALSE(F::jacobian(unary, x).requires_grad());
  CHECK(F::jacobian(unary, x, /*create_graph=*/true).requires_grad());
}

TEST_CASE("functional: without create_graph the tape rewinds once the transform returns") {
  Inputs d;
  REQUIRE(Tape::current().live_tensors() == 0);
  const Tensor J = F::jacobian(unary, d.u);
  const Tensor H = F::hessian(unary_scalar, d.u);
  const auto [out, v] = F::vhp(energy, {d.x, d.y}, d.vin);
  CHECK(Tape::current().live_tensors() == 0);
  CHECK(Tape::current().num_nodes() == 0);
}

TEST_CASE("functional: strict, independent inputs and bad v") {
  Inputs d;
  const auto ignores_y = [](const variable_list& in) { return variable_list{in[0] * 2.0}; };
  // not strict: zeros where an output does not depend on an input
  const auto J = F::jacobian(ignores_y, {d.x, d.y});
  CHECK(J[0][1].sizes() == Shape{3, 2, 3});
  CHECK(J[0][1].abs().sum().item<double>() == 0.0);
  CHECK(J[0][0].sum().item<double>() == 6.0);
  // strict: an error naming the output and the input
  const std::string e = agt::error_message([&] { F::jacobian(ignores_y, {d.x, d.y}, false, true); });
  CHECK(e.find("independent of input 1") != std::string::npos);
  CHECK(agt::error_message([&] {
          F::vjp(ignores_y, {d.x, d.y}, {d.x}, false, true);
        }).find("input 1") != std::string::npos);
  // v omitted for a non-scalar output, v of the wrong shape
  CHECK(agt::error_message([&] { F::vjp(unary, d.u); }).find("single element") != std::string::npos);
  CHECK(agt::error_message([&] { F::jvp(unary, d.u, d.x); }).find("shape and dtype must match") != std::string::npos);
  CHECK(agt::error_message([&] { F::hessian(unary, d.u); }).find("single-element") != std::string::npos);
  // the caller's tensors are untouched: no grad, no .grad()
  CHECK_FALSE(d.u.requires_grad());
  CHECK_FALSE(d.x.grad().defined());
}

TEST_CASE("functional: jacobian by forward mode equals reverse mode and PyTorch's; auto picks either") {
  const auto& ref = reference();
  Inputs d;
  for (const char* strategy : {"forward-mode", "auto"}) {
    INFO(strategy);
    check_flat(F::jacobian(pair, {d.x, d.y}, false, false, false, strategy), ref["pair_jacobian"], "pair jacobian");
    check_flat(F::jacobian(unary, d.u, false, false, true, strategy), ref["unary_jacobian"], "unary jacobian");
    const auto Jf = F::jacobian(pair, {d.x, d.y}, false, false, false, strategy);
    const auto Jr = F::jacobian(pair, {d.x, d.y});
    for (std::size_t i = 0; i < 2; ++i)
      for (std::size_t j = 0; j < 2; ++j) check_close(Jf[i][j], Jr[i][j], 1e-14);
  }
  // create_graph: the forward-mode Jacobian is differentiable again (the Hessian, as reverse mode's)
  const Tensor H = F::hessian(unary_scalar, d.u);
  const Tensor Jg = F::jacobian([](const Tensor& x) { return F::vjp(unary_scalar, x, {}, true).second; }, d.u, false,
                                false, false, "forward-mode");
  check_close(Jg, H, 1e-12);
  // strict and independence as reverse mode
  const auto ignores_y = [](const variable_list& in) { return variable_list{in[0] * 2.0}; };
  const auto J = F::jacobian(ignores_y, {d.x, d.y}, false, false, false, "forward-mode");
  CHECK(J[0][1].sizes() == Shape{3, 2, 3});
  CHECK(J[0][1].abs().sum().item<double>() == 0.0);
  CHECK(J[0][0].sum().item<double>() == 6.0);
  CHECK(agt::error_message([&] {
          F::jacobian(ignores_y, {d.x, d.y}, false, true, false, "forward-mode");
        }).find("independent of input 1") != std::string::npos);
  CHECK(agt::error_message([&] { F::jacobian(unary, d.u, false, false, false, "sideways"); }).find("sideways") !=
        std::string::npos);
  CHECK_FALSE(d.u.requires_grad());
  CHECK(Tape::current().num_nodes() == 0);
}
