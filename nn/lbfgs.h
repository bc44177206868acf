#pragma once
/// @file lbfgs.h
/// optim::LBFGS: limited-memory BFGS as PyTorch's (minFunc's two-loop recursion, step length
/// min(1, 1/|g|_1) lr at the first iteration then lr, or a strong-Wolfe line search). step(closure)
/// re-evaluates the loss through the closure up to max_eval times and returns the first loss.
/// One parameter group only. The direction and history are kept in float64 whatever the
/// parameters' dtype; the parameters are updated in their own dtype.

#include <deque>
#include <optional>

#include "nn/optimizer.h"

namespace ag::optim {

/// LBFGS's hyper-parameters, libtorch's defaults (lr 1, max_iter 20, max_eval max_iter * 5 / 4,
/// tolerance_grad 1e-7, tolerance_change 1e-9, history_size 100, no line search).
struct LBFGSOptions {
  LBFGSOptions(double lr = 1) : lr_(lr) {}  // NOLINT: implicit, as libtorch's
  LBFGSOptions& lr(double v) {
    lr_ = v;
    return *this;
  }
  LBFGSOptions& max_iter(std::int64_t v) {
    max_iter_ = v;
    return *this;
  }
  LBFGSOptions& max_eval(std::optional<std::int64_t> v) {
    max_eval_ = v;
    return *this;
  }
  LBFGSOptions& tolerance_grad(double v) {
    tolerance_grad_ = v;
    return *this;
  }
  LBFGSOptions& tolerance_change(double v) {
    tolerance_change_ = v;
    return *this;
  }
  LBFGSOptions& history_size(std::int64_t v) {
    history_size_ = v;
    return *this;
  }
  /// std::nullopt (no line search) or "strong_wolfe".
  LBFGSOptions& line_search_fn(std::optional<std::string> v) {
    line_search_fn_ = std::move(v);
    return *this;
  }
  double lr() const { return lr_; }
  std::int64_t max_iter() const { return max_iter_; }
  /// The set value, else max_iter * 5 / 4 (as PyTorch fills it in).
  std::int64_t max_eval() const { return max_eval_ ? *max_eval_ : max_iter_ * 5 / 4; }
  double tolerance_grad() const { return tolerance_grad_; }
  double tolerance_change() const { return tolerance_change_; }
  std::int64_t history_size() const { return history_size_; }
  const std::optional<std::string>& line_search_fn() const { return line_search_fn_; }

 private:
  double lr_;
  std::int64_t max_iter_ = 20;
  std::optional<std::int64_t> max_eval_;
  double tolerance_grad_ = 1e-7, tolerance_change_ = 1e-9;
  std::int64_t history_size_ = 100;
  std::optional<std::string> line_search_fn_;
};

class LBFGS : public Optimizer {
 public:
  LBFGS(const std::vector<Tensor>& params, const LBFGSOptions& options = {});
  /// LBFGS needs a closure: throws ag::Error.
  void step() override;
  /// Runs up to max_iter iterations; `closure` clears the gradients, computes the loss, calls
  /// backward and returns the loss (run with grad mode on). Returns the loss of the first evaluation.
  Tensor step(const LossClosure& closure) override;
  std::string name() const override { return "LBFGS"; }
  const LBFGSOptions& options() const { return options_; }

 protected:
  void export_state(OptimizerState& s) const override;
  void import_state(const OptimizerState& s) override;

 private:
  using Vec = std::vector<double>;
  std::int64_t numel() const;
  Vec gather_flat_grad() const;
  void add_grad(double t, const Vec& d);
  std::vector<Tensor> clone_params() const;
  void set_params(const std::vector<Tensor>& x);
  std::pair<double, Vec> directional_evaluate(const LossClosure& closure, const std::vector<Tensor>& x, double t,
                                              const Vec& d);

  LBFGSOptions options_;
  // PyTorch's state['...'] of the first parameter; n_iter_ == 0 until the first iteration.
  std::int64_t func_evals_ = 0, n_iter_ = 0;
  Vec d_, prev_flat_grad_;
  double t_ = 0, h_diag_ = 1, prev_loss_ = 0;
  std::deque<Vec> old_dirs_, old_stps_;
  std::deque<double> ro_;
};

}  // namespace ag::optim
