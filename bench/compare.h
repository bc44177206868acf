#pragma once
/// @file compare.h
/// ag_compare's view of an engine running one workload, so that ag (in the driver, compare.cpp) and
/// libtorch (compare_torch.cpp, the only file including <torch/torch.h>, run in child processes by
/// compare_child.cpp) are timed the same way.
#include <chrono>
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

/// Ours: a Workload behind the Runner interface.
class OursRunner final : public Runner {
 public:
  explicit OursRunner(const Spec& s) : w_(s) {}
  const Workload& workload() const { return w_; }
  void forward_nograd() override;
  void forward() override;
  void backward() override;
  void zero_grad() override;
  double step() override;
  double tape_bytes() override;
  double loss() override;
  std::vector<std::vector<double>> gradients() override;
  std::size_t nodes = 0;  ///< tape nodes of one forward (set by tape_bytes)

 private:
  Workload w_;
  ag::Tensor loss_;
};

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0);
double median(std::vector<double> v);

struct Times {
  double step = 0, nograd = 0, fwd = 0, bwd = 0;
};
/// Every timed iteration of one engine on one workload (over all rounds).
struct Samples {
  std::vector<double> step, nograd, fwd, bwd;
  Times medians() const { return {median(step), median(nograd), median(fwd), median(bwd)}; }
};
/// One untimed step (the round follows the other engine's process: caches and pages cold), then
/// training steps for `budget` seconds and at least kMinTimedSteps, then passes (forward no-grad,
/// recorded forward, backward, timed apart) likewise.
void time_round(Runner& r, double budget, Samples& s);
/// A 70-110 ms step (the language model) gets this many timed steps per round whatever the budget:
/// with the default budget it got one or two, the first cold, and its median moved by 15% between runs.
inline constexpr int kMinTimedSteps = 4;

struct Check {
  double loss_ours = 0, loss_torch = 0, loss_rel = 0, grad_rel = 0;
};
/// Loss and gradients of both engines on the same weights and data, before any update.
Check check(Runner& ours, Runner& torch);

/// The workloads of ag_compare (main_specs, then rnn_length_specs), those named in `only` when not empty.
std::vector<Spec> compare_specs(const std::vector<std::string>& only);
std::vector<std::string> split(const std::string& s, char sep = ',');

/// ag_compare's child modes (compare_child.cpp), run by the driver in processes of their own so that
/// OPENBLAS_CORETYPE, OPENBLAS_NUM_THREADS and OMP_WAIT_POLICY take effect:
///   --torch-child --workloads a,b --threads K --round-budget S [--check] [--denormals]
///     libtorch's side only, at torch::set_num_threads(K); prints tab-separated lines
///     "info", "check" (with --check) and "samples" (one per workload and measurement).
///   --gemm-child --libs openblas,dnnl,libxsmm --threads 1,2 --shapes MxNxK:TT,... --budget S
///     the correctness check of each library and the median seconds per call of each shape;
///     prints "core", "check" and "gemm" lines.
int torch_child(int argc, char** argv);
int gemm_child(int argc, char** argv);

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
