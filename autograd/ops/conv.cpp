#include "autograd/ops/conv.h"

#include <algorithm>
#include <array>
#include <limits>
#include <vector>

#include "autograd/factory.h"
#include "autograd/forward_grad.h"
#include "autograd/kernels/blas.h"
#include "autograd/kernels/conv.h"
#include "autograd/ops/shape_ops.h"
#include "autograd/ops/util.h"
#include "autograd/parallel.h"
#include "autograd/tape.h"

namespace ag {

namespace {

using kernels::Window2d;

void check_floating(const Tensor& t, const char* op) {
  if (!is_floating(t.checked(op).dtype))
    fail("{}: expected a floating tensor (float32 or float64), got {}", op, describe(t));
}

// Runs fn(b, e) over chunks of [0, batch), split over the pool when each sample's work (`per` elements)
// adds up.
template <class F>
void for_each_sample_chunk(std::int64_t batch, std::int64_t per, const F& fn) {
  const std::int64_t grain = std::max<std::int64_t>(1, kParallelGrain / std::max<std::int64_t>(per, 1));
  parallel_for(0, batch, grain, fn);
}

// Runs fn(n) for n in [0, batch), as for_each_sample_chunk.
template <class F>
void for_each_sample(std::int64_t batch, std::int64_t per, const F& fn) {
  for_each_sample_chunk(batch, per, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t n = b; n < e; ++n) fn(n);
  });
}

Tensor col2im_op(const Tensor& cols, const Window2d& g);

// x [N, C, H, W] -> [N, C kh kw, oh ow] for the window g (checked by the caller).
Tensor im2col_op(const Tensor& x, const Window2d& g) {
  const auto n = x.size(0), ch = x.size(1), k = g.kh * g.kw, l = g.oh * g.ow;
  Tensor y = empty({n, ch * k, l}, x.dtype(), "im2col");
  dispatch_floating(x.dtype(), "im2col", [&]<class T>() {
    const T* px = x.cdata<T>();
    T* py = y.data<T>();
    for_each_sample(n, ch * k * l,
                    [&](std::int64_t i) { kernels::im2col(px + i * ch * g.h * g.w, py + i * ch * k * l, ch, g); });
  });
  if (any_requires_grad({&x})) record("im2col", {&x}, {&y}, [g](BackwardCtx& c) { c.set(0, col2im_op(c.grad(), g)); });
  if (any_tangent({&x}))  // linear: the op on the tangent
    propagate_tangent("im2col", {&x}, {&y}, [&](JvpCtx& c) { c.set(0, im2col_op(c.tangent(0), g)); });
  return y;
}

// cols [N, C kh kw, oh ow] -> [N, C, H, W], the adjoint of im2col_op.
Tensor col2im_op(const Tensor& cols, const Window2d& g) {
  const auto n = cols.size(0), k = g.kh * g.kw, ch = cols.size(1) / k, l = g.oh * g.ow;
  Tensor y = zeros({n, ch, g.h, g.w}, cols.dtype());
  dispatch_floating(cols.dtype(), "col2im", [&]<class T>() {
    const T* pc = cols.cdata<T>();
    T* py = y.data<T>();
    for_each_sample(n, ch * k * l,
                    [&](std::int64_t i) { kernels::col2im(pc + i * ch * k * l, py + i * ch * g.h * g.w, ch, g); });
  });
  if (any_requires_grad({&cols}))
    record("col2im", {&cols}, {&y}, [g](BackwardCtx& c) { c.set(0, im2col_op(c.grad(), g)); });
  if (any_tangent({&cols}))  // linear: the op on the tangent
    propagate_tangent("col2im", {&cols}, {&y}, [&](JvpCtx& c) { c.set(0, col2im_op(c.tangent(0), g)); });
  return y;
}

