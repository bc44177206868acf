#include "autograd/engine.h"

#include <algorithm>
#include <span>
#include <unordered_map>
#include <unordered_set>

#include "autograd/factory.h"
#include "autograd/forward_grad.h"
#include "autograd/kernels/add_into.h"
#include "autograd/kernels/elementwise.h"
#include "autograd/ops/arith.h"
#include "autograd/tape.h"

namespace ag {

namespace {

[[gnu::always_inline]] inline bool uniquely_owned(const Tensor& t) {
  return t.impl_ptr().unique() && t.impl()->storage.unique();
}

// accumulate() when dst holds a gradient already: dst += g, in place when dst's buffer is ours alone
// and nothing is being recorded.
[[gnu::noinline]] void accumulate_into(Tensor& dst, Tensor&& g, bool create_graph) {
  TensorImpl& d = *dst.impl();
  // (not for dual gradients, forward over reverse: an in-place sum would drop g's tangent)
  if (!create_graph && d.slot < 0 && d.is_contiguous() && d.shape == g.shape() && uniquely_owned(dst) &&
      !any_tangent({&dst, &g})) {
    const TensorImpl& gi = *g.impl();
    dispatch_floating(d.dtype, "backward", [&]<class T>() {
      T* o = d.data_unchecked<T>();
      const T* s = gi.dtype == d.dtype && gi.is_contiguous() ? gi.data_unchecked<T>() : g.cdata<T>();
      const std::int64_t n = d.numel;
      if (n == 1) *o += *s;  // 0-d: no loop set-up
      else if (n < 64)
        for (std::int64_t i = 0; i < n; ++i) o[i] += s[i];
      else kernels::add_into(o, s, n);
    });
    return;
  }
  dst = add(dst, g);
}

// dst += g (g defined). A gradient kept here is made contiguous (a VJP may return a view, e.g.
// transpose's or expand's), as libtorch's AccumulateGrad does, so that .grad() and the in-place path
// above see row-major buffers. Inlined: the first gradient into an empty dst is the common case
// (every slot of a chain), a move.
[[gnu::always_inline]] inline void accumulate(Tensor& dst, Tensor&& g, bool create_graph) {
  if (!dst.defined()) {
    if (g.is_contiguous()) [[likely]]
      dst = std::move(g);
    else dst = g.contiguous();
    return;
  }
  accumulate_into(dst, std::move(g), create_graph);
}

// The same for a recorded result's slot, whose gradient only the VJPs of this pass read (they read
// views through their strides): the first gradient is kept as it comes, a view included. A VJP
// returning a transposed view (matmul's for a transposed operand, transpose's own) then costs no
// copy, and a transpose's VJP applied to a transposed view gives a row-major leaf gradient again:
// a hand-written `matmul(x, W.t())` copies nothing in backward (measured: 35-41% of the raw-op
// MLP 1024x3's step went to such copies before).
[[gnu::always_inline]] inline void accumulate_slot(Tensor& dst, Tensor&& g, bool create_graph) {
  if (!dst.defined()) [[likely]] {
    dst = std::move(g);
    return;
  }
  accumulate_into(dst, std::move(g), create_graph);
}

// Leaf -> index in the pass's pending list: open addressing on the pointer, no allocation per
// lookup (a backward pass looks a leaf up once per use of it).
class LeafIndex {
 public:
  struct Slot {
    const TensorImpl* key = nullptr;
    std::size_t index = 0;
  };
  /// Empties the index, keeping its table (handed from pass to pass, see EngineScratch).
  void clear() {
    if (size_) std::fill(slots_.begin(), slots_.end(), Slot{});
    size_ = 0;
  }

  /// The index stored for `leaf`, or -1.
  std::int64_t find(const TensorImpl* leaf) const {
    if (slots_.empty()) return -1;
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = hash(leaf) & mask;; i = (i + 1) & mask) {
      const Slot& s = slots_[i];
      if (s.key == leaf) return static_cast<std::int64_t>(s.index);
      if (!s.key) return -1;
    }
  }

