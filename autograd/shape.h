#pragma once
/// @file shape.h
/// Shapes, strides, broadcasting and dim normalisation.

#include <algorithm>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

namespace ag {

/// Sizes of a tensor, outermost first. An empty shape is a 0-d scalar.
///
/// A vector of int64 with the std::vector interface the library uses (and implicit conversions from
/// and to std::vector<std::int64_t>), that keeps up to kInline sizes inside the object: copying the
/// shape of a tensor of rank <= kInline never allocates. Invariant: data_ points to inline_ while
/// cap_ == kInline, else to a heap array of cap_ elements owned by this object.
class Shape {
 public:
  using value_type = std::int64_t;
  using size_type = std::size_t;
  using difference_type = std::ptrdiff_t;
  using reference = value_type&;
  using const_reference = const value_type&;
  using pointer = value_type*;
  using const_pointer = const value_type*;
  using iterator = value_type*;
  using const_iterator = const value_type*;
  using reverse_iterator = std::reverse_iterator<iterator>;
  using const_reverse_iterator = std::reverse_iterator<const_iterator>;
  static constexpr size_type kInline = 6;

  Shape() noexcept = default;
  explicit Shape(size_type n, value_type v = 0) { assign(n, v); }
  Shape(std::initializer_list<value_type> il) { assign(il.begin(), il.end()); }
  template <std::input_iterator It>
  Shape(It first, It last) {
    assign(first, last);
  }
  Shape(const std::vector<value_type>& v) { assign(v.begin(), v.end()); }  // NOLINT: implicit, as the old alias
  Shape(const Shape& o) { assign(o.begin(), o.end()); }
  Shape(Shape&& o) noexcept { steal(o); }
  ~Shape() { free_heap(); }
  Shape& operator=(const Shape& o) {
    if (this != &o) assign(o.begin(), o.end());
    return *this;
  }
  Shape& operator=(Shape&& o) noexcept {
    if (this != &o) {
      free_heap();
      steal(o);
    }
    return *this;
  }
  Shape& operator=(std::initializer_list<value_type> il) {
    assign(il.begin(), il.end());
    return *this;
  }
  operator std::vector<value_type>() const { return {begin(), end()}; }  // NOLINT: implicit

  size_type size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  size_type capacity() const noexcept { return cap_; }
  value_type* data() noexcept { return data_; }
  const value_type* data() const noexcept { return data_; }
  iterator begin() noexcept { return data_; }
  iterator end() noexcept { return data_ + size_; }
  const_iterator begin() const noexcept { return data_; }
  const_iterator end() const noexcept { return data_ + size_; }
  const_iterator cbegin() const noexcept { return begin(); }
  const_iterator cend() const noexcept { return end(); }
  reverse_iterator rbegin() noexcept { return reverse_iterator(end()); }
  reverse_iterator rend() noexcept { return reverse_iterator(begin()); }
  const_reverse_iterator rbegin() const noexcept { return const_reverse_iterator(end()); }
  const_reverse_iterator rend() const noexcept { return const_reverse_iterator(begin()); }
  value_type& operator[](size_type i) noexcept { return data_[i]; }
  const value_type& operator[](size_type i) const noexcept { return data_[i]; }
  value_type& at(size_type i) { return data_[checked_index(i)]; }
  const value_type& at(size_type i) const { return data_[checked_index(i)]; }
  value_type& front() noexcept { return data_[0]; }
  const value_type& front() const noexcept { return data_[0]; }
  value_type& back() noexcept { return data_[size_ - 1]; }
  const value_type& back() const noexcept { return data_[size_ - 1]; }

