#pragma once
/// @file checkpoint.h
/// Gradient checkpointing, as torch.utils.checkpoint: trade time for memory. A checkpointed
/// function keeps only its inputs on the tape; its inner graph is recorded again, by re-running
/// it, when backward reaches it, and released right after.
///
///   auto [y] = ag::checkpoint([&](const std::vector<Tensor>& in) { return std::vector{mlp(in[0])}; }, {x});

#include <functional>
#include <vector>

#include "autograd/tensor.h"

namespace ag {

/// A function of tensors, re-run in backward by ag::checkpoint.
using CheckpointFn = std::function<std::vector<Tensor>(const std::vector<Tensor>&)>;

/// Returns fn(inputs), computed without recording (NoGradGuard), and records one node "checkpoint"
/// with `inputs` as its inputs and fn's floating outputs as its outputs. Its backward re-runs fn
/// with recording on, on detached copies of the inputs, and back-propagates through that re-run
/// within the running backward pass;  grad = the re-run's gradients.
///  - Tensors fn captures instead of taking them as inputs (parameters) get their gradients as
///    well: leaves' .grad() with the rest of the pass, and ag::grad() reaches them.
///  - With grad mode on, the outputs require grad even if no input does (fn may read parameters);
///    with it off, fn is just called.
///  - fn must compute the same thing when re-run: a captured tensor changed in place in between
///    gives other gradients (an input changed in place is an ag::Error). Random numbers are
///    replayed: if fn drew from the global generator, the re-run starts from the same state
///    (and the generator is put back after), so dropout masks match unless another thread
///    draws in between.
///  - Memory: the tape keeps the inputs (and fn) only, not fn's outputs; time: fn runs twice.
///    Pass recorded results as inputs rather than capturing them: the node keeps what fn
///    captured until backward releases it, and a captured recorded result keeps the tape from
///    rewinding until then (leaves, such as parameters, are fine).
///  - create_graph through a checkpoint (higher-order gradients) is an ag::Error.
///  - Forward mode (forward_ad.h): while forward AD is on (inside a dual_level), fn is just called,
///    recording as usual, so that the tangents propagate through its ops and the tangents
///    themselves stay differentiable (reverse over forward); no memory is saved then.
std::vector<Tensor> checkpoint(const CheckpointFn& fn, const std::vector<Tensor>& inputs);
/// One input, one output.
Tensor checkpoint(const std::function<Tensor(const Tensor&)>& fn, const Tensor& input);

}  // namespace ag
