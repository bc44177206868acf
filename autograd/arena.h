#pragma once
/// @file arena.h
/// A bump allocator in fixed blocks: pointers stay valid until reset(), which is O(1) per block.

#include <cstddef>
#include <memory>
#include <vector>

namespace ag {

class Arena {
 public:
  explicit Arena(std::size_t block_bytes = 1 << 16) : block_bytes_(block_bytes) {}
  /// Memory for `n` bytes aligned to `align`; never freed individually.
  void* allocate(std::size_t n, std::size_t align);
  /// Forgets every allocation; keeps the blocks for reuse.
  void reset();
  /// Bytes handed out since the last reset.
  std::size_t used() const { return used_; }
  /// Bytes held in blocks.
  std::size_t capacity() const;

 private:
  struct Block {
    std::unique_ptr<std::byte[]> mem;
    std::size_t size;
  };
  std::vector<Block> blocks_;
  std::size_t block_bytes_;
  std::size_t current_ = 0;  // index of the block in use
  std::size_t pos_ = 0;      // offset inside it
  std::size_t used_ = 0;
};

}  // namespace ag
