#include "autograd/forward_ad.h"

#include "autograd/error.h"
#include "autograd/forward_grad.h"
#include "autograd/tape.h"

namespace ag::autograd::forward_ad {

namespace {
// An alias of x (same storage and strides), recorded as an identity for reverse mode.
Tensor alias_of(const Tensor& x, const char* op) {
  const TensorImpl& im = x.checked(op);
  Tensor y = im.view ? make_view(x, im.shape, im.view->strides, im.offset) : alias_with_shape(x, im.shape);
  if (any_requires_grad({&x})) record(op, {&x}, {&y}, [](BackwardCtx& c) { c.set(0, c.grad()); });
  return y;
}
}  // namespace

dual_level::dual_level() : level_(ag::detail::enter_fw_level()) {}
dual_level::~dual_level() { ag::detail::exit_fw_level(level_); }

bool is_active() { return ag::detail::fw_level() != 0; }

Tensor make_dual(const Tensor& primal, const Tensor& tangent) {
  if (!is_active())
    fail("make_dual: no forward-AD level is active; make dual tensors inside a forward_ad::dual_level scope");
  const TensorImpl& p = primal.checked("make_dual");
  const TensorImpl& g = tangent.checked("make_dual");
  if (!is_floating(p.dtype)) fail("make_dual: the primal must be float32 or float64, got {}", describe(primal));
  if (g.shape != p.shape || g.dtype != p.dtype)
    fail("make_dual: the tangent {} must have the shape and dtype of the primal {}", describe(tangent),
         describe(primal));
  if (ag::detail::get_tangent(tangent).defined())
    fail("make_dual: the tangent {} is itself a dual tensor: forward over forward mode is not supported",
         describe(tangent));
  Tensor y;
  {
    ag::detail::FwSuspend suspend;  // the alias is not an op on a dual primal
    y = alias_of(primal, "make_dual");
  }
  ag::detail::set_tangent(y, tangent, "make_dual");
  return y;
}

UnpackedDualTensor unpack_dual(const Tensor& tensor) {
  tensor.checked("unpack_dual");
  if (is_active()) ag::detail::check_no_pending();
  Tensor tangent = ag::detail::get_tangent(tensor);
  if (!tangent.defined()) return {tensor, Tensor()};
  Tensor primal;
  {
    ag::detail::FwSuspend suspend;
    primal = alias_of(tensor, "unpack_dual");
  }
  return {primal, tangent};
}

}  // namespace ag::autograd::forward_ad