  /// The index stored for `leaf`; when absent, stores `next` and returns {next, true}.
  [[gnu::always_inline]] std::pair<std::size_t, bool> find_or_insert(const TensorImpl* leaf, std::size_t next) {
    if (2 * (size_ + 1) > slots_.size()) rehash(slots_.empty() ? 16 : 2 * slots_.size());
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = hash(leaf) & mask;; i = (i + 1) & mask) {
      Slot& s = slots_[i];
      if (s.key == leaf) return {s.index, false};
      if (!s.key) {
        s = {leaf, next};
        ++size_;
        return {next, true};
      }
    }
  }

 private:
  static std::size_t hash(const TensorImpl* p) {
    const auto h = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(p)) * 0x9E3779B97F4A7C15ull;
    return static_cast<std::size_t>(h >> 32);
  }
  [[gnu::noinline]] void rehash(std::size_t n) {
    std::vector<Slot> old(n);
    old.swap(slots_);
    size_ = 0;
    for (const Slot& s : old)
      if (s.key) find_or_insert(s.key, s.index);
  }
  std::vector<Slot> slots_;
  std::size_t size_ = 0;
};

// The buffers of a backward pass, kept per thread between passes so that a steady training loop
// does not allocate them at every step. A stack: a pass started inside a VJP (create_graph,
// ag::checkpoint) takes its own.
struct EngineScratch {
  std::vector<Tensor> grads, grads_out, grads_in, results;
  std::vector<std::pair<IntrusivePtr<TensorImpl>, Tensor>> pending;
  LeafIndex pending_index;
};
thread_local std::vector<EngineScratch> t_scratch;

// PyTorch's message, naming what was freed: "op 'mul'", or which input of an op.
[[noreturn]] void freed_error(const std::string& what) {
  fail(
      "backward: Trying to backward through the graph a second time (or directly access saved tensors after they "
      "have already been freed): {} was freed by an earlier backward, or the tape was rewound. Saved intermediate "
      "values of the graph are freed when you call backward() or grad(). Pass retain_graph=true to the first "
      "backward() if you need to go through the graph again",
      what);
}
[[noreturn]] void freed_error(const char* op) { freed_error(fmt::format("the saved data of op '{}'", op)); }
// A recorded result of a tape generation already freed: names the op that made it.
[[noreturn]] void freed_error(const Tensor& result) {
  const TensorImpl& im = *result.impl();
  freed_error(fmt::format("the saved data of op '{}' (its result {})", im.op ? im.op : "?", describe(result)));
}

}  // namespace

class Engine;
namespace {
thread_local Engine* t_running = nullptr;  // the innermost backward pass running on this thread
}  // namespace

class Engine {
  friend class BackwardCtx;  // accumulator()

