#pragma once
/// @file grad_mode.h
/// Thread-local switch for recording: ag::NoGradGuard turns it off in a scope.

namespace ag {

namespace detail {
inline thread_local constinit bool t_grad_enabled = true;
/// True while a forward-AD level (ag::autograd::forward_ad::dual_level) is active on this thread
/// and not suspended (a JVP rule runs with it off): ops propagate tangents only then. The one
/// branch forward mode costs an op when it is off (autograd/forward_grad.h).
inline thread_local constinit bool t_fw_on = false;
}  // namespace detail

/// Whether ops record on the tape in this thread (default: on).
struct GradMode {
  static bool is_enabled() { return detail::t_grad_enabled; }
  static void set_enabled(bool on) { detail::t_grad_enabled = on; }
};

/// While alive, nothing is recorded in this thread (as torch::NoGradGuard).
class NoGradGuard {
 public:
  NoGradGuard() : prev_(GradMode::is_enabled()) { GradMode::set_enabled(false); }
  ~NoGradGuard() { GradMode::set_enabled(prev_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};

/// While alive, grad mode is set to `on` (used by backward with create_graph).
class AutoGradMode {
 public:
  explicit AutoGradMode(bool on) : prev_(GradMode::is_enabled()) { GradMode::set_enabled(on); }
  ~AutoGradMode() { GradMode::set_enabled(prev_); }
  AutoGradMode(const AutoGradMode&) = delete;
  AutoGradMode& operator=(const AutoGradMode&) = delete;

 private:
  bool prev_;
};

}  // namespace ag
