// The fast loops of autograd/kernels/max_pool.cpp and im2col.cpp against their definitions: max
// pooling's vectorized interior and 2x2 stride-2 loops equal max_pool2d_reference (values and indices,
// bit for bit, with ties, signed zeros, NaN and -inf) on odd shapes, strides, padding, dilation and
// ceil_mode; im2col / col2im equal the element-by-element formula. The ops' gradients through the
// fast paths to second order.
#include <bit>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <vector>

#include "autograd/kernels/conv.h"
#include "nn/nn.h"
#include "test_util.h"

using namespace ag;
using kernels::Window2d;

namespace {

// torch's pooling output size (as ops/pool.cpp).
std::int64_t pool_size(std::int64_t in, std::int64_t k, std::int64_t s, std::int64_t p, std::int64_t d, bool ceil) {
  const std::int64_t span = d * (k - 1) + 1;
  std::int64_t out = (in + 2 * p - span + (ceil ? s - 1 : 0)) / s + 1;
  if (ceil && (out - 1) * s >= in + p) --out;
  return out;
}

// Values with many ties, both zeros, -inf and (when nan) NaN.
template <class T>
std::vector<T> tricky_values(std::size_t n, std::mt19937& gen, bool nan) {
  const T pool[] = {T(-2), T(-1), T(-0.0), T(0), T(1), T(2), T(0.5), -std::numeric_limits<T>::infinity()};
  std::uniform_int_distribution<int> pick(0, 7), rare(0, 40);
  std::vector<T> v(n);
  for (auto& e : v) e = nan && rare(gen) == 0 ? std::numeric_limits<T>::quiet_NaN() : pool[pick(gen)];
  return v;
}

template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::bit_cast<std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>>(a[i]) !=
        std::bit_cast<std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>>(b[i]))
      return false;
  return true;
}

// max_pool2d against max_pool2d_reference for one window over `planes` planes of tricky values.
template <class T>
bool pool_matches(const Window2d& g, std::int64_t planes, std::mt19937& gen, bool nan) {
  const auto x = tricky_values<T>(static_cast<std::size_t>(planes * g.h * g.w), gen, nan);
  const auto out = static_cast<std::size_t>(planes * g.oh * g.ow);
  std::vector<T> y(out), y_ref(out);
  std::vector<std::int64_t> idx(out, -7), idx_ref(out, -9);
  kernels::max_pool2d(x.data(), y.data(), idx.data(), planes, g);
  kernels::max_pool2d_reference(x.data(), y_ref.data(), idx_ref.data(), planes, g);
  // a NaN output has the same bits as the reference's (the same element is picked)
  return same_bits(y, y_ref) && idx == idx_ref;
}

template <class T>
void check_pool_kernel() {
  std::mt19937 gen(11);
  std::uniform_int_distribution<std::int64_t> dim(1, 13), kd(1, 4), sd(1, 3), dd(1, 2), pl(1, 3);
  int cases = 0;
  for (int trial = 0; trial < 600; ++trial) {
    const std::int64_t kh = kd(gen), kw = kd(gen), sh = sd(gen), sw = sd(gen), dh = dd(gen), dw = dd(gen);
    const std::int64_t ph = std::uniform_int_distribution<std::int64_t>(0, kh / 2)(gen),
                       pw = std::uniform_int_distribution<std::int64_t>(0, kw / 2)(gen);
    const std::int64_t h = dim(gen), w = dim(gen) + (trial % 3 == 0 ? 20 : 0);  // some rows wider than a vector
    const bool ceil = trial % 2 == 1;
    if (h + 2 * ph < dh * (kh - 1) + 1 || w + 2 * pw < dw * (kw - 1) + 1) continue;
    const Window2d g{
        h, w, kh, kw, sh, sw, ph, pw, dh, dw, pool_size(h, kh, sh, ph, dh, ceil), pool_size(w, kw, sw, pw, dw, ceil)};
    INFO("h ", h, " w ", w, " k ", kh, "x", kw, " s ", sh, "x", sw, " p ", ph, "x", pw, " d ", dh, "x", dw, " ceil ",
         ceil);
    CHECK(pool_matches<T>(g, pl(gen), gen, trial % 4 == 0));
    ++cases;
  }
  CHECK(cases > 300);
  // the 2x2 stride-2 loop: every width (vector bodies and remainders), odd sizes with ceil_mode
  for (std::int64_t h = 2; h <= 7; ++h)
    for (std::int64_t w = 2; w <= 41; ++w)
      for (const bool ceil : {false, true}) {
        const Window2d g{h, w, 2, 2, 2, 2, 0, 0, 1, 1, pool_size(h, 2, 2, 0, 1, ceil), pool_size(w, 2, 2, 0, 1, ceil)};
        INFO("2x2 over ", h, "x", w, " ceil ", ceil);
        CHECK(pool_matches<T>(g, 3, gen, w % 3 == 0));
      }
}

