#pragma once
/// @file arena.h
/// A bump allocator in fixed blocks: pointers stay valid until reset(), which is O(1) per block.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace ag {

class Arena {
 public:
  explicit Arena(std::size_t block_bytes = 1 << 16) : block_bytes_(block_bytes) {}

  /// Memory for `n` bytes aligned to `align` (a power of two); never freed individually.
  void* allocate(std::size_t n, std::size_t align) {
    const std::uintptr_t p = (cur_ + align - 1) & ~(std::uintptr_t(align) - 1);
    if (p + n <= end_ && end_ != 0) [[likely]] {
      cur_ = p + n;
      used_ += n;
      return reinterpret_cast<void*>(p);
    }
    return allocate_slow(n, align);
  }
  /// Forgets every allocation; keeps the blocks for reuse.
  void reset();
  /// Frees the blocks nothing is allocated in, except the first ones up to `keep_bytes` in all
  /// (a reserve a steady loop reuses without calling malloc); the block in use and those before it
  /// stay. Returns the bytes freed.
  std::size_t release(std::size_t keep_bytes);
  /// Bytes handed out since the last reset.
  std::size_t used() const { return used_; }
  /// Bytes held in blocks.
  std::size_t capacity() const;

 private:
  struct Block {
    std::unique_ptr<std::byte[]> mem;
    std::size_t size;
  };
  void* allocate_slow(std::size_t n, std::size_t align);  // moves to the next block (or a new one)
  void enter(std::size_t block);

  std::vector<Block> blocks_;
  std::size_t block_bytes_;
  std::size_t current_ = 0;  // index of the block in use (when cur_ != 0)
  std::uintptr_t cur_ = 0;   // next free byte of the block in use (0: none yet)
  std::uintptr_t end_ = 0;   // its end
  std::size_t used_ = 0;
};

}  // namespace ag
