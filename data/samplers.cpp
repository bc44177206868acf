#include "data/samplers.h"

#include <algorithm>
#include <numeric>
#include <sstream>

#include <autograd/error.h>
#include <autograd/factory.h>

namespace ag::data::samplers {

namespace {

// --- checks shared by the load_state()s: each throws before anything is changed ---

void expect_kind(const SamplerState& state, const char* who) {
  if (state.sampler != who)
    fail("{}::load_state: the state is a {}'s, not a {}'s", who, state.sampler.empty() ? "(unnamed)" : state.sampler,
         who);
}

std::uint64_t value(const SamplerState& state, const char* who, const char* key) {
  const auto it = state.values.find(key);
  if (it == state.values.end()) fail("{}::load_state: the state has no '{}'", who, key);
  return it->second;
}

void expect_same(const SamplerState& state, const char* who, const char* key, std::uint64_t mine) {
  const std::uint64_t saved = value(state, who, key);
  if (saved != mine) fail("{}::load_state: the state was saved with {} {}, this sampler has {}", who, key, saved, mine);
}

void expect_at_most(const char* who, const char* key, std::uint64_t v, std::uint64_t limit) {
  if (v > limit) fail("{}::load_state: {} {} is past the end of the epoch ({})", who, key, v, limit);
}

}  // namespace

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

SamplerState SequentialSampler::state() const {
  return {"SequentialSampler", {{"size", size_}, {"index", index_}}, {}, {}};
}

void SequentialSampler::load_state(const SamplerState& state) {
  const char* who = "SequentialSampler";
  expect_kind(state, who);
  expect_same(state, who, "size", size_);
  const std::uint64_t index = value(state, who, "index");
  expect_at_most(who, "index", index, size_);
  index_ = static_cast<std::size_t>(index);
}

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

SamplerState RandomSampler::state() const {
  SamplerState s{"RandomSampler",
                 {{"size", indices_.size()}, {"index", index_}, {"seeded", generator_ ? 1 : 0}},
                 indices_,
                 {}};
  if (generator_) {
    std::ostringstream out;
    out << *generator_;
    s.generator = out.str();
  }
  return s;
}

void RandomSampler::load_state(const SamplerState& state) {
  const char* who = "RandomSampler";
  expect_kind(state, who);
  expect_same(state, who, "size", indices_.size());
  const bool seeded = value(state, who, "seeded") != 0;
  if (seeded != generator_.has_value())
    fail("{}::load_state: the state is of a sampler {}, this one {}", who,
         seeded ? "with its own seeded generator" : "on the global generator",
         generator_ ? "has its own seeded generator" : "draws from the global generator");
  const std::uint64_t index = value(state, who, "index");
  expect_at_most(who, "index", index, indices_.size());
  if (state.indices.size() != indices_.size())
    fail("{}::load_state: the saved order has {} indices, expected {}", who, state.indices.size(), indices_.size());
  std::vector<std::size_t> sorted = state.indices;
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 0; i < sorted.size(); ++i)
    if (sorted[i] != i) fail("{}::load_state: the saved order is not a permutation of 0 .. {}", who, sorted.size() - 1);
  std::optional<std::mt19937_64> generator;
  if (seeded) {
    std::istringstream in(state.generator);
    generator.emplace();
    in >> *generator;
    if (!in) fail("{}::load_state: the saved generator state is malformed", who);
  }
  indices_ = state.indices;
  index_ = static_cast<std::size_t>(index);
  if (generator) generator_ = *generator;
}

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

SamplerState DistributedRandomSampler::state() const {
  return {"DistributedRandomSampler",
          {{"size", size_},
           {"num_replicas", num_replicas_},
           {"rank", rank_},
           {"allow_duplicates", allow_duplicates_ ? 1 : 0},
           {"epoch", epoch_},
           {"index", sample_index_}},
          all_indices_,
          {}};
}

void DistributedRandomSampler::load_state(const SamplerState& state) {
  const char* who = "DistributedRandomSampler";
  expect_kind(state, who);
  expect_same(state, who, "size", size_);
  expect_same(state, who, "num_replicas", num_replicas_);
  expect_same(state, who, "rank", rank_);
  expect_same(state, who, "allow_duplicates", allow_duplicates_ ? 1 : 0);
  const std::uint64_t epoch = value(state, who, "epoch"), index = value(state, who, "index");
  const std::size_t local = local_sample_count(), begin = rank_ * local;
  const std::size_t count = num_replicas_ == 1 ? size_ : local * num_replicas_;
  if (state.indices.size() != count)
    fail("{}::load_state: the saved order has {} indices, expected {}", who, state.indices.size(), count);
  for (const std::size_t i : state.indices)
    if (i >= size_) fail("{}::load_state: the saved order holds index {}, out of range for size {}", who, i, size_);
  if (index < begin || index > begin + local)
    fail("{}::load_state: index {} is outside this replica's slice [{}, {}]", who, index, begin, begin + local);
  all_indices_ = state.indices;
  begin_index_ = begin;
  end_index_ = begin + local;
  sample_index_ = static_cast<std::size_t>(index);
  epoch_ = static_cast<std::size_t>(epoch);
}

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

SamplerState DistributedSequentialSampler::state() const {
  return {"DistributedSequentialSampler",
          {{"size", size_},
           {"num_replicas", num_replicas_},
           {"rank", rank_},
           {"allow_duplicates", allow_duplicates_ ? 1 : 0},
           {"epoch", epoch_},
           {"index", sample_index_}},
          {},
          {}};
}

void DistributedSequentialSampler::load_state(const SamplerState& state) {
  const char* who = "DistributedSequentialSampler";
  expect_kind(state, who);
  expect_same(state, who, "size", size_);
  expect_same(state, who, "num_replicas", num_replicas_);
  expect_same(state, who, "rank", rank_);
  expect_same(state, who, "allow_duplicates", allow_duplicates_ ? 1 : 0);
  const std::uint64_t epoch = value(state, who, "epoch"), index = value(state, who, "index");
  const std::size_t begin = rank_ * local_sample_count(), end = begin + local_sample_count();
  if (index < begin || index > end)
    fail("{}::load_state: index {} is outside this replica's slice [{}, {}]", who, index, begin, end);
  begin_index_ = begin;
  end_index_ = end;
  sample_index_ = static_cast<std::size_t>(index);
  epoch_ = static_cast<std::size_t>(epoch);
}

}  // namespace ag::data::samplers
