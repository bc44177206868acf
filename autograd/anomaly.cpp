// Anomaly detection (anomaly.h): the checks behind the hooks of tape.h's record() and of the
// engine's reverse loop, and the per-thread store of the stack traces of recorded ops.
#include "autograd/anomaly.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "autograd/error.h"
#include "autograd/graph.h"
#include "autograd/tape.h"

#if AG_WITH_STACKTRACE
#include <boost/stacktrace.hpp>
#endif

namespace ag {
namespace {

struct Scan {
  std::int64_t nan = 0, inf = 0;
  double lo = std::numeric_limits<double>::infinity(), hi = -std::numeric_limits<double>::infinity();
  bool finite() const { return nan == 0 && inf == 0; }
};

template <class T>
Scan scan_as(const Tensor& t) {
  Scan s;
  const T* p = t.cdata<T>();
  for (std::int64_t i = 0, n = t.numel(); i < n; ++i) {
    const double v = static_cast<double>(p[i]);
    if (std::isnan(v)) ++s.nan;
    else if (std::isinf(v)) ++s.inf;
    else {
      s.lo = std::min(s.lo, v);
      s.hi = std::max(s.hi, v);
    }
  }
  return s;
}

Scan scan(const Tensor& t) {
  if (!t.defined()) return {};
  if (t.dtype() == Dtype::Float32) return scan_as<float>(t);
  if (t.dtype() == Dtype::Float64) return scan_as<double>(t);
  return {};  // integer and bool tensors are always finite
}

std::string what_is(const Scan& s) {
  if (s.nan && s.inf) return fmt::format("NaN ({} elements) and Inf ({})", s.nan, s.inf);
  if (s.nan) return fmt::format("NaN ({} element{})", s.nan, s.nan == 1 ? "" : "s");
  return fmt::format("Inf ({} element{})", s.inf, s.inf == 1 ? "" : "s");
}

std::string range(const Scan& s) {
  if (s.lo > s.hi) return "no finite element";
  return fmt::format("range [{:.6g}, {:.6g}]", s.lo, s.hi);
}

std::string describe_line(const char* what, std::size_t i, const Tensor& t) {
  if (!t.defined()) return fmt::format("  {} {}: none\n", what, i);
  const Scan s = scan(t);
  return fmt::format("  {} {}: {}, {}{}\n", what, i, describe(t), range(s), s.finite() ? "" : ", " + what_is(s));
}

// The stack traces of this thread's recorded ops, by node index, for the tape's current generation.
struct TraceStore {
  std::uint64_t tape_id = 0, generation = 0;
#if AG_WITH_STACKTRACE
  std::vector<boost::stacktrace::stacktrace> traces;
#endif
};
thread_local TraceStore t_traces;

// The frames worth showing: from the op the user called on (the anomaly and record() frames are
// dropped), at most 16.
std::string format_trace([[maybe_unused]] const void* trace) {
#if AG_WITH_STACKTRACE
  const auto& st = *static_cast<const boost::stacktrace::stacktrace*>(trace);
  std::string out;
  int shown = 0;
  bool started = false;
  for (const auto& frame : st) {
    const std::string name = frame.name();
    if (!started &&
        (name.find("anomaly") != std::string::npos || name.find("ag::record<") != std::string::npos ||
         name.find("current_trace") != std::string::npos || name.find("boost::stacktrace") != std::string::npos))
      continue;
    started = true;
    if (shown == 16) {
      out += "    ...\n";
      break;
    }
    std::ostringstream line;
    line << frame;
    out += fmt::format("    #{} {}\n", shown++, line.str());
  }
  return out;
#else
  return "    (this build has no stack traces: configured with AG_WITH_STACKTRACE=OFF)\n";
#endif
}

std::string current_trace() {
#if AG_WITH_STACKTRACE
  const boost::stacktrace::stacktrace st;
  return format_trace(&st);
#else
  return format_trace(nullptr);
#endif
}

}  // namespace

namespace detail {

void anomaly_forward(const char* op, TensorList<const Tensor> inputs, TensorList<Tensor> outputs) {
  for (std::size_t k = 0; k < outputs.size(); ++k) {
    const Scan out = scan(outputs[k]);
    if (out.finite()) continue;
    std::string ins;
    for (std::size_t i = 0; i < inputs.size(); ++i) ins += describe_line("input", i, inputs[i]);
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      const Scan in = scan(inputs[i]);
      if (in.finite()) continue;
      const TensorImpl* im = inputs[i].impl();
      fail(
          "anomaly detected in forward: input {} of op '{}' ({}) already holds {}; it was born outside what anomaly "
          "detection saw ({}), so '{}' only passed it on.\nInputs:\n{}Called at:\n{}",
          i, op, autograd::autograd_node_name(op), what_is(in),
          im->slot >= 0 ? "computed by op '" + std::string(im->op) + "' while detection was off"
                        : "a leaf, data, or a result computed without recording",
          op, ins, current_trace());
    }
    fail(
        "anomaly detected in forward: op '{}' ({}) produced {} in output {} ({}) from finite inputs.\nInputs:\n{}"
        "Called at:\n{}",
        op, autograd::autograd_node_name(op), what_is(out), k, describe(outputs[k]), ins, current_trace());
  }
}

void anomaly_recorded(const Tape& tape, std::size_t index) {
#if AG_WITH_STACKTRACE
  TraceStore& s = t_traces;
  if (s.tape_id != tape.id() || s.generation != tape.generation()) {
    s.tape_id = tape.id();
    s.generation = tape.generation();
    s.traces.clear();
  }
  if (s.traces.size() <= index) s.traces.resize(index + 1);
  s.traces[index] = boost::stacktrace::stacktrace();
#else
  (void)tape;
  (void)index;
#endif
}

void anomaly_backward(const Tape& tape, const Node* n, std::size_t index, const std::vector<Tensor>& grads_out,
                      const std::vector<Tensor>& grads_in) {
  for (std::uint32_t k = 0; k < n->num_inputs; ++k) {
    const Scan g = scan(grads_in[k]);
    if (g.finite()) continue;
    std::string outs;
    bool arrived_finite = true;
    for (std::uint32_t j = 0; j < n->num_outputs; ++j) {
      outs += describe_line("output gradient", j, grads_out[j]);
      arrived_finite = arrived_finite && scan(grads_out[j]).finite();
    }
    std::string where = "    (not recorded while anomaly detection was on)\n";
#if AG_WITH_STACKTRACE
    const TraceStore& s = t_traces;
    if (s.tape_id == tape.id() && s.generation == tape.generation() && index < s.traces.size() &&
        !s.traces[index].empty())
      where = format_trace(&s.traces[index]);
#else
    (void)tape;
    (void)index;
    where = format_trace(nullptr);
#endif
    if (!arrived_finite)
      fail(
          "anomaly detected in backward: the gradient reaching the VJP of op '{}' ({}) is already non-finite: it came "
          "from backward's grad_outputs or a hook, not from a VJP.\nGradients:\n{}The op was recorded at:\n{}",
          n->name, autograd::autograd_node_name(n->name), outs, where);
    fail(
        "anomaly detected in backward: the VJP of op '{}' ({}) produced {} in the gradient of its input {} ({}) from "
        "finite output gradients.\nGradients:\n{}The op was recorded in forward at:\n{}",
        n->name, autograd::autograd_node_name(n->name), what_is(g), k, describe(grads_in[k]), outs, where);
  }
}

}  // namespace detail

namespace autograd {

bool AnomalyMode::is_enabled() { return detail::anomaly_enabled(); }
void AnomalyMode::set_enabled(bool enabled) { detail::g_anomaly.store(enabled, std::memory_order_relaxed); }
void set_detect_anomaly(bool enabled) { AnomalyMode::set_enabled(enabled); }

DetectAnomalyGuard::DetectAnomalyGuard() : prev_(AnomalyMode::is_enabled()) { AnomalyMode::set_enabled(true); }
DetectAnomalyGuard::~DetectAnomalyGuard() { AnomalyMode::set_enabled(prev_); }

}  // namespace autograd
}  // namespace ag
