// Device parsing, printing and the CPU-only check.
#include "autograd/device.h"

#include <cctype>

#include "autograd/error.h"

namespace ag {

Device::Device(DeviceType type, std::int8_t index) : type_(type), index_(index) {
  if (index < -1) fail("Device: index {} is negative (-1 means none)", index);
  if (type == DeviceType::CPU && index > 0) fail("Device: the CPU device index must be -1 or 0, got {}", index);
}

Device::Device(const std::string& spec) : type_(DeviceType::CPU) {
  const auto colon = spec.find(':');
  const std::string name = spec.substr(0, colon);
  if (name == "cpu") type_ = DeviceType::CPU;
  else if (name == "cuda") type_ = DeviceType::CUDA;
  else fail("Device: expected a device string \"cpu\", \"cuda\" or \"cuda:<index>\", got \"{}\"", spec);
  if (colon == std::string::npos) return;
  const std::string digits = spec.substr(colon + 1);
  bool ok = !digits.empty() && digits.size() <= 3 && (digits.size() == 1 || digits[0] != '0');
  for (char c : digits) ok = ok && std::isdigit(static_cast<unsigned char>(c));
  if (!ok || std::stoi(digits) > 127) fail("Device: invalid device index in \"{}\"", spec);
  index_ = static_cast<std::int8_t>(std::stoi(digits));
  if (type_ == DeviceType::CPU && index_ > 0) fail("Device: the CPU device index must be 0, got \"{}\"", spec);
}

std::string Device::str() const {
  std::string s = type_ == DeviceType::CPU ? "cpu" : "cuda";
  if (index_ >= 0) s += ":" + std::to_string(index_);
  return s;
}

std::ostream& operator<<(std::ostream& os, DeviceType type) { return os << (type == DeviceType::CPU ? "cpu" : "cuda"); }
std::ostream& operator<<(std::ostream& os, const Device& device) { return os << device.str(); }

void check_cpu_device(const Device& device, const char* op) {
  if (!device.is_cpu())
    fail(
        "{}: this build has no CUDA (tensors live on the CPU; ag::cuda::is_available() is false), cannot use device {}",
        op, device.str());
}

}  // namespace ag
