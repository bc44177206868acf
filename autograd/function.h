#pragma once
/// @file function.h
/// User-defined differentiable ops, the counterpart of torch::autograd::Function:
///
///   struct Cube : ag::Function<Cube> {
///     static ag::Tensor forward(ag::AutogradContext* ctx, const ag::Tensor& x) {
///       ctx->save_for_backward({x});
///       return x * x * x;
///     }
///     static std::vector<ag::Tensor> backward(ag::AutogradContext* ctx, const std::vector<ag::Tensor>& g) {
///       auto x = ctx->get_saved_variables()[0];
///       return {g[0] * 3.0 * x * x};
///     }
///   };
///   ag::Tensor y = Cube::apply(x);
///
/// forward runs without recording; backward is written with ops, so create_graph differentiates it.
/// For forward mode (forward_ad.h), Derived may also define
///   static ag::Tensor jvp(ag::AutogradContext* ctx, const std::vector<ag::Tensor>& tangents)
/// (one tangent per Tensor argument of forward, zeros where the input carries none) returning the
/// output's tangent; without it, a dual input is an ag::Error (libtorch's C++ Function has no jvp).
/// As in libtorch, backward returns one gradient per argument of forward (Tensor or not), in order:
/// undefined for "no gradient" and for every non-Tensor argument. Unlike libtorch, trailing
/// undefined gradients may be left out (a shorter list), and a longer list is accepted when the
/// extra gradients are undefined (libtorch accepts that too): the official examples MulConstant
/// (forward(ctx, Tensor, double), returning {grad, Tensor()}) and LinearFunction (forward(ctx,
/// input, weight, bias = Tensor()) called with two arguments, returning three gradients) run as
/// they are. Errors name the function by its demangled class name; its node (grad_fn()) is named
/// "ag::autograd::CppNode<Name>", as libtorch's "torch::autograd::CppNode<Name>".

#include <algorithm>
#include <concepts>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <unordered_map>
#include <vector>

#include "autograd/engine.h"
#include "autograd/forward_grad.h"
#include "autograd/ivalue.h"
#include "autograd/tape.h"

namespace ag {

/// What forward leaves for backward.
class AutogradContext {
 public:
  /// Keeps tensors for backward (checked against in-place changes when read back). Undefined
  /// tensors may be saved (an absent bias); they come back undefined.
  void save_for_backward(const std::vector<Tensor>& ts);
  /// The saved tensors; throws ag::Error if one was modified in place since.
  std::vector<Tensor> get_saved_variables() const;
  /// Any other values backward needs (sizes, flags, scalars), as libtorch's saved_data: assign a
  /// double, an integer, a bool, a Tensor, a string or an integer list; read with toDouble(),
  /// toInt(), toBool(), toTensor(), toStringRef(), toIntVector() (ivalue.h).
  std::unordered_map<std::string, IValue> saved_data;
  /// Whether the i-th Tensor argument of forward needs a gradient (valid in backward).
  bool needs_input_grad(std::size_t i) const { return i < needs_.size() && needs_[i]; }

  // Used by Function::apply.
  void rebind_output(const Tensor& out);
  std::vector<bool> needs_;

 private:
  std::vector<SavedTensor> saved_;
  std::vector<IntrusivePtr<TensorImpl>> raw_;
};

namespace detail {
inline void collect_tensors(std::vector<Tensor>&, std::vector<std::int32_t>&) {}
/// The Tensor arguments into `out`; for every argument, its index in `out` (or -1) into `arg_input`.
template <class A, class... R>
void collect_tensors(std::vector<Tensor>& out, std::vector<std::int32_t>& arg_input, const A& a, const R&... rest) {
  if constexpr (std::is_same_v<std::decay_t<A>, Tensor>) {
    arg_input.push_back(static_cast<std::int32_t>(out.size()));
    out.push_back(a);
  } else {
    arg_input.push_back(-1);
  }
  collect_tensors(out, arg_input, rest...);
}
/// Maps what backward returned (one per argument of forward) to one gradient per Tensor input,
/// checking count, positions and shapes; `name` is the function's for the errors.
std::vector<Tensor> function_input_grads(const std::string& name, const std::vector<std::int32_t>& arg_input,
                                         const std::vector<Tensor>& inputs, std::vector<Tensor> grads);
}  // namespace detail

/// Base of a user-defined op: Derived provides static forward(ctx, args...) -> Tensor and
/// static backward(ctx, grad_outputs) -> one gradient per argument of forward.
template <class Derived>
struct Function {
  /// The demangled class name ("MulConstant"), as errors name the function.
  static const std::string& name() {
    static const std::string n = detail::demangle(typeid(Derived).name());
    return n;
  }
  /// The name of its nodes: "ag::autograd::CppNode<MulConstant>".
  static const char* node_name() {
    static const std::string n = "ag::autograd::CppNode<" + name() + ">";
    return n.c_str();
  }