// Output size of a window along one dim; throws naming op when the dilated kernel exceeds the padded input.
std::int64_t out_size(std::int64_t in, std::int64_t k, std::int64_t s, std::int64_t pad_total, std::int64_t d,
                      const char* op, const Tensor& x, const Tensor* w) {
  const std::int64_t span = d * (k - 1) + 1;
  if (in + pad_total < span)
    fail("{}: kernel size {} (dilated to {}) is larger than the padded input size {} (input {}{}{})", op, k, span,
         in + pad_total, describe(x), w ? ", weight " : "", w ? describe(*w) : std::string());
  return (in + pad_total - span) / s + 1;
}

void check_positive(std::int64_t v, const char* what, const char* op) {
  if (v <= 0) fail("{}: {} must be positive, got {}", op, what, v);
}

// The window of a 2-D convolution-like op over x [N, C, H, W] with padding (before, after) per dim.
Window2d make_window(const Tensor& x, std::array<std::int64_t, 2> k, std::array<std::int64_t, 2> s,
                     std::array<std::int64_t, 2> p0, std::array<std::int64_t, 2> p1, std::array<std::int64_t, 2> d,
                     const char* op, const Tensor* w) {
  for (std::size_t i = 0; i < 2; ++i) {
    check_positive(k[i], "kernel size", op);
    check_positive(s[i], "stride", op);
    check_positive(d[i], "dilation", op);
    if (p0[i] < 0 || p1[i] < 0) fail("{}: padding must be non-negative, got {}", op, std::min(p0[i], p1[i]));
    constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
    if (k[i] > 1 && d[i] > (kMax - 1) / (k[i] - 1))
      fail("{}: dilation {} times kernel size {} overflows int64 (input {})", op, d[i], k[i], describe(x));
    const std::int64_t in = x.size(static_cast<std::int64_t>(2 + i));
    if (p0[i] > kMax - in || p1[i] > kMax - in - p0[i])
      fail("{}: padding {} + {} overflows int64 with the input size {}", op, p0[i], p1[i], in);
  }
  const auto h = x.size(2), wd = x.size(3);
  const auto oh = out_size(h, k[0], s[0], p0[0] + p1[0], d[0], op, x, w);
  const auto ow = out_size(wd, k[1], s[1], p0[1] + p1[1], d[1], op, x, w);
  return Window2d{h, wd, k[0], k[1], s[0], s[1], p0[0], p0[1], d[0], d[1], oh, ow};
}

// The convolution proper over x [N, C, H, W] and w [O, C / groups, kh, kw] for the window g, as three ops
// that are each other's VJPs (as PyTorch's convolution_backward): per sample, im2col into a scratch
// buffer and one GEMM per group. Nothing of [N, C kh kw, L] size is kept for backward.
struct ConvGeom {
  Window2d g;
  std::int64_t n, c, o, groups;
  std::int64_t kg() const { return c / groups * g.kh * g.kw; }  // rows of a group's columns
  std::int64_t og() const { return o / groups; }
  std::int64_t l() const { return g.oh * g.ow; }
  Shape weight_shape() const { return {o, c / groups, g.kh, g.kw}; }
};

Tensor conv_forward(const Tensor& x, const Tensor& w, const Tensor& b, const ConvGeom& q);
Tensor conv_backward_input(const Tensor& gy, const Tensor& w, const ConvGeom& q);
Tensor conv_backward_weight(const Tensor& gy, const Tensor& x, const ConvGeom& q);

// Whether im2col is the identity (1x1 kernel, stride 1, no padding): the GEMMs then read x itself.
bool identity_window(const Window2d& g) {
  return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0 && g.oh == g.h && g.ow == g.w;
}

// Samples per chunk of the weight gradient's fixed split (partial sums added in chunk order, so the result
// does not depend on the thread count).
constexpr std::int64_t kWeightChunks = 4;

