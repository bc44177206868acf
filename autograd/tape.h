#pragma once
/// @file tape.h
/// The per-thread tape (a Wengert list): nodes in execution order, in an arena.
/// It knows no particular op: an op records a node holding its vector-Jacobian product.

// Note: lifetimes
// ===============
// Who owns what when an op is recorded, when the tape forgets it, and on which thread. One rule
// per paragraph; every piece of state involved is listed at the end.
//
// Handles. A Tensor is a counted handle (IntrusivePtr) to a TensorImpl, which holds one to its
// Storage. The thread that creates an object counts its references with plain increments; other
// threads count atomically, and an object whose last reference goes on another thread is queued
// to its creating thread and destroyed there (biased counting, intrusive_ptr.h, where its measured
// gain is written: plain atomic counts made the 0-d chain ~45% slower). Only when the creating
// thread has exited does whoever drops the last reference destroy it.
//
// The tape. One per thread (Tape::current(), a thread_local: it is destroyed at thread exit, and
// recording after that throws). The tape owns its nodes: each lives in the tape's arena with its
// edges and is destroyed only by Tape::reset(). A node owns what its VJP captured (SavedTensors,
// shapes, an ag::Function's context). An edge to a leaf holds a handle to the leaf; an edge to a
// recorded result holds only the result's slot, no handle.
//
// A result (an output of record()) is owned by the user's handles; the tape holds none. record()
// stamps it with (tape, generation, slot) and counts it in the tape's live results
// (in_live_count). When its last handle goes, Tape::release_impl takes it out of the count and out
// of the retain_grad list (from ~TensorImpl, or from adopt_at_zero below). A result another thread
// made (an ag::Function whose forward ran elsewhere) is first re-created on the tape's thread
// (Tape::own_output), so that every result is destroyed on its tape's thread (see below).
//
// A saved tensor (SavedTensor, what a VJP keeps for backward) of a leaf or constant is an ordinary
// handle (double backward reaches the leaf). A result of this thread is borrowed: the SavedTensor
// points to the result's own TensorImpl without a reference (borrowed_) and is counted in its
// saved_refs instead, so that saving makes no TensorImpl and what backward needs never keeps the
// tape from rewinding (the live count sees the user's handles only). When the last handle of a
// borrowed result goes, make_intrusive's hook TensorImpl::adopt_at_zero keeps it: revive() gives it
// one reference again, held for the borrowers (adopted), and it leaves the live count and the
// retain list as if destroyed (release_impl, which may rewind the tape). The last borrower's
// drop_saved gives that reference back, freeing it. ctx.output() and SavedTensor::get() return the
// result itself, a handle to it while it is adopted (not counted live; saving it again references
// it). saved_refs and adopted are plain fields: only the result's creating thread borrows it
// (owned_here), and a borrowing SavedTensor lives in a node of that thread's tape, destroyed on that
// thread (at the latest by ~Tape at thread exit, before the thread's objects can be freed
// elsewhere). So an adopt_at_zero with saved_refs > 0 runs there too: another thread's drop of the
// last handle is queued to the creating thread (intrusive_ptr.h). A SavedTensor of another thread's
// result (made only by an op that make_edge then refuses) holds a reference. A backward without
// retain_graph releases each node's captures as soon as its VJP has run (mark_released,
// Node::released), so saved tensors go during the backward, before the rewind.
//
// Borrowing is kept because it measures a gain. It came in with 2f386a8 (75 -> 60 ns per recorded
// op), was replaced in 78b5ea7 by a handle to an uncounted copy of the result's TensorImpl (same
// storage, tape, generation and slot), which measured 5-13 ns per recorded op slower on a loaded
// machine, and on a quiet one (ag_compare, docs/benchmarks/2026-12-06.md) the chain 145-152 ->
// 163-213 ns per op (over the 0.025x-of-libtorch target), XOR and the 8-32 RNN about 4% slower.
// Measured again when it came back (2026-12-06, the copy at cf9f1a5 vs borrowing, bench/ag_bench
// train_step): callgrind instructions in Workload::step() per training step, chain (2) 1,846 vs
// 1,834 per op, XOR 26,287 vs 26,021, rnn_tiny 2,255,487 vs 2,189,231 (-2.9%). Thread CPU time,
// interleaved runs on the shared 2-core machine (load 3-7): chain step medians 161 and 184 vs 146
// and 166 ns per op (two batches; the recorded forward of BM_chain_fwd_bwd/10000, wall time,
// medians 84 and 73 vs 59 and 61 ns per op); XOR step minima 2.47-2.58 vs 2.45-2.54 us, the same
// within noise. The RNN 8-32 (rnn_tiny) had minima of 154-166 vs 158-172 us in four batches (2-7%
// higher) although it executes 2.9% fewer instructions (no hardware counters on this VM). In
// ag_compare runs interleaved with the copy (docs/benchmarks/2026-12-06-views.md, two rounds each)
// borrowing alone measured chain 145 and 139 vs 159 and 158 ns per op, XOR 2.5 vs 2.6 us, RNN 8-32
// 166-169 vs 166-178 us: a gain on the chain, no loss elsewhere beyond this host's noise.
//
// The tape rewinds (reset(): destroys the nodes, empties the arena, bumps the generation; it visits
// no tensor still alive, which the generation marks stale instead) when
//  - the live count reaches zero: every result's last handle went (a forward whose loss was
//    dropped, an evaluation under grad mode);
//  - a backward without retain_graph has released every node (reset_if_consumed);
//  - the thread exits (~Tape), or a caller asks (Tape::reset()).
// A result alive after a rewind keeps its stale generation: an op on it records a Freed edge and a
// backward through it throws "backward through the graph a second time". Stan's stack allocator
// is the model (one owner, the arena, and recovery points); here the recovery points are found
// by the count instead of being called explicitly.
//
// Memory given back. A rewind keeps the arena's blocks and the node and slot lists' capacity, so a
// steady loop records its graph again without calling malloc. The tape's high-water mark stays
// held until Tape::release_memory(), which ag::pool_release_cached() calls for the calling thread's
// tape (and then asks glibc to return free pages, malloc_trim): it frees the arena blocks nothing is
// recorded in beyond a reserve of kArenaReserveBytes (1 MiB: the first blocks, enough for some 5000
// nodes, so that a small loop after the call still records without malloc) and, when nothing is
// recorded, the lists' capacity beyond kListReserve entries. Measured (tests/test_memory_release.cpp,
// debug build): after 1e6 tanh ops on 4-element float64 tensors, backward and the drop, the resident
// set stayed at 690 MiB (from 14 before the graph) before this; after the call it returns to within
// a few MiB of its level before the graph.
//
// Reentrancy. reset() destroys nodes, and a node's captures can hold the last handle to a result of
// the same tape: a Tensor kept in an ag::Function's saved_data (which also keeps the live count
// above zero, so only a backward or an explicit Tape::reset() rewinds such a tape). Its ~TensorImpl
// (or its adoption, when a node not yet destroyed borrows it) calls release_impl, which must not
// rewind again in the middle of the loop: reset() bumps the generation before it destroys anything,
// so release_impl ignores every result of the generation being destroyed. (Before, a `resetting_`
// flag did this.) The other way round, a rewind can run inside adopt_at_zero (the adopted result
// was the last live one) and free the result being adopted, with its last borrower: adopt_at_zero
// clears the result's flags before, and touches nothing after.
//
// Why destruction happens on the creating thread. The live count, the retain_grad list, the
// arena and the borrow counts are plain per-thread state, touched without locks. release_impl and
// adopt_at_zero run when a TensorImpl's last handle goes, so they must run on the tape's thread:
// biased counting destroys a TensorImpl on the thread that created it, own_output makes that thread
// the tape's, and release_impl ignores an impl created elsewhere (owned_here) and every impl once
// the thread's tape is gone (detail::t_tape is null).
//
// State.
//   TensorImpl::tape, generation, slot  the node that made a result; valid while generation is the
//                                       tape's; slot -1 for leaves and constants
//   TensorImpl::in_live_count           counted in tape->live_results_ (cleared when adopted)
//   TensorImpl::retains_grad            tape->retained_ points to it (retain_grad; cleared when adopted)
//   TensorImpl::saved_refs              SavedTensors borrowing it (no reference); owner thread only
//   TensorImpl::adopted                 its last handle went while borrowed: one reference kept
//                                       (revive) until the last borrower's drop_saved
//   TensorImpl::hooks                   a leaf's register_hook hooks, owned by the leaf (graph.h)
//   SavedTensor::borrowed_              impl_ is counted in its saved_refs, not referenced
//   Tape::live_results_                 results of the current generation with a handle left
//   Tape::unreleased_                   nodes whose captures no backward has released yet
//   Node::released                      its captures and kept outputs are gone (mark_released)
//   Node::outputs                       its kept outputs (Keep::Output), as SavedTensors
//   Tape::generation_                   bumped by every reset(); 1 at first
//   Tape::retained_                     slot -> the result that wants that slot's gradient
//   Tape::slot_hooks_                   slot -> the hooks registered on that result (register_hook)
//   detail::t_tape                      this thread's tape; null before its first use and after exit
//   t_tape_gone (tape.cpp)              the tape was destroyed at thread exit: record() throws
//   RefCounted::owner_, local_, merged_, shared_, detail::t_rc_thread: biased counting, described
//                                       in intrusive_ptr.h

