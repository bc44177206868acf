#pragma once
/// @file forward_grad.h
/// Forward-mode AD at the level of the tape: where tangents are kept, and how an op propagates
/// them (its JVP rule, written next to its VJP). The user's API is autograd/forward_ad.h.

// Note: forward mode
// ==================
// A dual tensor is a primal (the tensor) with a tangent (a tensor of its shape and dtype) at the
// active forward-AD level (forward_ad::dual_level: one per thread at a time, as PyTorch allows one).
// The tangent is not a field of TensorImpl (that would take it out of its allocator size class,
// see tensor.h): a process-wide table keyed by the TensorImpl holds (tangent, level), and the
// TensorImpl's `has_tangent` flag says that it has an entry, so that the table is looked at only
// for dual tensors and ~TensorImpl erases the entry (erase_tangent) before the address can be
// reused. Leaving a level erases its entries and clears their flags: after it, unpack_dual gives
// no tangent, as PyTorch's exit_dual_level.
//
// An op propagates tangents in the same function that records its VJP, right after it records
// (so that a rule reading the op's output, recorded by then, is itself differentiable in reverse):
//
//   Tensor y = ...kernel...;
//   if (any_requires_grad({&x})) record("exp", {&x}, {&y}, <VJP>);
//   if (any_tangent({&x})) propagate_tangent("exp", {&x}, {&y}, [&](JvpCtx& c) { c.set(0, mul(c.tangent(0), y)); });
//
// Off (no level on this thread), any_tangent is one predictable test of a thread-local flag.
// A JVP rule is written with ops, like a VJP, and runs with forward mode suspended (its ops do not
// propagate tangents of their own; the primals it reads are used as plain values), with grad mode
// as the caller has it: a tangent computed from tensors that require grad is recorded, so reverse
// mode over forward mode works. A missing rule cannot pass silently where the op records: record(),
// while a level is active, marks an op with a dual input as pending (fw_check_recorded) until its
// propagate_tangent runs; the next op, propagation or unpack_dual that finds it pending throws an
// ag::Error naming it. An ag::Function without jvp refuses dual inputs before recording.
//
// Tangents are never written in place: an in-place op on a dual tensor gives it a new tangent
// (set_tangent replaces the entry), so a tangent shared by several tensors (an op that passes its
// input's tangent on, a user's tangent given to make_dual) cannot change behind their backs.

#include <cstdint>
#include <initializer_list>
#include <vector>

#include "autograd/grad_mode.h"
#include "autograd/tape.h"
#include "autograd/tensor.h"

namespace ag {

namespace detail {
/// The tangent of `t` at this thread's active level, or an undefined tensor.
Tensor get_tangent(const Tensor& t);
/// Sets (or replaces) the tangent of `t` at this thread's active level; `tangent` must have t's
/// shape and dtype (checked, the error names `op`).
void set_tangent(const Tensor& t, const Tensor& tangent, const char* op);
/// Removes t's tangent (at any level).
void clear_tangent(const Tensor& t);
/// ~TensorImpl, for an impl whose has_tangent is set.
void erase_tangent(TensorImpl* impl) noexcept;
/// Whether one of `ins` carries a tangent at this thread's active level (t_fw_on known true).
bool any_tangent_slow(std::initializer_list<const Tensor*> ins);
bool any_tangent_slow(const std::vector<Tensor>& ins);
/// The active level's id on this thread, 0 when none (suspension does not change it).
std::uint64_t fw_level() noexcept;
/// Throws ag::Error if an op recorded with a dual input has not propagated its tangent (it has no
/// JVP rule); propagate_tangent's start (begin_propagate) clears it for its own outputs.
void check_no_pending();
void begin_propagate(TensorList<Tensor> outputs);
/// Enters / leaves this thread's forward-AD level (forward_ad::dual_level).
std::uint64_t enter_fw_level();
void exit_fw_level(std::uint64_t level) noexcept;

/// While alive, ops do not propagate tangents on this thread (JVP rules run under it, and the
/// forward of an ag::Function).
class FwSuspend {
 public:
  FwSuspend() noexcept : prev_(t_fw_on) { t_fw_on = false; }
  ~FwSuspend() { t_fw_on = prev_; }
  FwSuspend(const FwSuspend&) = delete;
  FwSuspend& operator=(const FwSuspend&) = delete;

 private:
  bool prev_;
};
}  // namespace detail

/// True when forward mode is on for this thread and one of `ins` carries a tangent: only then does
/// an op run its JVP rule (propagate_tangent).
inline bool any_tangent(std::initializer_list<const Tensor*> ins) {
  if (!detail::t_fw_on) [[likely]]
    return false;
  return detail::any_tangent_slow(ins);
}
inline bool any_tangent(const std::vector<Tensor>& ins) {
  if (!detail::t_fw_on) [[likely]]
    return false;
  return detail::any_tangent_slow(ins);
}

/// What a JVP rule sees: the tangents of the op's inputs, and where to put its outputs' tangents.
class JvpCtx {
 public:
  /// Tangent of input i: undefined when that input carries none (a constant for this pass).
  const Tensor& tangent(std::size_t i) const { return tangents_in_[i]; }
  /// Whether input i carries a tangent.
  bool has(std::size_t i) const { return tangents_in_[i].defined(); }
  /// Tangent of input i, or zeros of its shape and dtype when it carries none.
  Tensor tangent_or_zeros(std::size_t i) const;
  /// Sets output i's tangent: it must have the output's shape and dtype (an ag::Error naming the op
  /// otherwise; broadcast with expand() first where the op broadcasts).
  void set(std::size_t i, Tensor t);
  std::size_t num_inputs() const { return tangents_in_.size(); }
  const char* op_name() const { return op_; }

 private:
  template <class F>
  friend void propagate_tangent(const char*, TensorList<const Tensor>, TensorList<Tensor>, F&&);
  JvpCtx(const char* op, TensorList<const Tensor> inputs, TensorList<Tensor> outputs);
  void finish();  // attaches the tangents set to the outputs (checks that each got one)
  const char* op_;
  TensorList<const Tensor> inputs_;
  TensorList<Tensor> outputs_;
  std::vector<Tensor> tangents_in_;
  std::vector<Tensor> tangents_out_;
};

/// Runs the JVP rule `f(JvpCtx&)` of `outputs = op(inputs)` and attaches the tangents it sets to the
/// outputs. Call only when any_tangent(inputs) holds, right after record() (if the op records). `f` runs at once: it
/// may capture by reference. Every output must get a tangent (an ag::Error naming the op otherwise).
template <class F>
void propagate_tangent(const char* name, TensorList<const Tensor> inputs, TensorList<Tensor> outputs, F&& f) {
  JvpCtx ctx(name, inputs, outputs);
  {
    detail::FwSuspend suspend;
    f(ctx);
  }
  ctx.finish();
}

}  // namespace ag
