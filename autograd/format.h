#pragma once
/// @file format.h
/// fmt support: `fmt::format("{}", tensor)` prints as `operator<<` does (libtorch's layout).

#include <fmt/ostream.h>

#include <sstream>
#include <string>

#include "autograd/tensor.h"

template <>
struct fmt::formatter<ag::Tensor> : fmt::ostream_formatter {};

namespace ag {
/// libtorch's torch::str (c10::str): its arguments streamed with operator<< into one string, e.g.
/// str("sizes ", t.sizes()) is "sizes [2, 3]".
template <class... Args>
std::string str(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}
}  // namespace ag
