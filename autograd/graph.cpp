#include "autograd/graph.h"

#include <atomic>
#include <cctype>
#include <string_view>
#include <unordered_map>

#include "autograd/engine.h"
#include "autograd/error.h"
#include "autograd/tape.h"

namespace ag {

namespace autograd {

namespace {

// The tape's op names (Node::name) -> the node names libtorch 1.13's C++ API prints for the same
// op (checked with libtorch 1.13: `t.grad_fn()->name()`; Python prints the same except for ops
// with a scalar operand, where it wraps the scalar in a tensor: x * 2 is MulBackward0 there).
// An op recorded as one node here that libtorch composes of several is named after libtorch's
// last node (rnn_tanh_cell -> TanhBackward0, softmax_cross_entropy -> NllLossBackward0).
const std::unordered_map<std::string_view, const char*>& name_table() {
  static const std::unordered_map<std::string_view, const char*> table = {
      {"abs", "AbsBackward0"},
      {"acos", "AcosBackward0"},
      {"add", "AddBackward0"},
      {"add_scalar", "AddBackward1"},
      {"addcdiv", "AddcdivBackward0"},
      {"addcmul", "AddcmulBackward0"},
      {"addmm", "AddmmBackward0"},
      {"amax", "AmaxBackward0"},
      {"amin", "AminBackward0"},
      {"asin", "AsinBackward0"},
      {"atan", "AtanBackward0"},
      {"atan2", "Atan2Backward0"},
      {"cat", "CatBackward0"},
      {"ceil", "CeilBackward0"},
      {"checkpoint", "CheckpointFunctionBackward"},
      {"clamp", "ClampBackward1"},
      {"clone", "CloneBackward0"},
      {"cos", "CosBackward0"},
      {"cosh", "CoshBackward0"},
      {"cumprod", "CumprodBackward0"},
      {"cumsum", "CumsumBackward0"},
      {"div", "DivBackward0"},
      {"div_scalar", "DivBackward1"},
      {"erf", "ErfBackward0"},
      {"exp", "ExpBackward0"},
      {"expand", "ExpandBackward0"},
      {"expm1", "Expm1Backward0"},
      {"floor", "FloorBackward0"},
      {"fmod", "FmodBackward1"},
      {"fmod_scalar", "FmodBackward0"},
      {"frac", "FracBackward0"},
      {"gather", "GatherBackward0"},
      {"leaky_relu", "LeakyReluBackward0"},
      {"lerp", "LerpBackward1"},
      {"lerp_scalar", "LerpBackward0"},
      {"linear", "AddmmBackward0"},
      {"log", "LogBackward0"},
      {"log10", "Log10Backward0"},
      {"log1p", "Log1PBackward0"},
      {"log2", "Log2Backward0"},
      {"log_softmax", "LogSoftmaxBackward0"},
      {"logsumexp", "LogsumexpBackward0"},
      {"matmul", "MmBackward0"},
      {"max", "MaxBackward1"},
      {"max_dim", "MaxBackward0"},
      {"maximum", "MaximumBackward0"},
      {"mean", "MeanBackward0"},
      {"mean_dim", "MeanBackward1"},
      {"min", "MinBackward1"},
      {"min_dim", "MinBackward0"},
      {"minimum", "MinimumBackward0"},
      {"mul", "MulBackward0"},
      {"mul_scalar", "MulBackward1"},
      {"neg", "NegBackward0"},
      {"permute", "PermuteBackward0"},
      {"pow", "PowBackward0"},
      {"prod", "ProdBackward0"},
      {"prod_dim", "ProdBackward1"},
      {"put_rows", "IndexAddBackward0"},
      {"rdiv_scalar", "DivBackward0"},
      {"reciprocal", "ReciprocalBackward0"},
      {"relu", "ReluBackward0"},
      {"remainder", "RemainderBackward1"},
      {"remainder_scalar", "RemainderBackward0"},
      {"reshape", "ReshapeAliasBackward0"},
      {"rnn_relu_cell", "ReluBackward0"},
      {"rnn_tanh_cell", "TanhBackward0"},
      {"round", "RoundBackward0"},
      {"rsqrt", "RsqrtBackward0"},
      {"rsub_scalar", "SubBackward0"},
      {"scatter_add", "ScatterAddBackward0"},
      {"sigmoid", "SigmoidBackward0"},
      {"sigmoid_backward", "SigmoidBackwardBackward0"},
      {"sign", "SignBackward0"},
      {"sin", "SinBackward0"},
      {"sinh", "SinhBackward0"},
      {"softmax", "SoftmaxBackward0"},
      {"softmax_cross_entropy", "NllLossBackward0"},
      {"softplus", "SoftplusBackward0"},
      {"sqrt", "SqrtBackward0"},
      {"std", "StdBackward0"},
      {"sub", "SubBackward0"},
      {"sum", "SumBackward0"},
      {"sum_dim", "SumBackward1"},
      {"sum_to", "SumBackward1"},
      {"take_rows", "IndexSelectBackward0"},
      {"tan", "TanBackward0"},
      {"tanh", "TanhBackward0"},
      {"tanh_backward", "TanhBackwardBackward0"},
      {"threshold_backward", "ThresholdBackwardBackward0"},
      {"to", "ToCopyBackward0"},
      {"transpose", "TransposeBackward0"},
      {"trunc", "TruncBackward0"},
      {"unbind", "UnbindBackward0"},
      {"where", "WhereBackward0"},
  };
  return table;
}

Tape* live_tape(std::uint64_t id) {
  Tape* t = detail::t_tape;
  return t && t->id() == id ? t : nullptr;
}

}  // namespace

std::string autograd_node_name(const char* op) {
  if (!op) return "UnknownBackward0";
  const std::string_view s(op);
  const auto& table = name_table();
  if (auto it = table.find(s); it != table.end()) return it->second;
  for (char c : s)
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '_'))
      return std::string(s);  // not an op name: a custom Function's CppNode<...>
  std::string out;
  bool upper = true;
  for (char c : s) {
    if (c == '_') {
      upper = true;
      continue;
    }
    out += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    upper = false;
  }
  return out + "Backward0";
}