// im2col by its definition.
template <class T>
std::vector<T> im2col_direct(const std::vector<T>& x, std::int64_t ch, const Window2d& g) {
  std::vector<T> cols(static_cast<std::size_t>(ch * g.kh * g.kw * g.oh * g.ow));
  for (std::int64_t c = 0; c < ch; ++c)
    for (std::int64_t a = 0; a < g.kh; ++a)
      for (std::int64_t b = 0; b < g.kw; ++b)
        for (std::int64_t i = 0; i < g.oh; ++i)
          for (std::int64_t j = 0; j < g.ow; ++j) {
            const std::int64_t r = i * g.sh - g.ph + a * g.dh, cc = j * g.sw - g.pw + b * g.dw;
            const bool in = r >= 0 && r < g.h && cc >= 0 && cc < g.w;
            cols[static_cast<std::size_t>((((c * g.kh + a) * g.kw + b) * g.oh + i) * g.ow + j)] =
                in ? x[static_cast<std::size_t>((c * g.h + r) * g.w + cc)] : T(0);
          }
  return cols;
}

// col2im by its definition: every entry of cols added to the element im2col read it from.
template <class T>
std::vector<T> col2im_direct(const std::vector<T>& cols, std::int64_t ch, const Window2d& g) {
  std::vector<T> x(static_cast<std::size_t>(ch * g.h * g.w), T(0));
  for (std::int64_t c = 0; c < ch; ++c)
    for (std::int64_t a = 0; a < g.kh; ++a)
      for (std::int64_t b = 0; b < g.kw; ++b)
        for (std::int64_t i = 0; i < g.oh; ++i)
          for (std::int64_t j = 0; j < g.ow; ++j) {
            const std::int64_t r = i * g.sh - g.ph + a * g.dh, cc = j * g.sw - g.pw + b * g.dw;
            if (r >= 0 && r < g.h && cc >= 0 && cc < g.w)
              x[static_cast<std::size_t>((c * g.h + r) * g.w + cc)] +=
                  cols[static_cast<std::size_t>((((c * g.kh + a) * g.kw + b) * g.oh + i) * g.ow + j)];
          }
  return x;
}

template <class T>
void check_im2col_kernels() {
  std::mt19937 gen(5);
  std::uniform_int_distribution<std::int64_t> dim(1, 12), kd(1, 5), sd(1, 3), dd(1, 2), pd(0, 3), chd(1, 3);
  std::uniform_int_distribution<int> small(-8, 8);
  int cases = 0;
  for (int trial = 0; trial < 400; ++trial) {
    const std::int64_t kh = kd(gen), kw = kd(gen), sh = sd(gen), sw = sd(gen), dh = dd(gen), dw = dd(gen);
    const std::int64_t ph = pd(gen), pw = pd(gen), h = dim(gen), w = dim(gen) + (trial % 3 == 0 ? 24 : 0),
                       ch = chd(gen);
    const std::int64_t sph = dh * (kh - 1) + 1, spw = dw * (kw - 1) + 1;
    if (h + 2 * ph < sph || w + 2 * pw < spw) continue;
    const Window2d g{h, w, kh, kw, sh, sw, ph, pw, dh, dw, (h + 2 * ph - sph) / sh + 1, (w + 2 * pw - spw) / sw + 1};
    INFO("c ", ch, " h ", h, " w ", w, " k ", kh, "x", kw, " s ", sh, "x", sw, " p ", ph, "x", pw, " d ", dh, "x", dw);
    // small integers: every sum exact, whatever the order
    std::vector<T> x(static_cast<std::size_t>(ch * h * w));
    for (auto& v : x) v = T(small(gen));
    std::vector<T> cols(static_cast<std::size_t>(ch * kh * kw * g.oh * g.ow), T(99));
    kernels::im2col(x.data(), cols.data(), ch, g);
    CHECK(cols == im2col_direct(x, ch, g));
    for (auto& v : cols) v = T(small(gen));
    std::vector<T> back(x.size(), T(0));
    kernels::col2im(cols.data(), back.data(), ch, g);
    CHECK(back == col2im_direct(cols, ch, g));
    ++cases;
  }
  CHECK(cases > 200);
}

}  // namespace

TEST_CASE("max_pool2d kernel: the fast loops equal max_pool2d_reference (ties, -0, NaN, -inf, every shape)") {
  check_pool_kernel<float>();
  check_pool_kernel<double>();
}

