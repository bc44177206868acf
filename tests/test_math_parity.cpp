// Parity with PyTorch 1.13 (float64) for the ops of autograd/ops/math.h and scan_sort.h: every entry
// of "math_cases" in tests/data/torch_reference.json (made by tests/data/make_reference.py) is rebuilt
// here from ag ops; its value and every gradient must match to 1e-10 relative (1e-12 absolute near 0).
#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <tuple>

#include <nlohmann/json.hpp>

#include "parity_util.h"
#include "test_util.h"

using namespace ag;
using json = nlohmann::json;

namespace {

constexpr std::size_t kMathCases = 20;

using agt::parity::CaseFn;
using agt::parity::Inputs;
using agt::parity::reference;

/// A constant float64 tensor from a JSON list of rows (or a flat list).
Tensor constant(const json& rows) {
  std::vector<double> v;
  Shape shape;
  if (rows.at(0).is_array()) {
    for (const auto& r : rows)
      for (const auto& e : r) v.push_back(e.get<double>());
    shape = {static_cast<std::int64_t>(rows.size()), static_cast<std::int64_t>(rows.at(0).size())};
  } else {
    for (const auto& e : rows) v.push_back(e.get<double>());
    shape = {static_cast<std::int64_t>(v.size())};
  }
  return tensor(v, shape, kFloat64);
}

Tensor as_double(const Tensor& indices) { return indices.to(kFloat64); }

const std::map<std::string, CaseFn>& math_cases() {
  static const std::map<std::string, CaseFn> m = {
      {"sin_cos_tan",
       [](const Inputs& in, const json&) {
         const Tensor& a = in.at("a");
         return sum(sin(a) * in.at("w")) + sum(cos(2.0 * a)) + sum(tan(in.at("b")));
       }},
      {"asin_acos_atan",
       [](const Inputs& in, const json&) {
         const Tensor& a = in.at("a");
         return sum(asin(a) * in.at("w")) + sum(acos(a)) + sum(atan(3.0 * in.at("b")));
       }},
      {"atan2_broadcast",
       [](const Inputs& in, const json&) { return sum(atan2(in.at("a"), in.at("b")) * in.at("w")); }},
      {"sinh_cosh",
       [](const Inputs& in, const json&) {
         const Tensor& a = in.at("a");
         return sum(sinh(2.0 * a) * in.at("w")) + sum(cosh(a));
       }},
      {"erf_log1p_expm1",
       [](const Inputs& in, const json&) {
         const Tensor& a = in.at("a");
         const Tensor& w = in.at("w");
         return sum(erf(2.0 * a) * w) + sum(log1p(in.at("b"))) + sum(expm1(a) * w);
       }},
      {"log2_log10",
       [](const Inputs& in, const json&) {
         const Tensor& b = in.at("b");
         return sum(log2(b) * in.at("w")) + sum(log10(b));
       }},
      {"rsqrt_reciprocal",
       [](const Inputs& in, const json&) {
         const Tensor& b = in.at("b");
         return sum(rsqrt(b) * in.at("w")) + sum(pow(reciprocal(b), 2.0));
       }},
      {"rounding",
       [](const Inputs& in, const json&) {
         const Tensor x = 3.0 * in.at("a");
         const Tensor& w = in.at("w");
         const Tensor steps = floor(x) + ceil(x) + round(x) + trunc(x) + sign(in.at("a")) + round(x, 1);
         return sum(steps * w) + sum(frac(x) * w);
       }},
      {"fmod_remainder",
       [](const Inputs& in, const json&) {
         const Tensor& a = in.at("a");
         const Tensor& b = in.at("b");
         const Tensor& w = in.at("w");
         return sum(fmod(a, b) * w) + sum(remainder(a, -b) * w) + sum(fmod(-a, 1.5)) + sum(remainder(a, -1.5));
       }},
      {"maximum_minimum",
       [](const Inputs& in, const json&) {
         const Tensor& a = in.at("a");
         return sum(maximum(a, in.at("b")) * in.at("w")) + sum(pow(minimum(a, in.at("c")), 2.0));
       }},
      {"lerp",
       [](const Inputs& in, const json&) {
         const Tensor& s = in.at("s");
         const Tensor& e = in.at("e");
         return sum(lerp(s, e, in.at("t")) * in.at("w")) + sum(pow(lerp(s, e, 0.3), 2.0)) + sum(lerp(e, s, 0.7));
       }},
      {"addcmul_addcdiv",
       [](const Inputs& in, const json&) {
         const Tensor& s = in.at("s");
         const Tensor& a = in.at("a");
         return sum(addcmul(s, a, in.at("b"), 0.5) * in.at("w")) + sum(pow(addcdiv(s, a, in.at("c"), 2.0), 2.0));
       }},
      {"bmm", [](const Inputs& in, const json&) { return sum(tanh(bmm(in.at("a"), in.at("b")))); }},
      {"addmm",
       [](const Inputs& in, const json&) {
         const Tensor& a = in.at("a");
         const Tensor& b = in.at("b");
         return sum(sigmoid(addmm(in.at("c"), a, b, 0.5, 2.0))) + sum(pow(addmm(in.at("d"), a, b), 2.0));
       }},
      {"outer_dot",
       [](const Inputs& in, const json&) {
         const Tensor& a = in.at("a");
         return sum(outer(a, in.at("b")) * in.at("w")) + pow(dot(a, in.at("c")), 2.0);
       }},
      {"cumsum",
       [](const Inputs& in, const json&) {
         const Tensor& a = in.at("a");
         return sum(cumsum(a, 1) * in.at("w")) + sum(pow(cumsum(a, 0), 2.0));
       }},
      {"cumprod",
       [](const Inputs& in, const json& c) {
         const Tensor& a = in.at("a");
         const Tensor& w = in.at("w");
         return sum(cumprod(a, 1) * w) + sum(cumprod(a * constant(c.at("mask")), 1) * w) + sum(pow(cumprod(a, 0), 2.0));
       }},
      {"prod",
       [](const Inputs& in, const json& c) {
         const Tensor& a = in.at("a");
         const Tensor& v = in.at("v");
         const Tensor& b = in.at("b");
         const Tensor m = constant(c.at("mask"));
         return sum(prod(a, 1) * v) + sum(prod(a * m, 1) * v) + sum(pow(prod(a * m, 0, true), 2.0)) + prod(b) +
                prod(b * constant(c.at("one_zero")));
       }},
      {"var_std",
       [](const Inputs& in, const json&) {
         const Tensor& a = in.at("a");
         const Tensor& v = in.at("v");
         return sum(var(a, 1) * v) + var(a) + sum(pow(ag::std(a, 0, false), 2.0)) + ag::std(a) +
                sum(var(a, std::optional<std::int64_t>(1), std::optional<double>(0.0), true) * in.at("u")) +
                sum(ag::std(a, 1, std::optional<double>(2.0)) * v);
       }},
      {"sort_topk",
       [](const Inputs& in, const json&) {
         const Tensor& a = in.at("a");
         const Tensor& w = in.at("w");
         const Tensor& u = in.at("u");
         const auto [s1, i1] = sort(a, 1);
         const auto [s2, i2] = sort(a, 0, true);
         const auto [t1, j1] = topk(a, 2);
         const auto [t2, j2] = topk(a, 2, 0, false);
         const Tensor value = sum(s1 * w) + sum(pow(s2, 2.0)) + sum(t1 * u) + sum(pow(t2, 2.0));
         const Tensor index_terms =
             sum(as_double(i1) * w) + sum(as_double(i2) * w) + sum(as_double(j1) * u) + sum(pow(as_double(j2), 2.0));
         return value + index_terms + sum(as_double(argsort(a, 1, true)) * w);
       }},
  };
  return m;
}

}  // namespace

TEST_CASE("math parity: every reference math case has a C++ expression, and every expression a case") {
  agt::parity::check_coverage("math_cases", math_cases(), kMathCases);
}

TEST_CASE("math parity: values and gradients of the math expressions match PyTorch") {
  const json& cs = reference().at("math_cases");
  for (std::size_t i = 0; i < cs.size(); ++i) {
    const std::string name = cs[i].at("name");
    SUBCASE(name.c_str()) { agt::parity::run_case(cs[i], math_cases()); }
  }
}
