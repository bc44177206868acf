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
///
/// Saving and resuming (an ag extension, in the spirit of libtorch's save/load(archive)): each
/// sampler's state() is a SamplerState (its position in the epoch, its current order and its own
/// generator), and load_state() puts a sampler of the same kind and size back there: it then yields
/// the rest of that epoch and the following epochs exactly as the saved one would have.
/// data::samplers::save / load (nn/state_serialize.h) write and read it as a file. A RandomSampler
/// drawing from the global generator also needs ag::rng_state() saved with it for the next epochs.
/// A data loader draws ahead of the batches it hands out (workers > 0) and resets its sampler at
/// every begin(), so save its sampler (StatelessDataLoader::sampler()) between epochs; to stop
/// mid-epoch, drive the sampler yourself (next(batch_size), dataset.get_batch).

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <autograd/dtype.h>
#include <autograd/tensor.h>

namespace ag::data::samplers {

namespace detail {
/// ag::Error unless num_replicas >= 1 and rank < num_replicas.
void check_distributed(std::size_t num_replicas, std::size_t rank);
}  // namespace detail

/// Where a sampler is in its epochs: what state() returns and load_state() restores.
struct SamplerState {
  std::string sampler;                          ///< the class: "SequentialSampler", "RandomSampler", ...
  std::map<std::string, std::uint64_t> values;  ///< size, index, epoch, num_replicas, rank... by name
  std::vector<std::size_t> indices;             ///< the current epoch's order (the random samplers)
  std::string generator;                        ///< a seeded RandomSampler's generator, as text; else empty
};

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
  /// The size and position.
  SamplerState state() const;
  /// Back to a saved position; another kind of sampler or another size is an ag::Error (nothing changed).
  void load_state(const SamplerState& state);

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
  /// The epoch's permutation, the position in it and (when seeded) the generator.
  SamplerState state() const;
  /// Back to a saved state. Another kind of sampler, another size, a seeded state into a sampler on
  /// the global generator or the reverse, or an order that is not a permutation is an ag::Error (nothing changed).
  void load_state(const SamplerState& state);

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
  /// The epoch, the shuffled order and the position in this replica's slice.
  SamplerState state() const;
  /// Back to a saved state; another kind, size, replica count, rank or allow_duplicates is an ag::Error.
  void load_state(const SamplerState& state);

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
  /// The epoch and the position in this replica's slice.
  SamplerState state() const;
  /// Back to a saved state; another kind, size, replica count, rank or allow_duplicates is an ag::Error.
  void load_state(const SamplerState& state);

 private:
  void populate_indices();
  std::size_t begin_index_ = 0, end_index_ = 0, sample_index_ = 0;
};

}  // namespace ag::data::samplers
