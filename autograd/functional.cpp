// The functional transforms of functional.h, as PyTorch 1.13's torch/autograd/functional.py
// computes them (same preprocessing, same strict checks, same double-backward tricks), on ag::grad.
#include "autograd/functional.h"

#include <string>
#include <string_view>

#include "autograd/engine.h"
#include "autograd/error.h"
#include "autograd/factory.h"
#include "autograd/forward_ad.h"
#include "autograd/grad_mode.h"
#include "autograd/ops/index.h"
#include "autograd/ops/shape_ops.h"

namespace ag::autograd::functional {
namespace {

// The inputs the function sees: detached leaves requiring grad, or, with create_graph, an alias of
// an input that already requires grad (so the results stay connected to it).
variable_list prepare_inputs(const variable_list& inputs, bool create_graph, const char* api) {
  variable_list out;
  out.reserve(inputs.size());
  for (std::size_t j = 0; j < inputs.size(); ++j) {
    const Tensor& x = inputs[j];
    if (!x.defined()) fail("autograd::functional::{}: input {} is an undefined tensor", api, j);
    if (!is_floating(x.dtype()))
      fail("autograd::functional::{}: input {} ({}) must be a floating-point tensor", api, j, describe(x));
    if (create_graph && x.requires_grad()) {
      out.push_back(x.view(x.shape()));
    } else {
      Tensor d = x.detach();
      d.requires_grad_(true);
      out.push_back(std::move(d));
    }
  }
  return out;
}

void check_outputs(const variable_list& outputs, const char* api) {
  for (std::size_t i = 0; i < outputs.size(); ++i)
    if (!outputs[i].defined())
      fail("autograd::functional::{}: output {} of the user-provided function is an undefined tensor", api, i);
}

// v checked against `like` (the outputs for vjp, the inputs otherwise); omitted only when every
// tensor of `like` has one element (then ones).
variable_list prepare_v(const variable_list& v, const variable_list& like, const char* api, const char* what) {
  if (v.empty()) {
    variable_list ones;
    for (std::size_t i = 0; i < like.size(); ++i) {
      if (like[i].numel() != 1)
        fail("autograd::functional::{}: v may be omitted only when every {} has a single element, but {} {} is {}", api,
             what, what, i, describe(like[i]));
      ones.push_back(ones_like(like[i].detach()));
    }
    return ones;
  }
  if (v.size() != like.size())
    fail("autograd::functional::{}: v has {} tensors, the {}s {}", api, v.size(), what, like.size());
  for (std::size_t i = 0; i < v.size(); ++i)
    if (!v[i].defined() || v[i].shape() != like[i].shape() || v[i].dtype() != like[i].dtype())
      fail("autograd::functional::{}: v[{}] is {}, but {} {} is {} (shape and dtype must match)", api, i,
           v[i].defined() ? describe(v[i]) : std::string("undefined"), what, i, describe(like[i]));
  return v;
}

// ag::grad over the outputs that take part in the graph (PyTorch's _autograd_grad): an output that
// does not require grad contributes nothing; if none does, every result is undefined.
variable_list grad_of(const variable_list& outputs, const variable_list& inputs, const variable_list& grad_outputs,
                      bool create_graph, bool retain_graph) {
  variable_list outs, gos;
  for (std::size_t i = 0; i < outputs.size(); ++i)
    if (outputs[i].requires_grad()) {
      outs.push_back(outputs[i]);
      gos.push_back(grad_outputs.empty() ? Tensor() : grad_outputs[i]);
    }
  if (outs.empty()) return variable_list(inputs.size());
  if (grad_outputs.empty()) gos.clear();
  return ag::grad(outs, inputs, gos, retain_graph, create_graph, /*allow_unused=*/true);
}

// Undefined results become zeros shaped like refs[j], or, strict, an error (PyTorch's _fill_in_zeros).
void fill_in_zeros(variable_list& grads, const variable_list& refs, bool strict, const char* api, const char* message) {
  for (std::size_t j = 0; j < grads.size(); ++j) {
    if (grads[j].defined()) continue;
    if (strict) fail("autograd::functional::{}: {} {}; this is not allowed in strict mode", api, message, j);
    grads[j] = zeros_like(refs[j].detach());
  }
}

// Detached unless create_graph (PyTorch's _grad_postprocess).
variable_list postprocess(variable_list ts, bool create_graph) {
  if (!create_graph)
    for (Tensor& t : ts)
      if (t.defined()) t = t.detach();
  return ts;
}

Tensor postprocess(const Tensor& t, bool create_graph) { return create_graph ? t : t.detach(); }

Shape concat(const Shape& a, const Shape& b) {
  Shape s = a;
  for (auto d : b) s.push_back(d);
  return s;
}

Tensor single_output(const Tensor& out, const char* api) {
  if (!out.defined()) fail("autograd::functional::{}: the user-provided function returned an undefined tensor", api);
  if (out.numel() != 1)
    fail("autograd::functional::{}: the function given to {} must return a single-element tensor, got {}", api, api,
         describe(out));
  return out;
}

}  // namespace

std::pair<variable_list, variable_list> vjp(const MultiFn& func, const variable_list& inputs, const variable_list& v,
                                            bool create_graph, bool strict) {
  AutoGradMode on(true);
  const variable_list xs = prepare_inputs(inputs, create_graph, "vjp");
  variable_list outputs = func(xs);
  check_outputs(outputs, "vjp");
  const variable_list vs = prepare_v(v, outputs, "vjp", "output");
  variable_list res = grad_of(outputs, xs, vs, create_graph, create_graph);
  fill_in_zeros(res, xs, strict, "vjp", "the output of the user-provided function is independent of input");
  return {postprocess(std::move(outputs), create_graph), postprocess(std::move(res), create_graph)};
}

std::pair<Tensor, Tensor> vjp(const UnaryFn& func, const Tensor& input, const Tensor& v, bool create_graph,
                              bool strict) {
  auto [outs, res] = vjp([&](const variable_list& xs) { return variable_list{func(xs[0])}; }, variable_list{input},
                         v.defined() ? variable_list{v} : variable_list{}, create_graph, strict);
  return {outs[0], res[0]};
}

std::pair<variable_list, variable_list> jvp(const MultiFn& func, const variable_list& inputs, const variable_list& v,
                                            bool create_graph, bool strict) {
  AutoGradMode on(true);
  const variable_list xs = prepare_inputs(inputs, create_graph, "jvp");
  const variable_list vs = prepare_v(v, xs, "jvp", "input");
  variable_list outputs = func(xs);
  check_outputs(outputs, "jvp");
  // The double-backward trick: g(u) = J^T u is linear in u, so d<g(u), v>/du = J v.
  variable_list us;
  for (const Tensor& y : outputs) us.push_back(zeros_like(y.detach()).requires_grad_(true));
  variable_list g = grad_of(outputs, xs, us, /*create_graph=*/true, /*retain_graph=*/true);
  fill_in_zeros(g, xs, strict, "jvp", "the output of the user-provided function is independent of input");
  variable_list res = grad_of(g, us, vs, create_graph, create_graph);
  fill_in_zeros(res, outputs, strict, "jvp", "the Jacobian-vector product is independent of output");
  return {postprocess(std::move(outputs), create_graph), postprocess(std::move(res), create_graph)};
}

std::pair<Tensor, Tensor> jvp(const UnaryFn& func, const Tensor& input, const Tensor& v, bool create_graph,
                              bool strict) {
  auto [outs, res] = jvp([&](const variable_list& xs) { return variable_list{func(xs[0])}; }, variable_list{input},
                         v.defined() ? variable_list{v} : variable_list{}, create_graph, strict);
  return {outs[0], res[0]};
}

namespace {

// One JVP per input element (forward mode, forward_ad.h): column k of J[i][j] is the tangent of
// output i when input j carries the k-th unit tangent.
std::vector<variable_list> jacobian_forward(const MultiFn& func, const variable_list& inputs, bool create_graph,
                                            bool strict) {
  namespace fw = autograd::forward_ad;
  // Recorded as reverse mode is (grad mode on, inputs requiring grad), so that a function which
  // itself differentiates (vjp with create_graph inside) sees inputs that require grad, as PyTorch's.
  AutoGradMode on(true);
  const variable_list xs = prepare_inputs(inputs, create_graph, "jacobian");
  fw::dual_level level;
  std::vector<Shape> out_shapes;
  std::vector<Dtype> out_dtypes;
  std::vector<std::vector<variable_list>> cols;  // cols[i][j][k]: d outputs[i] / d xs[j][k], flattened
  auto call = [&](const variable_list& in) {
    variable_list outs = func(in);
    check_outputs(outs, "jacobian");
    if (out_shapes.empty() && !outs.empty()) {
      for (const Tensor& y : outs) {
        out_shapes.push_back(y.shape());
        out_dtypes.push_back(y.dtype());
      }
      cols.assign(outs.size(), std::vector<variable_list>(xs.size()));
    }
    return outs;
  };
  for (std::size_t j = 0; j < xs.size(); ++j) {
    const std::int64_t n = xs[j].numel();
    for (std::int64_t k = 0; k < n; ++k) {
      Tensor e = zeros(xs[j].shape(), TensorOptions().dtype(xs[j].dtype()));
      {
        NoGradGuard ng;
        e.view({-1}).select(0, k).fill_(1.0);
      }
      variable_list in = xs;
      in[j] = fw::make_dual(xs[j], e);
      const variable_list outs = call(in);
      for (std::size_t i = 0; i < outs.size(); ++i) {
        Tensor t = fw::unpack_dual(outs[i]).tangent;
        if (!t.defined()) {
          if (strict)
            fail(
                "autograd::functional::jacobian: output {} of the user-provided function is independent of input {}; "
                "this is not allowed in strict mode",
                i, j);
          t = zeros(outs[i].shape(), TensorOptions().dtype(outs[i].dtype()));
        }
        cols[i][j].push_back(t.reshape({-1}));
      }
    }
  }
  if (out_shapes.empty()) call(xs);  // every input empty: the outputs' shapes still
  std::vector<variable_list> jac(out_shapes.size(), variable_list(xs.size()));
  for (std::size_t i = 0; i < out_shapes.size(); ++i)
    for (std::size_t j = 0; j < xs.size(); ++j) {
      const Shape shape = concat(out_shapes[i], xs[j].shape());
      Tensor J = cols[i][j].empty() || shape_numel(shape) == 0 ? zeros(shape, TensorOptions().dtype(out_dtypes[i]))
                                                               : stack(cols[i][j], 1).reshape(shape);
      jac[i][j] = postprocess(J, create_graph);
    }
  return jac;
}

std::vector<variable_list> jacobian_reverse(const MultiFn& func, const variable_list& inputs, bool create_graph,
                                            bool strict);

}  // namespace

std::vector<variable_list> jacobian(const MultiFn& func, const variable_list& inputs, bool create_graph, bool strict,
                                    bool vectorize, std::string_view strategy) {
  (void)vectorize;  // no vmap: both strategies loop over passes (documented in functional.h)
  if (strategy == "reverse-mode") return jacobian_reverse(func, inputs, create_graph, strict);
  if (strategy == "forward-mode") return jacobian_forward(func, inputs, create_graph, strict);
  if (strategy == "auto") {
    // the fewer passes: one per output element (reverse) or one per input element (forward)
    std::int64_t n_in = 0, n_out = 0;
    for (const Tensor& x : inputs) n_in += x.defined() ? x.numel() : 0;
    {
      NoGradGuard ng;
      for (const Tensor& y : func(inputs)) n_out += y.defined() ? y.numel() : 0;
    }
    return n_in < n_out ? jacobian_forward(func, inputs, create_graph, strict)
                        : jacobian_reverse(func, inputs, create_graph, strict);
  }
  fail("autograd::functional::jacobian: strategy must be \"reverse-mode\", \"forward-mode\" or \"auto\", got \"{}\"",
       strategy);
}

namespace {
std::vector<variable_list> jacobian_reverse(const MultiFn& func, const variable_list& inputs, bool create_graph,
                                            bool strict) {
  AutoGradMode on(true);
  const variable_list xs = prepare_inputs(inputs, create_graph, "jacobian");
  const variable_list outputs = func(xs);
  check_outputs(outputs, "jacobian");
  std::size_t rows_left = 0;
  for (const Tensor& y : outputs) rows_left += static_cast<std::size_t>(y.numel());
  std::vector<variable_list> jac(outputs.size(), variable_list(xs.size()));
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const Tensor& y = outputs[i];
    const std::int64_t n = y.numel();
    std::vector<variable_list> rows(xs.size());  // rows[j][k] = d y.flatten()[k] / d xs[j]
    for (std::int64_t k = 0; k < n; ++k) {
      --rows_left;
      Tensor onehot = zeros({n}, TensorOptions().dtype(y.dtype()));
      {
        NoGradGuard no_grad;
        onehot.select(0, k).fill_(1.0);
      }
      // the graph is kept until the last row (and beyond it with create_graph)
      variable_list g = grad_of({y}, xs, {onehot.view(y.shape())}, create_graph, create_graph || rows_left > 0);
      for (std::size_t j = 0; j < xs.size(); ++j) {
        if (!g[j].defined()) {
          if (strict)
            fail(
                "autograd::functional::jacobian: output {} of the user-provided function is independent of input {}; "
                "this is not allowed in strict mode",
                i, j);
          g[j] = zeros_like(xs[j].detach());
        }
        rows[j].push_back(std::move(g[j]));
      }
    }
    for (std::size_t j = 0; j < xs.size(); ++j) {
      const Shape shape = concat(y.shape(), xs[j].shape());
      jac[i][j] = n == 0 ? zeros(shape, TensorOptions().dtype(xs[j].dtype())) : stack(rows[j], 0).reshape(shape);
      jac[i][j] = postprocess(jac[i][j], create_graph);
    }
  }
  return jac;
}
}  // namespace

