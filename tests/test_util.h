#pragma once
// Shared helpers for the test suite.

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "autograd/autograd.h"

namespace agt {

/// A deterministic float64 input (element k = cos(0.53 k + seed) * scale + shift), requiring grad.
inline ag::Tensor input(const ag::Shape& shape, double seed = 1.0, double scale = 1.0, double shift = 0.0,
                        bool requires_grad = true) {
  const auto n = ag::shape_numel(shape);
  std::vector<double> v(static_cast<std::size_t>(n));
  for (std::int64_t k = 0; k < n; ++k)
    v[static_cast<std::size_t>(k)] = std::cos(0.53 * static_cast<double>(k) + seed) * scale + shift;
  ag::Tensor t = ag::tensor(v, shape, ag::kFloat64);
  if (requires_grad) t.requires_grad_();
  return t;
}

/// Runs ag::gradcheck and fails the current test (printing the report) unless every entry passes.
/// Forward mode is checked too (check_forward_ad: the Jacobian from JVP rules against the finite
/// differences and against the tape's), so every gradchecked op also tests its JVP rule.
inline void check_gradients(const ag::GradcheckFn& fn, const std::vector<ag::Tensor>& inputs,
                            ag::GradcheckOptions opts = {}) {
  opts.check_forward_ad = true;
  const ag::GradcheckReport r = ag::gradcheck(fn, inputs, opts);
  INFO(r.str());
  CHECK(r.ok);
  CHECK(r.entries > 0);
}
/// The same, reverse mode only: for functions that forward mode cannot go through on purpose (a
/// custom Function without jvp).
inline void check_gradients_reverse_only(const ag::GradcheckFn& fn, const std::vector<ag::Tensor>& inputs,
                                         ag::GradcheckOptions opts = {}) {
  opts.check_forward_ad = false;
  const ag::GradcheckReport r = ag::gradcheck(fn, inputs, opts);
  INFO(r.str());
  CHECK(r.ok);
  CHECK(r.entries > 0);
}
/// gradcheck with forward mode (the same as check_gradients; kept for tests that say so).
inline void check_forward_gradients(const ag::GradcheckFn& fn, const std::vector<ag::Tensor>& inputs,
                                    ag::GradcheckOptions opts = {}) {
  check_gradients(fn, inputs, opts);
}

/// The same for second derivatives.
inline void check_second_gradients(const ag::GradcheckFn& fn, const std::vector<ag::Tensor>& inputs,
                                   const ag::GradcheckOptions& opts = {}) {
  const ag::GradcheckReport r = ag::gradgradcheck(fn, inputs, opts);
  INFO(r.str());
  CHECK(r.ok);
  CHECK(r.entries > 0);
}

/// The message of the ag::Error that f throws, or "" when it throws none.
inline std::string error_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const ag::Error& e) {
    return e.what();
  }
  return "";
}

/// Element-wise closeness of a tensor to expected values.
inline void check_values(const ag::Tensor& t, const std::vector<double>& expected, double tol = 1e-12) {
  const auto v = t.to_vector<double>();
  REQUIRE(v.size() == expected.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    INFO("element " << i);
    CHECK(v[i] == doctest::Approx(expected[i]).epsilon(tol));
  }
}

using TensorFn = std::function<ag::Tensor(const std::vector<ag::Tensor>&)>;

/// Gradchecks fn to first and second order (float64 inputs).
inline void check_both_orders(const TensorFn& fn, const std::vector<ag::Tensor>& inputs) {
  check_gradients(fn, inputs);
  check_second_gradients(fn, inputs);
}

/// a_fn and b_fn give the same values (and dtype) and the same gradients of every input requiring grad,
/// for a fixed, non-trivial upstream gradient, to `tol` (e.g. a fused op against its composite).
inline void check_same_function(const TensorFn& a_fn, const TensorFn& b_fn, const std::vector<ag::Tensor>& inputs,
                                double tol = 1e-12) {
  const ag::Tensor a = a_fn(inputs), b = b_fn(inputs);
  REQUIRE(a.shape() == b.shape());
  REQUIRE(a.dtype() == b.dtype());
  check_values(a, b.to_vector<double>(), tol);
  const ag::Tensor u = input(a.shape(), 0.3, 1.0, 0.2, false).to(a.dtype());
  std::vector<ag::Tensor> diff;
  for (const auto& t : inputs)
    if (t.requires_grad()) diff.push_back(t);
  REQUIRE(!diff.empty());
  const auto ga = ag::grad({a}, diff, {u}), gb = ag::grad({b}, diff, {u});
  for (std::size_t i = 0; i < diff.size(); ++i) {
    INFO("gradient of input " << i);
    check_values(ga[i], gb[i].to_vector<double>(), tol);
  }
}

}  // namespace agt