std::shared_ptr<Node> Node::recorded(std::uint64_t tape_id, std::uint64_t generation, std::size_t index, const char* op,
                                     std::uint32_t num_outputs) {
  auto n = std::make_shared<Node>();
  n->name_ = autograd_node_name(op);
  n->op_ = op ? op : "";
  n->tape_id_ = tape_id;
  n->generation_ = generation;
  n->index_ = index;
  n->num_inputs_ = num_outputs;
  return n;
}

std::shared_ptr<Node> Node::accumulate_grad(IntrusivePtr<TensorImpl> leaf) {
  auto n = std::make_shared<Node>();
  n->name_ = "ag::autograd::AccumulateGrad";
  n->op_ = "accumulate_grad";
  n->leaf_ = std::move(leaf);
  return n;
}

bool Node::is_alive() const {
  if (leaf_) return true;
  const Tape* t = live_tape(tape_id_);
  return tape_id_ != 0 && t && t->generation() == generation_;
}

edge_list Node::next_edges() const {
  if (leaf_) return {};  // AccumulateGrad has no next edges
  Tape* t = tape_id_ ? live_tape(tape_id_) : nullptr;
  if (!t)
    fail(
        "next_edges: the graph of node {} is not on this thread's tape (it was recorded on another thread, or freed "
        "with its tape)",
        name_);
  if (t->generation() != generation_)
    fail(
        "next_edges: the graph of node {} was freed (a backward without retain_graph, or the tape rewound when its "
        "last result was dropped)",
        name_);
  const ag::Node* n = t->node(index_);
  edge_list out;
  out.reserve(n->num_inputs);
  for (std::uint32_t k = 0; k < n->num_inputs; ++k) {
    const ag::Edge& e = n->edges[k];
    Edge r;
    if (e.kind == ag::Edge::Slot) {
      const std::size_t i = t->node_of_slot(e.slot);
      const ag::Node* m = t->node(i);
      r.function = recorded(tape_id_, generation_, i, m->name, m->num_outputs);
      r.input_nr = static_cast<std::uint32_t>(e.slot - m->first_slot);
    } else if (e.kind == ag::Edge::Leaf) {
      r.function = accumulate_grad(e.leaf);
    }  // None (a constant) and Freed (its graph is gone): a null function
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<std::pair<std::shared_ptr<Node>, std::uint32_t>> Node::next_functions() const {
  std::vector<std::pair<std::shared_ptr<Node>, std::uint32_t>> out;
  for (auto& e : next_edges()) out.emplace_back(std::move(e.function), e.input_nr);
  return out;
}

std::uint32_t Node::num_outputs() const { return static_cast<std::uint32_t>(next_edges().size()); }

}  // namespace autograd

namespace detail {

namespace {
std::atomic<std::int64_t> g_hooked_leaves{0};

LeafHooks& leaf_hooks(TensorImpl& im) {
  if (!im.hooks) {
    im.hooks = new LeafHooks();
    g_hooked_leaves.fetch_add(1, std::memory_order_relaxed);
  }
  return *im.hooks;
}
}  // namespace

std::int64_t hooked_leaves() noexcept { return g_hooked_leaves.load(std::memory_order_relaxed); }

void delete_hooks(LeafHooks* h) noexcept {
  delete h;
  g_hooked_leaves.fetch_sub(1, std::memory_order_relaxed);
}

Tensor run_grad_hooks(const std::vector<GradHook>& hooks, Tensor g, const char* what) {
  // by index, on a copy of each hook: a hook may register more hooks (they run too, as in libtorch)
  for (std::size_t i = 0; i < hooks.size(); ++i) {
    if (!hooks[i]) continue;  // removed
    const GradHook h = hooks[i];
    Tensor r = h(g);
    if (!r.defined()) continue;
    if (r.shape() != g.shape() || r.dtype() != g.dtype())
      fail("hook {} of {}: it returned a gradient {} for a gradient {} (a hook may not change the shape or dtype)", i,
           what, describe(r), describe(g));
    g = std::move(r);
  }
  return g;
}

}  // namespace detail

namespace {
// The hook list of a result on this thread's tape, or null when its graph is gone.
std::vector<detail::GradHook>* result_hooks(const TensorImpl& im, bool create, const char* api) {
  Tape* t = detail::t_tape;
  if (!t || im.tape != t || im.generation != t->generation()) {
    if (!create) return nullptr;
    fail(
        "{}: the graph of this result ({} op '{}') was freed or belongs to another thread's tape: a hook could never "
        "run",
        api, shape_str(im.shape), im.op ? im.op : "?");
  }
  if (create) return &t->slot_hooks(im.slot);
  return const_cast<std::vector<detail::GradHook>*>(t->find_slot_hooks(im.slot));
}
}  // namespace

std::shared_ptr<autograd::Node> Tensor::grad_fn() const {
  if (!impl_ || impl_->slot < 0) return nullptr;
  const TensorImpl& im = *impl_;
  Tape* t = detail::t_tape;
  if (t && im.tape == t && im.generation == t->generation()) {
    const std::size_t i = t->node_of_slot(im.slot);
    const Node* n = t->node(i);
    return autograd::Node::recorded(t->id(), im.generation, i, n->name, n->num_outputs);
  }
  // a freed graph (or another thread's): the name only; next_edges() throws
  return autograd::Node::recorded(0, im.generation, 0, im.op, 1);
}

unsigned Tensor::add_grad_hook(std::function<Tensor(const Tensor&)> hook) const {
  const TensorImpl& im = checked("register_hook");
  if (!im.requires_grad) fail("register_hook: cannot register a hook on a tensor that doesn't require gradient");
  std::vector<detail::GradHook>& list =
      im.slot >= 0 ? *result_hooks(im, true, "register_hook") : detail::leaf_hooks(*impl_).pre;
  list.push_back(std::move(hook));
  return static_cast<unsigned>(list.size() - 1);
}

void Tensor::remove_hook(unsigned h) const {
  const TensorImpl& im = checked("remove_hook");
  std::vector<detail::GradHook>* list = nullptr;
  if (im.slot >= 0) {
    list = result_hooks(im, false, "remove_hook");
    if (!list && (!detail::t_tape || im.tape != detail::t_tape || im.generation != detail::t_tape->generation()))
      return;  // the graph, and its hooks, are gone
  } else if (im.hooks) {
    list = &im.hooks->pre;
  }
  if (!list || h >= list->size() || !(*list)[h]) fail("remove_hook: invalid index, no hook at position {}", h);
  (*list)[h] = nullptr;
}

unsigned Tensor::add_post_accumulate_grad_hook(std::function<void(const Tensor&)> hook) const {
  const TensorImpl& im = checked("register_post_accumulate_grad_hook");
  if (!im.requires_grad)
    fail("register_post_accumulate_grad_hook: cannot register a hook on a tensor that doesn't require gradient");
  if (im.slot >= 0)
    fail("register_post_accumulate_grad_hook: post accumulate grad hooks cannot be registered on non-leaf tensors");
  auto& list = detail::leaf_hooks(*impl_).post;
  list.push_back(std::move(hook));
  return static_cast<unsigned>(list.size() - 1);
}

unsigned autograd::register_grad_ready_hook(const Tensor& leaf, std::function<void(const Tensor&)> hook) {
  const TensorImpl& im = leaf.checked("register_grad_ready_hook");
  if (!im.requires_grad)
    fail("register_grad_ready_hook: cannot register a hook on a tensor that doesn't require gradient");
  if (im.slot >= 0) fail("register_grad_ready_hook: grad-ready hooks cannot be registered on non-leaf tensors");
  auto& list = detail::leaf_hooks(*leaf.impl()).ready;
  list.push_back([h = std::move(hook)](const Tensor& g) {
    h(g);
    return Tensor();
  });
  return static_cast<unsigned>(list.size() - 1);
}

void autograd::remove_grad_ready_hook(const Tensor& leaf, unsigned h) {
  const TensorImpl& im = leaf.checked("remove_grad_ready_hook");
  if (!im.hooks || h >= im.hooks->ready.size() || !im.hooks->ready[h])
    fail("remove_grad_ready_hook: invalid index, no hook at position {}", h);
  im.hooks->ready[h] = nullptr;
}

void Tensor::remove_post_accumulate_grad_hook(unsigned h) const {
  const TensorImpl& im = checked("remove_post_accumulate_grad_hook");
  if (!im.hooks || h >= im.hooks->post.size() || !im.hooks->post[h])
    fail("remove_post_accumulate_grad_hook: invalid index, no hook at position {}", h);
  im.hooks->post[h] = nullptr;
}

}  // namespace ag
