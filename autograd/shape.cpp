#include "autograd/shape.h"

#include <ostream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "autograd/error.h"

namespace ag {

void Shape::grow(size_type n) {
  n = std::max<size_type>(n, kInline + 1);
  if (n > UINT32_MAX) fail("shape: {} dims is too many", n);
  auto* p = new value_type[n];
  std::copy(begin(), end(), p);
  free_heap();
  data_ = p;
  cap_ = static_cast<std::uint32_t>(n);
}

Shape::size_type Shape::open_gap(const_iterator pos, size_type n) {
  const auto at = static_cast<size_type>(pos - data_);
  reserve(size_ + n);
  std::copy_backward(data_ + at, data_ + size_, data_ + size_ + n);
  size_ += static_cast<std::uint32_t>(n);
  return at;
}

std::int64_t shape_numel(const Shape& s) {
  // The product of the non-zero sizes must fit too: kernels multiply subsets of the sizes (outer,
  // inner, strides), so [0, 2^62, 2^62] is refused like [2^62, 2^62].
  std::int64_t n = 1;
  bool zero = false;
  for (auto d : s) {
    if (d == 0) zero = true;
    else if (__builtin_mul_overflow(n, d, &n)) fail("shape {} has more elements than int64 can count", shape_str(s));
  }
  return zero ? 0 : n;
}

Shape contiguous_strides(const Shape& s) {
  Shape st(s.size());
  std::int64_t acc = 1;
  for (std::size_t i = s.size(); i-- > 0;) {
    st[i] = acc;
    acc *= s[i];
  }
  return st;
}

std::string shape_str(const Shape& s) { return fmt::format("[{}]", fmt::join(s, ", ")); }

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const std::size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const std::int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (da != db && da != 1 && db != 1)
      fail("{}: shapes {} and {} cannot be broadcast together (dim {}: {} vs {})", op, shape_str(a), shape_str(b), i,
           da, db);
    out[i] = da == 1 ? db : da;
  }
  return out;
}

Shape broadcast_strides(const Shape& s, const Shape& out) {
  Shape st(out.size(), 0);
  const Shape cs = contiguous_strides(s);
  const std::size_t off = out.size() - s.size();
  for (std::size_t i = 0; i < s.size(); ++i) st[off + i] = s[i] == 1 ? 0 : cs[i];
  return st;
}

std::int64_t normalize_dim(std::int64_t dim, std::int64_t rank, const char* op) {
  const std::int64_t r = rank == 0 ? 1 : rank;
  if (dim < -r || dim >= r)
    fail("{}: dim {} is out of range for a tensor of rank {} (expected [{}, {}])", op, dim, rank, -r, r - 1);
  return dim < 0 ? dim + r : dim;
}

std::ostream& operator<<(std::ostream& os, const Shape& s) { return os << shape_str(s); }

}  // namespace ag
