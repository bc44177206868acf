#pragma once
/// @file memory.h
/// A thread-local caching allocator for tensor buffers and small bookkeeping objects: blocks are
/// kept in size classes (four per power of two) and reused, so a steady training loop does not call
/// malloc per op, and large buffers are not page-faulted in again at every step.

#include <array>
#include <cstddef>
#include <cstdint>
#include <new>

namespace ag {

/// Counters of the calling thread's cache.
struct PoolStats {
  std::uint64_t hits = 0;        ///< allocations served from the cache
  std::uint64_t misses = 0;      ///< allocations that went to the system
  std::size_t cached_bytes = 0;  ///< bytes held in the cache now
};

namespace detail {
// The pool's internals that the inline fast paths below read; memory.cpp has the rest. A request
// of up to kPoolTableBytes finds its size class in kPoolSmallClasses[(bytes - 1) / 16].
inline constexpr std::size_t kPoolClasses = 4 * 48;
inline constexpr std::size_t kPoolTableBytes = 1024;
inline constexpr std::size_t kPoolMaxCachedBytes = std::size_t(512) << 20;  // per thread
struct PoolSizeClass {
  std::size_t index;
  std::size_t size;  ///< bytes of the blocks of this class
};
extern const std::array<PoolSizeClass, kPoolTableBytes / 16> kPoolSmallClasses;
struct PoolFreeBlock {
  PoolFreeBlock* next;
};
/// One thread's cache: plain data, so the hot path reads it with no thread_local guard.
/// state: 0 nothing cached yet, 1 alive, 2 destroyed (thread exit).
struct PoolCache {
  PoolFreeBlock* heads[kPoolClasses];
  std::size_t counts[kPoolClasses];
  PoolStats stats;
  int state;
};
extern thread_local constinit PoolCache t_pool_cache;
void* pool_allocate_slow(std::size_t bytes);
/// Called by pool_release_cached() before it trims (set by tape.cpp: the calling thread's tape gives
/// its arena back), so that this layer needs no knowledge of the tape.
using PoolReleaseHook = void (*)() noexcept;
void pool_set_release_hook(PoolReleaseHook hook) noexcept;
void pool_free_slow(void* p, std::size_t bytes) noexcept;
/// For code running after the thread's thread_local destructors (pthread key destructors): from now
/// on this thread's frees go straight to the system (a cache started now would never be released).
inline void pool_close_at_thread_exit() noexcept {
  if (t_pool_cache.state == 0) t_pool_cache.state = 2;
}
inline const PoolSizeClass& pool_small_class(std::size_t bytes) {
  return kPoolSmallClasses[(bytes - (bytes != 0)) / 16];
}
}  // namespace detail

/// A block of at least `bytes` bytes, 64-byte aligned; free it with pool_free(p, bytes).
inline void* pool_allocate(std::size_t bytes) {
  if (bytes <= detail::kPoolTableBytes) {
    const detail::PoolSizeClass& c = detail::pool_small_class(bytes);
    detail::PoolCache& p = detail::t_pool_cache;
    if (detail::PoolFreeBlock* b = p.heads[c.index]) {
      p.heads[c.index] = b->next;
      --p.counts[c.index];
      p.stats.cached_bytes -= c.size;
      ++p.stats.hits;
      return b;
    }
  }
  return detail::pool_allocate_slow(bytes);
}

/// Returns a block to this thread's cache (or to the system when the cache is full).
inline void pool_free(void* ptr, std::size_t bytes) noexcept {
  if (ptr && bytes <= detail::kPoolTableBytes) {
    const detail::PoolSizeClass& c = detail::pool_small_class(bytes);
    detail::PoolCache& p = detail::t_pool_cache;
    if (p.state == 1 && p.stats.cached_bytes + c.size <= detail::kPoolMaxCachedBytes) {
      auto* b = static_cast<detail::PoolFreeBlock*>(ptr);
      b->next = p.heads[c.index];
      p.heads[c.index] = b;
      ++p.counts[c.index];
      p.stats.cached_bytes += c.size;
      return;
    }
  }
  detail::pool_free_slow(ptr, bytes);
}
PoolStats pool_stats();
/// Gives every cached block of the calling thread back to the system, and the calling thread's tape
/// its memory beyond a reserve (Tape::release_memory; the tape's Note: memory given back), then asks
/// glibc to return its free pages to the operating system (malloc_trim): after a large graph is
/// dropped, the resident set falls back near its level before the graph. Costs a walk of the heap
/// (about a millisecond per 100 MiB); for use between phases, not per step.
void pool_release_cached() noexcept;

/// std::allocator-compatible allocator over the pool (for allocate_shared of tensor objects).
template <class T>
struct PoolAllocator {
  using value_type = T;
  PoolAllocator() = default;
  template <class U>
  PoolAllocator(const PoolAllocator<U>&) noexcept {}  // NOLINT: rebinding must be implicit
  T* allocate(std::size_t n) { return static_cast<T*>(pool_allocate(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n) noexcept { pool_free(p, n * sizeof(T)); }
  template <class U>
  bool operator==(const PoolAllocator<U>&) const noexcept {
    return true;
  }
};

}  // namespace ag
