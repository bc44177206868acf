#pragma once
/// @file forward_ad.h
/// Forward-mode automatic differentiation, as PyTorch's torch.autograd.forward_ad:
///
///   namespace fwAD = ag::autograd::forward_ad;
///   {
///     fwAD::dual_level level;                      // tangents live while it does
///     ag::Tensor x = fwAD::make_dual(primal, v);   // x carries the tangent v
///     ag::Tensor y = f(x);                         // every op propagates it by its JVP rule
///     ag::Tensor jv = fwAD::unpack_dual(y).tangent;  // J_f(primal) v, without a reverse pass
///   }
///
/// One level per thread at a time (PyTorch allows one). Forward mode is independent of grad mode:
/// it works under NoGradGuard, and with tensors that require grad both modes run (a tangent
/// computed from them is recorded, so reverse over forward works). How tangents are kept and how
/// an op propagates them: Note: forward mode in autograd/forward_grad.h.

#include <cstdint>

#include "autograd/tensor.h"

namespace ag::autograd::forward_ad {

/// A forward-AD level: entering makes make_dual possible on this thread; leaving forgets every
/// tangent of the level (unpack_dual then gives none), as PyTorch's `with dual_level():`.
class dual_level {
 public:
  dual_level();
  ~dual_level();
  dual_level(const dual_level&) = delete;
  dual_level& operator=(const dual_level&) = delete;
  /// This level's id (unique in the process).
  std::uint64_t level() const { return level_; }

 private:
  std::uint64_t level_;
};

/// A view of `primal` carrying `tangent` (same shape and floating dtype) at the active level.
/// Differentiable in reverse mode with respect to primal (identity), as PyTorch's. The tangent is
/// kept as given (not copied), as PyTorch's when its layout matches.
Tensor make_dual(const Tensor& primal, const Tensor& tangent);

/// What unpack_dual returns: the primal (a view of the dual tensor, without tangent) and the tangent
/// (undefined when the tensor carries none at the active level). Also usable as
/// `auto [p, t] = unpack_dual(y);`.
struct UnpackedDualTensor {
  Tensor primal;
  Tensor tangent;
};
UnpackedDualTensor unpack_dual(const Tensor& tensor);

/// Whether a forward-AD level is active on this thread.
bool is_active();

}  // namespace ag::autograd::forward_ad
