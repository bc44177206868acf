#pragma once
/// @file graph.h
/// libtorch's view of the recorded graph and its gradient hooks: Tensor::grad_fn() returns an
/// ag::autograd::Node handle (name(), next_edges(), next_functions()), and the hook lists behind
/// Tensor::register_hook and Tensor::register_post_accumulate_grad_hook. Included by tensor.h.
///
/// Handle lifetime. The nodes themselves live in the tape's arena (tape.h, Note: lifetimes) and go
/// when the tape rewinds. A handle never points into the arena: it holds the tape's id, the tape's
/// generation and the node's index, and every access to the graph (next_edges, next_functions)
/// first checks that the calling thread's tape is that tape and still at that generation; when it
/// is not (the graph was freed by a backward without retain_graph, or the tape rewound, or the
/// handle is used on another thread) it throws ag::Error. name() never throws: it is copied into
/// the handle when the handle is made. An AccumulateGrad handle (the node of a leaf that requires
/// grad) holds a reference to the leaf, as libtorch's does.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "autograd/tensor.h"

namespace ag {

namespace autograd {

/// libtorch's `torch::autograd::variable_list` and `tensor_list`.
using variable_list = std::vector<Tensor>;
using tensor_list = std::vector<Tensor>;
/// libtorch's `torch::autograd::Variable` (a Tensor).
using Variable = Tensor;

class Node;

/// One input of a node, as libtorch's `torch::autograd::Edge`: the node that receives its
/// gradient (null for an input that needs none, a constant) and which of that node's inputs it is
/// (the output index of the op that produced the tensor).
struct Edge {
  std::shared_ptr<Node> function;
  std::uint32_t input_nr = 0;
  bool is_valid() const { return function != nullptr; }
};
using edge_list = std::vector<Edge>;

/// A handle to a node of the graph, as returned by Tensor::grad_fn() (libtorch's
/// `std::shared_ptr<torch::autograd::Node>`). Lifetime and validity: see the top of graph.h.
class Node {
 public:
  /// libtorch's name of the node: "MulBackward1", "AddmmBackward0", ...; for a custom
  /// ag::Function "ag::autograd::CppNode<MyFunction>"; for a leaf "ag::autograd::AccumulateGrad".
  /// The op names of the tape are translated by autograd_node_name(). Never throws.
  const std::string& name() const { return name_; }
  /// The node's inputs, in the order of the op's tensor arguments (libtorch's next_edges): an
  /// AccumulateGrad node for a leaf that requires grad, null for a constant. A scalar operand
  /// (x * 2.0) is not an input here (libtorch lists a wrapped-number constant for some ops).
  /// Throws ag::Error when the graph was freed or belongs to another thread's tape.
  edge_list next_edges() const;
  /// The same as (node, input_nr) pairs, as PyTorch's grad_fn.next_functions.
  std::vector<std::pair<std::shared_ptr<Node>, std::uint32_t>> next_functions() const;
  /// libtorch's num_outputs(): the number of next edges (throws as next_edges()).
  std::uint32_t num_outputs() const;
  /// libtorch's num_inputs(): the number of outputs of the recorded op (1 for AccumulateGrad).
  std::uint32_t num_inputs() const { return num_inputs_; }
  /// For an AccumulateGrad node: the leaf it accumulates into (as libtorch's
  /// AccumulateGrad::variable); undefined otherwise.
  Tensor variable() const { return Tensor(leaf_); }
  /// The tape's own name of the op ("mul_scalar", "addmm"; the CppNode name for a custom Function).
  const char* op_name() const { return op_; }
  /// True while next_edges() can be read (the graph is alive on this thread's tape).
  bool is_alive() const;
  /// Identifies the node: two handles to the same node have equal keys (the node's index on its
  /// tape; for AccumulateGrad, the leaf). Used to walk the graph without visiting a node twice.
  std::pair<std::uintptr_t, std::uintptr_t> key() const {
    return leaf_ ? std::pair<std::uintptr_t, std::uintptr_t>{0, reinterpret_cast<std::uintptr_t>(leaf_.get())}
                 : std::pair<std::uintptr_t, std::uintptr_t>{index_ + 1, static_cast<std::uintptr_t>(tape_id_)};
  }