 public:
  Engine(bool retain, bool create_graph) : retain_(retain), create_(create_graph), tape_(Tape::current()) {
    ctx_.engine_ = this;
    if (t_scratch.empty()) return;
    swap_buffers(t_scratch.back());
    t_scratch.pop_back();
  }
  ~Engine() {
    grads_.clear();
    ctx_.grads_out_.clear();
    ctx_.grads_in_.clear();
    results_.clear();
    pending_.clear();
    pending_index_.clear();
    try {
      swap_buffers(t_scratch.emplace_back());
    } catch (...) {  // out of memory: the buffers are simply not kept
    }
  }
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  /// Runs the reverse pass. With `inputs`, gradients are captured for them and no .grad() is touched.
  std::vector<Tensor> run(std::span<const Tensor> outputs, std::span<const Tensor> grad_outputs,
                          const std::vector<Tensor>* inputs, bool allow_unused, const char* api) {
    if (outputs.empty()) fail("{}: no outputs given", api);
    if (!grad_outputs.empty() && grad_outputs.size() != outputs.size())
      fail("{}: {} outputs but {} grad_outputs", api, outputs.size(), grad_outputs.size());
    capture_ = inputs != nullptr;
    if (capture_) {
      results_.assign(inputs->size(), Tensor());
      for (std::size_t j = 0; j < inputs->size(); ++j) {
        const Tensor& x = (*inputs)[j];
        const auto& im = x.checked(api);
        if (!im.requires_grad) fail("{}: input {} ({}) does not require grad", api, j, describe(x));
        std::size_t first = j;  // an input listed again gets the first listing's result, as in PyTorch
        if (im.slot >= 0) {
          if (im.tape != &tape_ || im.generation != tape_.generation()) freed_error(x);
          first = slot_inputs_.emplace(im.slot, j).first->second;
        } else {
          first = leaf_inputs_.emplace(x.impl(), j).first->second;
        }
        if (first != j) repeated_inputs_.emplace_back(j, first);
      }
    }
    grads_.assign(static_cast<std::size_t>(tape_.num_slots()), Tensor());
    std::int64_t top = -1;
    for (std::size_t i = 0; i < outputs.size(); ++i) {
      const Tensor& out = outputs[i];
      const auto& im = out.checked(api);
      if (!im.requires_grad)
        fail(
            "{}: output {} ({}) does not require grad and was not recorded on the tape (did every input have "
            "requires_grad false, or was it computed under NoGradGuard?)",
            api, i, describe(out));
      Tensor g = grad_outputs.empty() ? Tensor() : grad_outputs[i];
      if (!g.defined()) {
        if (im.numel != 1)
          fail(
              "{}: grad can be implicitly created only for scalar outputs; output {} is {} (pass a gradient of "
              "the same shape)",
              api, i, describe(out));
        g = ones_like(out);
      } else if (g.shape() != im.shape || g.dtype() != im.dtype) {
        fail("{}: gradient {} does not match output {} ({})", api, describe(g), i, describe(out));
      }
      if (im.slot < 0) {
        deliver_leaf(out.impl_ptr(), std::move(g));
        continue;
      }
      if (im.tape != &tape_) fail("{}: output {} was recorded on another thread's tape", api, i);
      if (im.generation != tape_.generation()) freed_error(out);
      accumulate(grads_[static_cast<std::size_t>(im.slot)], std::move(g), create_);
      top = std::max<std::int64_t>(top, static_cast<std::int64_t>(tape_.node_of_slot(im.slot)));
    }
    if (capture_) mark_needed(top);
    Running running(this);
    if (!capture_ && detail::hooked_leaves() != 0) [[unlikely]]
      plan_ready(top);
    if (!ready_plan_) {
      for (std::int64_t i = top; i >= 0; --i) step(tape_.node(static_cast<std::size_t>(i)), i);
    } else {
      for (std::int64_t i = top; i >= 0; --i) {
        step(tape_.node(static_cast<std::size_t>(i)), i);
        while (ready_next_ < ready_.size() && ready_[ready_next_].first == i) fire_ready(ready_[ready_next_++].second);
      }
      for (auto& [leaf, g] : pending_)  // leaves reached as outputs, or through an opaque node
        if (leaf->hooks && !leaf->hooks->ready.empty() && !fired_.count(leaf.get())) fire_ready(leaf.get());
    }
    commit_leaves();
    // the end-of-backward callbacks (queue_callback), by index: a callback may queue more
    for (std::size_t k = 0; k < callbacks_.size(); ++k) {
      const std::function<void()> cb = std::move(callbacks_[k]);
      cb();
    }
    callbacks_.clear();
    if (!retain_) tape_.reset_if_consumed();
    if (detail::t_profiling) [[unlikely]]
      detail::profile_backward_end();  // profiler hook
    if (capture_ && detail::hooked_leaves() != 0) [[unlikely]]
      run_input_leaf_hooks();
    for (auto [j, first] : repeated_inputs_) results_[j] = results_[first];
    if (capture_ && !allow_unused)
      for (std::size_t j = 0; j < results_.size(); ++j)
        if (!results_[j].defined())
          fail(
              "{}: input {} ({}) was not used to compute the outputs (pass allow_unused=true to get an undefined "
              "tensor for it)",
              api, j, describe((*inputs)[j]));
    return std::move(results_);
  }

