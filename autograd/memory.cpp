#include "autograd/memory.h"

#include <array>
#include <bit>
#include <cstdlib>

namespace ag {

namespace {

constexpr std::size_t kMinBlock = 64;
constexpr std::size_t kClasses = 4 * 48;
constexpr std::size_t kMaxCachedBytes = std::size_t(512) << 20;  // per thread
constexpr std::size_t kLargeBlock = std::size_t(64) << 10;
constexpr std::size_t kMaxLargeBlocks = 16;  // per class above kLargeBlock; smaller ones: bytes cap only

// Class of a request and the block size it gets: 64 bytes, then four steps per power of two.
struct SizeClass {
  std::size_t index;
  std::size_t size;
};

SizeClass classify(std::size_t bytes) {
  if (bytes <= kMinBlock) return {0, kMinBlock};
  const std::size_t k = std::bit_width(bytes - 1) - 1;  // 2^k < bytes <= 2^(k+1)
  const std::size_t base = std::size_t(1) << k;
  const std::size_t step = base >> 2;
  const std::size_t n = (bytes - base + step - 1) / step;  // 1..4
  return {(k - 5) * 4 + n - 3, base + n * step};
}

struct FreeBlock {
  FreeBlock* next;
};

// 0: not built yet in this thread, 1: alive, 2: destroyed (thread exit). Trivially destructible,
// so it stays readable while other thread_local objects are destroyed.
thread_local int t_pool_state = 0;

struct Pool {
  std::array<FreeBlock*, kClasses> heads{};
  std::array<std::size_t, kClasses> counts{};
  PoolStats stats;
  Pool() { t_pool_state = 1; }
  ~Pool() {
    t_pool_state = 2;
    release();
  }
  void release() noexcept {
    for (std::size_t c = 0; c < kClasses; ++c) {
      while (heads[c]) {
        FreeBlock* b = heads[c];
        heads[c] = b->next;
        std::free(b);
      }
      counts[c] = 0;
    }
    stats.cached_bytes = 0;
  }
};

thread_local Pool t_pool;

}  // namespace

void* pool_allocate(std::size_t bytes) {
  const SizeClass c = classify(bytes);
  if (c.index < kClasses && t_pool_state != 2) {
    Pool& p = t_pool;  // built on first use in this thread
    if (FreeBlock* b = p.heads[c.index]) {
      p.heads[c.index] = b->next;
      --p.counts[c.index];
      p.stats.cached_bytes -= c.size;
      ++p.stats.hits;
      return b;
    }
    ++p.stats.misses;
  }
  // aligned_alloc wants a size that is a multiple of the alignment (ASan enforces it)
  void* mem = std::aligned_alloc(64, (c.size + 63) & ~std::size_t(63));
  if (!mem) throw std::bad_alloc();
  return mem;
}

void pool_free(void* ptr, std::size_t bytes) noexcept {
  if (!ptr) return;
  const SizeClass c = classify(bytes);
  if (c.index < kClasses && t_pool_state == 1) {
    Pool& p = t_pool;
    const bool room = c.size <= kLargeBlock || p.counts[c.index] < kMaxLargeBlocks;
    if (room && p.stats.cached_bytes + c.size <= kMaxCachedBytes) {
      auto* b = static_cast<FreeBlock*>(ptr);
      b->next = p.heads[c.index];
      p.heads[c.index] = b;
      ++p.counts[c.index];
      p.stats.cached_bytes += c.size;
      return;
    }
  }
  std::free(ptr);
}

PoolStats pool_stats() { return t_pool_state == 1 ? t_pool.stats : PoolStats{}; }

void pool_release_cached() noexcept {
  if (t_pool_state == 1) t_pool.release();
}

}  // namespace ag
