#include "autograd/memory.h"

#include <malloc.h>

#include <array>
#include <atomic>
#include <bit>
#include <cstdlib>

namespace ag {

namespace detail {
thread_local constinit PoolCache t_pool_cache{};
}  // namespace detail

namespace {

using detail::PoolCache;
using detail::PoolFreeBlock;
using detail::t_pool_cache;
using SizeClass = detail::PoolSizeClass;

constexpr std::size_t kMinBlock = 64;
constexpr std::size_t kClasses = detail::kPoolClasses;
constexpr std::size_t kMaxCachedBytes = detail::kPoolMaxCachedBytes;
constexpr std::size_t kLargeBlock = std::size_t(64) << 10;
constexpr std::size_t kMaxLargeBlocks = 16;  // per class above kLargeBlock; smaller ones: bytes cap only

// Class of a request and the block size it gets: 64 bytes, then four steps per power of two.
constexpr SizeClass classify_slow(std::size_t bytes) {
  if (bytes <= kMinBlock) return {0, kMinBlock};
  const std::size_t k = std::bit_width(bytes - 1) - 1;  // 2^k < bytes <= 2^(k+1), k >= 6
  const std::size_t base = std::size_t(1) << k;
  const std::size_t n = (bytes - base + (base >> 2) - 1) >> (k - 2);  // 1..4 steps of base/4
  return {(k - 5) * 4 + n - 3, base + n * (base >> 2)};
}

constexpr auto kTable = [] {
  std::array<SizeClass, detail::kPoolTableBytes / 16> t{};
  for (std::size_t i = 0; i < t.size(); ++i) t[i] = classify_slow((i + 1) * 16);
  return t;
}();

constexpr SizeClass classify(std::size_t bytes) {
  return bytes <= detail::kPoolTableBytes ? kTable[(bytes - (bytes != 0)) / 16] : classify_slow(bytes);
}
static_assert([] {  // the table gives every small request the class (and block size) of the formula
  for (std::size_t b = 0; b <= 2 * detail::kPoolTableBytes; ++b)
    if (classify(b).index != classify_slow(b).index || classify(b).size != classify_slow(b).size) return false;
  return true;
}());
static_assert(classify_slow(detail::kPoolTableBytes).size <= kLargeBlock);  // the inline free needs no count cap

void release(PoolCache& p) noexcept {
  for (std::size_t c = 0; c < kClasses; ++c) {
    while (p.heads[c]) {
      PoolFreeBlock* b = p.heads[c];
      p.heads[c] = b->next;
      std::free(b);
    }
    p.counts[c] = 0;
  }
  p.stats.cached_bytes = 0;
}

// Built on the first block a thread caches: gives the thread's blocks back at its exit.
struct Reaper {
  Reaper() { t_pool_cache.state = 1; }
  ~Reaper() {
    t_pool_cache.state = 2;
    release(t_pool_cache);
  }
};

// Makes the cache usable (registers its release at thread exit); false once the thread is exiting.
[[gnu::noinline]] bool start_pool() {
  if (t_pool_cache.state == 2) return false;
  thread_local Reaper reaper;
  return t_pool_cache.state == 1;
}

}  // namespace

namespace detail {

constinit const std::array<PoolSizeClass, kPoolTableBytes / 16> kPoolSmallClasses = kTable;

void* pool_allocate_slow(std::size_t bytes) {
  const SizeClass c = classify(bytes);
  if (c.index < kClasses) {
    PoolCache& p = t_pool_cache;
    if (PoolFreeBlock* b = p.heads[c.index]) {
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

namespace {
std::atomic<PoolReleaseHook> g_release_hook{nullptr};
}  // namespace

void pool_set_release_hook(PoolReleaseHook hook) noexcept { g_release_hook.store(hook); }

void pool_free_slow(void* ptr, std::size_t bytes) noexcept {
  if (!ptr) return;
  const SizeClass c = classify(bytes);
  PoolCache& p = t_pool_cache;
  if (c.index < kClasses && (p.state == 1 || start_pool())) {
    const bool room = c.size <= kLargeBlock || p.counts[c.index] < kMaxLargeBlocks;
    if (room && p.stats.cached_bytes + c.size <= kMaxCachedBytes) {
      auto* b = static_cast<PoolFreeBlock*>(ptr);
      b->next = p.heads[c.index];
      p.heads[c.index] = b;
      ++p.counts[c.index];
      p.stats.cached_bytes += c.size;
      return;
    }
  }
  std::free(ptr);
}

}  // namespace detail

PoolStats pool_stats() { return t_pool_cache.state == 1 ? t_pool_cache.stats : PoolStats{}; }

void pool_release_cached() noexcept {
  if (detail::PoolReleaseHook hook = detail::g_release_hook.load()) hook();
  if (t_pool_cache.state == 1) release(t_pool_cache);
  // glibc keeps freed pages (free chunks below the heap's top, arenas of other threads): give back
  // every whole free page
  malloc_trim(0);
}

}  // namespace ag
