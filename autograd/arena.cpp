#include "autograd/arena.h"

#include <cstdint>

namespace ag {

void* Arena::allocate(std::size_t n, std::size_t align) {
  for (;;) {
    if (current_ < blocks_.size()) {
      Block& b = blocks_[current_];
      auto base = reinterpret_cast<std::uintptr_t>(b.mem.get());
      std::uintptr_t p = (base + pos_ + align - 1) & ~(std::uintptr_t(align) - 1);
      if (p + n <= base + b.size) {
        pos_ = p + n - base;
        used_ += n;
        return reinterpret_cast<void*>(p);
      }
      if (current_ + 1 < blocks_.size() && blocks_[current_ + 1].size >= n + align) {
        ++current_;
        pos_ = 0;
        continue;
      }
    }
    const std::size_t size = std::max(block_bytes_, n + align);
    blocks_.insert(blocks_.begin() + static_cast<std::ptrdiff_t>(blocks_.empty() ? 0 : current_ + 1),
                   Block{std::make_unique<std::byte[]>(size), size});
    if (blocks_.size() > 1) ++current_;
    pos_ = 0;
  }
}

void Arena::reset() {
  current_ = 0;
  pos_ = 0;
  used_ = 0;
}

std::size_t Arena::capacity() const {
  std::size_t c = 0;
  for (const auto& b : blocks_) c += b.size;
  return c;
}

}  // namespace ag
