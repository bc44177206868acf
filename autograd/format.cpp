#include <cmath>
#include <sstream>

#include <fmt/format.h>

#include "autograd/format.h"

namespace ag {

namespace {

const char* type_name(Dtype d) {
  switch (d) {
    case Dtype::Float32: return "CPUFloatType";
    case Dtype::Float64: return "CPUDoubleType";
    case Dtype::Int64: return "CPULongType";
  }
  return "?";
}

// How libtorch chooses: integers without decimals, else fixed with 4 decimals, else scientific.
struct Style {
  bool integral = true;
  bool scientific = false;
  int width = 1;
};

Style choose_style(const std::vector<double>& v, bool is_int) {
  Style s;
  double maxabs = 0, minabs = INFINITY;
  for (double x : v) {
    if (!std::isfinite(x)) continue;
    if (!is_int && x != std::floor(x)) s.integral = false;
    maxabs = std::max(maxabs, std::abs(x));
    if (x != 0) minabs = std::min(minabs, std::abs(x));
  }
  if (!s.integral && (maxabs >= 1e5 || (minabs < 1e-4 && minabs > 0))) s.scientific = true;
  if (!is_int && s.integral && maxabs >= 1e9) s.scientific = true;
  for (double x : v) {
    std::string t = s.scientific ? fmt::format("{:.4e}", x) : s.integral ? fmt::format("{:.0f}", x) : fmt::format("{:.4f}", x);
    s.width = std::max(s.width, static_cast<int>(t.size()));
  }
  return s;
}

std::string cell(double x, const Style& s) {
  std::string t = s.scientific ? fmt::format("{:.4e}", x) : s.integral ? fmt::format("{:.0f}", x) : fmt::format("{:.4f}", x);
  return fmt::format(" {:>{}}", t, s.width);
}

void print_matrix(std::ostream& os, const std::vector<double>& v, std::size_t off, std::int64_t rows, std::int64_t cols,
                  const Style& s) {
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t c = 0; c < cols; ++c) os << cell(v[off + static_cast<std::size_t>(r * cols + c)], s);
    os << '\n';
  }
}

}  // namespace

std::ostream& operator<<(std::ostream& os, const Tensor& t) {
  if (!t.defined()) return os << "[ Tensor (undefined) ]";
  const std::vector<double> v = t.to_vector<double>();
  const Style s = choose_style(v, t.dtype() == kInt64);
  const Shape& sh = t.shape();
  if (sh.empty()) {
    os << cell(v[0], s).substr(1) << '\n';
  } else if (sh.size() == 1) {
    print_matrix(os, v, 0, sh[0], 1, s);
  } else if (sh.size() == 2) {
    print_matrix(os, v, 0, sh[0], sh[1], s);
  } else {
    const std::int64_t rows = sh[sh.size() - 2], cols = sh.back();
    const std::int64_t mats = t.numel() / std::max<std::int64_t>(rows * cols, 1);
    for (std::int64_t m = 0; m < mats && rows * cols > 0; ++m) {
      os << '(';
      std::int64_t rem = m;
      std::vector<std::int64_t> idx(sh.size() - 2);
      for (std::size_t d = idx.size(); d-- > 0;) {
        idx[d] = rem % sh[d];
        rem /= sh[d];
      }
      for (auto i : idx) os << i + 1 << ',';
      os << ".,.) = \n";
      print_matrix(os, v, static_cast<std::size_t>(m * rows * cols), rows, cols, s);
      if (m + 1 < mats) os << '\n';
    }
  }
  os << "[ " << type_name(t.dtype()) << '{';
  for (std::size_t i = 0; i < sh.size(); ++i) os << (i ? "," : "") << sh[i];
  os << "} ]";
  return os;
}

}  // namespace ag