#include <algorithm>
#include <atomic>
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
  std::int64_t slot = -1;         ///< for Slot: the tape slot of a recorded result
  IntrusivePtr<TensorImpl> leaf;  ///< for Leaf: the leaf that accumulates .grad()
};

/// A tensor kept for backward (see Note: lifetimes): it does not keep the tape alive, and it
/// remembers the storage version at saving, so that backward throws if an in-place op changed the
/// data. A result of this thread's tape is borrowed (counted in its saved_refs, no reference); any
/// other tensor is referenced. A SavedTensor belongs to the thread that made it, as the tape does.
class SavedTensor {
 public:
  SavedTensor() = default;
  explicit SavedTensor(const Tensor& t);
  /// The same without telling an active ag::Profiler: for a tensor whose bytes it was already told of.
  static SavedTensor not_profiled(const Tensor& t);
  // Written out because a borrow is not a reference: copies and drops of one go to saved_refs.
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
  TensorImpl* impl_ = nullptr;  ///< a counted reference, unless borrowed_
  std::uint64_t version_ = 0;
  bool borrowed_ = false;  ///< impl_ is a result of this thread, held through its saved_refs
};

class Node;
class Engine;

/// What a vector-Jacobian product sees: the gradients of the node's outputs, and where to put
/// the gradients of its inputs. VJPs are written with ops, so create_graph records them.
class BackwardCtx {
 public:
  /// Gradient of output i. An output of a several-output node that no gradient reached gives zeros
  /// if the node was recorded with Keep::Output, else an undefined tensor (unbind, ag::checkpoint).
  const Tensor& grad(std::size_t i = 0) const { return grads_out_[i]; }
  /// The node's output i, when the op was recorded with keep_output (e.g. tanh, sigmoid, exp).
  Tensor output(std::size_t i = 0) const;
  /// Whether input i wants a gradient: skip the work when not.
  bool needs(std::size_t i) const;
  /// Sets the gradient of input i (it is accumulated, +=, by the engine).
  void set(std::size_t i, Tensor g) { grads_in_[i] = std::move(g); }
  /// Gradient of output i for the VJP's last read of it: the engine's handle itself, moved out (so
  /// an op may reuse its buffer when nothing else holds it); grad(i) is undefined afterwards. A copy
  /// of the handle while anomaly detection is on (its check reads the output gradients after the VJP).
  Tensor take_grad(std::size_t i = 0);
  /// For a VJP that can add its gradient of input i into the gradient summed so far (a product with
  /// beta 1 instead of a new tensor and the engine's +=, e.g. a recurrent weight's gradient, one
  /// contribution per time step): that sum, when the engine would have added into it in place itself
  /// (defined, contiguous, of this shape and dtype, its buffer held by nothing else, no graph recorded,
  /// no tangent, anomaly detection off), else null. A VJP that adds into it does not set(i).
  Tensor* accumulator(std::size_t i, const Shape& shape, Dtype dtype);
  std::size_t num_inputs() const;
  const char* op_name() const;