  /// From a VJP of the running pass: back-propagates through the nodes from `first_node` on only.
  std::vector<Tensor> run_segment(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs,
                                  const std::vector<Tensor>& inputs, std::size_t first_node, const char* api) {
    api_ = api;
    parent_ = t_running;
    if (!parent_) fail("{}: backward_segment may only be called from a backward function", api);
    if (outputs.size() != grad_outputs.size())
      fail("{}: {} outputs but {} grad_outputs", api, outputs.size(), grad_outputs.size());
    if (first_node > tape_.num_nodes()) fail("{}: first node {} is past the tape's end", api, first_node);
    base_ = first_node < tape_.num_nodes() ? tape_.node(first_node)->first_slot : tape_.num_slots();
    results_.assign(inputs.size(), Tensor());
    for (std::size_t j = 0; j < inputs.size(); ++j) {
      const auto& im = inputs[j].checked(api);
      if (!im.requires_grad || im.slot >= 0)
        fail("{}: input {} ({}) is not a leaf requiring grad", api, j, describe(inputs[j]));
      leaf_inputs_.emplace(inputs[j].impl(), j);
    }
    grads_.assign(static_cast<std::size_t>(tape_.num_slots() - base_), Tensor());
    std::int64_t top = -1;
    for (std::size_t i = 0; i < outputs.size(); ++i) {
      const Tensor& out = outputs[i];
      const Tensor& g = grad_outputs[i];
      if (!out.defined() || !g.defined() || !out.impl()->requires_grad) continue;
      if (g.shape() != out.shape() || g.dtype() != out.dtype())
        fail("{}: gradient {} does not match output {} ({})", api, describe(g), i, describe(out));
      const auto& im = *out.impl();
      if (im.slot < 0) {
        deliver_leaf(out.impl_ptr(), Tensor(g));
        continue;
      }
      if (im.tape != &tape_ || im.generation != tape_.generation()) freed_error(out);
      add_to_slot(im.slot, Tensor(g));
      if (im.slot >= base_) top = std::max<std::int64_t>(top, static_cast<std::int64_t>(tape_.node_of_slot(im.slot)));
    }
    {
      Running running(this);
      for (std::int64_t i = top; i >= static_cast<std::int64_t>(first_node); --i)
        step(tape_.node(static_cast<std::size_t>(i)), i);
    }
    for (std::size_t i = first_node; i < tape_.num_nodes(); ++i) tape_.mark_released(tape_.node(i));
    return std::move(results_);
  }

 private:
  void swap_buffers(EngineScratch& s) noexcept {
    grads_.swap(s.grads);
    ctx_.grads_out_.swap(s.grads_out);
    ctx_.grads_in_.swap(s.grads_in);
    results_.swap(s.results);
    pending_.swap(s.pending);
    std::swap(pending_index_, s.pending_index);
  }

  // For grad(): a node is needed when one of its edges leads to a requested input, directly or
  // through needed nodes. The others are neither run nor freed (as libtorch's engine, which only
  // executes the part of the graph between the outputs and the inputs).
  void mark_needed(std::int64_t top) {
    needed_.assign(static_cast<std::size_t>(top + 1), 0);
    for (std::int64_t i = 0; i <= top; ++i) {
      const Node* n = tape_.node(static_cast<std::size_t>(i));
      bool need = n->opaque;
      for (std::uint32_t k = 0; k < n->num_inputs && !need; ++k) {
        const Edge& e = n->edges[k];
        if (e.kind == Edge::Leaf) need = leaf_inputs_.count(e.leaf.get()) > 0;
        else if (e.kind == Edge::Slot) need = slot_inputs_.count(e.slot) > 0 || needed_[tape_.node_of_slot(e.slot)];
        else if (e.kind == Edge::Freed) need = true;  // unknown beyond: let step() report it
      }
      needed_[static_cast<std::size_t>(i)] = need;
    }
  }

