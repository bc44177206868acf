#pragma once
/// @file error.h
/// ag::Error, the one exception type every misuse of the library throws.

#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace ag {

/// Thrown on every misuse: bad shapes, dtype mixes, bad dims or indices, tape misuse.
/// The message names the op, the shapes and the dtypes involved.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

/// Throws ag::Error with a fmt-formatted message.
template <class... Args>
[[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) {
  throw Error(fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace ag
