#pragma once
/// @file gradcheck.h
/// Finite-difference gradient checking, as a public feature (libtorch's gradcheck semantics).

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "autograd/tensor.h"

namespace ag {

/// Tolerances as libtorch's defaults: an entry passes when |analytic - numeric| <= atol + rtol * |numeric|.
struct GradcheckOptions {
  double eps = 1e-6;  ///< central-difference step
  double atol = 1e-5;
  double rtol = 1e-3;
  /// Compare u^T J v for random u, v instead of the whole Jacobian (cheap for large inputs).
  bool fast_mode = false;
  int num_projections = 4;      ///< random (u, v) pairs in fast mode
  std::uint64_t seed = 0x5eed;  ///< for the random projections (the global generator is not touched)
  GradcheckOptions& set_eps(double v) {
    eps = v;
    return *this;
  }
  GradcheckOptions& set_atol(double v) {
    atol = v;
    return *this;
  }
  GradcheckOptions& set_rtol(double v) {
    rtol = v;
    return *this;
  }
  GradcheckOptions& set_fast_mode(bool v) {
    fast_mode = v;
    return *this;
  }
  /// Also check forward mode (as PyTorch's check_forward_ad): the Jacobian from JVPs (one per input
  /// element, forward_ad.h; in fast mode J v for the random v) against the finite differences and
  /// against the Jacobian from the tape.
  bool check_forward_ad = false;
  GradcheckOptions& set_check_forward_ad(bool v) {
    check_forward_ad = v;
    return *this;
  }
};

/// The outcome of a check, naming the worst entry. Converts to bool (true when every entry passed).
struct GradcheckReport {
  bool ok = true;
  std::string mode;           ///< "full Jacobian" or "random projection"
  std::int64_t entries = 0;   ///< Jacobian entries (or projections) compared
  std::int64_t failures = 0;  ///< entries over tolerance
  std::size_t input = 0;      ///< worst entry: which input
  Shape input_index;          ///< ... which element of it
  Shape output_index;         ///< ... which element of the output (full mode)
  double analytic = 0, numeric = 0, error = 0, tolerance = 0;
  explicit operator bool() const { return ok; }
  /// A readable multi-line summary (also what fmt prints).
  std::string str() const;
};

/// A function of several tensors returning one tensor (any shape), as gradcheck takes it.
using GradcheckFn = std::function<Tensor(const std::vector<Tensor>&)>;

/// Compares the Jacobian from the tape with central finite differences, for every input that
/// requires grad. Inputs must be float64 (float32 is refused: its rounding swamps eps = 1e-6).
GradcheckReport gradcheck(const GradcheckFn& fn, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options = {});

/// Checks second derivatives: gradcheck of x -> grad(fn(x), x, u, create_graph) for a random u.
GradcheckReport gradgradcheck(const GradcheckFn& fn, const std::vector<Tensor>& inputs,
                              const GradcheckOptions& options = {});

}  // namespace ag

template <>
struct fmt::formatter<ag::GradcheckReport> : fmt::formatter<std::string> {
  auto format(const ag::GradcheckReport& r, fmt::format_context& ctx) const {
    return fmt::formatter<std::string>::format(r.str(), ctx);
  }
};