// y = conv(x, w) + b;  dx = conv_backward_input(g, w), dw = conv_backward_weight(g, x), db = sum of g over N, oh, ow
Tensor conv_forward(const Tensor& x, const Tensor& w, const Tensor& b, const ConvGeom& q) {
  Tensor y = empty({q.n, q.o, q.g.oh, q.g.ow}, x.dtype(), "conv2d");
  dispatch_floating(x.dtype(), "conv2d", [&]<class T>() {
    const T* px = x.cdata<T>();
    const T* pw = w.cdata<T>();
    const T* pb = b.defined() ? b.cdata<T>() : nullptr;
    T* py = y.data<T>();
    const auto kg = q.kg(), og = q.og(), l = q.l(), in = q.c * q.g.h * q.g.w;
    const bool direct = identity_window(q.g);
    for_each_sample_chunk(q.n, q.c * q.g.kh * q.g.kw * l + q.o * l * kg, [&](std::int64_t n0, std::int64_t n1) {
      std::vector<T> cols(direct ? 0 : static_cast<std::size_t>(q.c * q.g.kh * q.g.kw * l));
      for (std::int64_t n = n0; n < n1; ++n) {
        const T* cn = px + n * in;
        if (!direct) {
          kernels::im2col(cn, cols.data(), q.c, q.g);
          cn = cols.data();
        }
        T* yn = py + n * q.o * l;
        if (pb)
          for (std::int64_t o = 0; o < q.o; ++o) std::fill(yn + o * l, yn + (o + 1) * l, pb[o]);
        for (std::int64_t gi = 0; gi < q.groups; ++gi)
          kernels::gemm(false, false, og, l, kg, pw + gi * og * kg, cn + gi * kg * l, yn + gi * og * l, T(pb ? 1 : 0));
      }
    });
  });
  if (any_requires_grad({&x, &w, &b}))
    record("conv2d", {&x, &w, &b}, {&y}, [sx = SavedTensor(x), sw = SavedTensor(w), q](BackwardCtx& c) {
      const Tensor& gy = c.grad();
      if (c.needs(0)) c.set(0, conv_backward_input(gy, sw.get("conv2d"), q));
      if (c.needs(1)) c.set(1, conv_backward_weight(gy, sx.get("conv2d"), q));
      if (c.needs(2)) c.set(2, reshape(sum_to(gy, {q.o, 1, 1}), {q.o}));
    });
  if (any_tangent({&x, &w, &b}))
    propagate_tangent("conv2d", {&x, &w, &b}, {&y}, [&](JvpCtx& c) {  // conv(tx, w) + conv(x, tw) + tb
      Tensor t = c.has(0) ? conv_forward(c.tangent(0), w, Tensor(), q) : Tensor();
      if (c.has(1)) t = detail::tangent_add(t, conv_forward(x, c.tangent(1), Tensor(), q));
      if (c.has(2)) t = detail::tangent_add(t, reshape(c.tangent(2), {1, q.o, 1, 1}));
      c.set(0, detail::tangent_to(t, y.shape()));
    });
  return y;
}

// dx [N, C, H, W] = col2im(w_g^T gy_g) per sample and group;  d(gy) = conv(ggx, w), dw = conv_backward_weight(gy, ggx)
Tensor conv_backward_input(const Tensor& gy, const Tensor& w, const ConvGeom& q) {
  Tensor dx = empty({q.n, q.c, q.g.h, q.g.w}, gy.dtype(), "conv2d_backward_input");
  dispatch_floating(gy.dtype(), "conv2d_backward_input", [&]<class T>() {
    const T* pg = gy.cdata<T>();
    const T* pw = w.cdata<T>();
    T* px = dx.data<T>();
    const auto kg = q.kg(), og = q.og(), l = q.l(), in = q.c * q.g.h * q.g.w;
    const bool direct = identity_window(q.g);
    for_each_sample_chunk(q.n, q.c * q.g.kh * q.g.kw * l + q.o * l * kg, [&](std::int64_t n0, std::int64_t n1) {
      std::vector<T> cols(direct ? 0 : static_cast<std::size_t>(q.c * q.g.kh * q.g.kw * l));
      for (std::int64_t n = n0; n < n1; ++n) {
        T* cn = direct ? px + n * in : cols.data();
        for (std::int64_t gi = 0; gi < q.groups; ++gi)
          kernels::gemm(true, false, kg, l, og, pw + gi * og * kg, pg + (n * q.o + gi * og) * l, cn + gi * kg * l);
        if (!direct) {
          std::fill(px + n * in, px + (n + 1) * in, T(0));
          kernels::col2im(cols.data(), px + n * in, q.c, q.g);
        }
      }
    });
  });
  if (any_requires_grad({&gy, &w}))
    record("conv2d_backward_input", {&gy, &w}, {&dx}, [sg = SavedTensor(gy), sw = SavedTensor(w), q](BackwardCtx& c) {
      const Tensor& gg = c.grad();
      if (c.needs(0)) c.set(0, conv_forward(gg, sw.get("conv2d_backward_input"), Tensor(), q));
      if (c.needs(1)) c.set(1, conv_backward_weight(sg.get("conv2d_backward_input"), gg, q));
    });
  if (any_tangent({&gy, &w}))
    propagate_tangent("conv2d_backward_input", {&gy, &w}, {&dx}, [&](JvpCtx& c) {  // bilinear in gy and w
      Tensor t = c.has(0) ? conv_backward_input(c.tangent(0), w, q) : Tensor();
      if (c.has(1)) t = detail::tangent_add(t, conv_backward_input(gy, c.tangent(1), q));
      c.set(0, t);
    });
  return dx;
}