variable_list jacobian(const ScalarFn& func, const variable_list& inputs, bool create_graph, bool strict,
                       bool vectorize, std::string_view strategy) {
  return jacobian([&](const variable_list& xs) { return variable_list{func(xs)}; }, inputs, create_graph, strict,
                  vectorize, strategy)[0];
}

Tensor jacobian(const UnaryFn& func, const Tensor& input, bool create_graph, bool strict, bool vectorize,
                std::string_view strategy) {
  return jacobian([&](const variable_list& xs) { return variable_list{func(xs[0])}; }, variable_list{input},
                  create_graph, strict, vectorize, strategy)[0][0];
}

std::vector<variable_list> hessian(const ScalarFn& func, const variable_list& inputs, bool create_graph, bool strict) {
  // The Jacobian of the gradient, as PyTorch: the inner Jacobian is recorded (create_graph) so the
  // outer one can differentiate it.
  const MultiFn gradient = [&](const variable_list& xs) {
    return jacobian([&](const variable_list& ys) { return single_output(func(ys), "hessian"); }, xs,
                    /*create_graph=*/true, strict);
  };
  return jacobian(gradient, inputs, create_graph, strict);
}

Tensor hessian(const UnaryFn& func, const Tensor& input, bool create_graph, bool strict) {
  return hessian([&](const variable_list& xs) { return func(xs[0]); }, variable_list{input}, create_graph,
                 strict)[0][0];
}