  void step(Node* n, std::int64_t index) {
    current_ = index;
    bool any = false;
    if (n->num_outputs == 1) [[likely]]  // the common case, without the loop
      any = grads_[slot(n, 0)].defined();
    else
      for (std::uint32_t k = 0; k < n->num_outputs; ++k) any = any || grads_[slot(n, k)].defined();
    if (!any) return;
    if (tape_.has_slot_hooks()) [[unlikely]]
      run_slot_hooks(n, index);
    if (capture_) {
      for (std::uint32_t k = 0; k < n->num_outputs; ++k) {
        auto it = slot_inputs_.find(n->first_slot + k);
        if (it != slot_inputs_.end()) results_[it->second] = grads_[slot(n, k)];
      }
      if (!needed_[static_cast<std::size_t>(index)]) {
        for (std::uint32_t k = 0; k < n->num_outputs; ++k) grads_[slot(n, k)] = Tensor();
        return;
      }
    }
    // retain_grad: as in PyTorch, grad() too fills .grad() of the retained results whose op it runs
    for (std::uint32_t k = 0; k < n->num_outputs; ++k)
      if (auto keep = tape_.retained(n->first_slot + k); keep && grads_[slot(n, k)].defined())
        deliver_leaf(keep, Tensor(grads_[slot(n, k)]), /*retained=*/true);
    if (n->released) freed_error(n->name);
    const std::int64_t prof_t0 = detail::t_profiling ? detail::profile_clock() : 0;  // profiler hook
    BackwardCtx& ctx = ctx_;
    ctx.node_ = n;
    // Both buffers only grow; entries past this node's counts, and every entry between steps, are
    // undefined (the loops below move each one out).
    if (n->num_outputs > out_size_) [[unlikely]]
      ctx.grads_out_.resize(out_size_ = n->num_outputs);
    if (n->num_inputs > in_size_) [[unlikely]]
      ctx.grads_in_.resize(in_size_ = n->num_inputs);
    for (std::uint32_t k = 0; k < n->num_outputs; ++k) {
      Tensor& g = grads_[slot(n, k)];
      if (g.defined()) ctx.grads_out_[k] = std::move(g);
      else if (n->outputs) ctx.grads_out_[k] = zeros_like(n->outputs[k].get(n->name));
    }
    {
      AutoGradMode mode(create_);
      n->apply(ctx);
    }
    if (detail::anomaly_enabled()) [[unlikely]]
      detail::anomaly_backward(tape_, n, static_cast<std::size_t>(index), ctx.grads_out_, ctx.grads_in_);
    for (std::uint32_t k = 0; k < n->num_inputs; ++k) {
      Tensor& g = ctx.grads_in_[k];
      if (!g.defined()) continue;
      const Edge& e = n->edges[k];
      switch (e.kind) {
        case Edge::None:
          break;
        case Edge::Slot:
          add_to_slot(e.slot, std::move(g));
          break;
        case Edge::Leaf:
          deliver_leaf_fast(e.leaf, std::move(g));
          break;
        case Edge::Freed:
          freed_error(fmt::format("the op that computed input {} ({}) of op '{}'", k, describe(g), n->name));
      }
      g = Tensor();
    }
    for (std::uint32_t k = 0; k < n->num_outputs; ++k) ctx.grads_out_[k] = Tensor();
    if (prof_t0) [[unlikely]]
      detail::profile_backward(n, prof_t0);  // profiler hook
    if (!retain_) tape_.mark_released(n);
  }

  // deliver_leaf from step(), inlined for its common case: a backward() (no inputs captured, no
  // enclosing pass) and a gradient of the leaf's shape and dtype. The same steps as deliver_leaf's.
  [[gnu::always_inline]] void deliver_leaf_fast(const IntrusivePtr<TensorImpl>& leaf, Tensor&& g) {
    const TensorImpl& gi = *g.impl();
    if (leaf_inputs_.empty() && !capture_ && !parent_ && gi.dtype == leaf->dtype && gi.shape == leaf->shape)
        [[likely]] {
      auto [index, fresh] = pending_index_.find_or_insert(leaf.get(), pending_.size());
      if (fresh) pending_.emplace_back(leaf, std::move(g));
      else accumulate(pending_[index].second, std::move(g), create_);
      return;
    }
    deliver_leaf(leaf, std::move(g));
  }

