#pragma once
/// @file torch_check.h
/// libtorch's checking macros for ported code, defined only when not already defined (so that a
/// program including libtorch too keeps libtorch's):
///
///     TORCH_CHECK(x.dim() == 2, "expected a matrix, got ", x.dim(), " dims");  // throws ag::Error
///     AT_ASSERT(n > 0);
///
/// TORCH_CHECK(cond, parts...) throws ag::Error whose message is the parts concatenated with
/// operator<< (as libtorch's c10::str), or "Expected <cond> to be true, but got false." without parts.
/// AT_ASSERT / TORCH_INTERNAL_ASSERT(cond, parts...) throw ag::Error naming the condition, the file
/// and the line, then the parts.

#include <sstream>
#include <string>

#include <autograd/error.h>

namespace ag::detail {

/// The arguments written one after the other with operator<< (nothing for none).
template <class... Parts>
std::string str_cat(const Parts&... parts) {
  if constexpr (sizeof...(Parts) == 0) {
    return std::string();
  } else {
    std::ostringstream os;
    (os << ... << parts);
    return os.str();
  }
}

/// TORCH_CHECK's failure: the message, or the condition when the message is empty.
[[noreturn]] inline void torch_check_fail(const char* cond, const std::string& message) {
  if (message.empty()) throw Error(std::string("Expected ") + cond + " to be true, but got false.");
  throw Error(message);
}

/// AT_ASSERT's failure.
[[noreturn]] inline void torch_assert_fail(const char* cond, const char* file, int line, const std::string& message) {
  std::string m = std::string("internal assert failed: ") + cond + " at " + file + ":" + std::to_string(line);
  if (!message.empty()) m += ": " + message;
  throw Error(m);
}

}  // namespace ag::detail

#ifndef TORCH_CHECK
/// Throws ag::Error with the message parts concatenated unless `cond` holds.
#define TORCH_CHECK(cond, ...)                                                   \
  do {                                                                           \
    if (!(cond)) [[unlikely]]                                                    \
      ::ag::detail::torch_check_fail(#cond, ::ag::detail::str_cat(__VA_ARGS__)); \
  } while (false)
#endif

#ifndef TORCH_INTERNAL_ASSERT
/// Throws ag::Error naming the condition, file and line (then the parts) unless `cond` holds.
#define TORCH_INTERNAL_ASSERT(cond, ...)                                                              \
  do {                                                                                                \
    if (!(cond)) [[unlikely]]                                                                         \
      ::ag::detail::torch_assert_fail(#cond, __FILE__, __LINE__, ::ag::detail::str_cat(__VA_ARGS__)); \
  } while (false)
#endif

#ifndef AT_ASSERT
/// As TORCH_INTERNAL_ASSERT (libtorch's older name).
#define AT_ASSERT(cond, ...)                                                                          \
  do {                                                                                                \
    if (!(cond)) [[unlikely]]                                                                         \
      ::ag::detail::torch_assert_fail(#cond, __FILE__, __LINE__, ::ag::detail::str_cat(__VA_ARGS__)); \
  } while (false)
#endif
