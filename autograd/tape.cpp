#include "autograd/tape.h"

#include <atomic>

namespace ag {

namespace {
thread_local constinit bool t_tape_gone = false;  // trivially destructible: readable during thread exit
struct TapeHolder {
  Tape tape;
  ~TapeHolder() {  // before ~Tape: results it frees find no tape
    detail::t_tape = nullptr;
    t_tape_gone = true;
  }
};
thread_local TapeHolder t_holder;
}  // namespace

Tape& Tape::current_slow() {
  if (t_tape_gone)
    fail("record: this thread's tape was destroyed at thread exit (an op recorded by a thread_local's destructor?)");
  detail::t_tape = &t_holder.tape;
  return t_holder.tape;
}

std::uint64_t Tape::next_id() {
  static std::atomic<std::uint64_t> ids{0};
  return ids.fetch_add(1, std::memory_order_relaxed) + 1;
}

void Tape::own_output(Tensor& out) {
  const TensorImpl& im = *out.impl();
  const bool flag = im.grad_base_view;
  out = make_view(out, im.shape, im.strides(), im.offset);
  out.impl()->grad_base_view = flag;
}

Tape::~Tape() { reset(); }

std::size_t Tape::release_memory() {
  std::size_t freed = arena_.release(kArenaReserveBytes);
  auto shrink = [&freed](auto& v) {
    using V = std::remove_reference_t<decltype(v)>;
    if (!v.empty() || v.capacity() <= kListReserve) return;
    freed += v.capacity() * sizeof(typename V::value_type);
    V fresh;
    fresh.reserve(kListReserve);
    v.swap(fresh);
  };
  shrink(nodes_);
  shrink(slot_node_);
  return freed;
}

namespace {
/// pool_release_cached's hook: the calling thread's tape, if it has one, gives its memory back.
void release_tape_memory() noexcept {
  if (Tape* t = detail::t_tape) t->release_memory();
}
[[maybe_unused]] const bool tape_release_hooked = (detail::pool_set_release_hook(&release_tape_memory), true);
}  // namespace

SavedTensor::SavedTensor(const Tensor& t) {
  if (!t.defined()) return;
  const TensorImpl* src = t.impl();
  if (detail::t_profiling) [[unlikely]]  // profiler hook
    detail::profile_saved(src->numel * static_cast<std::int64_t>(itemsize(src->dtype)));
  init(src);
}

SavedTensor SavedTensor::not_profiled(const Tensor& t) {
  SavedTensor s;
  if (t.defined()) s.init(t.impl());
  return s;
}

void SavedTensor::init(const TensorImpl* src) {
  version_ = src->storage->version;
  impl_ = const_cast<TensorImpl*>(src);
  if (src->in_live_count && src->owned_here()) {
    // A result of this thread: a reference would keep it, and so its tape, alive. Borrowed instead;
    // after its last handle TensorImpl::adopt_at_zero keeps it for us (saved_refs is plain: owner only).
    borrowed_ = true;
    ++impl_->saved_refs;
    return;
  }
  // A leaf or constant (double backward reaches the leaf), an adopted result (already out of the
  // live count), or a result of another thread (an op refused for it: see Tape::make_edge).
  impl_->ref();
}

Tensor SavedTensor::get(const char* op) const {
  if (!impl_) return Tensor();
  if (impl_->storage->version != version_)
    fail(
        "{}: one of the tensors needed for gradient computation ({} {}) has been modified by an "
        "in-place operation (version {} when saved, {} now)",
        op, dtype_name(impl_->dtype), shape_str(impl_->shape), version_, impl_->storage->version);
  return Tensor(IntrusivePtr<TensorImpl>(impl_));
}

Tensor BackwardCtx::output(std::size_t i) const {
  if (!node_->outputs)
    fail("{}: backward asked for its output, but the op was recorded without Keep::Output", node_->name);
  return node_->outputs[i].get(node_->name);
}

bool BackwardCtx::needs(std::size_t i) const { return node_->edges[i].kind != Edge::None; }
std::size_t BackwardCtx::num_inputs() const { return node_->num_inputs; }
const char* BackwardCtx::op_name() const { return node_->name; }

bool any_requires_grad(const std::vector<Tensor>& ins) {
  if (!GradMode::is_enabled()) return false;
  for (const Tensor& t : ins)
    if (t.defined() && t.impl()->requires_grad) return true;
  return false;
}

void Tape::foreign_tensor_error(const Tensor& t) {
  fail("record: tensor {} was recorded on another thread's tape; each thread records on its own", describe(t));
}

void Tape::keep_output(Node* n, std::size_t i, Tensor& out) {
  if (!n->outputs) {
    n->outputs = static_cast<SavedTensor*>(arena_.allocate(sizeof(SavedTensor) * n->num_outputs, alignof(SavedTensor)));
    for (std::uint32_t k = 0; k < n->num_outputs; ++k) new (&n->outputs[k]) SavedTensor();
  }
  n->outputs[i] = SavedTensor(out);
}

void Tape::mark_released(Node* n) {
  if (n->released) return;
  n->release_captures();
  if (n->outputs)
    for (std::uint32_t k = 0; k < n->num_outputs; ++k) n->outputs[k] = SavedTensor();
  n->released = true;
  --unreleased_;
}

void Tape::reset_if_consumed() {
  if (unreleased_ == 0 && !nodes_.empty()) reset();
}

void Tape::retain(std::int64_t slot, TensorImpl* impl) {
  impl->retains_grad = true;
  retained_[slot] = impl;
}

void Tape::forget_retained(TensorImpl* impl) {
  auto it = retained_.find(impl->slot);
  if (it != retained_.end() && it->second == impl) retained_.erase(it);
}

void Tape::reset() {
  // The generation first: results that the nodes' captures release below are then of an old
  // generation, which release_impl ignores (no reset within reset; see Note: lifetimes).
  ++generation_;
  live_results_ = 0;
  unreleased_ = 0;
  retained_.clear();
  // hooks may hold handles to results of this generation: destroyed after the bump, and out of
  // the map first, so that nothing they release finds it half-cleared
  auto hooks = std::move(slot_hooks_);
  slot_hooks_.clear();
  hooks.clear();
  for (Node* n : nodes_) {
    if (n->outputs)
      for (std::uint32_t k = 0; k < n->num_outputs; ++k) n->outputs[k].~SavedTensor();
    for (std::uint32_t k = 0; k < n->num_inputs; ++k) n->edges[k].~Edge();
    n->~Node();
  }
  nodes_.clear();
  slot_node_.clear();
  arena_.reset();
}

}  // namespace ag
