#pragma once
/// @file expanding_array.h
/// ag::ExpandingArray<D>, as torch::ExpandingArray: D sizes given as one integer (repeated D times),
/// a braced list of D integers, or (for a pooling stride, meaning "the kernel size") an empty list.

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>

#include "autograd/error.h"

namespace ag {

template <std::size_t D>
class ExpandingArray {
 public:
  /// `v` in every dim.
  ExpandingArray(std::int64_t v) { values_.fill(v); }  // NOLINT: implicit, as libtorch's
  /// D values, one value (repeated), or none (empty(): "not given").
  ExpandingArray(std::initializer_list<std::int64_t> l) {  // NOLINT: implicit, as libtorch's
    if (l.size() == 0) {
      empty_ = true;
      values_.fill(0);
    } else if (l.size() == 1) {
      values_.fill(*l.begin());
    } else if (l.size() == D) {
      std::size_t i = 0;
      for (auto v : l) values_[i++] = v;
    } else {
      fail("ExpandingArray<{}>: expected 1 or {} values, got {}", D, D, l.size());
    }
  }
  ExpandingArray(const std::array<std::int64_t, D>& a) : values_(a) {}  // NOLINT: implicit
  std::int64_t operator[](std::size_t i) const { return values_[i]; }
  std::int64_t& operator[](std::size_t i) { return values_[i]; }
  const std::array<std::int64_t, D>& operator*() const { return values_; }
  static constexpr std::size_t size() { return D; }
  /// True when made from an empty list.
  bool empty() const { return empty_; }
  bool operator==(const ExpandingArray& o) const { return values_ == o.values_ && empty_ == o.empty_; }

 private:
  std::array<std::int64_t, D> values_{};
  bool empty_ = false;
};

}  // namespace ag
