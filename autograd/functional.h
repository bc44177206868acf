#pragma once
/// @file functional.h
/// Functional transforms, as PyTorch's torch.autograd.functional: vjp, jvp, jacobian, hessian, hvp
/// and vhp of a function given as a callable, built on ag::grad (reverse mode).
///
/// Semantics follow PyTorch 1.13:
/// - The inputs are detached copies that require grad (with create_graph, an input that already
///   requires grad is passed through an alias, so the results stay differentiable with respect to
///   it). The function is called once per transform.
/// - `v` may be omitted only when it is unambiguous: for vjp, when every output has one element; for
///   jvp, hvp and vhp, when every input has one element. Otherwise it must match the outputs (vjp) or
///   the inputs (jvp, hvp, vhp) shape for shape.
/// - strict = false: where a result does not depend on an input it is zeros; strict = true: that is
///   an ag::Error naming the output and the input.
/// - create_graph = false: the results (and the returned function outputs) are detached;
///   create_graph = true: they are recorded, so they can be differentiated again.
/// - jvp, like PyTorch's, is computed with the "double-backward trick" (two reverse passes);
///   hvp likewise (a third). vhp needs two.
/// - jacobian(f) of a function of inputs x_j with outputs y_i returns J[i][j] of shape
///   y_i.sizes() + x_j.sizes() (one reverse pass per element of each output, or with strategy
///   "forward-mode" one forward-mode pass per element of each input); hessian(f) of a
///   function with one scalar output returns H[i][j] of shape x_i.sizes() + x_j.sizes().
/// The single-tensor overloads take and return Tensors instead of lists.
#include <functional>
#include <string_view>
#include <utility>
#include <vector>

#include "autograd/graph.h"
#include "autograd/tensor.h"

namespace ag::autograd::functional {

/// A function of several tensors returning several tensors.
using MultiFn = std::function<variable_list(const variable_list&)>;
/// A function of several tensors returning one tensor (a loss of several parameters).
using ScalarFn = std::function<Tensor(const variable_list&)>;
/// A function of one tensor returning one tensor.
using UnaryFn = std::function<Tensor(const Tensor&)>;

/// (outputs, v^T J): the vector-Jacobian product of `func` at `inputs`, one tensor per input.
std::pair<variable_list, variable_list> vjp(const MultiFn& func, const variable_list& inputs,
                                            const variable_list& v = {}, bool create_graph = false,
                                            bool strict = false);
std::pair<Tensor, Tensor> vjp(const UnaryFn& func, const Tensor& input, const Tensor& v = {}, bool create_graph = false,
                              bool strict = false);

/// (outputs, J v): the Jacobian-vector product of `func` at `inputs`, one tensor per output.
std::pair<variable_list, variable_list> jvp(const MultiFn& func, const variable_list& inputs,
                                            const variable_list& v = {}, bool create_graph = false,
                                            bool strict = false);
std::pair<Tensor, Tensor> jvp(const UnaryFn& func, const Tensor& input, const Tensor& v = {}, bool create_graph = false,
                              bool strict = false);

/// J[i][j] = d outputs[i] / d inputs[j], of shape outputs[i].sizes() + inputs[j].sizes().
/// `strategy`, as PyTorch's: "reverse-mode" (one backward pass per output element) or
/// "forward-mode" (one JVP per input element, forward_ad.h: fewer passes when the inputs have fewer
/// elements than the outputs); also "auto", which picks the one needing fewer passes (after one
/// evaluation under NoGradGuard to count the outputs). The results are the same. `vectorize` is
/// accepted for PyTorch's signature; without vmap both strategies loop over their passes (PyTorch
/// requires vectorize=true for forward mode; here it is not needed).
std::vector<variable_list> jacobian(const MultiFn& func, const variable_list& inputs, bool create_graph = false,
                                    bool strict = false, bool vectorize = false,
                                    std::string_view strategy = "reverse-mode");
/// One output: J[j] = d output / d inputs[j].
variable_list jacobian(const ScalarFn& func, const variable_list& inputs, bool create_graph = false,
                       bool strict = false, bool vectorize = false, std::string_view strategy = "reverse-mode");
Tensor jacobian(const UnaryFn& func, const Tensor& input, bool create_graph = false, bool strict = false,
                bool vectorize = false, std::string_view strategy = "reverse-mode");

/// H[i][j] = d^2 f / d inputs[i] d inputs[j] of a function with one single-element output.
std::vector<variable_list> hessian(const ScalarFn& func, const variable_list& inputs, bool create_graph = false,
                                   bool strict = false);
Tensor hessian(const UnaryFn& func, const Tensor& input, bool create_graph = false, bool strict = false);

/// (output, H v) of a function with one single-element output, one tensor per input.
std::pair<Tensor, variable_list> hvp(const ScalarFn& func, const variable_list& inputs, const variable_list& v = {},
                                     bool create_graph = false, bool strict = false);
std::pair<Tensor, Tensor> hvp(const UnaryFn& func, const Tensor& input, const Tensor& v = {}, bool create_graph = false,
                              bool strict = false);

/// (output, v^T H) of a function with one single-element output, one tensor per input.
std::pair<Tensor, variable_list> vhp(const ScalarFn& func, const variable_list& inputs, const variable_list& v = {},
                                     bool create_graph = false, bool strict = false);
std::pair<Tensor, Tensor> vhp(const UnaryFn& func, const Tensor& input, const Tensor& v = {}, bool create_graph = false,
                              bool strict = false);

}  // namespace ag::autograd::functional
