#pragma once
/// @file options.h
/// ag::TensorOptions, as libtorch's: what a factory makes (dtype) and whether the new leaf requires grad.
///
///     ag::ones({2, 2}, ag::requires_grad());
///     ag::zeros({3}, ag::TensorOptions().dtype(ag::kFloat64).requires_grad(true));
///     ag::zeros({3}, ag::kFloat64);  // a Dtype converts implicitly, as a ScalarType does in libtorch
///
/// A field that is not set takes the factory's default (float32 for most, int64 for randint and randperm;
/// the *_like factories take the dtype of their tensor), and requires_grad defaults to false.
/// A device may be set (for porting: `.device(ag::kCUDA)`); every factory refuses a non-CPU one with an
/// ag::Error (autograd/device.h). Layouts and memory formats are not modelled.

#include <optional>
#include <ostream>

#include "autograd/device.h"
#include "autograd/dtype.h"

namespace ag {

class TensorOptions {
 public:
  TensorOptions() noexcept = default;
  /// Implicit, so that every factory taking options still takes a bare Dtype (`zeros({3}, kFloat64)`).
  TensorOptions(Dtype dtype) noexcept : dtype_(dtype) {}  // NOLINT(google-explicit-constructor)
  /// Implicit, as libtorch's (`zeros({3}, ag::kCPU)`); a factory refuses a non-CPU device.
  TensorOptions(Device device) noexcept : device_(device) {}          // NOLINT(google-explicit-constructor)
  TensorOptions(DeviceType type) noexcept : device_(Device(type)) {}  // NOLINT(google-explicit-constructor)

  /// Copies with the dtype set (std::nullopt unsets it).
  [[nodiscard]] TensorOptions dtype(Dtype dtype) const noexcept {
    TensorOptions r = *this;
    r.dtype_ = dtype;
    return r;
  }
  [[nodiscard]] TensorOptions dtype(std::optional<Dtype> dtype) const noexcept {
    TensorOptions r = *this;
    r.dtype_ = dtype;
    return r;
  }
  /// `.dtype<double>()` as libtorch's.
  template <class T>
  [[nodiscard]] TensorOptions dtype() const noexcept {
    return dtype(dtype_of<T>());
  }
  /// Copies with the device set (std::nullopt unsets it). Only the CPU is usable: a factory given
  /// another device throws ag::Error.
  [[nodiscard]] TensorOptions device(std::optional<Device> device) const noexcept {
    TensorOptions r = *this;
    r.device_ = device;
    return r;
  }
  /// Copies with requires_grad set (std::nullopt unsets it).
  [[nodiscard]] TensorOptions requires_grad(std::optional<bool> requires_grad) const noexcept {
    TensorOptions r = *this;
    r.requires_grad_ = requires_grad;
    return r;
  }

  /// The dtype, float32 (libtorch's default dtype) when not set.
  Dtype dtype() const noexcept { return dtype_.value_or(kFloat32); }
  bool has_dtype() const noexcept { return dtype_.has_value(); }
  std::optional<Dtype> dtype_opt() const noexcept { return dtype_; }
  /// The device, the CPU when not set.
  Device device() const noexcept { return device_.value_or(Device(kCPU)); }
  bool has_device() const noexcept { return device_.has_value(); }
  std::optional<Device> device_opt() const noexcept { return device_; }
  /// Whether the created leaf requires grad, false when not set.
  bool requires_grad() const noexcept { return requires_grad_.value_or(false); }
  bool has_requires_grad() const noexcept { return requires_grad_.has_value(); }
  std::optional<bool> requires_grad_opt() const noexcept { return requires_grad_; }

  /// These options with the fields set in `options` taking their values from it (as libtorch's).
  [[nodiscard]] TensorOptions merge_in(const TensorOptions& options) const noexcept {
    TensorOptions r = *this;
    if (options.dtype_) r.dtype_ = options.dtype_;
    if (options.requires_grad_) r.requires_grad_ = options.requires_grad_;
    if (options.device_) r.device_ = options.device_;
    return r;
  }

  friend bool operator==(const TensorOptions&, const TensorOptions&) = default;

 private:
  std::optional<Dtype> dtype_;
  std::optional<bool> requires_grad_;
  std::optional<Device> device_;
};

/// `TensorOptions().dtype(d)`.
inline TensorOptions dtype(Dtype d) noexcept { return TensorOptions().dtype(d); }
/// `TensorOptions().dtype<T>()`: ag::dtype<float>().
template <class T>
inline TensorOptions dtype() noexcept {
  return TensorOptions().dtype(dtype_of<T>());
}
/// `TensorOptions().requires_grad(r)`: ag::ones({2}, ag::requires_grad()).
inline TensorOptions requires_grad(bool requires_grad = true) noexcept {
  return TensorOptions().requires_grad(requires_grad);
}

/// `TensorOptions().device(d)`: ag::zeros({2}, ag::device(ag::kCPU)).
inline TensorOptions device(Device d) noexcept { return TensorOptions().device(d); }

/// "TensorOptions(dtype=float32, requires_grad=false)"; a field not set prints with its default, except
/// the device, printed (", device=cuda:0") only when set.
inline std::ostream& operator<<(std::ostream& os, const TensorOptions& o) {
  os << "TensorOptions(dtype=" << dtype_name(o.dtype()) << ", requires_grad=" << (o.requires_grad() ? "true" : "false");
  if (o.has_device()) os << ", device=" << o.device();
  return os << ")";
}

}  // namespace ag
