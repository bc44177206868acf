#pragma once
/// @file intrusive_ptr.h
/// ag::IntrusivePtr<T>: the reference-counted pointer behind Tensor handles and their storage.
///
/// Counting is biased (Choi, Shull and Torrellas, "Biased Reference Counting", PACT 2018): the
/// thread that created an object counts its references with plain increments and decrements; any
/// other thread uses atomic ones on a second counter. A training loop creates and drops its tensors
/// on one thread, so it pays no locked instruction per handle copy, while a model shared by several
/// threads stays safe. The rules, all inside this file and intrusive_ptr.cpp:
///  - the owner's count (`local_`) is touched only by the owner thread;
///  - when it reaches zero the owner stops counting locally (`merged`): from then on every
///    reference is counted in the atomic word;
///  - a reference the owner counted but another thread dropped makes the atomic count negative:
///    that thread queues the object to its owner, which merges the two counts later (the
///    decrement marks the object queued in the same atomic step, so exactly one thread hands it
///    over, and nothing frees it before the owner has merged it, merge_queued);
///  - an object whose last reference goes on another thread is queued to its owner too, so that
///    objects are destroyed on the thread that created them while it runs (the tape relies on it:
///    Note: lifetimes in tape.h);
///  - when the owner thread exits it merges its queue; afterwards, other threads merge and free
///    its objects themselves.
/// The owner drains its queue at its next object creation.
///
/// Kept for its measured gain (2026-12-06, after the tape's saved tensors became plain handles):
/// with every count atomic instead (one fetch_add/fetch_sub per copy and drop, same objects), the
/// 0-d chain (bench workload 2) took 275-301 vs 191-202 ns per op for the whole step, thread CPU
/// time in interleaved runs (recorded forward 127-141 vs 87-93 ns), past the chain's 0.025x-of-
/// libtorch target; XOR steps 3.17-3.22 vs 2.89 us. Callgrind counts fewer instructions for the
/// atomic version (1,710 vs 1,825 per chain op): the cost is the locked instructions' latency.

#include <atomic>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <new>
#include <utility>
#include <vector>

#include "autograd/memory.h"

namespace ag {

class RefCounted;

namespace detail {
/// What other threads need of a thread that creates counted objects: its queue and whether it
/// has exited. Records are never freed (objects of an exited thread still point to theirs).
struct RcThread {
  std::atomic<bool> pending{false};  ///< queue not empty: a hint read without the lock
  std::mutex mu;
  bool exited = false;                   ///< guarded by mu
  std::vector<const RefCounted*> queue;  ///< guarded by mu
  /// On the owner thread: merges every queued object's counts, destroying those left without references.
  void drain() noexcept;
  /// At thread exit: drains the queue until it stays empty, then marks the thread exited.
  void exit() noexcept;
};
/// The calling thread's record, or null before the thread creates its first counted object.
extern thread_local constinit RcThread* t_rc_thread;
RcThread* make_rc_thread();
/// The calling thread's record (created on first use), after draining its queue if not empty.
inline RcThread* rc_thread_for_new_object() {
  RcThread* r = t_rc_thread;
  if (!r) [[unlikely]]
    r = make_rc_thread();
  if (r->pending.load(std::memory_order_relaxed)) [[unlikely]]
    r->drain();
  return r;
}
}  // namespace detail

/// Base of the objects an IntrusivePtr points to (not copyable, not movable).
class RefCounted {
 public:
  RefCounted(const RefCounted&) = delete;
  RefCounted& operator=(const RefCounted&) = delete;

  /// Adds a reference (the caller holds one already).
  void ref() const noexcept {
    if (owner_ == detail::t_rc_thread && !merged_) [[likely]] {
      ++local_;
      return;
    }
    shared_.fetch_add(1, std::memory_order_relaxed);
  }
  /// Drops a reference; destroys the object when it was the last one.
  void unref() const noexcept {
    if (owner_ == detail::t_rc_thread && !merged_) [[likely]] {
      if (local_ > 1) {
        --local_;
        return;
      }
      // the owner's last reference, and none elsewhere (see unref_last_or_shared): no locked op
      if (shared_.load(std::memory_order_acquire) == kBias) {
        local_ = 0;
        merged_ = true;
        destroy_(const_cast<RefCounted*>(this));
        return;
      }
    }
    unref_last_or_shared();
  }
  /// True when the caller's reference is the only one (exact on the owner thread; false elsewhere,
  /// which callers treat as "shared").
  bool unique() const noexcept {
    return owner_ == detail::t_rc_thread && !merged_ && local_ == 1 &&
           count(shared_.load(std::memory_order_acquire)) == 0;
  }
  /// True on the thread that created the object (and only there).
  bool owned_here() const noexcept { return owner_ == detail::t_rc_thread; }

