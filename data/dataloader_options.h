#pragma once
/// @file dataloader_options.h
/// ag::data::DataLoaderOptions, as libtorch's:
/// `DataLoaderOptions().batch_size(64).workers(2).drop_last(true)`. FullDataLoaderOptions is the
/// same with the defaults that depend on other options filled in (max_jobs = 2 * workers).

#include <chrono>
#include <cstddef>
#include <optional>

namespace ag::data {

/// How a data loader batches and prefetches.
struct DataLoaderOptions {
  DataLoaderOptions() = default;
  /* implicit */ DataLoaderOptions(std::size_t batch_size) : batch_size_(batch_size) {}

  /// Examples per batch (default 1).
  DataLoaderOptions& batch_size(std::size_t v) {
    batch_size_ = v;
    return *this;
  }
  std::size_t batch_size() const { return batch_size_; }
  /// Worker threads preparing batches ahead of use; 0 (the default): the iterating thread does.
  DataLoaderOptions& workers(std::size_t v) {
    workers_ = v;
    return *this;
  }
  std::size_t workers() const { return workers_; }
  /// Batches requested from the workers ahead of use at most (default 2 * workers).
  DataLoaderOptions& max_jobs(std::size_t v) {
    max_jobs_ = v;
    return *this;
  }
  std::optional<std::size_t> max_jobs() const { return max_jobs_; }
  /// How long to wait for the next batch before an ag::Error (default: no limit).
  DataLoaderOptions& timeout(std::chrono::milliseconds v) {
    timeout_ = v;
    return *this;
  }
  std::optional<std::chrono::milliseconds> timeout() const { return timeout_; }
  /// With workers: batches in the sampler's order (true, the default) or as they are ready.
  DataLoaderOptions& enforce_ordering(bool v) {
    enforce_ordering_ = v;
    return *this;
  }
  bool enforce_ordering() const { return enforce_ordering_; }
  /// Omit the last batch of an epoch when it has fewer than batch_size examples (default false).
  DataLoaderOptions& drop_last(bool v) {
    drop_last_ = v;
    return *this;
  }
  bool drop_last() const { return drop_last_; }

 private:
  std::size_t batch_size_ = 1;
  std::size_t workers_ = 0;
  std::optional<std::size_t> max_jobs_;
  std::optional<std::chrono::milliseconds> timeout_;
  bool enforce_ordering_ = true;
  bool drop_last_ = false;
};

/// DataLoaderOptions with every default resolved (what DataLoader::options() returns).
struct FullDataLoaderOptions {
  explicit FullDataLoaderOptions(const DataLoaderOptions& o)
      : batch_size(o.batch_size()),
        workers(o.workers()),
        max_jobs(o.max_jobs().value_or(2 * o.workers())),
        timeout(o.timeout()),
        enforce_ordering(o.enforce_ordering()),
        drop_last(o.drop_last()) {}

  std::size_t batch_size;
  std::size_t workers;
  std::size_t max_jobs;
  std::optional<std::chrono::milliseconds> timeout;
  bool enforce_ordering;
  bool drop_last;
};

}  // namespace ag::data