  void reserve(size_type n) {
    if (n > cap_) grow(n);
  }
  void clear() noexcept { size_ = 0; }
  void resize(size_type n, value_type v = 0) {
    reserve(n);
    if (n > size_) std::fill(data_ + size_, data_ + n, v);
    size_ = static_cast<std::uint32_t>(n);
  }
  void assign(size_type n, value_type v) {
    clear();
    resize(n, v);
  }
  template <std::input_iterator It>
  void assign(It first, It last) {
    clear();
    if constexpr (std::forward_iterator<It>) {
      const auto n = static_cast<size_type>(std::distance(first, last));
      reserve(n);
      std::copy(first, last, data_);
      size_ = static_cast<std::uint32_t>(n);
    } else {
      for (; first != last; ++first) push_back(*first);
    }
  }
  void push_back(value_type v) {
    if (size_ == cap_) grow(2 * size_type(cap_));
    data_[size_++] = v;
  }
  value_type& emplace_back(value_type v) {
    push_back(v);
    return back();
  }
  void pop_back() noexcept { --size_; }
  iterator insert(const_iterator pos, value_type v) { return insert(pos, size_type(1), v); }
  iterator insert(const_iterator pos, size_type n, value_type v) {
    const size_type at = open_gap(pos, n);
    std::fill(data_ + at, data_ + at + n, v);
    return data_ + at;
  }
  template <std::forward_iterator It>
  iterator insert(const_iterator pos, It first, It last) {
    const Shape copy(first, last);  // the range may be part of *this
    const size_type at = open_gap(pos, copy.size());
    std::copy(copy.begin(), copy.end(), data_ + at);
    return data_ + at;
  }
  iterator insert(const_iterator pos, std::initializer_list<value_type> il) {
    return insert(pos, il.begin(), il.end());
  }
  iterator erase(const_iterator pos) { return erase(pos, pos + 1); }
  iterator erase(const_iterator first, const_iterator last) {
    auto* f = data_ + (first - data_);
    std::copy(last, cend(), f);
    size_ -= static_cast<std::uint32_t>(last - first);
    return f;
  }

  friend bool operator==(const Shape& a, const Shape& b) noexcept {
    return a.size_ == b.size_ && std::equal(a.begin(), a.end(), b.begin());
  }
  friend std::strong_ordering operator<=>(const Shape& a, const Shape& b) noexcept {
    return std::lexicographical_compare_three_way(a.begin(), a.end(), b.begin(), b.end());
  }

 private:
  void grow(size_type n);                               // to a heap array of at least n elements
  size_type open_gap(const_iterator pos, size_type n);  // shifts [pos, end) by n, returns pos's index
  size_type checked_index(size_type i) const {
    if (i >= size_) throw std::out_of_range("ag::Shape::at: index out of range");
    return i;
  }
  void free_heap() noexcept {
    if (data_ != inline_) delete[] data_;
  }
  void steal(Shape& o) noexcept {
    if (o.data_ == o.inline_) {
      std::copy(o.inline_, o.inline_ + o.size_, inline_);
      data_ = inline_;
      cap_ = kInline;
    } else {
      data_ = o.data_;
      cap_ = o.cap_;
      o.data_ = o.inline_;
      o.cap_ = kInline;
    }
    size_ = o.size_;
    o.size_ = 0;
  }

  value_type* data_ = inline_;
  std::uint32_t size_ = 0;
  std::uint32_t cap_ = kInline;
  value_type inline_[kInline];
};

/// Product of the sizes (1 for a 0-d shape).
std::int64_t shape_numel(const Shape& s);  // ag::Error when the product of the non-zero sizes overflows int64
/// Row-major (contiguous) strides, in elements.
Shape contiguous_strides(const Shape& s);
/// "[2, 3]" for messages.
std::string shape_str(const Shape& s);
/// NumPy broadcasting of two shapes; throws ag::Error naming `op` when they do not broadcast.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
/// Strides that read a tensor of shape `s` as if it had the broadcast shape `out` (0 on broadcast dims).
Shape broadcast_strides(const Shape& s, const Shape& out);
/// Maps a possibly negative dim into [0, rank); throws naming `op` when out of range.
std::int64_t normalize_dim(std::int64_t dim, std::int64_t rank, const char* op);

/// Prints "[2, 3]", as libtorch prints sizes() (IntArrayRef).
std::ostream& operator<<(std::ostream& os, const Shape& s);

}  // namespace ag