 protected:
  RefCounted() : owner_(detail::rc_thread_for_new_object()) {}
  ~RefCounted() = default;
  /// For a T::adopt_at_zero hook (see make_intrusive) that keeps the object when its last reference
  /// went: one reference again, counted by the owner. Valid only on the owner thread, inside the hook.
  void revive() const noexcept {
    local_ = 1;
    merged_ = false;
    shared_.store(kBias, std::memory_order_relaxed);
  }

 private:
  friend struct detail::RcThread;
  template <class T, class... A>
  friend auto make_intrusive(A&&... args);

  static constexpr std::uint64_t kMerged = std::uint64_t(1) << 63;  ///< the owner no longer counts locally
  static constexpr std::uint64_t kQueued = std::uint64_t(1) << 62;  ///< in the owner's queue
  static constexpr std::uint64_t kCountMask = kQueued - 1;
  static constexpr std::uint64_t kBias = std::uint64_t(1) << 40;  ///< the atomic count is stored + kBias
  static std::int64_t count(std::uint64_t w) noexcept {
    return static_cast<std::int64_t>(w & kCountMask) - static_cast<std::int64_t>(kBias);
  }
  void unref_last_or_shared() const noexcept;  // unref()'s other cases: the owner's last local reference, or atomic
  bool unref_slow() const noexcept;            // atomic path: true to destroy
  bool queue_to_owner(detail::RcThread& owner) const noexcept;  // holding kQueued: queue it, or merge
  bool merge_counts() const noexcept;                           // adds the owner's count, sets kMerged, clears kQueued
  bool merge_queued() const noexcept;  // on the owner thread, for a queued object: true to destroy

  mutable std::uint32_t local_ = 1;  // owner thread only
  mutable bool merged_ = false;      // owner thread only
  detail::RcThread* const owner_;
  mutable std::atomic<std::uint64_t> shared_{kBias};
  void (*destroy_)(RefCounted*) = nullptr;
};

/// An owning pointer to a RefCounted T (as c10::intrusive_ptr).
template <class T>
class IntrusivePtr {
 public:
  IntrusivePtr() noexcept = default;
  IntrusivePtr(std::nullptr_t) noexcept {}  // NOLINT: implicit, as shared_ptr's
  /// A new reference to *p (p may be null).
  explicit IntrusivePtr(T* p) noexcept : p_(p) {
    if (p_) p_->ref();
  }
  IntrusivePtr(const IntrusivePtr& o) noexcept : p_(o.p_) {
    if (p_) p_->ref();
  }
  IntrusivePtr(IntrusivePtr&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  IntrusivePtr& operator=(const IntrusivePtr& o) noexcept {
    IntrusivePtr(o).swap(*this);
    return *this;
  }
  IntrusivePtr& operator=(IntrusivePtr&& o) noexcept {
    IntrusivePtr(std::move(o)).swap(*this);
    return *this;
  }
  ~IntrusivePtr() {
    if (p_) p_->unref();
  }
  /// Takes over the creation reference of a freshly made object.
  static IntrusivePtr adopt(T* p) noexcept {
    IntrusivePtr r;
    r.p_ = p;
    return r;
  }

  T* get() const noexcept { return p_; }
  T* operator->() const noexcept { return p_; }
  T& operator*() const noexcept { return *p_; }
  explicit operator bool() const noexcept { return p_ != nullptr; }
  void reset() noexcept { IntrusivePtr().swap(*this); }
  void swap(IntrusivePtr& o) noexcept { std::swap(p_, o.p_); }
  /// See RefCounted::unique.
  bool unique() const noexcept { return p_ && p_->unique(); }
  friend bool operator==(const IntrusivePtr& a, const IntrusivePtr& b) noexcept { return a.p_ == b.p_; }
  friend bool operator==(const IntrusivePtr& a, std::nullptr_t) noexcept { return a.p_ == nullptr; }

 private:
  T* p_ = nullptr;
};

/// A new T from the pooled allocator (see memory.h), owned by the returned pointer. When its last
/// reference goes, `static bool T::adopt_at_zero(T*)` (if T has one) may keep it: it then holds
/// the one reference that revive() gives back, and the object is not destroyed (TensorImpl's, for
/// a result that saved tensors borrow: Note: lifetimes in tape.h).
template <class T, class... A>
auto make_intrusive(A&&... args) {
  void* mem = pool_allocate(sizeof(T));
  T* p;
  try {
    if constexpr (sizeof...(A) == 0)
      p = new (mem) T;  // default- not value-initialised: no memset of the whole object first
    else p = new (mem) T(std::forward<A>(args)...);
  } catch (...) {
    pool_free(mem, sizeof(T));
    throw;
  }
  static_cast<RefCounted*>(p)->destroy_ = [](RefCounted* o) {
    T* t = static_cast<T*>(o);
    if constexpr (requires {
                    { T::adopt_at_zero(t) } -> std::same_as<bool>;
                  })
      if (T::adopt_at_zero(t)) return;
    t->~T();
    pool_free(t, sizeof(T));
  };
  return IntrusivePtr<T>::adopt(p);
}

}  // namespace ag
