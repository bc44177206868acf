#pragma once
/// @file distributed_data_parallel.h
/// ag::nn::parallel::DistributedDataParallel: data-parallel training over the process group of
/// <distributed/process_group.h>, as PyTorch's torch.nn.parallel.DistributedDataParallel.

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "autograd/autograd.h"
#include "nn/ordered_dict.h"

namespace ag::nn::parallel {

/// Options of DistributedDataParallel (PyTorch's constructor arguments and defaults).
class DistributedDataParallelOptions {
 public:
  /// Capacity of a gradient bucket, in MiB (2^20 bytes): a bucket's all-reduce starts as soon as
  /// every gradient in it is ready. A parameter larger than the cap gets a bucket of its own.
  DistributedDataParallelOptions& bucket_cap_mb(double v) {
    bucket_cap_mb_ = v;
    return *this;
  }
  /// Capacity of the first bucket (the last parameters registered, whose gradients backward
  /// produces first), smaller so that communication starts early.
  DistributedDataParallelOptions& first_bucket_mb(double v) {
    first_bucket_mb_ = v;
    return *this;
  }
  /// Marks the parameters this step's backward did not reach ready at its end (with a zero
  /// gradient, or their accumulated .grad()), so that the step completes; a parameter no rank used
  /// keeps its .grad(). Without it such a parameter is an ag::Error at the end of backward (after
  /// the reduction, so that no rank hangs).
  DistributedDataParallelOptions& find_unused_parameters(bool v) {
    find_unused_parameters_ = v;
    return *this;
  }
  /// Makes each .grad() a view of its bucket's buffer (no copy out; the next step's reduction
  /// overwrites it in place).
  DistributedDataParallelOptions& gradient_as_bucket_view(bool v) {
    gradient_as_bucket_view_ = v;
    return *this;
  }
  double bucket_cap_mb() const { return bucket_cap_mb_; }
  double first_bucket_mb() const { return first_bucket_mb_; }
  bool find_unused_parameters() const { return find_unused_parameters_; }
  bool gradient_as_bucket_view() const { return gradient_as_bucket_view_; }

 private:
  double bucket_cap_mb_ = 25.0;
  double first_bucket_mb_ = 1.0;
  bool find_unused_parameters_ = false;
  bool gradient_as_bucket_view_ = false;
};

namespace detail {
/// The gradient reducer of DistributedDataParallel (the type-independent part): buckets,
/// grad-ready hooks, non-blocking all-reduces, the end-of-backward averaging.
class Reducer {
 public:
  Reducer(const OrderedDict<Tensor>& parameters, const OrderedDict<Tensor>& buffers,
          const DistributedDataParallelOptions& options);
  ~Reducer();
  Reducer(const Reducer&) = delete;
  Reducer& operator=(const Reducer&) = delete;
  /// Called by forward(): ends a step whose backward threw (waits for its all-reduces).
  void prepare_for_forward();
  /// no_sync(): while set, gradients only accumulate locally.
  void set_sync(bool on) { sync_ = on; }
  bool sync() const { return sync_; }
  /// The buckets' parameter indices (registration order), in launch order.
  std::vector<std::vector<std::size_t>> bucket_indices() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  bool sync_ = true;
};
}  // namespace detail

/// While alive (DistributedDataParallel::no_sync()), backward passes only accumulate gradients
/// locally; the first backward after it reduces the accumulated gradients.
class NoSyncGuard {
 public:
  explicit NoSyncGuard(detail::Reducer& r) : r_(&r), prev_(r.sync()) { r.set_sync(false); }
  ~NoSyncGuard() {
    if (r_) r_->set_sync(prev_);
  }
  NoSyncGuard(NoSyncGuard&& o) noexcept : r_(std::exchange(o.r_, nullptr)), prev_(o.prev_) {}
  NoSyncGuard(const NoSyncGuard&) = delete;
  NoSyncGuard& operator=(const NoSyncGuard&) = delete;
  NoSyncGuard& operator=(NoSyncGuard&&) = delete;

 private:
  detail::Reducer* r_;
  bool prev_;
};

/// Data-parallel training: every process (rank) holds a replica of `module`, runs it on its shard
/// of the batch, and backward() leaves in every parameter's .grad() the average over the ranks of
/// their gradients (so a mean-reduced loss gives the full-batch gradient). At construction every
/// rank must have the same parameter names, shapes and dtypes (else an ag::Error on every rank),
/// and rank 0's parameters and buffers are copied to the others. During backward the gradients
/// are packed into buckets (in reverse registration order) as the engine finishes them, and a
/// full bucket's all-reduce starts at once (MPI_Iallreduce) while backward goes on; the reduction
/// order is fixed, so runs are bit-reproducible and every rank gets bit-identical gradients.
/// `M` is a module handle (nn::Linear, a ModuleHolder of one's own) or a std::shared_ptr to a
/// module. Needs init_process_group().
template <class M>
class DistributedDataParallel {
 public:
  explicit DistributedDataParallel(M module, const DistributedDataParallelOptions& options = {})
      : module_(std::move(module)),
        reducer_(std::make_unique<detail::Reducer>(module_->named_parameters(), module_->named_buffers(), options)),
        options_(options) {}

  /// Runs the module's forward.
  template <class... Args>
  auto forward(Args&&... args) {
    reducer_->prepare_for_forward();
    return module_->forward(std::forward<Args>(args)...);
  }
  template <class... Args>
  auto operator()(Args&&... args) {
    return forward(std::forward<Args>(args)...);
  }
  /// A guard under which backward only accumulates gradients locally (micro-batches).
  [[nodiscard]] NoSyncGuard no_sync() { return NoSyncGuard(*reducer_); }
  /// The wrapped module.
  const M& module() const { return module_; }
  auto operator->() const { return &*module_; }
  std::vector<Tensor> parameters(bool recurse = true) const { return module_->parameters(recurse); }
  OrderedDict<Tensor> named_parameters(bool recurse = true) const { return module_->named_parameters(recurse); }
  const DistributedDataParallelOptions& options() const { return options_; }
  /// The buckets' parameter indices (into parameters()), in the order their reductions start.
  std::vector<std::vector<std::size_t>> bucket_indices() const { return reducer_->bucket_indices(); }

 private:
  M module_;
  std::unique_ptr<detail::Reducer> reducer_;
  DistributedDataParallelOptions options_;
};

}  // namespace ag::nn::parallel