 private:
  friend class Engine;
  Engine* engine_ = nullptr;
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
  bool opaque = false;             ///< its VJP may send gradients beyond its edges (ag::checkpoint): grad() runs it
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
/// When it rewinds, and who owns what on it: Note: lifetimes, at the top of this file.
class Tape {
 public:
  Tape() = default;
  ~Tape();
  Tape(const Tape&) = delete;
  Tape& operator=(const Tape&) = delete;

  /// The calling thread's tape.
  static Tape& current() {
    if (Tape* t = detail::t_tape) [[likely]]
      return *t;
    return current_slow();
  }

  std::size_t num_nodes() const { return nodes_.size(); }
  std::int64_t num_slots() const { return static_cast<std::int64_t>(slot_node_.size()); }
  std::uint64_t generation() const { return generation_; }
  /// Unique among all the tapes of the process, never 0 (grad_fn() handles tell tapes apart by it).
  std::uint64_t id() const { return id_; }
  /// Bytes of the arena in use (nodes, edges) — excludes tensors saved for backward.
  std::size_t arena_bytes() const { return arena_.used(); }
  /// Bytes of the arena's blocks, in use or kept for reuse (release_memory() trims it to the reserve).
  std::size_t arena_capacity() const { return arena_.capacity(); }
  std::int64_t live_tensors() const { return live_results_; }
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
  /// Gives back the memory the tape holds beyond its reserve (Note: memory given back): arena
  /// blocks nothing is recorded in past kArenaReserveBytes, and, when no node is recorded, the node
  /// and slot lists' capacity past kListReserve entries. ag::pool_release_cached() calls it for the
  /// calling thread's tape. Returns the bytes freed.
  std::size_t release_memory();
  static constexpr std::size_t kArenaReserveBytes = std::size_t(1) << 20;
  static constexpr std::size_t kListReserve = std::size_t(1) << 14;

