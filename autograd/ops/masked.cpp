// masked_fill is where() with the mask checked and its broadcast limited to x's shape; masked_select
// is index_select of the mask's positions from x (broadcast and flattened), so both are recorded
// through the ops they are made of.
#include "autograd/ops/masked.h"

#include "autograd/ops/convert.h"

#include "autograd/factory.h"
#include "autograd/ops/compare.h"
#include "autograd/ops/index.h"
#include "autograd/ops/indexing.h"
#include "autograd/ops/shape_ops.h"
#include "autograd/ops/util.h"

namespace ag {

namespace {

void check_fill_mask(const Tensor& x, const Tensor& mask, const char* op) {
  x.checked(op);
  (void)detail::mask_values(mask, op);
  if (!detail::broadcasts_to(mask.shape(), x.shape()))
    fail("{}: the mask {} cannot be broadcast to the shape of {}", op, describe(mask), describe(x));
}

}  // namespace

Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
  check_fill_mask(x, mask, "masked_fill");
  return where(mask, value, x);
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, const Tensor& value) {
  check_fill_mask(x, mask, "masked_fill");
  if (value.checked("masked_fill").shape.size() != 0)
    fail("masked_fill: only supports a 0-dimensional value tensor, got {}", describe(value));
  // a 0-d value is a scalar: converted to x's dtype (differentiably), as libtorch's
  return where(mask, expand(to(value, x.dtype()), x.shape()), x);
}

Tensor masked_select(const Tensor& x, const Tensor& mask) {
  x.checked("masked_select");
  const auto vals = detail::mask_values(mask, "masked_select");
  const Shape shape = broadcast_shapes(x.shape(), mask.shape(), "masked_select");
  std::vector<std::int64_t> pos;
  if (mask.shape() == shape) {
    for (std::size_t k = 0; k < vals.size(); ++k)
      if (vals[k]) pos.push_back(static_cast<std::int64_t>(k));
  } else {
    const auto m = detail::mask_values(expand(mask.detach(), shape), "masked_select");
    for (std::size_t k = 0; k < m.size(); ++k)
      if (m[k]) pos.push_back(static_cast<std::int64_t>(k));
  }
  const auto n = static_cast<std::int64_t>(pos.size());
  return index_select(reshape(expand(x, shape), {shape_numel(shape)}), 0, tensor(pos, {n}, kInt64));
}

}  // namespace ag
