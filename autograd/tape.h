#pragma once
/// @file tape.h
/// The per-thread tape (a Wengert list): nodes in execution order, in an arena.
/// It knows no particular op: an op records a node holding its vector-Jacobian product.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <new>
#include <optional>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "autograd/arena.h"
#include "autograd/grad_mode.h"
#include "autograd/tensor.h"

namespace ag {

/// Where a node's input gets its gradient.
struct Edge {
  enum Kind : std::uint8_t { None, Slot, Leaf, Freed };
  Kind kind = None;
  std::int64_t slot = -1;               ///< for Slot: the tape slot of a recorded result
  IntrusivePtr<TensorImpl> leaf;        ///< for Leaf: the leaf that accumulates .grad()
};

/// A tensor kept for backward: it does not keep the tape alive, and it remembers the storage
/// version so that backward throws if an in-place op changed the data in between.
/// A recorded result of this thread's live tape is borrowed, not referenced: no handle is made, and
/// the result stays (adopted, see TensorImpl::adopt_at_zero) while a SavedTensor borrows it, after
/// its last handle has gone. A SavedTensor belongs to the thread that made it (as the tape does).
class SavedTensor {
 public:
  SavedTensor() = default;
  explicit SavedTensor(const Tensor& t);
  /// The same without telling an active ag::Profiler: for a tensor whose bytes it was already told of.
  static SavedTensor not_profiled(const Tensor& t);
  SavedTensor(const SavedTensor& o) noexcept : impl_(o.impl_), version_(o.version_), borrowed_(o.borrowed_) { hold(); }
  SavedTensor(SavedTensor&& o) noexcept
      : impl_(std::exchange(o.impl_, nullptr)), version_(o.version_), borrowed_(o.borrowed_) {}
  SavedTensor& operator=(SavedTensor o) noexcept {
    std::swap(impl_, o.impl_);
    std::swap(version_, o.version_);
    std::swap(borrowed_, o.borrowed_);
    return *this;
  }
  ~SavedTensor() {
    if (!impl_) return;
    if (borrowed_) impl_->drop_saved();
    else impl_->unref();
  }
  /// The saved tensor; throws ag::Error naming `op` if it was modified in place since.
  Tensor get(const char* op = "backward") const;
  bool defined() const { return impl_ != nullptr; }

 private:
  void init(const TensorImpl* src);
  void hold() noexcept {
    if (!impl_) return;
    if (borrowed_) ++impl_->saved_refs;
    else impl_->ref();
  }
  TensorImpl* impl_ = nullptr;  // a reference unless borrowed_
  std::uint64_t version_ = 0;
  bool borrowed_ = false;
};

class Node;

/// What a vector-Jacobian product sees: the gradients of the node's outputs, and where to put
/// the gradients of its inputs. VJPs are written with ops, so create_graph records them.
class BackwardCtx {
 public:
  /// Gradient of output i (zeros if no gradient reached it; undefined instead for a node recorded
  /// with several outputs not kept, as ag::checkpoint's).
  const Tensor& grad(std::size_t i = 0) const { return grads_out_[i]; }
  /// The node's output i, when the op was recorded with keep_output (e.g. tanh, sigmoid, exp).
  Tensor output(std::size_t i = 0) const;
  /// Whether input i wants a gradient: skip the work when not.
  bool needs(std::size_t i) const;
  /// Sets the gradient of input i (it is accumulated, +=, by the engine).
  void set(std::size_t i, Tensor g) { grads_in_[i] = std::move(g); }
  std::size_t num_inputs() const;
  const char* op_name() const;

 private:
  friend class Engine;
  const Node* node_ = nullptr;
  std::vector<Tensor> grads_out_;
  std::vector<Tensor> grads_in_;
};

/// One recorded op. Lives in the tape's arena; the VJP is a lambda stored inline.
class Node {
 public:
  virtual ~Node() = default;
  virtual void apply(BackwardCtx& ctx) = 0;
  /// Drops what the VJP captured (saved tensors), keeping the node's slot.
  virtual void release_captures() = 0;