std::pair<Tensor, variable_list> vhp(const ScalarFn& func, const variable_list& inputs, const variable_list& v,
                                     bool create_graph, bool strict) {
  AutoGradMode on(true);
  const variable_list xs = prepare_inputs(inputs, create_graph, "vhp");
  const variable_list vs = prepare_v(v, xs, "vhp", "input");
  const Tensor out = single_output(func(xs), "vhp");
  variable_list jac = grad_of({out}, xs, {}, /*create_graph=*/true, /*retain_graph=*/true);
  fill_in_zeros(jac, xs, strict, "vhp", "the output of the user-provided function is independent of input");
  variable_list res = grad_of(jac, xs, vs, create_graph, create_graph);
  fill_in_zeros(res, xs, strict, "vhp", "the user-provided function is linear (its Hessian is zero) in input");
  return {postprocess(out, create_graph), postprocess(std::move(res), create_graph)};
}

std::pair<Tensor, Tensor> vhp(const UnaryFn& func, const Tensor& input, const Tensor& v, bool create_graph,
                              bool strict) {
  auto [out, res] = vhp([&](const variable_list& xs) { return func(xs[0]); }, variable_list{input},
                        v.defined() ? variable_list{v} : variable_list{}, create_graph, strict);
  return {out, res[0]};
}