// dw [O, C / groups, kh, kw] = sum over samples of gy_g im2col(x)_g^T;  d(gy) = conv(x, ggw),
// dx = conv_backward_input(gy, ggw)
Tensor conv_backward_weight(const Tensor& gy, const Tensor& x, const ConvGeom& q) {
  Tensor dw = empty(q.weight_shape(), gy.dtype(), "conv2d_backward_weight");
  dispatch_floating(gy.dtype(), "conv2d_backward_weight", [&]<class T>() {
    const T* pg = gy.cdata<T>();
    const T* px = x.cdata<T>();
    const auto kg = q.kg(), og = q.og(), l = q.l(), in = q.c * q.g.h * q.g.w, wn = q.o * kg;
    const bool direct = identity_window(q.g);
    const std::int64_t chunks = std::min(q.n, kWeightChunks);
    std::vector<T> partial(static_cast<std::size_t>(chunks * wn), T(0));
    const std::int64_t grain = q.n * (q.c * q.g.kh * q.g.kw * l + wn * l) < kParallelGrain * kWeightChunks ? chunks : 1;
    parallel_for(0, chunks, grain, [&](std::int64_t c0, std::int64_t c1) {
      std::vector<T> cols(direct ? 0 : static_cast<std::size_t>(q.c * q.g.kh * q.g.kw * l));
      for (std::int64_t ci = c0; ci < c1; ++ci) {
        T* acc = partial.data() + ci * wn;
        for (std::int64_t n = ci * q.n / chunks; n < (ci + 1) * q.n / chunks; ++n) {
          const T* cn = px + n * in;
          if (!direct) {
            kernels::im2col(cn, cols.data(), q.c, q.g);
            cn = cols.data();
          }
          for (std::int64_t gi = 0; gi < q.groups; ++gi)
            kernels::gemm(false, true, og, kg, l, pg + (n * q.o + gi * og) * l, cn + gi * kg * l, acc + gi * og * kg,
                          T(1));
        }
      }
    });
    T* pw = dw.data<T>();
    std::copy(partial.begin(), partial.begin() + wn, pw);
    for (std::int64_t ci = 1; ci < chunks; ++ci)
      for (std::int64_t i = 0; i < wn; ++i) pw[i] += partial[static_cast<std::size_t>(ci * wn + i)];
  });
  if (any_requires_grad({&gy, &x}))
    record("conv2d_backward_weight", {&gy, &x}, {&dw}, [sg = SavedTensor(gy), sx = SavedTensor(x), q](BackwardCtx& c) {
      const Tensor& gg = c.grad();
      if (c.needs(0)) c.set(0, conv_forward(sx.get("conv2d_backward_weight"), gg, Tensor(), q));
      if (c.needs(1)) c.set(1, conv_backward_input(sg.get("conv2d_backward_weight"), gg, q));
    });
  if (any_tangent({&gy, &x}))
    propagate_tangent("conv2d_backward_weight", {&gy, &x}, {&dw}, [&](JvpCtx& c) {  // bilinear in gy and x
      Tensor t = c.has(0) ? conv_backward_weight(c.tangent(0), x, q) : Tensor();
      if (c.has(1)) t = detail::tangent_add(t, conv_backward_weight(gy, c.tangent(1), q));
      c.set(0, t);
    });
  return dw;
}

