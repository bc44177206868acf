#pragma once
/// @file iterator.h
/// ag::data::Iterator<Batch>: what a data loader's begin() and end() return, as libtorch's: an
/// input iterator over the batches of one epoch (`for (auto& batch : *loader)`). The next batch is
/// fetched when first needed (dereference, increment or comparison with end()); copies of an
/// iterator share their position. It lives no longer than its loader.

#include <cstddef>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <utility>

#include <autograd/error.h>

namespace ag::data {

template <typename Batch>
class Iterator {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = Batch;
  using difference_type = std::ptrdiff_t;
  using pointer = Batch*;
  using reference = Batch&;

  /// The end (sentinel) iterator.
  Iterator() = default;
  /// An iterator fetching each batch with `next` (empty when the epoch is over).
  explicit Iterator(std::function<std::optional<Batch>()> next)
      : state_(std::make_shared<State>(State{std::move(next), std::nullopt, false})) {}

  /// The current batch.
  Batch& operator*() {
    if (at_end()) fail("DataLoader iterator: dereferenced past the end of the epoch");
    return *state_->batch;
  }
  Batch* operator->() { return &**this; }
  /// Moves to the next batch.
  Iterator& operator++() {
    if (at_end()) fail("DataLoader iterator: incremented past the end of the epoch");
    state_->fetched = false;
    state_->batch.reset();
    return *this;
  }
  void operator++(int) { ++*this; }

  /// Equal when both are at the end (or both are the same position).
  friend bool operator==(const Iterator& a, const Iterator& b) {
    if (a.state_ == b.state_) return true;
    return a.at_end() && b.at_end();
  }

 private:
  struct State {
    std::function<std::optional<Batch>()> next;
    std::optional<Batch> batch;
    bool fetched;
  };
  void fetch() const {
    if (state_ && !state_->fetched) {
      state_->batch = state_->next();
      state_->fetched = true;
    }
  }
  bool at_end() const {
    if (!state_) return true;
    fetch();
    return !state_->batch.has_value();
  }
  std::shared_ptr<State> state_;
};

}  // namespace ag::data
