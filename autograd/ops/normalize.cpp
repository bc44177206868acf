#include "autograd/ops/normalize.h"

#include "autograd/forward_grad.h"
#include "autograd/grad_mode.h"
#include "autograd/kernels/normalize.h"
#include "autograd/ops/arith.h"
#include "autograd/ops/reduce.h"
#include "autograd/ops/shape_ops.h"
#include "autograd/ops/util.h"
#include "autograd/tape.h"

namespace ag {

std::tuple<Tensor, Tensor> normalize_rows(const Tensor& x, std::int64_t rows, double eps) {
  const char* op = "normalize_rows";
  if (!x.defined()) fail("{}: the input is undefined", op);
  if (!is_floating(x.dtype())) fail("{}: expected a floating input, got {}", op, describe(x));
  const std::int64_t total = x.numel();
  if (rows <= 0 || total == 0 || total % rows != 0)
    fail("{}: cannot read the input {} as {} non-empty rows", op, describe(x), rows);
  if (!(eps >= 0)) fail("{}: eps must be non-negative, got {}", op, eps);
  const std::int64_t n = total / rows;
  Tensor y = empty(x.shape(), x.dtype()), rstd = empty({rows}, x.dtype());
  dispatch_floating(x.dtype(), op, [&]<class T>() {
    kernels::normalize_rows(x.cdata<T>(), y.cdata<T>(), rstd.cdata<T>(), rows, n, eps);
  });
  if (any_requires_grad({&x}))
    record(
        op, {&x}, {&y, &rstd},
        [rows, n](BackwardCtx& c) {
          const Tensor xh = reshape(c.output(0), {rows, n}), r = reshape(c.output(1), {rows, 1});
          const Tensor g = reshape(c.grad(0), {rows, n});
          Tensor dx = r * (g - mean(g, 1, true) - xh * mean(g * xh, 1, true));
          // rstd's gradient: zeros unless rstd itself was used (skipped then, except in a recorded
          // backward, where even a zero gradient may depend on what is differentiated next).
          bool rstd_used = GradMode::is_enabled();
          if (!rstd_used)
            for (double v : c.grad(1).to_vector<double>()) rstd_used |= v != 0;
          if (rstd_used) dx = dx - (reshape(c.grad(1), {rows, 1}) * (r * r) / static_cast<double>(n)) * xh;
          c.set(0, reshape(dx, c.output(0).shape()));
        },
        Keep::Output);
  if (any_tangent({&x}))
    propagate_tangent(op, {&x}, {&y, &rstd}, [&](JvpCtx& c) {
      // with xh = y and r = rstd per row: ty = r (tx - mean(tx) - xh mean(tx xh)),  trstd = -r^2 mean(tx xh)
      const Tensor xh = reshape(y, {rows, n}), r = reshape(rstd, {rows, 1});
      const Tensor tx = reshape(c.tangent(0), {rows, n});
      const Tensor m = mean(tx * xh, 1, true);
      c.set(0, reshape(r * (tx - mean(tx, 1, true) - xh * m), y.shape()));
      c.set(1, reshape(neg(r * r * m), {rows}));
    });
  return {y, rstd};
}

}  // namespace ag
