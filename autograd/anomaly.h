#pragma once
/// @file anomaly.h
/// Anomaly detection, as libtorch's torch::autograd::DetectAnomalyGuard / AnomalyMode and PyTorch's
/// set_detect_anomaly, but looking for where a NaN or Inf was born rather than where it surfaced:
///
/// - Forward: every op the tape records has its outputs checked. The first op whose output holds a
///   NaN or Inf while all of its inputs are finite throws ag::Error, before anything is recorded,
///   naming the op (and libtorch's node name), the count of non-finite elements, and each input's
///   dtype, shape and range (min..max), with the stack trace of the call. An op fed a non-finite
///   input is not blamed: the error names that input as already non-finite, born outside what anomaly
///   mode saw (a leaf or data, an op run while detection was off, or a computation not recorded).
/// - Backward: every VJP's gradients are checked. The first VJP that turns finite output gradients
///   into a NaN or Inf input gradient throws ag::Error naming the forward op whose VJP it is, the
///   gradients' shapes and ranges, and the stack trace of the call that recorded that op in forward.
///   A gradient that arrives non-finite (from backward's grad_outputs or a hook) is named as such.
/// - Stack traces come from Boost.Stacktrace (Debian's libboost-stacktrace-dev, libbacktrace
///   backend): function names always, file:line where the caller was compiled with -g. They are
///   captured, one per recorded op, only while detection is on; off, detection costs one
///   predictable branch per recorded op and per VJP.
/// Only recorded ops are seen (ops on tensors that do not require grad, and ops under NoGradGuard,
/// are not checked); detection is process-wide, the traces are kept per thread with its tape.

namespace ag::autograd {

/// libtorch's AnomalyMode: process-wide switch.
struct AnomalyMode {
  static bool is_enabled();
  static void set_enabled(bool enabled);
};

/// PyTorch's set_detect_anomaly(mode).
void set_detect_anomaly(bool enabled);

/// Turns anomaly detection on for its scope (restoring the previous state at the end), as libtorch's.
class DetectAnomalyGuard {
 public:
  DetectAnomalyGuard();
  ~DetectAnomalyGuard();
  DetectAnomalyGuard(const DetectAnomalyGuard&) = delete;
  DetectAnomalyGuard& operator=(const DetectAnomalyGuard&) = delete;

 private:
  bool prev_;
};

}  // namespace ag::autograd
