#include "data/samplers.h"

#include <algorithm>
#include <numeric>

#include <autograd/error.h>
#include <autograd/factory.h>

namespace ag::data::samplers {

// --- SequentialSampler ---

SequentialSampler::SequentialSampler(std::size_t size) : size_(size) {}

void SequentialSampler::reset(std::optional<std::size_t> new_size) {
  if (new_size) size_ = *new_size;
  index_ = 0;
}

std::optional<std::vector<std::size_t>> SequentialSampler::next(std::size_t batch_size) {
  const std::size_t end = std::min(index_ + batch_size, size_);
  if (end <= index_) return std::nullopt;
  std::vector<std::size_t> batch(end - index_);
  std::iota(batch.begin(), batch.end(), index_);
  index_ = end;
  return batch;
}

std::size_t SequentialSampler::index() const noexcept { return index_; }

// --- RandomSampler ---

RandomSampler::RandomSampler(std::int64_t size, Dtype index_dtype) {
  if (size < 0) fail("RandomSampler: size must be non-negative, got {}", size);
  if (index_dtype != kInt64)
    fail("RandomSampler: index_dtype must be int64 (the only integer dtype), got {}", dtype_name(index_dtype));
  draw(static_cast<std::size_t>(size));
}

RandomSampler::RandomSampler(std::int64_t size, Dtype index_dtype, std::uint64_t seed) : generator_(seed) {
  if (size < 0) fail("RandomSampler: size must be non-negative, got {}", size);
  if (index_dtype != kInt64)
    fail("RandomSampler: index_dtype must be int64 (the only integer dtype), got {}", dtype_name(index_dtype));
  draw(static_cast<std::size_t>(size));
}

void RandomSampler::draw(std::size_t size) {
  indices_.resize(size);
  if (generator_) {
    // Fisher-Yates with a draw that is the same on every standard library (not uniform_int_distribution).
    std::iota(indices_.begin(), indices_.end(), std::size_t{0});
    for (std::size_t i = size; i > 1; --i) {
      const auto j = static_cast<std::size_t>((*generator_)() % i);
      std::swap(indices_[i - 1], indices_[j]);
    }
  } else {
    const Tensor perm = ag::randperm(static_cast<std::int64_t>(size), kInt64);
    const auto* p = perm.cdata<std::int64_t>();
    for (std::size_t i = 0; i < size; ++i) indices_[i] = static_cast<std::size_t>(p[i]);
  }
  index_ = 0;
}

void RandomSampler::reset(std::optional<std::size_t> new_size) { draw(new_size.value_or(indices_.size())); }

std::optional<std::vector<std::size_t>> RandomSampler::next(std::size_t batch_size) {
  const std::size_t remaining = indices_.size() - index_;
  if (remaining == 0 || batch_size == 0) return std::nullopt;
  const std::size_t n = std::min(batch_size, remaining);
  std::vector<std::size_t> batch(indices_.begin() + static_cast<std::ptrdiff_t>(index_),
                                 indices_.begin() + static_cast<std::ptrdiff_t>(index_ + n));
  index_ += n;
  return batch;
}

std::size_t RandomSampler::index() const noexcept { return index_; }

// --- DistributedSampler ---

void detail::check_distributed(std::size_t num_replicas, std::size_t rank) {
  if (num_replicas == 0) fail("DistributedSampler: num_replicas must be at least 1, got 0");
  if (rank >= num_replicas) fail("DistributedSampler: rank {} out of range for {} replicas", rank, num_replicas);
}

// --- DistributedRandomSampler ---

DistributedRandomSampler::DistributedRandomSampler(std::size_t size, std::size_t num_replicas, std::size_t rank,
                                                   bool allow_duplicates)
    : DistributedSampler(size, num_replicas, rank, allow_duplicates) {
  DistributedRandomSampler::reset(size_);
}

std::optional<std::vector<std::size_t>> DistributedRandomSampler::next(std::size_t batch_size) {
  if (sample_index_ == end_index_ || batch_size == 0) return std::nullopt;
  const std::size_t end = std::min(sample_index_ + batch_size, end_index_);
  std::vector<std::size_t> batch(all_indices_.begin() + static_cast<std::ptrdiff_t>(sample_index_),
                                 all_indices_.begin() + static_cast<std::ptrdiff_t>(end));
  sample_index_ = end;
  return batch;
}

void DistributedRandomSampler::reset(std::optional<std::size_t> new_size) {
  size_ = new_size.value_or(size_);
  populate_indices();
  std::mt19937 rand(static_cast<std::mt19937::result_type>(epoch_));
  std::shuffle(all_indices_.begin(), all_indices_.end(), rand);
  sample_index_ = begin_index_;
}

void DistributedRandomSampler::populate_indices() {
  const std::size_t local = local_sample_count();
  const std::size_t count = num_replicas_ == 1 ? size_ : local * num_replicas_;
  all_indices_.resize(count);
  std::iota(all_indices_.begin(), all_indices_.end(), std::size_t{0});
  for (std::size_t i = size_; i < count; ++i)
    all_indices_[i] = i - size_;  // padding: the first indices again, so that every replica draws `local`
  begin_index_ = rank_ * local;
  end_index_ = begin_index_ + local;
  sample_index_ = begin_index_;
}

std::size_t DistributedRandomSampler::index() const noexcept { return sample_index_; }

// --- DistributedSequentialSampler ---

DistributedSequentialSampler::DistributedSequentialSampler(std::size_t size, std::size_t num_replicas, std::size_t rank,
                                                           bool allow_duplicates)
    : DistributedSampler(size, num_replicas, rank, allow_duplicates) {
  populate_indices();
}

std::optional<std::vector<std::size_t>> DistributedSequentialSampler::next(std::size_t batch_size) {
  if (sample_index_ == end_index_ || batch_size == 0) return std::nullopt;
  const std::size_t end = std::min(sample_index_ + batch_size, end_index_);
  std::vector<std::size_t> batch(end - sample_index_);
  std::iota(batch.begin(), batch.end(), sample_index_);
  if (end >= size_)
    for (auto& index : batch) index %= size_;
  sample_index_ = end;
  return batch;
}

void DistributedSequentialSampler::reset(std::optional<std::size_t> new_size) {
  const std::size_t size = new_size.value_or(size_);
  if (size != size_) {
    size_ = size;
    populate_indices();
  } else {
    sample_index_ = begin_index_;
  }
}

void DistributedSequentialSampler::populate_indices() {
  begin_index_ = rank_ * local_sample_count();
  end_index_ = begin_index_ + local_sample_count();
  sample_index_ = begin_index_;
}

std::size_t DistributedSequentialSampler::index() const noexcept { return sample_index_; }

}  // namespace ag::data::samplers
