#include "autograd/arena.h"

#include <algorithm>

namespace ag {

void Arena::enter(std::size_t block) {
  current_ = block;
  cur_ = reinterpret_cast<std::uintptr_t>(blocks_[block].mem.get());
  end_ = cur_ + blocks_[block].size;
}

void* Arena::allocate_slow(std::size_t n, std::size_t align) {
  // the next kept block if it is large enough, else a new block inserted after the current one
  const std::size_t next = cur_ ? current_ + 1 : 0;
  if (next < blocks_.size() && blocks_[next].size >= n + align) {
    enter(next);
  } else {
    const std::size_t size = std::max(block_bytes_, n + align);
    blocks_.insert(blocks_.begin() + static_cast<std::ptrdiff_t>(next),
                   Block{std::unique_ptr<std::byte[]>(new std::byte[size]), size});
    enter(next);
  }
  return allocate(n, align);
}

void Arena::reset() {
  used_ = 0;
  if (!blocks_.empty()) enter(0);
}

std::size_t Arena::release(std::size_t keep_bytes) {
  // blocks [0, first_free) hold allocations (the current one and those before it)
  const std::size_t first_free = cur_ ? current_ + 1 : 0;
  std::size_t keep = 0, kept_bytes = 0;
  while (keep < blocks_.size() && (keep < first_free || kept_bytes + blocks_[keep].size <= keep_bytes))
    kept_bytes += blocks_[keep++].size;
  std::size_t freed = 0;
  for (std::size_t i = keep; i < blocks_.size(); ++i) freed += blocks_[i].size;
  blocks_.resize(keep);
  blocks_.shrink_to_fit();
  return freed;
}

std::size_t Arena::capacity() const {
  std::size_t c = 0;
  for (const auto& b : blocks_) c += b.size;
  return c;
}

}  // namespace ag