  /// The hooks registered on the recorded result of `slot` (Tensor::register_hook): they belong to
  /// the graph, as libtorch's pre-hooks of grad_fn, and go when the tape rewinds.
  std::vector<detail::GradHook>& slot_hooks(std::int64_t slot) { return slot_hooks_[slot]; }
  /// Those of `slot`, or null when it has none.
  const std::vector<detail::GradHook>* find_slot_hooks(std::int64_t slot) const {
    auto it = slot_hooks_.find(slot);
    return it == slot_hooks_.end() ? nullptr : &it->second;
  }
  /// Whether any result of this generation has hooks (the engine's one test per node).
  bool has_slot_hooks() const { return !slot_hooks_.empty(); }

  // Used by record() and the engine.
  Edge make_edge(const Tensor& t) {
    Edge e;
    set_edge(e, t);
    return e;
  }
  /// make_edge written into `e`, an empty Edge (record() fills a node's edges in place: no Edge
  /// returned and moved per input).
  void set_edge(Edge& e, const Tensor& t) {
    if (!t.defined()) return;
    TensorImpl* im = t.impl();
    if (im->slot >= 0) {
      if (im->tape != this) [[unlikely]]
        foreign_tensor_error(t);
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
  }
  template <class F>
  Node* push(const char* name, std::size_t n_in, std::size_t n_out, F&& f);
  void attach_output(Node* n, std::size_t i, Tensor& out, bool keep) {
    if (!out.impl()->owned_here()) [[unlikely]]
      own_output(out);
    TensorImpl* im = out.impl();
    im->requires_grad = true;
    im->tape = this;
    im->generation = generation_;
    im->slot = n->first_slot + static_cast<std::int64_t>(i);
    im->op = n->name;
    im->in_live_count = true;
    ++live_results_;
    if (keep) keep_output(n, i, out);
  }
  void mark_released(Node* n);
  /// Rewinds when every node has been released by a backward pass.
  void reset_if_consumed();
  /// Called when a result's last handle goes: by ~TensorImpl, or by TensorImpl::adopt_at_zero when
  /// only borrowing SavedTensors are left. Forgets it if it belongs to this thread's tape at its
  /// current generation, rewinding when it was the last live result. `live` and `retains` are its
  /// in_live_count and retains_grad, which adopt_at_zero has cleared already.
  static void release_impl(TensorImpl* impl, bool live, bool retains) {
    // the owner check also tells this thread's tape from an exited thread's at the same address
    Tape* t = detail::t_tape;
    if (!t || impl->tape != t || !impl->owned_here() || impl->generation != t->generation_) return;
    if (retains) t->forget_retained(impl);
    if (live && --t->live_results_ == 0) t->reset();
  }

 private:
  static Tape& current_slow();
  static std::uint64_t next_id();
  [[noreturn]] static void foreign_tensor_error(const Tensor& t);
  void keep_output(Node* n, std::size_t i, Tensor& out);  // attach_output's Keep::Output part
  void forget_retained(TensorImpl* impl);
  static void own_output(Tensor& out);  // attach_output, for an output another thread created

  Arena arena_;
  std::vector<Node*> nodes_;
  std::vector<std::uint32_t> slot_node_;
  std::unordered_map<std::int64_t, TensorImpl*> retained_;
  std::unordered_map<std::int64_t, std::vector<detail::GradHook>> slot_hooks_;
  std::uint64_t id_ = next_id();
  std::uint64_t generation_ = 1;
  std::int64_t live_results_ = 0;
  std::size_t unreleased_ = 0;
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
  TensorList(
      std::conditional_t<std::is_const_v<T>, const std::vector<Tensor>&, std::vector<Tensor>&> v) noexcept  // NOLINT
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

// ---- anomaly detection hooks (ag::autograd::DetectAnomalyGuard, autograd/anomaly.h) -------------
// Off, the cost is one relaxed load and one predictable branch in record() and in the engine's
// reverse loop. All anomaly logic is in anomaly.cpp.
namespace detail {
/// True while anomaly detection is on (process-wide, as libtorch's AnomalyMode).
inline std::atomic<bool> g_anomaly{false};
inline bool anomaly_enabled() noexcept { return g_anomaly.load(std::memory_order_relaxed); }
/// record() hook, before anything is recorded: throws ag::Error if an output holds NaN or Inf.
void anomaly_forward(const char* op, TensorList<const Tensor> inputs, TensorList<Tensor> outputs);
/// record() hook, after: keeps the stack trace of the call that recorded node `index`.
void anomaly_recorded(const Tape& tape, std::size_t index);
/// Engine hook, after node n's VJP ran: throws ag::Error if it produced a NaN or Inf gradient.
void anomaly_backward(const Tape& tape, const Node* n, std::size_t index, const std::vector<Tensor>& grads_out,
                      const std::vector<Tensor>& grads_in);
}  // namespace detail
// ---- end of anomaly detection hooks ------------------------------------------------------------

inline Tensor BackwardCtx::take_grad(std::size_t i) {
  if (detail::anomaly_enabled()) [[unlikely]]
    return grads_out_[i];
  return std::move(grads_out_[i]);
}

namespace detail {
/// record() hook while forward AD is on (detail::t_fw_on, grad_mode.h): throws ag::Error naming
/// `op` when an input carries a tangent and an output has none, i.e. the op ran no JVP rule (ops
/// propagate tangents before they record; forward_grad.h). Nothing is recorded yet.
void fw_check_recorded(const char* op, TensorList<const Tensor> inputs, TensorList<Tensor> outputs);
}  // namespace detail

/// Records `outputs = op(inputs)` with its VJP `f(BackwardCtx&)`. Call only when
/// any_requires_grad(inputs) holds. With Keep::Output the VJP can read ctx.output(), and an output
/// that no gradient reached is passed to the VJP as zeros; without it, as an undefined tensor.
template <class F>
void record(const char* name, TensorList<const Tensor> inputs, TensorList<Tensor> outputs, F&& f,
            Keep keep = Keep::Nothing) {
  const bool anomaly = detail::anomaly_enabled();
  if (anomaly) [[unlikely]]
    detail::anomaly_forward(name, inputs, outputs);  // may throw: nothing is recorded yet
  if (detail::t_fw_on) [[unlikely]]
    detail::fw_check_recorded(name, inputs, outputs);  // may throw: an op without a JVP rule
  Tape& tape = Tape::current();
  Node* n = tape.push(name, inputs.size(), outputs.size(), std::forward<F>(f));
  for (std::size_t i = 0; i < inputs.size(); ++i) tape.set_edge(n->edges[i], inputs[i]);
  for (std::size_t i = 0; i < outputs.size(); ++i) tape.attach_output(n, i, outputs[i], keep == Keep::Output);
  if (detail::t_profiling) [[unlikely]]
    detail::profile_record(n);  // profiler hook
  if (anomaly) [[unlikely]]
    detail::anomaly_recorded(tape, tape.num_nodes() - 1);
}

}  // namespace ag
