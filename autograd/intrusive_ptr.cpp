#include "autograd/intrusive_ptr.h"

#include <pthread.h>

#include <mutex>
#include <vector>

namespace ag {

namespace detail {

void RcThread::drain() noexcept {
  std::vector<const RefCounted*> q;
  {
    std::lock_guard lock(mu);
    q.swap(queue);
    pending.store(false, std::memory_order_relaxed);
  }
  for (const RefCounted* o : q)
    if (o->merge_queued()) o->destroy_(const_cast<RefCounted*>(o));
}

void RcThread::exit() noexcept {
  pool_close_at_thread_exit();
  for (;;) {
    {
      std::lock_guard lock(mu);
      if (queue.empty()) {
        exited = true;
        return;
      }
    }
    drain();
  }
}

thread_local constinit RcThread* t_rc_thread = nullptr;

namespace {

// Every record, so that leak checkers see them reachable: one per thread that ever created a tensor.
std::mutex g_records_mu;
std::vector<RcThread*>* g_records = nullptr;

pthread_key_t make_exit_key() {
  pthread_key_t key;
  pthread_key_create(&key, [](void* r) { static_cast<RcThread*>(r)->exit(); });
  return key;
}

}  // namespace

RcThread* make_rc_thread() {
  static const pthread_key_t key = make_exit_key();
  auto* r = new RcThread;
  {
    std::lock_guard lock(g_records_mu);
    if (!g_records) g_records = new std::vector<RcThread*>;
    g_records->push_back(r);
  }
  pthread_setspecific(key, r);  // glibc runs key destructors after the thread_local destructors
  t_rc_thread = r;
  return r;
}

}  // namespace detail

void RefCounted::unref_last_or_shared() const noexcept {
  bool last;
  if (owner_ == detail::t_rc_thread && !merged_) {
    // The owner drops its last counted reference. Count 0 and no flag: no reference is left
    // anywhere, so no other thread can touch the word (the acquire load orders us after the last
    // foreign decrement): destroy without a locked instruction. Else hand over to the atomic count.
    local_ = 0;
    merged_ = true;
    if (shared_.load(std::memory_order_acquire) == kBias) {
      last = true;
    } else {
      const std::uint64_t w = shared_.fetch_or(kMerged, std::memory_order_acq_rel);
      last = !(w & kQueued) && count(w) == 0;
    }
  } else {
    last = unref_slow();
  }
  if (last) destroy_(const_cast<RefCounted*>(this));
}

// A thread that has dropped its reference may touch the object again only if the object cannot be
// freed meanwhile: the decrement that hands it to the owner also sets kQueued, in the same atomic
// step, so exactly one thread goes on (and while kQueued is set, nobody but the queue frees it).
bool RefCounted::unref_slow() const noexcept {
  detail::RcThread& owner = *owner_;
  const bool on_owner = owner_ == detail::t_rc_thread;
  std::uint64_t w = shared_.load(std::memory_order_relaxed);
  for (;;) {
    std::uint64_t nw = w - 1;
    bool hand_over = false;
    if (!(nw & kQueued)) {
      if (nw & kMerged) hand_over = count(nw) == 0 && !on_owner;  // the last reference, dropped elsewhere
      else hand_over = count(nw) < 0;  // a reference the owner counted, dropped here: the owner merges
    }
    if (hand_over) nw |= kQueued;
    if (shared_.compare_exchange_weak(w, nw, std::memory_order_acq_rel, std::memory_order_relaxed)) {
      if (hand_over) return queue_to_owner(owner);
      return (nw & kMerged) && !(nw & kQueued) && count(nw) == 0;  // on the owner thread
    }
  }
}

bool RefCounted::queue_to_owner(detail::RcThread& o) const noexcept {
  std::lock_guard lock(o.mu);
  if (!o.exited) {
    o.queue.push_back(this);
    o.pending.store(true, std::memory_order_relaxed);
    return false;
  }
  // The owner is gone, so local_ no longer changes (the lock orders us after its exit): merge it
  // ourselves; we hold kQueued, so no other thread frees the object meanwhile.
  return merge_counts();
}

bool RefCounted::merge_counts() const noexcept {
  std::uint64_t w = shared_.load(std::memory_order_acquire);
  for (;;) {
    const std::uint64_t nw = ((w + ((w & kMerged) ? 0 : local_)) | kMerged) & ~kQueued;
    if (shared_.compare_exchange_weak(w, nw, std::memory_order_acq_rel, std::memory_order_acquire))
      return count(nw) == 0;
  }
}

bool RefCounted::merge_queued() const noexcept {
  const bool last = merge_counts();
  merged_ = true;
  local_ = 0;
  return last;
}

}  // namespace ag
