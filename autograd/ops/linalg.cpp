#include "autograd/ops/linalg.h"

#include <algorithm>
#include <optional>

#include "autograd/forward_grad.h"
#include "autograd/kernels/blas.h"
#include "autograd/ops/shape_ops.h"
#include "autograd/ops/util.h"
#include "autograd/tape.h"

namespace ag {

namespace {

Shape batch_of(const Shape& s) { return Shape(s.begin(), s.end() - 2); }

// Offset in matrices of batch index `i` of `out_batch` inside a tensor with batch shape `b`.
std::int64_t batch_offset(std::int64_t i, const Shape& out_batch, const Shape& strides) {
  std::int64_t off = 0;
  for (std::size_t d = out_batch.size(); d-- > 0;) {
    off += (i % out_batch[d]) * strides[d];
    i /= out_batch[d];
  }
  return off;
}

bool batches_broadcast(const Shape& a, const Shape& b) {
  for (std::size_t i = 1; i <= std::min(a.size(), b.size()); ++i) {
    const auto da = a[a.size() - i], db = b[b.size() - i];
    if (da != db && da != 1 && db != 1) return false;
  }
  return true;
}

/// For a view whose last two dims are transposed relative to a row-major layout (x.t(), or
/// transpose(-1, -2) of a batch), that row-major tensor; else nullopt. matmul hands it to the GEMM
/// with a transpose flag instead of copying the view (see Note: views).
std::optional<Tensor> untransposed(const Tensor& x) {
  if (!detail::transposed_row_major(*x.impl())) return std::nullopt;
  return transpose(x, -1, -2);  // a row-major view of the same storage: no copy
}

/// matmul_transposed(a, b, false, false) with transposed views read through transpose flags.
Tensor matmul_flags(const Tensor& a, const Tensor& b) {
  const auto ua = untransposed(a), ub = untransposed(b);
  if (!ua && !ub) [[likely]]
    return matmul_transposed(a, b, false, false);
  return matmul_transposed(ua ? *ua : a, ub ? *ub : b, ua.has_value(), ub.has_value());
}

}  // namespace

Tensor matmul_transposed(const Tensor& a, const Tensor& b, bool ta, bool tb) {
  detail::check_same_dtype(a, b, "matmul");
  if (a.dim() < 2 || b.dim() < 2)
    fail("matmul_transposed: needs inputs of rank >= 2, got {} and {}", describe(a), describe(b));
  const Shape& as = a.shape();
  const Shape& bs = b.shape();
  const std::size_t ra = as.size(), rb = bs.size();
  const auto m = ta ? as[ra - 1] : as[ra - 2];
  const auto ka = ta ? as[ra - 2] : as[ra - 1];
  const auto kb = tb ? bs[rb - 1] : bs[rb - 2];
  const auto n = tb ? bs[rb - 2] : bs[rb - 1];
  if (ka != kb)
    fail("matmul: inner dimensions do not match: {}{} @ {}{} ({} vs {})", describe(a), ta ? "^T" : "", describe(b),
         tb ? "^T" : "", ka, kb);
  const Shape ba = batch_of(as), bb = batch_of(bs);
  if (!batches_broadcast(ba, bb))
    fail("matmul: batch dimensions of {} and {} do not broadcast ({} vs {})", describe(a), describe(b), shape_str(ba),
         shape_str(bb));
  const Shape batch = broadcast_shapes(ba, bb, "matmul");
  Shape out = batch;
  out.push_back(m);
  out.push_back(n);
  Tensor y = empty(out, a.dtype(), "matmul");
  const std::int64_t nbatch = shape_numel(batch);
  if (y.numel() > 0)
    dispatch_floating(a.dtype(), "matmul", [&]<class T>() {
      const T* pa = a.cdata<T>();
      const T* pb = b.cdata<T>();
      T* py = y.cdata<T>();
      if (shape_numel(bb) == 1 && !ta && shape_numel(ba) == nbatch) {
        kernels::gemm(false, tb, nbatch * m, n, ka, pa, pb, py);  // fold the batch into M
        return;
      }
      const Shape sa = broadcast_strides(ba, batch), sb = broadcast_strides(bb, batch);
      for (std::int64_t i = 0; i < nbatch; ++i) {
        const auto oa = batch_offset(i, batch, sa) * m * ka, ob = batch_offset(i, batch, sb) * ka * n;
        kernels::gemm(ta, tb, m, n, ka, pa + oa, pb + ob, py + i * m * n);
      }
    });
  if (any_requires_grad({&a, &b}))
    record("matmul", {&a, &b}, {&y}, [sa = SavedTensor(a), sb = SavedTensor(b), ta, tb](BackwardCtx& c) {
      const Tensor A = sa.get("matmul"), B = sb.get("matmul");
      const Tensor& G = c.grad();
      if (c.needs(0)) {
        Tensor ga = !ta ? (!tb ? matmul_transposed(G, B, false, true) : matmul_transposed(G, B, false, false))
                        : (!tb ? matmul_transposed(B, G, false, true) : matmul_transposed(B, G, true, true));
        c.set(0, sum_to(ga, A.shape()));
      }
      if (c.needs(1)) {
        const bool fold = B.dim() == 2 && A.dim() > 2 && !ta;
        if (fold) {
          const auto k = A.shape().back(), nn = G.shape().back();
          const Tensor A2 = reshape(A, {-1, k}), G2 = reshape(G, {-1, nn});
          c.set(1, tb ? matmul_transposed(G2, A2, true, false) : matmul_transposed(A2, G2, true, false));
        } else {
          Tensor gb = !tb ? (!ta ? matmul_transposed(A, G, true, false) : matmul_transposed(A, G, false, false))
                          : (!ta ? matmul_transposed(G, A, true, false) : matmul_transposed(G, A, true, true));
          c.set(1, sum_to(gb, B.shape()));
        }
      }
    });
  if (any_tangent({&a, &b}))  // bilinear: dA B + A dB, with the same transposes
    propagate_tangent("matmul", {&a, &b}, {&y}, [&](JvpCtx& c) {
      const Tensor da = c.has(0) ? matmul_transposed(c.tangent(0), b, ta, tb) : Tensor();
      const Tensor db = c.has(1) ? matmul_transposed(a, c.tangent(1), ta, tb) : Tensor();
      c.set(0, detail::tangent_add(da, db));
    });
  return y;
}

Tensor matmul(const Tensor& a, const Tensor& b) {
  detail::check_same_dtype(a, b, "matmul");
  if (a.dim() == 0 || b.dim() == 0)
    fail("matmul: both arguments need at least 1 dim, got {} and {}", describe(a), describe(b));
  const auto ka = a.shape().back(), kb = b.dim() == 1 ? b.shape()[0] : b.shape()[b.shape().size() - 2];
  if (ka != kb) fail("matmul: inner dimensions do not match: {} @ {} ({} vs {})", describe(a), describe(b), ka, kb);
  if (a.dim() == 1 && b.dim() == 1)
    return reshape(matmul_transposed(reshape(a, {1, -1}), reshape(b, {-1, 1}), false, false), {});
  if (a.dim() == 1) return squeeze(matmul_flags(unsqueeze(a, 0), b), -2);
  if (b.dim() == 1) return squeeze(matmul_flags(a, unsqueeze(b, 1)), -1);
  return matmul_flags(a, b);
}

Tensor mm(const Tensor& a, const Tensor& b) {
  if (a.dim() != 2 || b.dim() != 2) fail("mm: expects 2-D inputs, got {} and {}", describe(a), describe(b));
  return matmul_flags(a, b);
}

}  // namespace ag
