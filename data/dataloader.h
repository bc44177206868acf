#pragma once
/// @file dataloader.h
/// ag::data::make_data_loader and StatelessDataLoader, as libtorch's:
///
///     auto loader = ag::data::make_data_loader(std::move(dataset),
///         ag::data::DataLoaderOptions().batch_size(64).workers(2));
///     for (auto& batch : *loader) { ... }
///
/// Each begin() starts an epoch: the sampler is reset and batches are drawn from it, each the
/// dataset's get_batch of the sampler's next `batch_size` indices (a short last batch unless
/// drop_last). With workers == 0 the iterating thread makes each batch when it is needed.
///
/// With workers > 0, each worker thread owns a copy of the dataset (so datasets are copyable), and
/// up to max_jobs (default 2 * workers) batches are requested ahead of use through a bounded
/// queue: the iterating thread draws the indices from the sampler and queues them, a worker makes
/// the batch, and the iterating thread takes the results in the sampler's order (enforce_ordering,
/// the default), so the batches are the same, in the same order, as with workers == 0. When the
/// batch due has not been taken by any worker yet (the workers are busy or, on a loaded machine,
/// not scheduled), the iterating thread makes it itself with its own copy of the dataset instead of
/// waiting; the order is unchanged. Batches are made with grad mode off (never recorded on a
/// worker's tape). An exception thrown by the
/// dataset or a transform on a worker is rethrown in the iterating thread when that batch is due
/// (the original exception, not libtorch's WorkerException wrapper). Destroying the loader, or
/// join(), stops the workers after the batches they are making and joins them, mid-epoch or not;
/// calling begin() again before an epoch is over discards the batches already requested (libtorch
/// refuses that instead).
/// The loader is used from one thread (the one that iterates).

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include <autograd/error.h>
#include <autograd/grad_mode.h>

#include "data/dataloader_options.h"
#include "data/iterator.h"
#include "data/samplers.h"

namespace ag::data {

/// A data loader over a dataset with random access (a sized BatchDataset) and a sampler.
template <typename Dataset, typename Sampler>
class StatelessDataLoader {
 public:
  using BatchType = typename Dataset::BatchType;
  using BatchRequestType = typename Sampler::BatchRequestType;

  StatelessDataLoader(Dataset dataset, Sampler sampler, DataLoaderOptions options)
      : options_(options), sampler_(std::move(sampler)) {
    if (options_.batch_size == 0) fail("DataLoader: batch_size must be at least 1, got 0");
    if (options_.workers > 0 && options_.max_jobs == 0)
      fail("DataLoader: max_jobs must be at least 1 with {} workers, got 0", options_.workers);
    workers_.reserve(options_.workers);
    for (std::size_t w = 0; w < options_.workers; ++w)
      // each worker gets its own copy of the dataset, made here on the loader's thread
      workers_.emplace_back([this, copy = dataset]() mutable { worker_thread(copy); });
    main_thread_dataset_ = std::make_unique<Dataset>(std::move(dataset));
  }
  StatelessDataLoader(const StatelessDataLoader&) = delete;
  StatelessDataLoader& operator=(const StatelessDataLoader&) = delete;
  ~StatelessDataLoader() { join(); }

  /// Starts an epoch: an iterator over its batches.
  Iterator<BatchType> begin() {
    if (joined_) fail("DataLoader: begin() after join()");
    reset();
    return Iterator<BatchType>([this] { return next(); });
  }
  /// The end of an epoch.
  Iterator<BatchType> end() { return Iterator<BatchType>(); }

  /// Stops and joins the workers (after the batches they are making); the loader cannot be
  /// iterated afterwards. The destructor calls it.
  void join() {
    if (joined_) return;
    {
      std::lock_guard lock(mu_);
      quit_ = true;
      jobs_.clear();
    }
    job_cv_.notify_all();
    for (auto& worker : workers_) worker.join();
    results_.clear();
    in_flight_ = 0;
    joined_ = true;
  }

  /// The options, with max_jobs resolved.
  const FullDataLoaderOptions& options() const noexcept { return options_; }
  /// The loader's sampler (an ag extension), e.g. to save its state between epochs or load one
  /// before the next begin(). Mid-epoch it is ahead of the batches handed out when workers > 0.
  Sampler& sampler() noexcept { return sampler_; }
  const Sampler& sampler() const noexcept { return sampler_; }

 private:
  struct Job {
    std::size_t sequence;
    BatchRequestType request;
  };
  struct Result {
    std::optional<BatchType> batch;
    std::exception_ptr exception;
  };

  /// The sampler's next request, or empty at the end of the epoch (or a short one with drop_last).
  std::optional<BatchRequestType> get_batch_request() {
    auto indices = sampler_.next(options_.batch_size);
    if (!indices || indices->empty() || (indices->size() < options_.batch_size && options_.drop_last))
      return std::nullopt;
    return indices;
  }