  template <class... Args>
  static Tensor apply(Args&&... args) {
    std::vector<Tensor> inputs;
    std::vector<std::int32_t> arg_input;
    detail::collect_tensors(inputs, arg_input, args...);
    auto ctx = std::make_shared<AutogradContext>();
    Tensor out;
    const bool dual = any_tangent(inputs);
    {
      NoGradGuard no_grad;
      detail::FwSuspend no_fw;  // forward's ops see plain values: the tangent comes from jvp
      out = Derived::forward(ctx.get(), std::forward<Args>(args)...);
    }
    if (!out.defined()) fail("{}::forward returned an undefined tensor", name());
    const bool rec = any_requires_grad(inputs);
    if (!rec && !dual) return out;
    for (const auto& in : inputs)
      if (in.defined() && in.impl() == out.impl()) out = out.detach();  // a result is a new tensor
    if (dual) check_jvp(inputs);                                        // before anything is recorded
    if (!rec) {
      if (dual) propagate(ctx.get(), inputs, out);
      return out;
    }
    for (const auto& in : inputs) ctx->needs_.push_back(in.defined() && in.requires_grad());
    record(node_name(), inputs, {&out},
           [ctx, inputs_meta = meta(inputs), arg_input = std::move(arg_input)](BackwardCtx& c) {
             std::vector<Tensor> gs =
                 detail::function_input_grads(name(), arg_input, inputs_meta,
                                              Derived::backward(ctx.get(), std::vector<Tensor>{c.grad()}));
             for (std::size_t i = 0; i < gs.size() && i < c.num_inputs(); ++i)
               if (gs[i].defined() && c.needs(i)) c.set(i, gs[i]);
           });
    ctx->rebind_output(out);
    if (dual) propagate(ctx.get(), inputs, out);
    return out;
  }

 private:
  static constexpr bool kHasJvp = requires(AutogradContext * c, const std::vector<Tensor>& t) {
    { Derived::jvp(c, t) } -> std::convertible_to<Tensor>;
  };
  // A dual input without Derived::jvp: an ag::Error naming the function.
  static void check_jvp(const std::vector<Tensor>& inputs) {
    if constexpr (!kHasJvp) {
      auto it = std::find_if(inputs.begin(), inputs.end(),
                             [](const Tensor& t) { return ag::detail::get_tangent(t).defined(); });
      fail(
          "{}: forward-mode AD needs a jvp: an input carries a tangent ({}); define static ag::Tensor "
          "jvp(ag::AutogradContext*, const std::vector<ag::Tensor>& tangents) returning the output's tangent",
          name(), it == inputs.end() ? std::string("?") : describe(*it));
    }
  }
  // Forward mode: out's tangent from Derived::jvp(ctx, one tangent per Tensor argument of forward,
  // zeros where an input carries none, undefined for an undefined argument).
  static void propagate(AutogradContext* ctx, const std::vector<Tensor>& inputs, Tensor& out) {
    if constexpr (kHasJvp) {
      propagate_tangent(node_name(), inputs, {&out}, [&](JvpCtx& c) {
        std::vector<Tensor> ts;
        for (std::size_t i = 0; i < inputs.size(); ++i)
          ts.push_back(inputs[i].defined() ? c.tangent_or_zeros(i) : Tensor());
        Tensor t = Derived::jvp(ctx, ts);
        if (!t.defined()) fail("{}::jvp returned an undefined tangent", name());
        if (t.shape() != out.shape() || t.dtype() != out.dtype())
          fail("{}::jvp returned a tangent {} for the output {}", name(), describe(t), describe(out));
        c.set(0, std::move(t));
      });
    } else {
      (void)ctx;
      (void)inputs;
      (void)out;
    }
  }

  // Shape/dtype stand-ins of the inputs, for checking what backward returns.
  static std::vector<Tensor> meta(const std::vector<Tensor>& inputs) {
    std::vector<Tensor> m;
    for (const auto& in : inputs) m.push_back(in.defined() ? empty(in.shape(), in.dtype()) : Tensor());
    return m;
  }
};

/// libtorch's names, for programs ported by renaming torch:: to ag::.
namespace autograd {
using ag::AutogradContext;
using ag::Function;
}  // namespace autograd

}  // namespace ag
