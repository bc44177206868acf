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
/// backward returns one gradient per Tensor argument of forward (undefined for "no gradient").

#include <any>
#include <memory>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <unordered_map>
#include <vector>

#include "autograd/tape.h"

namespace ag {

/// What forward leaves for backward.
class AutogradContext {
 public:
  /// Keeps tensors for backward (checked against in-place changes when read back).
  void save_for_backward(const std::vector<Tensor>& ts);
  /// The saved tensors; throws ag::Error if one was modified in place since.
  std::vector<Tensor> get_saved_variables() const;
  /// Any other values backward needs (sizes, flags, scalars).
  std::unordered_map<std::string, std::any> saved_data;
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
inline void collect_tensors(std::vector<Tensor>&) {}
template <class A, class... R>
void collect_tensors(std::vector<Tensor>& out, const A& a, const R&... rest) {
  if constexpr (std::is_same_v<std::decay_t<A>, Tensor>) out.push_back(a);
  collect_tensors(out, rest...);
}
void check_function_grads(const char* name, const std::vector<Tensor>& inputs, const std::vector<Tensor>& grads);
}  // namespace detail

/// Base of a user-defined op: Derived provides static forward(ctx, args...) -> Tensor and
/// static backward(ctx, grad_outputs) -> one gradient per Tensor argument.
template <class Derived>
struct Function {
  template <class... Args>
  static Tensor apply(Args&&... args) {
    std::vector<Tensor> inputs;
    detail::collect_tensors(inputs, args...);
    auto ctx = std::make_shared<AutogradContext>();
    Tensor out;
    {
      NoGradGuard no_grad;
      out = Derived::forward(ctx.get(), std::forward<Args>(args)...);
    }
    if (!out.defined()) fail("{}::forward returned an undefined tensor", typeid(Derived).name());
    if (!any_requires_grad(inputs)) return out;
    for (const auto& in : inputs)
      if (in.defined() && in.impl() == out.impl()) out = out.detach();  // a result is a new tensor
    for (const auto& in : inputs) ctx->needs_.push_back(in.defined() && in.requires_grad());
    const char* name = typeid(Derived).name();
    record(name, inputs, {&out}, [ctx, inputs_meta = meta(inputs), name](BackwardCtx& c) {
      std::vector<Tensor> gs = Derived::backward(ctx.get(), {c.grad()});
      detail::check_function_grads(name, inputs_meta, gs);
      for (std::size_t i = 0; i < gs.size() && i < c.num_inputs(); ++i)
        if (gs[i].defined() && c.needs(i)) c.set(i, gs[i]);
    });
    ctx->rebind_output(out);
    return out;
  }

 private:
  // Shape/dtype stand-ins of the inputs, for checking what backward returns.
  static std::vector<Tensor> meta(const std::vector<Tensor>& inputs) {
    std::vector<Tensor> m;
    for (const auto& in : inputs) m.push_back(in.defined() ? empty(in.shape(), in.dtype()) : Tensor());
    return m;
  }
};

}  // namespace ag
