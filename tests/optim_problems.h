#pragma once
// Small deterministic problems for the optimizer tests (tests/test_optim*.cpp and the helper
// tests/optim_resume_helper.cpp): the same parameters and losses as tests/data/make_reference.py's
// "optim" block, and the optimizers the save/resume test runs, by name.
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "nn/nn.h"

namespace optim_problems {

// element k = cos(0.53 k + seed) * scale + shift (make_reference.py's deterministic(); seed = 2 len(name))
inline ag::Tensor det(const ag::Shape& shape, double seed, double scale = 1.0, ag::Dtype dtype = ag::kFloat64) {
  const auto n = ag::shape_numel(shape);
  std::vector<double> v(static_cast<std::size_t>(n));
  for (std::int64_t k = 0; k < n; ++k)
    v[static_cast<std::size_t>(k)] = std::cos(0.53 * static_cast<double>(k) + seed) * scale;
  return ag::tensor(v, shape, dtype);
}

// sum((x w + b - y)^2) + 0.05 sum(w^4), w (3, 2), b (2)
inline std::vector<ag::Tensor> lsq_params(ag::Dtype dtype = ag::kFloat64) {
  return {det({3, 2}, 2, 0.5, dtype).requires_grad_(), det({2}, 2, 0.3, dtype).requires_grad_()};
}
inline ag::Tensor lsq_loss(const std::vector<ag::Tensor>& p) {
  const ag::Dtype dt = p[0].dtype();
  const ag::Tensor x = det({4, 3}, 2, 1.0, dt), y = det({4, 2}, 2, 0.5, dt);
  const ag::Tensor r = ag::matmul(x, p[0]) + p[1] - y;
  const ag::Tensor w2 = p[0] * p[0];
  return ag::sum(r * r) + 0.05 * ag::sum(w2 * w2);
}

// (1 - a)^2 + 100 (b - a^2)^2 from (-1.5, 2)
inline std::vector<ag::Tensor> rosenbrock_params(ag::Dtype dtype = ag::kFloat64) {
  return {ag::tensor({-1.5}, {1}, dtype).requires_grad_(), ag::tensor({2.0}, {1}, dtype).requires_grad_()};
}
inline ag::Tensor rosenbrock_loss(const std::vector<ag::Tensor>& p) {
  const ag::Tensor u = 1.0 - p[0], v = p[1] - p[0] * p[0];
  return ag::sum(u * u + 100.0 * (v * v));
}

inline std::vector<std::string> resume_kinds() {
  return {"sgd", "adam", "adamw_amsgrad", "rmsprop", "adagrad", "lbfgs", "lbfgs_strong_wolfe"};
}

inline std::unique_ptr<ag::optim::Optimizer> make_optimizer(const std::string& kind,
                                                            const std::vector<ag::Tensor>& params) {
  using namespace ag::optim;
  // two groups (the second with its own lr) where the optimizer allows them
  const std::vector<ag::Tensor> first{params[0]}, second{params[1]};
  std::unique_ptr<Optimizer> opt;
  if (kind == "sgd")
    opt = std::make_unique<SGD>(first, SGDOptions(0.05).momentum(0.9).nesterov(true).weight_decay(0.01));
  else if (kind == "adam") opt = std::make_unique<Adam>(first, AdamOptions(0.05).betas(0.8, 0.9));
  else if (kind == "adamw_amsgrad") opt = std::make_unique<AdamW>(first, AdamWOptions(0.05).amsgrad(true));
  else if (kind == "rmsprop")
    opt = std::make_unique<RMSprop>(first, RMSpropOptions(0.01).centered(true).momentum(0.5).weight_decay(0.1));
  else if (kind == "adagrad") opt = std::make_unique<Adagrad>(first, AdagradOptions(0.1).lr_decay(0.05));
  else if (kind == "lbfgs") return std::make_unique<LBFGS>(params, LBFGSOptions(0.5).max_iter(3).history_size(2));
  else if (kind == "lbfgs_strong_wolfe")
    return std::make_unique<LBFGS>(params, LBFGSOptions(1).max_iter(3).history_size(4).line_search_fn("strong_wolfe"));
  else throw std::invalid_argument("unknown optimizer kind " + kind);
  opt->add_param_group(second, 0.02);
  return opt;
}

// One optimizer step on the least-squares problem (LBFGS through a closure).
inline void train_step(ag::optim::Optimizer& opt, const std::vector<ag::Tensor>& params) {
  auto closure = [&] {
    opt.zero_grad();
    ag::Tensor loss = lsq_loss(params);
    loss.backward();
    return loss;
  };
  opt.step(closure);  // LBFGS evaluates it several times, the others once
}

}  // namespace optim_problems