  /// Discards the requested batches, resets the sampler and requests max_jobs batches.
  void reset() {
    if (options_.workers > 0) {
      std::unique_lock lock(mu_);
      in_flight_ -= jobs_.size();
      jobs_.clear();
      // wait for the batches being made, then drop them with the finished ones
      result_cv_.wait(lock, [this] { return results_.size() == in_flight_; });
      results_.clear();
      in_flight_ = 0;
      next_sequence_ = push_sequence_;
    }
    sampler_.reset();
    exhausted_ = false;
    if (options_.workers > 0) prefetch(options_.max_jobs);
  }

  /// Queues up to `n` requests to the workers.
  void prefetch(std::size_t n) {
    for (std::size_t i = 0; i < n && !exhausted_; ++i) {
      auto request = get_batch_request();
      if (!request) {
        exhausted_ = true;
        break;
      }
      {
        std::lock_guard lock(mu_);
        jobs_.push_back(Job{push_sequence_++, std::move(*request)});
        ++in_flight_;
      }
      job_cv_.notify_one();
    }
  }

  /// The next batch of the epoch, or empty at its end.
  std::optional<BatchType> next() {
    if (options_.workers == 0) {
      if (auto request = get_batch_request()) return main_thread_dataset_->get_batch(std::move(*request));
      return std::nullopt;
    }
    Result result;
    {
      std::unique_lock lock(mu_);
      if (in_flight_ == 0) return std::nullopt;
      auto ready = [this] {
        return options_.enforce_ordering ? results_.count(next_sequence_) > 0 : !results_.empty();
      };
      if (options_.timeout) {
        if (!result_cv_.wait_for(lock, *options_.timeout, ready))
          fail("DataLoader: timed out after {} ms waiting for a batch from the workers", options_.timeout->count());
      } else {
        result_cv_.wait(lock, ready);
      }
      auto it = options_.enforce_ordering ? results_.find(next_sequence_) : results_.begin();
      result = std::move(it->second);
      results_.erase(it);
      --in_flight_;
      ++next_sequence_;
    }
    if (result.exception) std::rethrow_exception(result.exception);
    prefetch(1);
    return std::move(result.batch);
  }

  void worker_thread(Dataset& dataset) {
    NoGradGuard no_grad;
    for (;;) {
      std::optional<Job> job;
      {
        std::unique_lock lock(mu_);
        job_cv_.wait(lock, [this] { return quit_ || !jobs_.empty(); });
        if (quit_) return;
        job.emplace(std::move(jobs_.front()));
        jobs_.pop_front();
      }
      Result result;
      try {
        result.batch.emplace(dataset.get_batch(std::move(job->request)));
      } catch (...) {
        result.exception = std::current_exception();
      }
      {
        std::lock_guard lock(mu_);
        results_.emplace(job->sequence, std::move(result));
      }
      result_cv_.notify_all();
    }
  }

  const FullDataLoaderOptions options_;
  Sampler sampler_;
  std::unique_ptr<Dataset> main_thread_dataset_;  // the iterating thread's copy
  std::vector<std::thread> workers_;
  bool exhausted_ = false;  // the sampler has no more requests this epoch
  bool joined_ = false;

  // Shared with the workers, guarded by mu_.
  std::mutex mu_;
  std::condition_variable job_cv_;     // jobs_ not empty, or quit_
  std::condition_variable result_cv_;  // a result arrived
  std::deque<Job> jobs_;               // requested, not yet taken by a worker
  std::map<std::size_t, Result> results_;
  std::size_t in_flight_ = 0;  // requested and not yet returned by next() (queued, being made or in results_)
  bool quit_ = false;
  // The iterating thread's only.
  std::size_t push_sequence_ = 0;  // sequence number of the next request
  std::size_t next_sequence_ = 0;  // sequence number of the next batch due (enforce_ordering)
};

/// A loader over `dataset` drawing indices with `sampler`.
template <typename Dataset, typename Sampler>
std::unique_ptr<StatelessDataLoader<Dataset, Sampler>> make_data_loader(Dataset dataset, Sampler sampler,
                                                                        DataLoaderOptions options) {
  return std::make_unique<StatelessDataLoader<Dataset, Sampler>>(std::move(dataset), std::move(sampler), options);
}

/// A loader over `dataset` with a `Sampler(dataset.size())` (RandomSampler by default, as libtorch);
/// an unsized dataset is an ag::Error.
template <typename Sampler = samplers::RandomSampler, typename Dataset>
std::unique_ptr<StatelessDataLoader<Dataset, Sampler>> make_data_loader(Dataset dataset,
                                                                        DataLoaderOptions options = {}) {
  const std::optional<std::size_t> size = dataset.size();
  if (!size) fail("make_data_loader: the dataset must be sized to construct the sampler");
  Sampler sampler(*size);
  return make_data_loader(std::move(dataset), std::move(sampler), options);
}

}  // namespace ag::data