std::pair<Tensor, variable_list> hvp(const ScalarFn& func, const variable_list& inputs, const variable_list& v,
                                     bool create_graph, bool strict) {
  AutoGradMode on(true);
  const variable_list xs = prepare_inputs(inputs, create_graph, "hvp");
  const variable_list vs = prepare_v(v, xs, "hvp", "input");
  const Tensor out = single_output(func(xs), "hvp");
  variable_list jac = grad_of({out}, xs, {}, /*create_graph=*/true, /*retain_graph=*/true);
  fill_in_zeros(jac, xs, strict, "hvp", "the output of the user-provided function is independent of input");
  // H v through the double-backward trick: d<J^T(u), ...>: back(u) = H^T u, then its VJP with v.
  variable_list us;
  for (const Tensor& x : xs) us.push_back(zeros_like(x.detach()).requires_grad_(true));
  variable_list back = grad_of(jac, xs, us, /*create_graph=*/true, /*retain_graph=*/true);
  fill_in_zeros(back, xs, strict, "hvp", "the user-provided function is linear (its Hessian is zero) in input");
  variable_list res = grad_of(back, us, vs, create_graph, create_graph);
  fill_in_zeros(res, xs, strict, "hvp", "the Hessian-vector product is independent of input");
  return {postprocess(out, create_graph), postprocess(std::move(res), create_graph)};
}

std::pair<Tensor, Tensor> hvp(const UnaryFn& func, const Tensor& input, const Tensor& v, bool create_graph,
                              bool strict) {
  auto [out, res] = hvp([&](const variable_list& xs) { return func(xs[0]); }, variable_list{input},
                        v.defined() ? variable_list{v} : variable_list{}, create_graph, strict);
  return {out, res[0]};
}

}  // namespace ag::autograd::functional
