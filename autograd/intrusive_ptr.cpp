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
    if (o->settle()) o->destroy_(const_cast<RefCounted*>(o));
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

bool RefCounted::unref_slow() const noexcept {
  const std::uint64_t w = shared_.fetch_sub(1, std::memory_order_acq_rel) - 1;
  if (w & kQueued) return false;  // the owner's queue holds it and decides
  if (w & kMerged) {
    if (count(w) != 0) return false;
    if (owner_ == detail::t_rc_thread) return true;
    return defer_to_owner();  // no references left: destroyed by the owner, or here if it has exited
  }
  if (count(w) >= 0) return false;  // the owner still counts references of its own
  return defer_to_owner();  // a reference the owner counted was dropped here: the owner merges
}

bool RefCounted::defer_to_owner() const noexcept {
  detail::RcThread& o = *owner_;
  std::lock_guard lock(o.mu);
  std::uint64_t w = shared_.load(std::memory_order_acquire);
  if (o.exited) {
    // The owner is gone, so local_ and merged_ no longer change (the lock orders us after its exit).
    for (;;) {
      if (w & kMerged) return count(w) == 0;
      const std::uint64_t nw = (w + local_) | kMerged;
      if (shared_.compare_exchange_weak(w, nw, std::memory_order_acq_rel, std::memory_order_acquire))
        return count(nw) == 0;
    }
  }
  while (!(w & kQueued))
    if (shared_.compare_exchange_weak(w, w | kQueued, std::memory_order_acq_rel, std::memory_order_acquire)) {
      o.queue.push_back(this);
      o.pending.store(true, std::memory_order_relaxed);
      break;
    }
  return false;
}

bool RefCounted::settle() const noexcept {
  const std::uint64_t add = merged_ ? 0 : local_;
  merged_ = true;
  local_ = 0;
  std::uint64_t w = shared_.load(std::memory_order_acquire);
  for (;;) {
    const std::uint64_t nw = ((w + add) | kMerged) & ~kQueued;
    if (shared_.compare_exchange_weak(w, nw, std::memory_order_acq_rel, std::memory_order_acquire))
      return count(nw) == 0;
  }
}

}  // namespace ag