  const char* name = "";
  Edge* edges = nullptr;
  std::uint32_t num_inputs = 0;
  std::uint32_t num_outputs = 1;
  std::int64_t first_slot = 0;
  bool released = false;
  bool opaque = false;  ///< its VJP may send gradients beyond its edges (ag::checkpoint): grad() runs it
  SavedTensor* outputs = nullptr;  ///< kept outputs (keep_output), else null
};

// ---- profiler hooks (ag::Profiler, autograd/profiler.h) ----------------------------------------
// When no profiler is active the whole cost is one test of this thread-local flag in record(), in
// the SavedTensor constructor, in checkpoint() and in the engine's reverse loop. All profiler logic is in profiler.cpp.
namespace detail {
/// The calling thread's tape once Tape::current() has made it (null before, and after thread exit).
inline thread_local constinit Tape* t_tape = nullptr;
/// True while an ag::Profiler is active on this thread.
inline thread_local bool t_profiling = false;
/// record() hook: node n was just recorded (its op's forward ends now).
void profile_record(const Node* n);
/// SavedTensor hook: a tensor of `bytes` bytes was saved for the op about to be recorded.
void profile_saved(std::int64_t bytes);
/// Engine hooks: a steady-clock timestamp (ns); n's VJP and gradient accumulation ran from t0 to now;
/// the end of a backward pass.
std::int64_t profile_clock();
void profile_backward(const Node* n, std::int64_t t0);
void profile_backward_end();
}  // namespace detail
// ---- end of profiler hooks ---------------------------------------------------------------------

template <class F>
class LambdaNode final : public Node {
 public:
  explicit LambdaNode(F&& f) : fn_(std::in_place, std::move(f)) {}
  void apply(BackwardCtx& ctx) override { (*fn_)(ctx); }
  void release_captures() override { fn_.reset(); }

 private:
  std::optional<F> fn_;
};

/// The tape of this thread. Tape order is creation order; backward is a reverse loop over it.
/// It rewinds (O(1)) when no recorded result is alive any more, or when backward without
/// retain_graph has consumed every node on it.
class Tape {
 public:
  Tape() = default;
  ~Tape();
  Tape(const Tape&) = delete;
  Tape& operator=(const Tape&) = delete;

  /// The calling thread's tape.
  static Tape& current() {
    if (Tape* t = detail::t_tape) [[likely]] return *t;
    return current_slow();
  }

  std::size_t num_nodes() const { return nodes_.size(); }
  std::int64_t num_slots() const { return static_cast<std::int64_t>(slot_node_.size()); }
  std::uint64_t generation() const { return generation_; }
  /// Bytes of the arena in use (nodes, edges) — excludes tensors saved for backward.
  std::size_t arena_bytes() const { return arena_.used(); }
  std::int64_t live_tensors() const { return live_; }
  Node* node(std::size_t i) const { return nodes_[i]; }
  std::size_t node_of_slot(std::int64_t slot) const { return slot_node_[static_cast<std::size_t>(slot)]; }

  /// Asks backward to store slot's gradient into `impl`'s .grad() (retain_grad). The entry goes
  /// when `impl` is destroyed (always on this thread: see intrusive_ptr.h) or the tape rewinds.
  void retain(std::int64_t slot, TensorImpl* impl);
  /// The tensor retaining slot's gradient, or null.
  IntrusivePtr<TensorImpl> retained(std::int64_t slot) const {
    if (retained_.empty()) return nullptr;
    auto it = retained_.find(slot);
    return it == retained_.end() ? nullptr : IntrusivePtr<TensorImpl>(it->second);
  }
  /// Drops every node and bumps the generation; results still alive become "freed".
  void reset();

  // Used by record() and the engine.
  Edge make_edge(const Tensor& t) {
    Edge e;
    if (!t.defined()) return e;
    TensorImpl* im = t.impl();
    if (im->slot >= 0) {
      if (im->tape != this) [[unlikely]] foreign_tensor_error(t);
      if (im->generation != generation_) {
        e.kind = Edge::Freed;
      } else {
        e.kind = Edge::Slot;
        e.slot = im->slot;
      }
    } else if (im->requires_grad) {
      e.kind = Edge::Leaf;
      e.leaf = t.impl_ptr();
    }
    return e;
  }
  template <class F>
  Node* push(const char* name, std::size_t n_in, std::size_t n_out, F&& f);
  void attach_output(Node* n, std::size_t i, Tensor& out, bool keep) {
    if (!out.impl()->owned_here()) [[unlikely]] own_output(out);
    TensorImpl* im = out.impl();
    im->requires_grad = true;
    im->tape = this;
    im->generation = generation_;
    im->slot = n->first_slot + static_cast<std::int64_t>(i);
    im->in_live_count = true;
    ++live_;
    if (keep) keep_output(n, i, out);
  }
  void mark_released(Node* n);
  /// Rewinds when every node has been released by a backward pass.
  void reset_if_consumed();
  /// Called when a recorded result's last handle goes (~TensorImpl, or its adoption by the
  /// SavedTensors borrowing it): forgets it if it belongs to this thread's live tape. `counted` and
  /// `retains` are its flags, which the caller may already have cleared.
  static void release_impl(TensorImpl* impl, bool counted, bool retains) {
    // the owner check also tells this thread's tape from an exited thread's at the same address
    Tape* t = detail::t_tape;
    if (!t || impl->tape != t || !impl->owned_here()) return;
    if (impl->generation != t->generation_ || t->resetting_) return;
    if (retains) t->forget_retained(impl);
    if (counted && --t->live_ == 0) t->reset();
  }

