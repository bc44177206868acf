#pragma once
/// @file memory.h
/// A thread-local caching allocator for tensor buffers and small bookkeeping objects: blocks are
/// kept in size classes (four per power of two) and reused, so a steady training loop does not call
/// malloc per op, and large buffers are not page-faulted in again at every step.

#include <cstddef>
#include <cstdint>
#include <new>

namespace ag {

/// A block of at least `bytes` bytes, 64-byte aligned; free it with pool_free(p, bytes).
void* pool_allocate(std::size_t bytes);
/// Returns a block to this thread's cache (or to the system when the cache is full).
void pool_free(void* p, std::size_t bytes) noexcept;

/// Counters of the calling thread's cache.
struct PoolStats {
  std::uint64_t hits = 0;          ///< allocations served from the cache
  std::uint64_t misses = 0;        ///< allocations that went to the system
  std::size_t cached_bytes = 0;    ///< bytes held in the cache now
};
PoolStats pool_stats();
/// Gives every cached block of the calling thread back to the system.
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
  bool operator==(const PoolAllocator<U>&) const noexcept { return true; }
};

}  // namespace ag