// One convolution over `spatial` (1 or 2) dims, after the padding was resolved to (before, after) per dim.
Tensor conv_impl(const Tensor& x0, const Tensor& w0, const Tensor& b, int spatial, std::array<std::int64_t, 2> s,
                 std::array<std::int64_t, 2> p0, std::array<std::int64_t, 2> p1, std::array<std::int64_t, 2> d,
                 std::int64_t groups, const char* op) {
  check_floating(x0, op);
  detail::check_same_dtype(x0, w0, op);
  const char* dims = spatial == 1 ? "L" : "H, W";
  if (x0.dim() != spatial + 1 && x0.dim() != spatial + 2)
    fail("{}: expected input [N, C, {}] or [C, {}], got {}", op, dims, dims, describe(x0));
  if (w0.dim() != spatial + 2)
    fail("{}: expected weight [out_channels, in_channels / groups, {}], got {}", op, spatial == 1 ? "k" : "kh, kw",
         describe(w0));
  if (groups <= 0) fail("{}: groups must be positive, got {}", op, groups);
  const bool batched = x0.dim() == spatial + 2;
  const auto ch = x0.size(batched ? 1 : 0), out = w0.size(0);
  if (out % groups != 0)
    fail("{}: out_channels {} (weight {}) is not divisible by groups {}", op, out, describe(w0), groups);
  if (ch % groups != 0 || ch / groups != w0.size(1)) {  // ch != w.size(1) groups, without overflowing int64
    const std::int64_t wc = w0.size(1);
    const bool fits = wc == 0 || groups <= std::numeric_limits<std::int64_t>::max() / wc;
    fail("{}: expected input with {} channels (weight {}, groups {}), got {}", op,
         fits ? fmt::format("{}", wc * groups) : fmt::format("{} x {}", wc, groups), describe(w0), groups,
         describe(x0));
  }
  if (b.defined()) {
    detail::check_same_dtype(x0, b, op);
    if (b.dim() != 1 || b.size(0) != out) fail("{}: expected bias [{}], got {}", op, out, describe(b));
  }
  Tensor x = batched ? x0 : unsqueeze(x0, 0);
  Tensor w = w0;
  if (spatial == 1) {  // a height of 1
    x = unsqueeze(x, 2);
    w = unsqueeze(w, 2);
  }
  const ConvGeom q{make_window(x, {w.size(2), w.size(3)}, s, p0, p1, d, op, &w0), x.size(0), ch, out, groups};
  Tensor y = conv_forward(x, w, b, q);
  if (spatial == 1) y = squeeze(y, 2);
  return batched ? y : squeeze(y, 0);
}

// Padding "same" / "valid" resolved to (before, after) for the kernel of w.
void resolve_padding(std::string_view mode, const Tensor& w, int spatial, std::array<std::int64_t, 2> s,
                     std::array<std::int64_t, 2> d, std::array<std::int64_t, 2>& p0, std::array<std::int64_t, 2>& p1,
                     const char* op) {
  p0 = {0, 0};
  p1 = {0, 0};
  if (mode == "valid") return;
  if (mode != "same") fail("{}: padding must be \"same\" or \"valid\", got \"{}\"", op, mode);
  if (w.dim() != spatial + 2)
    fail("{}: expected weight [out_channels, in_channels / groups, {}], got {}", op, spatial == 1 ? "k" : "kh, kw",
         describe(w));
  for (int i = 2 - spatial; i < 2; ++i) {
    if (s[static_cast<std::size_t>(i)] != 1)
      fail("{}: padding \"same\" is not supported for strided convolutions (stride {})", op,
           s[static_cast<std::size_t>(i)]);
    const auto iu = static_cast<std::size_t>(i);
    const auto total = d[iu] * (w.size(spatial + i) - 1);  // kernel dim 2 + i - (2 - spatial)
    p0[iu] = total / 2;
    p1[iu] = total - p0[iu];
  }
}

}  // namespace