  // Made by Tensor::grad_fn() and next_edges().
  static std::shared_ptr<Node> recorded(std::uint64_t tape_id, std::uint64_t generation, std::size_t index,
                                        const char* op, std::uint32_t num_outputs);
  static std::shared_ptr<Node> accumulate_grad(IntrusivePtr<TensorImpl> leaf);

 private:
  std::string name_;
  const char* op_ = "";
  std::uint64_t tape_id_ = 0;  ///< 0: not on any live tape (a freed result, another thread's result)
  std::uint64_t generation_ = 0;
  std::size_t index_ = 0;  ///< index of the node on the tape
  std::uint32_t num_inputs_ = 1;
  IntrusivePtr<TensorImpl> leaf_;  ///< AccumulateGrad only
};

/// libtorch's name of the node of a tape op (Node::name of tape.h): "mul" -> "MulBackward0",
/// "mul_scalar" -> "MulBackward1", "sum_dim" -> "SumBackward1", ... (a table of the names libtorch
/// 1.13's C++ API prints, where ag's op has a libtorch counterpart); otherwise CamelCase of the op
/// name + "Backward0" ("rnn_tanh_cell_gates" -> "RnnTanhCellGatesBackward0"). A name that is not
/// snake_case (a custom Function's "ag::autograd::CppNode<...>") is returned unchanged.
std::string autograd_node_name(const char* op);

}  // namespace autograd

namespace detail {
/// A gradient hook (Tensor::register_hook): returns the replacement gradient, or an undefined
/// tensor to leave the gradient as it is. An empty function is a removed hook.
using GradHook = std::function<Tensor(const Tensor&)>;
/// A post-accumulate-grad hook: called with the leaf after its .grad() was updated.
using PostAccumulateHook = std::function<void(const Tensor&)>;
/// The hooks of a leaf (TensorImpl::hooks; a recorded result's are kept by its tape, by slot).
struct LeafHooks {
  std::vector<GradHook> pre;
  std::vector<PostAccumulateHook> post;
  std::vector<GradHook> ready;  ///< ag::autograd::register_grad_ready_hook (return value unused)
};
/// Number of TensorImpls holding LeafHooks, on all threads: the engine looks at leaves' hooks
/// only when it is not zero (one relaxed load per backward pass).
std::int64_t hooked_leaves() noexcept;
/// Frees a TensorImpl's hooks (called by ~TensorImpl).
void delete_hooks(LeafHooks* h) noexcept;
/// Runs hooks on g in order (each gets the previous one's result) and checks what they return
/// against g's shape and dtype; `what` names the tensor in errors.
Tensor run_grad_hooks(const std::vector<GradHook>& hooks, Tensor g, const char* what);
}  // namespace detail

template <class F>
unsigned Tensor::register_hook(F&& hook) const {
  using R = std::invoke_result_t<F&, Tensor>;
  if constexpr (std::is_void_v<R>) {
    return add_grad_hook([h = std::forward<F>(hook)](const Tensor& g) mutable {
      h(g);
      return Tensor();
    });
  } else {
    static_assert(std::is_convertible_v<R, Tensor>, "register_hook: the hook must return void or a Tensor");
    return add_grad_hook([h = std::forward<F>(hook)](const Tensor& g) mutable { return Tensor(h(g)); });
  }
}

template <class F>
unsigned Tensor::register_post_accumulate_grad_hook(F&& hook) const {
  return add_post_accumulate_grad_hook([h = std::forward<F>(hook)](const Tensor& t) mutable { h(t); });
}

}  // namespace ag