  [[gnu::noinline]] void deliver_leaf(const IntrusivePtr<TensorImpl>& leaf, Tensor&& g, bool retained = false) {
    if (g.shape() != leaf->shape || g.dtype() != leaf->dtype)
      fail("backward: gradient {} does not match leaf {}{} (a backward function returned the wrong shape)", describe(g),
           dtype_name(leaf->dtype), shape_str(leaf->shape));
    if (!leaf_inputs_.empty())
      if (auto it = leaf_inputs_.find(leaf.get()); it != leaf_inputs_.end()) {
        accumulate(results_[it->second], std::move(g), create_);
        return;
      }
    if (capture_ && !retained) return;
    if (parent_) {
      parent_->deliver_leaf(leaf, std::move(g));
      return;
    }
    // Held back until the whole pass has succeeded: a backward that throws midway (a modified
    // saved tensor, a freed node, a bad custom VJP) leaves every .grad() as it was.
    auto [index, fresh] = pending_index_.find_or_insert(leaf.get(), pending_.size());
    if (fresh) pending_.emplace_back(leaf, std::move(g));
    else accumulate(pending_[index].second, std::move(g), create_);
  }

  // Tensor::register_hook on results: before the node's VJP, on the gradient complete by now.
  // Under grad(), only for nodes that run or whose output is a requested input (as PyTorch, whose
  // engine runs a node's pre-hooks only when it executes it, and a captured input's hooks >= 2.0).
  void run_slot_hooks(const Node* n, std::int64_t index) {
    const bool runs = !capture_ || needed_[static_cast<std::size_t>(index)];
    AutoGradMode mode(create_);
    for (std::uint32_t k = 0; k < n->num_outputs; ++k) {
      const std::int64_t s = n->first_slot + k;
      Tensor& g = grads_[slot(n, k)];
      if (!g.defined() || !(runs || slot_inputs_.count(s))) continue;
      if (const auto* hooks = tape_.find_slot_hooks(s)) {
        const std::vector<detail::GradHook> copy = *hooks;  // a hook may register hooks (a rehash)
        g = detail::run_grad_hooks(copy, std::move(g), "a result of op");
      }
    }
  }

  // grad(): hooks of the leaves requested as inputs, on their complete gradients.
  void run_input_leaf_hooks() {
    AutoGradMode mode(create_);
    for (auto [leaf, j] : leaf_inputs_)
      if (leaf->hooks && results_[j].defined())
        results_[j] = detail::run_grad_hooks(leaf->hooks->pre, std::move(results_[j]), "a leaf");
  }