Tensor im2col(const Tensor& x, ExpandingArray<2> k, ExpandingArray<2> d, ExpandingArray<2> p, ExpandingArray<2> s) {
  check_floating(x, "im2col");
  if (x.dim() != 4 && x.dim() != 3) fail("im2col: expected input [N, C, H, W] or [C, H, W], got {}", describe(x));
  if (x.dim() == 3) return squeeze(im2col(unsqueeze(x, 0), k, d, p, s), 0);
  return im2col_op(x, make_window(x, *k, *s, *p, *p, *d, "im2col", nullptr));
}

Tensor col2im(const Tensor& cols, ExpandingArray<2> output_size, ExpandingArray<2> k, ExpandingArray<2> d,
              ExpandingArray<2> p, ExpandingArray<2> s) {
  check_floating(cols, "col2im");
  if (cols.dim() != 3 && cols.dim() != 2)
    fail("col2im: expected input [N, C kh kw, L] or [C kh kw, L], got {}", describe(cols));
  if (cols.dim() == 2) return squeeze(col2im(unsqueeze(cols, 0), output_size, k, d, p, s), 0);
  for (std::size_t i = 0; i < 2; ++i) check_positive(output_size[i], "output size", "col2im");
  check_positive(k[0], "kernel size", "col2im");
  check_positive(k[1], "kernel size", "col2im");
  if (k[1] > std::numeric_limits<std::int64_t>::max() / k[0])
    fail("col2im: kernel size {}x{} overflows int64 (input {})", k[0], k[1], describe(cols));
  const auto kk = k[0] * k[1];
  if (cols.size(1) % kk != 0)
    fail("col2im: expected input [N, C {}, L] (kernel {}x{}), got {}", kk, k[0], k[1], describe(cols));
  // the window is that of im2col over an [N, C, H, W] input
  const Tensor shape_of = empty({1, 1, output_size[0], output_size[1]}, cols.dtype());
  const Window2d g = make_window(shape_of, *k, *s, *p, *p, *d, "col2im", nullptr);
  if (cols.size(2) != g.oh * g.ow)
    fail("col2im: expected input [N, C kh kw, {}] ({} x {} window positions for output size {}x{}), got {}",
         g.oh * g.ow, g.oh, g.ow, output_size[0], output_size[1], describe(cols));
  return col2im_op(cols, g);
}

Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b, ExpandingArray<2> s, ExpandingArray<2> p,
              ExpandingArray<2> d, std::int64_t groups) {
  return conv_impl(x, w, b, 2, *s, *p, *p, *d, groups, "conv2d");
}

Tensor detail::conv2d_mode(const Tensor& x, const Tensor& w, const Tensor& b, ExpandingArray<2> s,
                           std::string_view padding, ExpandingArray<2> d, std::int64_t groups) {
  std::array<std::int64_t, 2> p0{}, p1{};
  resolve_padding(padding, w, 2, *s, *d, p0, p1, "conv2d");
  return conv_impl(x, w, b, 2, *s, p0, p1, *d, groups, "conv2d");
}

Tensor conv1d(const Tensor& x, const Tensor& w, const Tensor& b, ExpandingArray<1> s, ExpandingArray<1> p,
              ExpandingArray<1> d, std::int64_t groups) {
  return conv_impl(x, w, b, 1, {1, s[0]}, {0, p[0]}, {0, p[0]}, {1, d[0]}, groups, "conv1d");
}

Tensor detail::conv1d_mode(const Tensor& x, const Tensor& w, const Tensor& b, ExpandingArray<1> s,
                           std::string_view padding, ExpandingArray<1> d, std::int64_t groups) {
  std::array<std::int64_t, 2> p0{}, p1{};
  resolve_padding(padding, w, 1, {1, s[0]}, {1, d[0]}, p0, p1, "conv1d");
  return conv_impl(x, w, b, 1, {1, s[0]}, p0, p1, {1, d[0]}, groups, "conv1d");
}

}  // namespace ag
