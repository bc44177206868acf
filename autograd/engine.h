#pragma once
/// @file engine.h
/// The gradient API: backward() and ag::grad(), replaying the tape in reverse.

#include <functional>
#include <optional>
#include <vector>

#include "autograd/tensor.h"

namespace ag {

/// Accumulates (+=) d(sum_i <outputs[i], grad_outputs[i]>)/d(leaf) into every reachable leaf's
/// .grad(). A scalar output may omit its grad_output (it is 1). Frees the nodes it used unless
/// retain_graph; create_graph records the backward pass itself (for higher derivatives).
void backward(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs = {},
              std::optional<bool> retain_graph = std::nullopt, bool create_graph = false);

/// Returns d(sum_i <outputs[i], grad_outputs[i]>)/d(inputs[j]) for each j, without touching any
/// leaf's .grad() (as PyTorch, it fills the .grad() of retain_grad() results whose op it runs; an
/// input listed twice gets its gradient twice). An input the outputs do not depend on is an ag::Error unless
/// allow_unused (then its result is undefined). retain_graph defaults to create_graph, as in libtorch.
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs = {}, std::optional<bool> retain_graph = std::nullopt,
                         bool create_graph = false, bool allow_unused = false);

/// libtorch's names (torch::autograd::grad, torch::autograd::backward).
namespace autograd {
using ag::backward;
using ag::grad;

/// Registers `hook(gradient)` on a leaf, called by backward() during the pass as soon as the
/// leaf's gradient of this pass is complete: right after the last node (in reverse tape order)
/// with an edge to the leaf has run, while the earlier nodes have not, with the sum of what the
/// pass sent to the leaf (before the leaf's register_hook hooks, and not added to .grad() yet,
/// which happens when the whole pass has succeeded). A leaf the pass did not reach gets no call;
/// one whose gradient may arrive through an opaque node (ag::checkpoint) gets it at the end of the
/// pass, before .grad() is updated. Not called by ag::grad. This is the hook data-parallel
/// training needs to start reducing a gradient while backward goes on (PyTorch's
/// AccumulateGrad-node hooks that DistributedDataParallel uses). Returns a handle for
/// remove_grad_ready_hook. Leaves requiring grad only.
unsigned register_grad_ready_hook(const Tensor& leaf, std::function<void(const Tensor&)> hook);
/// Removes a hook registered by register_grad_ready_hook.
void remove_grad_ready_hook(const Tensor& leaf, unsigned h);
/// From a hook or backward function running inside a backward pass: runs `callback` once when the
/// outermost running pass has succeeded, after every .grad() was updated and the post-accumulate
/// hooks ran (callbacks queued by callbacks run too, in order). Dropped when the pass throws. As
/// PyTorch's Variable._execution_engine.queue_callback. An ag::Error outside a backward pass.
void queue_callback(std::function<void()> callback);
}  // namespace autograd

namespace detail {
/// For a VJP that re-runs a forward pass during backward (ag::checkpoint): back-propagates
/// grad_outputs from `outputs` through the nodes recorded from index `first_node` on (the re-run),
/// as part of the backward pass running on this thread. Returns the gradients of `inputs` (leaves
/// only the re-run reads, e.g. detached copies; undefined where none arrived). Gradients reaching
/// other leaves join the running pass (committed with its own, as if from the calling node), and
/// so do those reaching results recorded before the calling node. Releases the nodes it ran.
std::vector<Tensor> backward_segment(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs,
                                     const std::vector<Tensor>& inputs, std::size_t first_node, const char* api);
}  // namespace detail

}  // namespace ag
