#include "autograd/ops/pool.h"

#include <algorithm>
#include <array>
#include <limits>
#include <memory>

#include "autograd/factory.h"
#include "autograd/forward_grad.h"
#include "autograd/kernels/conv.h"
#include "autograd/ops/index.h"
#include "autograd/ops/shape_ops.h"
#include "autograd/ops/util.h"
#include "autograd/parallel.h"
#include "autograd/tape.h"

namespace ag {

namespace {

using kernels::AvgAxis;
using kernels::Window2d;
using Pair = std::array<std::int64_t, 2>;

// x checked floating of rank spatial + 1 (unbatched) or spatial + 2, viewed as [N, C, H, W] (a 1-D op
// has H = 1).
Tensor as_4d(const Tensor& x, int spatial, const char* op) {
  if (!is_floating(x.checked(op).dtype))
    fail("{}: expected a floating tensor (float32 or float64), got {}", op, describe(x));
  const char* dims = spatial == 1 ? "L" : "H, W";
  if (x.dim() != spatial + 1 && x.dim() != spatial + 2)
    fail("{}: expected input [N, C, {}] or [C, {}], got {}", op, dims, dims, describe(x));
  Tensor y = x.dim() == spatial + 2 ? x : unsqueeze(x, 0);
  return spatial == 1 ? unsqueeze(y, 2) : y;
}

// y [N, C, oh, ow] back to the input's layout.
Tensor from_4d(const Tensor& y, const Tensor& x, int spatial) {
  Tensor r = spatial == 1 ? squeeze(y, 2) : y;
  return x.dim() == spatial + 2 ? r : squeeze(r, 0);
}

// Pooling output size along one dim (torch's pooling_output_shape), after checking the arguments.
std::int64_t pool_out(std::int64_t in, std::int64_t k, std::int64_t s, std::int64_t p, std::int64_t d, bool ceil,
                      const char* op, const Tensor& x) {
  if (k <= 0 || s <= 0 || d <= 0 || p < 0)
    fail(
        "{}: kernel size, stride and dilation must be positive and padding non-negative, got kernel {}, stride {}, "
        "padding {}, dilation {}",
        op, k, s, p, d);
  if (p > k / 2) fail("{}: padding {} must be at most half the kernel size {}", op, p, k);
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  if (k > 1 && d > (kMax - 1) / (k - 1))
    fail("{}: dilation {} times kernel size {} overflows int64 (input {})", op, d, k, describe(x));
  if (p > (kMax - in) / 2) fail("{}: padding {} overflows int64 with the input size {}", op, p, in);
  const std::int64_t span = d * (k - 1) + 1;
  if (in + 2 * p < span)
    fail("{}: kernel size {} is larger than the padded input size {} (input {})", op, span, in + 2 * p, describe(x));
  const std::int64_t room = in + 2 * p - span;  // the ceiling division without forming room + s - 1
  std::int64_t out = room / s + 1 + (ceil && room % s != 0 ? 1 : 0);
  if (ceil && out - 1 > (in + p - 1) / s) --out;  // (out - 1) s >= in + p: the last window starts in the padding
  return out;
}

std::tuple<Tensor, Tensor> max_pool_impl(const Tensor& x0, int spatial, Pair k, Pair s, Pair p, Pair d, bool ceil,
                                         const char* op) {
  const Tensor x = as_4d(x0, spatial, op);
  const auto n = x.size(0), ch = x.size(1), h = x.size(2), w = x.size(3);
  const auto oh = pool_out(h, k[0], s[0], p[0], d[0], ceil, op, x0),
             ow = pool_out(w, k[1], s[1], p[1], d[1], ceil, op, x0);
  const Window2d g{h, w, k[0], k[1], s[0], s[1], p[0], p[1], d[0], d[1], oh, ow};
  Tensor y = empty({n, ch, oh, ow}, x.dtype(), op);
  Tensor idx = empty({n, ch, oh, ow}, kInt64, op);
  dispatch_floating(x.dtype(), op, [&]<class T>() {
    const T* px = x.cdata<T>();
    T* py = y.data<T>();
    std::int64_t* pi = idx.data<std::int64_t>();
    const std::int64_t grain = std::max<std::int64_t>(1, kParallelGrain / std::max<std::int64_t>(h * w, 1));
    parallel_for(0, n * ch, grain, [&](std::int64_t b, std::int64_t e) {
      kernels::max_pool2d(px + b * h * w, py + b * oh * ow, pi + b * oh * ow, e - b, g);
    });
  });
  if (any_requires_grad({&x0})) {  // the same values, as a recorded gather (whose JVP gathers the tangent)
    y = reshape(gather(reshape(x, {n, ch, h * w}), 2, reshape(idx, {n, ch, oh * ow})), {n, ch, oh, ow});
  } else if (any_tangent({&x})) {  // not recorded: the tangent gathered at the argmax indices
    propagate_tangent(op, {&x}, {&y}, [&](JvpCtx& c) {
      c.set(0,
            reshape(gather(reshape(c.tangent(0), {n, ch, h * w}), 2, reshape(idx, {n, ch, oh * ow})), {n, ch, oh, ow}));
    });
  }
  return {from_4d(y, x0, spatial), from_4d(idx, x0, spatial)};
}

struct Axes {
  AvgAxis rows, cols;
  std::int64_t h, w;
};

Tensor window_average_adjoint(const Tensor& g, const std::shared_ptr<const Axes>& a);

// y [N, C, oh, ow] = the windows' weighted sums of x [N, C, H, W].
Tensor window_average(const Tensor& x, const std::shared_ptr<const Axes>& a) {
  const auto n = x.size(0), ch = x.size(1);
  const auto oh = static_cast<std::int64_t>(a->rows.start.size()), ow = static_cast<std::int64_t>(a->cols.start.size());
  Tensor y = empty({n, ch, oh, ow}, x.dtype(), "avg_pool2d");
  dispatch_floating(x.dtype(), "avg_pool2d", [&]<class T>() {
    const T* px = x.cdata<T>();
    T* py = y.data<T>();
    const std::int64_t grain = std::max<std::int64_t>(1, kParallelGrain / std::max<std::int64_t>(a->h * a->w, 1));
    parallel_for(0, n * ch, grain, [&](std::int64_t b, std::int64_t e) {
      kernels::window_average(px + b * a->h * a->w, py + b * oh * ow, e - b, a->h, a->w, a->rows, a->cols);
    });
  });
  if (any_requires_grad({&x}))
    record("avg_pool2d", {&x}, {&y}, [a](BackwardCtx& c) { c.set(0, window_average_adjoint(c.grad(), a)); });
  if (any_tangent({&x}))  // linear: the same pooling of the tangent
    propagate_tangent("avg_pool2d", {&x}, {&y}, [&](JvpCtx& c) { c.set(0, window_average(c.tangent(0), a)); });
  return y;
}

// The adjoint: g [N, C, oh, ow] spread back over the windows into [N, C, H, W].
Tensor window_average_adjoint(const Tensor& g, const std::shared_ptr<const Axes>& a) {
  const auto n = g.size(0), ch = g.size(1);
  const auto oh = static_cast<std::int64_t>(a->rows.start.size()), ow = static_cast<std::int64_t>(a->cols.start.size());
  Tensor y = zeros({n, ch, a->h, a->w}, g.dtype());
  dispatch_floating(g.dtype(), "avg_pool2d_backward", [&]<class T>() {
    const T* pg = g.cdata<T>();
    T* py = y.data<T>();
    const std::int64_t grain = std::max<std::int64_t>(1, kParallelGrain / std::max<std::int64_t>(a->h * a->w, 1));
    parallel_for(0, n * ch, grain, [&](std::int64_t b, std::int64_t e) {
      kernels::window_average_adjoint(pg + b * oh * ow, py + b * a->h * a->w, e - b, a->h, a->w, a->rows, a->cols);
    });
  });
  if (any_requires_grad({&g}))
    record("avg_pool2d_backward", {&g}, {&y}, [a](BackwardCtx& c) { c.set(0, window_average(c.grad(), a)); });
  if (any_tangent({&g}))  // linear: the op on the tangent
    propagate_tangent("avg_pool2d_backward", {&g}, {&y},
                      [&](JvpCtx& c) { c.set(0, window_average_adjoint(c.tangent(0), a)); });
  return y;
}

AvgAxis avg_axis(std::int64_t in, std::int64_t k, std::int64_t s, std::int64_t p, std::int64_t out,
                 bool count_include_pad) {
  AvgAxis ax;
  for (std::int64_t o = 0; o < out; ++o) {
    std::int64_t b = o * s - p, e = std::min(b + k, in + p);
    const std::int64_t pool = e - b;
    b = std::max<std::int64_t>(b, 0);
    e = std::min(e, in);
    ax.start.push_back(b);
    ax.end.push_back(e);
    const std::int64_t div = count_include_pad ? pool : e - b;
    ax.scale.push_back(div > 0 ? 1.0 / static_cast<double>(div) : 0.0);
  }
  return ax;
}

AvgAxis adaptive_axis(std::int64_t in, std::int64_t out) {
  AvgAxis ax;
  for (std::int64_t o = 0; o < out; ++o) {
    const std::int64_t b = o * in / out, e = ((o + 1) * in + out - 1) / out;
    ax.start.push_back(b);
    ax.end.push_back(e);
    ax.scale.push_back(1.0 / static_cast<double>(e - b));
  }
  return ax;
}

Tensor avg_pool_impl(const Tensor& x0, int spatial, Pair k, Pair s, Pair p, bool ceil, bool count_include_pad,
                     const char* op) {
  const Tensor x = as_4d(x0, spatial, op);
  const auto h = x.size(2), w = x.size(3);
  const auto oh = pool_out(h, k[0], s[0], p[0], 1, ceil, op, x0), ow = pool_out(w, k[1], s[1], p[1], 1, ceil, op, x0);
  auto a = std::make_shared<Axes>(Axes{avg_axis(h, k[0], s[0], p[0], oh, count_include_pad),
                                       avg_axis(w, k[1], s[1], p[1], ow, count_include_pad), h, w});
  return from_4d(window_average(x, a), x0, spatial);
}

Tensor adaptive_impl(const Tensor& x0, int spatial, Pair out, const char* op) {
  const Tensor x = as_4d(x0, spatial, op);
  const auto h = x.size(2), w = x.size(3);
  if (out[0] <= 0 || out[1] <= 0)
    fail("{}: output size must be positive, got {}", op,
         spatial == 1 ? fmt::format("{}", out[1]) : fmt::format("{}x{}", out[0], out[1]));
  if (h == 0 || w == 0) fail("{}: expected a non-empty input, got {}", op, describe(x0));
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  if (out[0] > kMax / (h + 1) || out[1] > kMax / (w + 1))  // adaptive_axis forms (o + 1) in + out - 1
    fail("{}: output size {}x{} overflows int64 with input {}", op, out[0], out[1], describe(x0));
  auto a = std::make_shared<Axes>(Axes{adaptive_axis(h, out[0]), adaptive_axis(w, out[1]), h, w});
  return from_4d(window_average(x, a), x0, spatial);
}

Pair stride_or_kernel(const ExpandingArray<2>& s, const ExpandingArray<2>& k) { return s.empty() ? *k : *s; }
Pair stride_or_kernel1(const ExpandingArray<1>& s, const ExpandingArray<1>& k) { return {1, s.empty() ? k[0] : s[0]}; }

}  // namespace

std::tuple<Tensor, Tensor> max_pool2d_with_indices(const Tensor& x, ExpandingArray<2> k, ExpandingArray<2> s,
                                                   ExpandingArray<2> p, ExpandingArray<2> d, bool ceil_mode) {
  return max_pool_impl(x, 2, *k, stride_or_kernel(s, k), *p, *d, ceil_mode, "max_pool2d");
}

Tensor max_pool2d(const Tensor& x, ExpandingArray<2> k, ExpandingArray<2> s, ExpandingArray<2> p, ExpandingArray<2> d,
                  bool ceil_mode) {
  return std::get<0>(max_pool_impl(x, 2, *k, stride_or_kernel(s, k), *p, *d, ceil_mode, "max_pool2d"));
}

std::tuple<Tensor, Tensor> max_pool1d_with_indices(const Tensor& x, ExpandingArray<1> k, ExpandingArray<1> s,
                                                   ExpandingArray<1> p, ExpandingArray<1> d, bool ceil_mode) {
  return max_pool_impl(x, 1, {1, k[0]}, stride_or_kernel1(s, k), {0, p[0]}, {1, d[0]}, ceil_mode, "max_pool1d");
}

Tensor max_pool1d(const Tensor& x, ExpandingArray<1> k, ExpandingArray<1> s, ExpandingArray<1> p, ExpandingArray<1> d,
                  bool ceil_mode) {
  return std::get<0>(max_pool1d_with_indices(x, k, s, p, d, ceil_mode));
}

Tensor avg_pool2d(const Tensor& x, ExpandingArray<2> k, ExpandingArray<2> s, ExpandingArray<2> p, bool ceil_mode,
                  bool count_include_pad) {
  return avg_pool_impl(x, 2, *k, stride_or_kernel(s, k), *p, ceil_mode, count_include_pad, "avg_pool2d");
}

Tensor avg_pool1d(const Tensor& x, ExpandingArray<1> k, ExpandingArray<1> s, ExpandingArray<1> p, bool ceil_mode,
                  bool count_include_pad) {
  return avg_pool_impl(x, 1, {1, k[0]}, stride_or_kernel1(s, k), {0, p[0]}, ceil_mode, count_include_pad, "avg_pool1d");
}

Tensor adaptive_avg_pool2d(const Tensor& x, ExpandingArray<2> output_size) {
  return adaptive_impl(x, 2, *output_size, "adaptive_avg_pool2d");
}

Tensor adaptive_avg_pool1d(const Tensor& x, ExpandingArray<1> output_size) {
  return adaptive_impl(x, 1, {1, output_size[0]}, "adaptive_avg_pool1d");
}

}  // namespace ag