 private:
  static Tape& current_slow();
  [[noreturn]] static void foreign_tensor_error(const Tensor& t);
  void keep_output(Node* n, std::size_t i, Tensor& out);  // attach_output's Keep::Output part
  void forget_retained(TensorImpl* impl);
  static void own_output(Tensor& out);  // attach_output, for an output another thread created

  Arena arena_;
  std::vector<Node*> nodes_;
  std::vector<std::uint32_t> slot_node_;
  std::unordered_map<std::int64_t, TensorImpl*> retained_;
  std::uint64_t generation_ = 1;
  std::int64_t live_ = 0;
  std::size_t unreleased_ = 0;
  bool resetting_ = false;
};

template <class F>
Node* Tape::push(const char* name, std::size_t n_in, std::size_t n_out, F&& f) {
  using N = LambdaNode<std::decay_t<F>>;
  // one arena block: the node, then its edges
  constexpr std::size_t edges_at = (sizeof(N) + alignof(Edge) - 1) / alignof(Edge) * alignof(Edge);
  auto* mem = static_cast<std::byte*>(
      arena_.allocate(edges_at + sizeof(Edge) * (n_in ? n_in : 1), std::max(alignof(N), alignof(Edge))));
  Node* n = new (mem) N(std::forward<F>(f));
  n->name = name;
  n->num_inputs = static_cast<std::uint32_t>(n_in);
  n->num_outputs = static_cast<std::uint32_t>(n_out);
  n->edges = reinterpret_cast<Edge*>(mem + edges_at);
  // constructed empty first, so a record() whose make_edge throws leaves a node reset() can destroy
  for (std::size_t i = 0; i < n_in; ++i) new (&n->edges[i]) Edge();
  n->first_slot = num_slots();
  for (std::size_t i = 0; i < n_out; ++i) slot_node_.push_back(static_cast<std::uint32_t>(nodes_.size()));
  nodes_.push_back(n);
  ++unreleased_;
  return n;
}

/// The inputs or outputs of record(): a braced list of pointers, `{&a, &b}`, or a vector of tensors
/// (cat, stack, unbind, custom functions). A view: it holds neither the list nor the vector, which
/// must outlive it (as a call's arguments do). `T` is `const Tensor` for inputs, `Tensor` for
/// outputs. Inlined at a call site, the `ptrs_` test folds away (callgrind: same instructions per
/// op as the three overloads it replaced).
template <class T>
class TensorList {
 public:
  // the list's array lives until the end of the full-expression holding the call
  TensorList(std::initializer_list<T*> l) noexcept : n_(l.size()) { ptrs_ = l.begin(); }  // NOLINT: implicit
  TensorList(std::conditional_t<std::is_const_v<T>, const std::vector<Tensor>&, std::vector<Tensor>&> v) noexcept  // NOLINT
      : items_(v.data()), n_(v.size()) {}
  std::size_t size() const noexcept { return n_; }
  T& operator[](std::size_t i) const noexcept { return ptrs_ ? *ptrs_[i] : items_[i]; }

 private:
  T* const* ptrs_ = nullptr;
  T* items_ = nullptr;
  std::size_t n_;
};

/// True when grad mode is on and some input requires a gradient: only then is anything recorded.
inline bool any_requires_grad(std::initializer_list<const Tensor*> ins) {
  if (!GradMode::is_enabled()) return false;
  for (const Tensor* t : ins)
    if (t->defined() && t->impl()->requires_grad) return true;
  return false;
}
bool any_requires_grad(const std::vector<Tensor>& ins);

/// Options for record().
enum class Keep : std::uint8_t { Nothing, Output };

/// Records `outputs = op(inputs)` with its VJP `f(BackwardCtx&)`. Call only when
/// any_requires_grad(inputs) holds. With Keep::Output the VJP can read ctx.output(), and an output
/// that no gradient reached is passed to the VJP as zeros; without it, as an undefined tensor.
template <class F>
void record(const char* name, TensorList<const Tensor> inputs, TensorList<Tensor> outputs, F&& f,
            Keep keep = Keep::Nothing) {
  Tape& tape = Tape::current();
  Node* n = tape.push(name, inputs.size(), outputs.size(), std::forward<F>(f));
  for (std::size_t i = 0; i < inputs.size(); ++i) n->edges[i] = tape.make_edge(inputs[i]);
  for (std::size_t i = 0; i < outputs.size(); ++i) tape.attach_output(n, i, outputs[i], keep == Keep::Output);
  if (detail::t_profiling) [[unlikely]] detail::profile_record(n);  // profiler hook
}

}  // namespace ag
