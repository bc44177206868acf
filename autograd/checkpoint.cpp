#include "autograd/checkpoint.h"

#include <string>

#include "autograd/engine.h"
#include "autograd/factory.h"
#include "autograd/grad_mode.h"
#include "autograd/tape.h"

namespace ag {

namespace {

// While alive, the global generator is at `state` (if any); then it is put back.
class RngReplay {
 public:
  explicit RngReplay(const std::string& state) : active_(!state.empty()) {
    if (!active_) return;
    saved_ = rng_state();
    set_rng_state(state);
  }
  ~RngReplay() {
    if (active_) set_rng_state(saved_);
  }
  RngReplay(const RngReplay&) = delete;
  RngReplay& operator=(const RngReplay&) = delete;

 private:
  bool active_;
  std::string saved_;
};

struct Replay {
  CheckpointFn fn;
  std::vector<SavedTensor> inputs;
  std::vector<std::size_t> outputs;  ///< which of fn's results are the node's outputs
  std::size_t num_results = 0;
  std::string rng;  ///< the generator's state before fn, when fn drew numbers

  void operator()(BackwardCtx& c) const {
    if (GradMode::is_enabled())
      fail(
          "checkpoint: create_graph (higher-order gradients) through a checkpoint is not supported; call the "
          "function without checkpoint for that");
    std::vector<Tensor> ins, leaves;
    std::vector<std::size_t> at;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      Tensor x = inputs[i].get("checkpoint");
      if (x.defined()) x = x.detach();
      if (x.defined() && c.needs(i)) {
        x.requires_grad_();
        leaves.push_back(x);
        at.push_back(i);
      }
      ins.push_back(std::move(x));
    }
    const std::size_t first = Tape::current().num_nodes();
    std::vector<Tensor> res;
    {
      RngReplay replay(rng);
      AutoGradMode on(true);
      res = fn(ins);
    }
    if (res.size() != num_results)
      fail(
          "checkpoint: the function returned {} tensors when re-run in backward but {} in forward (it must compute "
          "the same thing again)",
          res.size(), num_results);
    std::vector<Tensor> outs, grads;
    for (std::size_t k = 0; k < outputs.size(); ++k) {
      const Tensor& g = c.grad(k);
      if (!g.defined()) continue;
      const Tensor& o = res[outputs[k]];
      if (!o.defined() || o.shape() != g.shape() || o.dtype() != g.dtype())
        fail(
            "checkpoint: result {} is {} when re-run in backward but was {} in forward (it must compute the same "
            "thing again)",
            outputs[k], describe(o), describe(g));
      outs.push_back(o);
      grads.push_back(g);
    }
    std::vector<Tensor> r = detail::backward_segment(outs, grads, leaves, first, "checkpoint");
    for (std::size_t j = 0; j < r.size(); ++j)
      if (r[j].defined()) c.set(at[j], std::move(r[j]));
  }
};

}  // namespace

std::vector<Tensor> checkpoint(const CheckpointFn& fn, const std::vector<Tensor>& inputs) {
  if (!fn) fail("checkpoint: no function given");
  // Forward mode on: fn's ops propagate the tangents (of inputs and captured tensors alike), and are
  // recorded, so that a tangent is differentiable too; a checkpointed run (without recording, outputs
  // detached) would lose both.
  if (!GradMode::is_enabled() || detail::t_fw_on) return fn(inputs);
  Tape& tape = Tape::current();
  std::vector<Edge> edges;
  Replay replay{fn, {}, {}, 0, rng_state()};
  for (const Tensor& x : inputs) {
    edges.push_back(tape.make_edge(x));
    replay.inputs.emplace_back(x);  // before fn runs: an in-place change by fn is caught in backward
  }
  std::vector<Tensor> res;
  {
    NoGradGuard no_grad;
    res = fn(inputs);
  }
  if (rng_state() == replay.rng) replay.rng.clear();
  replay.num_results = res.size();
  for (std::size_t k = 0; k < res.size(); ++k)
    if (res[k].defined() && is_floating(res[k].dtype())) {
      res[k] = res[k].detach();  // a new tensor even when fn returned an input or a captured one
      replay.outputs.push_back(k);
    }
  if (replay.outputs.empty()) return res;
  const std::vector<std::size_t> which = replay.outputs;
  Node* n = tape.push("checkpoint", edges.size(), which.size(), std::move(replay));
  n->opaque = true;
  for (std::size_t i = 0; i < edges.size(); ++i) n->edges[i] = std::move(edges[i]);
  for (std::size_t k = 0; k < which.size(); ++k) tape.attach_output(n, k, res[which[k]], false);
  if (detail::t_profiling) [[unlikely]]
    detail::profile_record(n);  // profiler hook: fn's time is its forward
  return res;
}

Tensor checkpoint(const std::function<Tensor(const Tensor&)>& fn, const Tensor& input) {
  if (!fn) fail("checkpoint: no function given");
  return checkpoint([fn](const std::vector<Tensor>& in) { return std::vector<Tensor>{fn(in[0])}; }, {input})[0];
}

}  // namespace ag
