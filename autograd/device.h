#pragma once
/// @file device.h
/// Device shims, so that libtorch code naming devices ports unchanged: every tensor lives on the CPU,
/// ag::cuda::is_available() is false, and asking for a CUDA tensor is an ag::Error.
///
///     const ag::Device device(ag::cuda::is_available() ? ag::kCUDA : ag::kCPU);
///     x = x.to(device);  model->to(device);

#include <cstdint>
#include <ostream>
#include <string>

namespace ag {

/// The kind of device (as c10::DeviceType; only these two are named).
enum class DeviceType : std::int8_t { CPU = 0, CUDA = 1 };

inline constexpr DeviceType kCPU = DeviceType::CPU;    ///< the only device tensors live on
inline constexpr DeviceType kCUDA = DeviceType::CUDA;  ///< named for porting; never available

/// A device: a type and an optional index (-1: none), as c10::Device.
class Device {
 public:
  /// Implicit, as libtorch's: `x.to(ag::kCPU)`.
  Device(DeviceType type, std::int8_t index = -1);  // NOLINT(google-explicit-constructor)
  /// Parses "cpu", "cuda", "cuda:1" (also "cpu:0"); anything else is an ag::Error.
  Device(const std::string& spec);                         // NOLINT(google-explicit-constructor)
  Device(const char* spec) : Device(std::string(spec)) {}  // NOLINT(google-explicit-constructor)

  DeviceType type() const noexcept { return type_; }
  std::int8_t index() const noexcept { return index_; }
  bool has_index() const noexcept { return index_ != -1; }
  bool is_cpu() const noexcept { return type_ == DeviceType::CPU; }
  bool is_cuda() const noexcept { return type_ == DeviceType::CUDA; }
  /// "cpu", "cuda", "cuda:0".
  std::string str() const;

  friend bool operator==(const Device&, const Device&) = default;

 private:
  DeviceType type_;
  std::int8_t index_ = -1;
};

/// "cpu" or "cuda".
std::ostream& operator<<(std::ostream& os, DeviceType type);
/// Device::str().
std::ostream& operator<<(std::ostream& os, const Device& device);

/// Throws ag::Error naming `op` unless `device` is the CPU ("this build has no CUDA (...)").
void check_cpu_device(const Device& device, const char* op);

namespace cuda {
/// Always false: this library computes on the CPU only.
inline bool is_available() noexcept { return false; }
/// Always 0.
inline std::int64_t device_count() noexcept { return 0; }
/// Always false (as torch::cuda::cudnn_is_available without CUDA).
inline bool cudnn_is_available() noexcept { return false; }
}  // namespace cuda

}  // namespace ag
