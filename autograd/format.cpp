// Printing in libtorch's layout (ATen's Formatting.cpp): the same width, notation and scale choices,
// the same "Columns a to b" splitting at 80 characters and the same "(i,j,.,.) = " headers, with
// the first batch index varying fastest as libtorch does.
#include <algorithm>
#include <cmath>
#include <iomanip>
#include <ostream>
#include <vector>

#include "autograd/format.h"

namespace ag {

namespace {

constexpr std::int64_t kLineSize = 80;

const char* type_name(Dtype d) {
  switch (d) {
    case Dtype::Float32:
      return "CPUFloatType";
    case Dtype::Float64:
      return "CPUDoubleType";
    case Dtype::Int64:
      return "CPULongType";
    case Dtype::Int32:
      return "CPUIntType";
    case Dtype::Bool:
      return "CPUBoolType";
  }
  return "?";
}

std::ios_base& defaultfloat(std::ios_base& b) {
  b.unsetf(std::ios_base::floatfield);
  return b;
}

// Restores the stream's formatting state (flags, precision, fill) on scope exit.
class FormatGuard {
 public:
  explicit FormatGuard(std::ostream& os) : os_(os), saved_(nullptr) { saved_.copyfmt(os); }
  ~FormatGuard() { os_.copyfmt(saved_); }
  FormatGuard(const FormatGuard&) = delete;
  FormatGuard& operator=(const FormatGuard&) = delete;

 private:
  std::ostream& os_;
  std::ios saved_;
};

struct Format {
  double scale = 1;
  std::int64_t width = 0;
};

// Picks the notation (set on the stream), the common scale and the column width for values p[0..n).
Format print_format(std::ostream& os, const double* p, std::int64_t n) {
  if (n == 0) return {1.0, 0};
  bool int_mode = true;
  for (std::int64_t i = 0; i < n; ++i)
    if (std::isfinite(p[i]) && p[i] != std::ceil(p[i])) {
      int_mode = false;
      break;
    }
  std::int64_t first = 0;
  while (first < n && !std::isfinite(p[first])) ++first;
  double exp_min = 1, exp_max = 1;
  if (first < n) {
    exp_min = exp_max = std::fabs(p[first]);
    for (std::int64_t i = first; i < n; ++i) {
      const double z = std::fabs(p[i]);
      if (!std::isfinite(z)) continue;
      if (z < exp_min) exp_min = z;
      if (p[i] > exp_max) exp_max = z;  // libtorch compares the signed value here
    }
    exp_min = exp_min != 0 ? std::floor(std::log10(exp_min)) + 1 : 1;
    exp_max = exp_max != 0 ? std::floor(std::log10(exp_max)) + 1 : 1;
  }
  Format f;
  if (int_mode) {
    if (exp_max > 9) {
      f.width = 11;
      os << std::scientific << std::setprecision(4);
    } else {
      f.width = static_cast<std::int64_t>(exp_max) + 1;
      os << defaultfloat;
    }
  } else if (exp_max - exp_min > 4) {
    f.width = std::fabs(exp_max) > 99 || std::fabs(exp_min) > 99 ? 12 : 11;
    os << std::scientific << std::setprecision(4);
  } else {
    if (exp_max > 5 || exp_max < 0) {
      f.width = 7;
      f.scale = std::pow(10, exp_max - 1);
    } else {
      f.width = exp_max == 0 ? 7 : static_cast<std::int64_t>(exp_max) + 6;
    }
    os << std::fixed << std::setprecision(4);
  }
  return f;
}

void print_indent(std::ostream& os, std::int64_t indent) {
  for (std::int64_t i = 0; i < indent; ++i) os << ' ';
}

void print_scale(std::ostream& os, double scale) {
  FormatGuard guard(os);
  os << defaultfloat << scale << " *\n";
}

void print_matrix(std::ostream& os, const double* p, std::int64_t rows, std::int64_t cols, std::int64_t indent) {
  const Format f = print_format(os, p, rows * cols);
  print_indent(os, indent);
  const std::int64_t per_line = std::max<std::int64_t>((kLineSize - indent) / (f.width + 1), 1);
  std::int64_t first = 0;
  while (first < cols) {
    const std::int64_t last = first + per_line <= cols ? first + per_line - 1 : cols - 1;
    if (per_line < cols) {
      if (first != 0) os << '\n';
      os << "Columns " << first + 1 << " to " << last + 1;
      print_indent(os, indent);
    }
    if (f.scale != 1) {
      print_scale(os, f.scale);
      print_indent(os, indent);
    }
    for (std::int64_t r = 0; r < rows; ++r) {
      for (std::int64_t c = first; c <= last; ++c) {
        os << std::setw(static_cast<int>(f.width)) << p[r * cols + c] / f.scale;
        if (c != last) {
          os << ' ';
          continue;
        }
        os << '\n';
        if (r != rows - 1) {
          print_indent(os, indent);
          if (f.scale != 1) os << ' ';
        }
      }
    }
    first = last + 1;
  }
}

void print_batched(std::ostream& os, const std::vector<double>& v, const Shape& sh) {
  const std::size_t nb = sh.size() - 2;
  const std::int64_t rows = sh[nb], cols = sh[nb + 1];
  const Shape strides = contiguous_strides(sh);
  std::vector<std::int64_t> counter(nb, 0);
  for (bool start = true;; start = false) {
    if (!start) {
      std::size_t i = 0;
      while (i < nb && ++counter[i] >= sh[i]) counter[i++] = 0;  // first index fastest
      if (i == nb) return;
      os << '\n';
    }
    os << '(';
    std::int64_t off = 0;
    for (std::size_t i = 0; i < nb; ++i) {
      off += counter[i] * strides[i];
      os << counter[i] + 1 << ',';
    }
    os << ".,.) = \n";
    print_matrix(os, v.data() + off, rows, cols, 1);
  }
}

}  // namespace

std::ostream& operator<<(std::ostream& os, const Tensor& t) {
  FormatGuard guard(os);
  if (!t.defined()) return os << "[ Tensor (undefined) ]";
  const std::vector<double> v = t.to_vector<double>();
  const Shape& sh = t.shape();
  if (sh.empty()) {
    os << defaultfloat << v[0] << '\n';
  } else if (sh.size() == 1) {
    const Format f = print_format(os, v.data(), t.numel());
    if (f.scale != 1) print_scale(os, f.scale);
    for (double x : v) os << std::setw(static_cast<int>(f.width)) << x / f.scale << '\n';
  } else if (t.numel() > 0) {
    if (sh.size() == 2) print_matrix(os, v.data(), sh[0], sh[1], 0);
    else print_batched(os, v, sh);
  }
  os << "[ " << type_name(t.dtype()) << '{';
  for (std::size_t i = 0; i < sh.size(); ++i) os << (i ? "," : "") << sh[i];
  return os << "} ]";
}

}  // namespace ag