TEST_CASE("im2col / col2im kernels: equal their definitions on odd shapes, stride, padding, dilation") {
  check_im2col_kernels<float>();
  check_im2col_kernels<double>();
}

TEST_CASE("max_pool2d 2x2 stride 2 (the fast path): values, gradients to second order, ceil_mode, float32") {
  // the same values as the general path's windows: 2x2 stride 2 is dilation 1 of the same window
  const Tensor x = agt::input({2, 3, 9, 11}, 1.0);
  for (const bool ceil : {false, true}) {
    auto [y, idx] = max_pool2d_with_indices(x.detach(), 2, 2, 0, 1, ceil);
    CHECK(y.shape() == Shape{2, 3, ceil ? 5 : 4, ceil ? 6 : 5});
    const auto xv = x.detach().to_vector<double>();
    const auto yv = y.to_vector<double>();
    const auto iv = idx.to_vector<std::int64_t>();
    bool ok = true;
    for (std::int64_t p = 0; p < 6; ++p)
      for (std::int64_t i = 0; i < y.size(2); ++i)
        for (std::int64_t j = 0; j < y.size(3); ++j) {
          double best = -INFINITY;
          std::int64_t at = -1;
          for (std::int64_t r = 2 * i; r < std::min<std::int64_t>(2 * i + 2, 9); ++r)
            for (std::int64_t c = 2 * j; c < std::min<std::int64_t>(2 * j + 2, 11); ++c)
              if (xv[static_cast<std::size_t>(p * 99 + r * 11 + c)] > best) {
                best = xv[static_cast<std::size_t>(p * 99 + r * 11 + c)];
                at = r * 11 + c;
              }
          const auto o = static_cast<std::size_t>((p * y.size(2) + i) * y.size(3) + j);
          ok = ok && yv[o] == best && iv[o] == at;
        }
    CHECK(ok);
    agt::check_both_orders([ceil](const std::vector<Tensor>& v) { return max_pool2d(v[0], 2, 2, 0, 1, ceil); }, {x});
    const Tensor y32 = max_pool2d(x.detach().to(kFloat32), 2, 2, 0, 1, ceil);
    agt::check_values(y32.to(kFloat64), y.to_vector<double>(), 1e-6);
  }
  // LeNet's shapes: [N, 6, 24, 24] and [N, 16, 8, 8]
  for (const std::int64_t s : {24, 8}) {
    const Tensor xs = agt::input({2, 2, s, s}, 1.0);
    agt::check_both_orders([](const std::vector<Tensor>& v) { return max_pool2d(v[0], 2); }, {xs});
  }
}

TEST_CASE("conv / pool: a dilation or padding whose window overflows int64 is an ag::Error naming the op") {
  constexpr std::int64_t big = std::numeric_limits<std::int64_t>::max();
  const Tensor x = agt::input({1, 2, 5, 5}, 1.0).detach();
  const Tensor w = agt::input({3, 2, 2, 2}, 2.0).detach();
  const auto msg = [](const std::function<void()>& f) -> std::string {
    try {
      f();
    } catch (const Error& e) {
      return e.what();
    }
    return "(no error)";
  };
  CHECK(msg([&] { conv2d(x, w, Tensor(), 1, 0, {big, 1}); }).find("conv2d: dilation") == 0);
  CHECK(msg([&] { conv2d(x, w, Tensor(), 1, {big, 0}, 1); }).find("conv2d: padding") == 0);
  CHECK(msg([&] { conv2d(x, w, Tensor(), big, {big / 2, 0}, 1); }).find("conv2d: padding") == 0);
  CHECK(msg([&] { max_pool2d(x, 3, 1, 0, big); }).find("max_pool2d: dilation") == 0);
  CHECK(msg([&] { max_pool2d(x, big, 1, big / 2, 1); }).find("max_pool2d: padding") == 0);
  CHECK(msg([&] { avg_pool2d(x, big, 1, big / 2); }).find("avg_pool2d: padding") == 0);
  CHECK(msg([&] { im2col(x, 2, big); }).find("im2col: dilation") == 0);
  // a huge stride with ceil_mode: one window, no overflow in the ceiling division
  CHECK(max_pool2d(x, 2, big, 0, 1, true).shape() == Shape{1, 2, 1, 1});
  CHECK(avg_pool2d(x, 2, big, 0, true).shape() == Shape{1, 2, 1, 1});
  CHECK(conv2d(x, w, Tensor(), big).shape() == Shape{1, 3, 1, 1});
  CHECK(conv2d(x, w, Tensor(), big, 1).shape() == Shape{1, 3, 1, 1});  // padded: the window's first column is -1
  CHECK(max_pool2d(x, 2, big, 1, 1).shape() == Shape{1, 2, 1, 1});
}
