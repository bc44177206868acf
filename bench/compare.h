#pragma once
/// @file compare.h
/// ag_compare's view of an engine running one workload, so that one driver (compare.cpp) times ag
/// and libtorch (compare_torch.cpp, the only file including <torch/torch.h>) the same way.
#include <memory>
#include <string>
#include <vector>

#include "bench/workloads.h"

namespace agbench {

class Runner {
 public:
  virtual ~Runner() = default;
  /// The loss under no-grad mode; the result is dropped.
  virtual void forward_nograd() = 0;
  /// The loss, recorded; held until backward().
  virtual void forward() = 0;
  /// Backward from the held loss, which is then dropped. Gradients accumulate until zero_grad().
  virtual void backward() = 0;
  virtual void zero_grad() = 0;
  /// zero_grad, forward, backward, SGD step; returns the loss.
  virtual double step() = 0;
  /// Heap bytes held by the graph after one recorded forward (heap_held_by; ours adds the arena).
  virtual double tape_bytes() = 0;
  /// The held loss (after forward()).
  virtual double loss() = 0;
  /// Every parameter's gradient (after backward()), flattened, in Workload::parameters() order.
  virtual std::vector<std::vector<double>> gradients() = 0;
};

/// The same workload in libtorch: same spec, ours' initial parameters and data copied, float32
/// (float64 for the chain), torch::nn modules, torch::optim::SGD.
std::unique_ptr<Runner> make_torch_runner(const Workload& ours);
/// torch::set_num_threads(n).
void torch_set_num_threads(int n);
/// at::globalContext().setFlushDenormal(on): FTZ/DAZ in the calling thread's MXCSR.
void torch_set_flush_denormal(bool on);
/// TORCH_VERSION, e.g. "1.13.1".
std::string torch_version();

}  // namespace agbench
