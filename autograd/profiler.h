#pragma once
/// @file profiler.h
/// ag::Profiler: per-op forward and backward times of the tape, as a table or a Chrome trace.
///
///     ag::Profiler prof;                  // starts profiling this thread
///     auto loss = model(x); loss.backward();
///     prof.stop();
///     std::cout << prof.table();
///     prof.write_chrome_trace("trace.json");  // chrome://tracing or https://ui.perfetto.dev
///
/// What is measured, per recorded node (an op whose inputs need a gradient; see tape.h):
///  - forward time: from the previous profiler event on this thread to the op's record() call.
///    The events are: the profiler's start, every record() (the previous recorded op), the end of
///    every VJP in a backward pass and the end of a backward pass. The op's kernel runs before
///    record() (the op pattern computes, then records), so this interval holds the op's argument
///    checks, allocation, kernel and tape bookkeeping, and never the previous recorded op (only
///    the profiler's own bookkeeping of it, some tens of ns: one clock read per op). It also holds
///    whatever the thread did in between that recorded nothing: glue code between ops (small in
///    model code), ops whose inputs need no gradient, and, for the first op of a step, the
///    optimizer update, zero_grad and data loading since the last backward. A timestamp at every
///    op entry would avoid that, at the price of a hook in every op, on the no-grad path too; the
///    profiler keeps its hooks to record(), SavedTensor and the engine so that it costs nothing
///    when off.
///  - backward time: the node's step in the engine's reverse loop: preparing its output
///    gradients, the VJP, and accumulating the gradients it returns into its inputs (and leaves).
///  - bytes saved: bytes of the tensors the op saved for backward (SavedTensor captures and kept
///    outputs, Keep::Output), counted at record(). A saved leaf counts although it shares memory
///    with the leaf.
/// Ops that record nothing (no input needs a gradient, or under NoGradGuard) do not appear; their
/// time goes to the next recorded op as described above. Under backward(create_graph=true) the
/// ops the VJPs record are recorded nodes like any other: they appear as forward ops (their
/// forward interval lies inside the enclosing node's backward interval), and their own backward
/// shows up when a later pass differentiates through them.
///
/// A Profiler sees the ops of the thread that created it only (the tape is per thread). Several
/// profilers may be active on one thread (nested scopes): each sees every op while it is active.
/// Stop it (or destroy it) on that thread; read the results on that thread or after stop().
/// When on, each recorded op costs one clock read and an append, each backward step two clock
/// reads and an append (figures in the README).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ag {

namespace detail {
struct ProfilerState;
}

/// Aggregated figures of one op type (one op name).
struct OpProfile {
  std::string name;
  std::int64_t count = 0;           ///< nodes recorded (forward calls)
  std::int64_t backward_count = 0;  ///< VJP applications
  double forward_us = 0.0;          ///< total forward time, microseconds
  double backward_us = 0.0;         ///< total backward time, microseconds
  std::int64_t bytes_saved = 0;     ///< total bytes saved for backward over all `count` nodes

  double forward_mean_us() const { return count ? forward_us / static_cast<double>(count) : 0.0; }
  double backward_mean_us() const { return backward_count ? backward_us / static_cast<double>(backward_count) : 0.0; }
  /// backward_us / forward_us (0 when no forward time was recorded).
  double backward_over_forward() const { return forward_us > 0.0 ? backward_us / forward_us : 0.0; }
  double total_us() const { return forward_us + backward_us; }
};

/// One timed interval: a node's forward (up to its record()) or its backward step.
struct ProfileEvent {
  std::string name;
  bool backward = false;
  double start_us = 0.0;  ///< steady clock, microseconds since the first profiler of the process
  double duration_us = 0.0;
  std::int64_t bytes_saved = 0;  ///< forward events only
};

/// RAII profiler of this thread's tape: active from construction to stop() or destruction.
class Profiler {
 public:
  Profiler();
  ~Profiler();
  Profiler(const Profiler&) = delete;
  Profiler& operator=(const Profiler&) = delete;

  /// Stops recording (idempotent). Throws ag::Error when called from another thread.
  void stop();
  bool active() const;

  /// Per op type, sorted by total (forward + backward) time, largest first.
  std::vector<OpProfile> stats() const;
  /// Every interval in the order it ended.
  std::vector<ProfileEvent> events() const;
  /// The stats as a text table: op, count, forward total/mean, backward total/mean, bwd/fwd, saved.
  std::string table() const;
  /// The events in the Chrome trace event format ("X" complete events, ts/dur in microseconds,
  /// cat "forward"/"backward").
  std::string chrome_trace() const;
  /// Writes chrome_trace() to `path`; throws ag::Error if the file cannot be written.
  void write_chrome_trace(const std::string& path) const;

 private:
  std::shared_ptr<detail::ProfilerState> state_;
};

}  // namespace ag
