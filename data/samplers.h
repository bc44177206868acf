#pragma once
/// @file samplers.h
/// ag::data::samplers, as libtorch's: a Sampler yields the indices of the next batch
/// (`next(batch_size)`, empty at the end of the epoch) and starts a new epoch on `reset(new_size)`.
/// A data loader calls `reset()` at the start of every epoch (every begin()) and `next` on the
/// iterating thread only.
///  - SequentialSampler(size): 0, 1, ..., size - 1.
///  - RandomSampler(size): a permutation of 0 .. size - 1, a new one at each reset, drawn with
///    ag::randperm from the global generator (ag::manual_seed makes it reproducible), as libtorch's;
///    or, with RandomSampler(size, kInt64, seed) (not in libtorch), from the sampler's own generator
///    seeded with `seed`: the same sequence of permutations for the same seed, whatever else draws
///    random numbers.
///  - DistributedSequentialSampler / DistributedRandomSampler(size, num_replicas, rank,
///    allow_duplicates): replica `rank`'s share of an epoch. Each replica gets
///    ceil(size / num_replicas) indices with allow_duplicates (the first indices repeated to pad the
///    last share), else floor(size / num_replicas) (the last size % num_replicas indices never
///    drawn), as libtorch's. The shares of all replicas together are every index exactly once per
///    epoch when num_replicas divides size. The random one shuffles all indices with std::mt19937
///    seeded with the epoch (`set_epoch(e)` before `reset()`), the same on every replica, then takes
///    its slice.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <vector>

#include <autograd/dtype.h>
#include <autograd/tensor.h>

namespace ag::data::samplers {

namespace detail {
/// ag::Error unless num_replicas >= 1 and rank < num_replicas.
void check_distributed(std::size_t num_replicas, std::size_t rank);
}  // namespace detail

/// The sampler interface.
template <typename BatchRequest = std::vector<std::size_t>>
class Sampler {
 public:
  using BatchRequestType = BatchRequest;

  virtual ~Sampler() = default;
  /// Starts a new epoch, over `new_size` indices when given.
  virtual void reset(std::optional<std::size_t> new_size) = 0;
  /// The next batch of at most `batch_size` indices, or empty when the epoch is over.
  virtual std::optional<BatchRequest> next(std::size_t batch_size) = 0;
};

/// 0, 1, ..., size - 1.
class SequentialSampler : public Sampler<> {
 public:
  explicit SequentialSampler(std::size_t size);
  void reset(std::optional<std::size_t> new_size = std::nullopt) override;
  std::optional<std::vector<std::size_t>> next(std::size_t batch_size) override;
  /// How many indices this epoch has yielded.
  std::size_t index() const noexcept;

 private:
  std::size_t size_;
  std::size_t index_ = 0;
};

/// A random permutation of 0 .. size - 1, a new one at each reset.
class RandomSampler : public Sampler<> {
 public:
  /// Permutations from ag::randperm (the global generator); `index_dtype` as libtorch's (kInt64).
  explicit RandomSampler(std::int64_t size, Dtype index_dtype = kInt64);
  /// Permutations from the sampler's own generator seeded with `seed` (an ag extension).
  RandomSampler(std::int64_t size, Dtype index_dtype, std::uint64_t seed);
  void reset(std::optional<std::size_t> new_size = std::nullopt) override;
  std::optional<std::vector<std::size_t>> next(std::size_t batch_size) override;
  /// How many indices this epoch has yielded.
  std::size_t index() const noexcept;

 private:
  void draw(std::size_t size);
  std::vector<std::size_t> indices_;
  std::size_t index_ = 0;
  std::optional<std::mt19937_64> generator_;
};

/// The base of the distributed samplers: this replica's share of each epoch.
template <typename BatchRequest = std::vector<std::size_t>>
class DistributedSampler : public Sampler<BatchRequest> {
 public:
  DistributedSampler(std::size_t size, std::size_t num_replicas = 1, std::size_t rank = 0, bool allow_duplicates = true)
      : size_(size), num_replicas_(num_replicas), rank_(rank), allow_duplicates_(allow_duplicates) {
    detail::check_distributed(num_replicas, rank);
  }
  /// The epoch the next reset() shuffles for.
  void set_epoch(std::size_t epoch) { epoch_ = epoch; }
  std::size_t epoch() const { return epoch_; }

 protected:
  /// The number of indices each replica draws per epoch.
  std::size_t local_sample_count() const {
    if (allow_duplicates_) return (size_ + num_replicas_ - 1) / num_replicas_;
    return size_ / num_replicas_;
  }

  std::size_t size_;
  std::size_t num_replicas_;
  std::size_t rank_;
  std::size_t epoch_ = 0;
  bool allow_duplicates_;
};

/// Replica `rank`'s slice of a permutation of all indices (shuffled with the epoch as seed).
class DistributedRandomSampler : public DistributedSampler<> {
 public:
  DistributedRandomSampler(std::size_t size, std::size_t num_replicas = 1, std::size_t rank = 0,
                           bool allow_duplicates = true);
  void reset(std::optional<std::size_t> new_size = std::nullopt) override;
  std::optional<std::vector<std::size_t>> next(std::size_t batch_size) override;
  std::size_t index() const noexcept;

 private:
  void populate_indices();
  std::size_t begin_index_ = 0, end_index_ = 0, sample_index_ = 0;
  std::vector<std::size_t> all_indices_;
};

/// Replica `rank`'s contiguous slice of 0 .. size - 1 (padded with 0, 1, ... past the end).
class DistributedSequentialSampler : public DistributedSampler<> {
 public:
  DistributedSequentialSampler(std::size_t size, std::size_t num_replicas = 1, std::size_t rank = 0,
                               bool allow_duplicates = true);
  void reset(std::optional<std::size_t> new_size = std::nullopt) override;
  std::optional<std::vector<std::size_t>> next(std::size_t batch_size) override;
  std::size_t index() const noexcept;

 private:
  void populate_indices();
  std::size_t begin_index_ = 0, end_index_ = 0, sample_index_ = 0;
};

}  // namespace ag::data::samplers