  // Grad-ready hooks: for every hooked leaf, the smallest index of a node with an edge to it (its
  // gradient is complete once that node has run), sorted by decreasing index for the reverse loop.
  // With an opaque node (ag::checkpoint, whose re-run may reach any leaf) every hook waits for the
  // end of the pass.
  void plan_ready(std::int64_t top) {
    ready_plan_ = true;
    std::unordered_map<const TensorImpl*, std::int64_t> first_user;
    for (std::int64_t i = 0; i <= top; ++i) {
      const Node* n = tape_.node(static_cast<std::size_t>(i));
      if (n->opaque) {
        ready_.clear();
        return;
      }
      for (std::uint32_t k = 0; k < n->num_inputs; ++k) {
        const Edge& e = n->edges[k];
        if (e.kind != Edge::Leaf || !e.leaf->hooks || e.leaf->hooks->ready.empty()) continue;
        if (first_user.emplace(e.leaf.get(), i).second) ready_.emplace_back(i, e.leaf.get());
      }
    }
    std::stable_sort(ready_.begin(), ready_.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  }

  // Runs a leaf's grad-ready hooks on its pending gradient, if the pass gave it one.
  void fire_ready(const TensorImpl* leaf) {
    const std::int64_t index = pending_index_.find(leaf);
    if (index < 0 || !leaf->hooks) return;
    fired_.insert(leaf);
    AutoGradMode mode(create_);
    const std::vector<detail::GradHook> copy = leaf->hooks->ready;  // a hook may register hooks
    const Tensor& g = pending_[static_cast<std::size_t>(index)].second;
    for (const auto& h : copy)
      if (h) h(g);
  }

 public:
  void queue(std::function<void()> cb) {
    Engine* e = this;
    while (e->parent_) e = e->parent_;
    e->callbacks_.push_back(std::move(cb));
  }

 private:
  void commit_leaves() {
    AutoGradMode mode(create_);
    // leaf hooks (register_hook) first, on each leaf's gradient summed over the pass, all before
    // any .grad() changes (a hook that throws leaves them as they were)
    const bool hooks = detail::hooked_leaves() != 0;
    if (hooks) [[unlikely]]
      for (auto& [leaf, g] : pending_)
        if (leaf->hooks && !leaf->hooks->pre.empty())
          g = detail::run_grad_hooks(leaf->hooks->pre, std::move(g), "a leaf");
    for (auto& [leaf, g] : pending_) {
      Tensor cur(leaf->grad);
      if (!cur.defined() && !uniquely_owned(g)) {
        // a copy, never an alias: backward(x) on a leaf x must not make x.grad() x itself (a cycle)
        leaf->grad = (create_ ? g.clone() : g.clone().detach()).impl_ptr();
        continue;
      }
      leaf->grad.reset();
      accumulate(cur, std::move(g), create_);
      leaf->grad = cur.impl_ptr();
    }
    if (hooks) [[unlikely]]
      for (auto& [leaf, g] : pending_)
        if (leaf->hooks)
          for (std::size_t i = 0; i < leaf->hooks->post.size(); ++i)
            if (const detail::PostAccumulateHook h = leaf->hooks->post[i]) h(Tensor(leaf));
    pending_.clear();
  }

  std::size_t slot(const Node* n, std::uint32_t k) const { return static_cast<std::size_t>(n->first_slot + k - base_); }

  // BackwardCtx::accumulator: the gradient input i of n leads to, when accumulate_into would add into
  // it in place (the same conditions), else null.
  Tensor* accumulator(const Node& n, std::size_t i, const Shape& shape, Dtype dtype) {
    if (create_ || detail::anomaly_enabled()) return nullptr;
    const Edge& e = n.edges[i];
    Tensor* t = nullptr;
    if (e.kind == Edge::Slot && e.slot >= base_) {
      t = &grads_[static_cast<std::size_t>(e.slot - base_)];
    } else if (e.kind == Edge::Leaf) {
      t = leaf_accumulator(e.leaf.get());
    }
    if (!t || !t->defined()) return nullptr;
    const TensorImpl& d = *t->impl();
    if (d.slot >= 0 || d.dtype != dtype || d.shape != shape || !d.is_contiguous() || !uniquely_owned(*t) ||
        any_tangent({t}))
      return nullptr;
    return t;
  }

  // Where deliver_leaf would add a gradient of `leaf` (the pass's pending sum, or the enclosing pass's
  // for a segment of ag::checkpoint), when that is a sum it keeps; null for grad()'s captured inputs.
  Tensor* leaf_accumulator(const TensorImpl* leaf) {
    if (capture_ || (!leaf_inputs_.empty() && leaf_inputs_.count(leaf))) return nullptr;
    if (parent_) return parent_->create_ ? nullptr : parent_->leaf_accumulator(leaf);
    const std::int64_t index = pending_index_.find(leaf);
    return index >= 0 ? &pending_[static_cast<std::size_t>(index)].second : nullptr;
  }

  // A slot below base_ belongs to the enclosing pass: its node has not run yet there (it was
  // recorded before the node whose VJP runs this pass), so the gradient joins that pass.
  void add_to_slot(std::int64_t s, Tensor&& g) {
    if (s >= base_) [[likely]] {
      accumulate_slot(grads_[static_cast<std::size_t>(s - base_)], std::move(g), create_);
      return;
    }
    add_to_parent_slot(s, std::move(g));
  }
  [[gnu::noinline]] void add_to_parent_slot(std::int64_t s, Tensor&& g) {
    Engine& p = *parent_;
    if (s < p.base_ || s - p.base_ >= static_cast<std::int64_t>(p.grads_.size()) ||
        static_cast<std::int64_t>(tape_.node_of_slot(s)) >= p.current_)
      fail(
          "{}: the recomputed function used a result ({} {}) recorded after the call it replays (it may use only "
          "its inputs and tensors that existed when it was called)",
          api_, dtype_name(g.dtype()), shape_str(g.shape()));
    p.add_to_slot(s, std::move(g));
  }

  struct Running {
    explicit Running(Engine* e) : prev(t_running) { t_running = e; }
    ~Running() { t_running = prev; }
    Engine* prev;
  };

  bool retain_, create_, capture_ = false;
  Tape& tape_;
  Engine* parent_ = nullptr;   ///< the pass whose VJP runs this one (run_segment), else null
  std::int64_t base_ = 0;      ///< first slot this pass owns: grads_[s - base_]
  std::int64_t current_ = -1;  ///< index of the node being run
  const char* api_ = "backward";
  std::vector<Tensor> grads_;
  std::vector<Tensor> results_;
  std::unordered_map<std::int64_t, std::size_t> slot_inputs_;
  std::unordered_map<const TensorImpl*, std::size_t> leaf_inputs_;
  std::vector<std::pair<std::size_t, std::size_t>> repeated_inputs_;  ///< grad(): (input, its first listing)
  std::vector<std::pair<IntrusivePtr<TensorImpl>, Tensor>> pending_;  ///< leaf gradients of this pass
  LeafIndex pending_index_;
  std::vector<char> needed_;  ///< grad(): per node up to the top output, whether it leads to an input
  BackwardCtx ctx_;
  std::size_t out_size_ = 0, in_size_ = 0;  ///< the sizes of ctx_'s buffers: 0 when taken from EngineScratch (~Engine
                                            ///< clears them), then only grow
  bool ready_plan_ = false;                 ///< some leaf has grad-ready hooks: ready_ is this pass's plan
  std::vector<std::pair<std::int64_t, const TensorImpl*>> ready_;  ///< (last user node, leaf), by decreasing node
  std::size_t ready_next_ = 0;
  std::unordered_set<const TensorImpl*> fired_;
  std::vector<std::function<void()>> callbacks_;  ///< queue_callback, run when the pass has succeeded
};

Tensor* BackwardCtx::accumulator(std::size_t i, const Shape& shape, Dtype dtype) {
  return engine_ ? engine_->accumulator(*node_, i, shape, dtype) : nullptr;
}

namespace detail {
std::vector<Tensor> backward_segment(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs,
                                     const std::vector<Tensor>& inputs, std::size_t first_node, const char* api) {
  return Engine(false, GradMode::is_enabled()).run_segment(outputs, grad_outputs, inputs, first_node, api);
}
}  // namespace detail

void autograd::queue_callback(std::function<void()> callback) {
  if (!t_running) fail("queue_callback: no backward pass is running on this thread (call it from a hook)");
  t_running->queue(std::move(callback));
}

void backward(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs,
              std::optional<bool> retain_graph, bool create_graph) {
  Engine(retain_graph.value_or(create_graph), create_graph).run(outputs, grad_outputs, nullptr, true, "backward");
}

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs, std::optional<bool> retain_graph, bool create_graph,
                         bool allow_unused) {
  return Engine(retain_graph.value_or(create_graph), create_graph)
      .run(outputs, grad_outputs, &inputs, allow_unused, "grad");
}

void Tensor::backward(const Tensor& gradient, bool retain_graph, bool create_graph) const {
  Engine(retain_graph || create_graph, create_graph)
      .run(std::span<const Tensor>(this, 1), std::span<const Tensor>(&gradient, 1), nullptr, true, "backward");
}

}  // namespace ag
