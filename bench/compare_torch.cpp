// libtorch's side of ag_compare: each workload written as a libtorch user would write it.
#include <torch/torch.h>

#include "bench/compare.h"

namespace agbench {

namespace {

torch::Tensor to_torch(const ag::Tensor& t) {
  std::vector<std::int64_t> shape(t.shape().begin(), t.shape().end());
  const auto dtype = t.dtype() == ag::kFloat32   ? torch::kFloat32
                     : t.dtype() == ag::kFloat64 ? torch::kFloat64
                                                 : torch::kInt64;
  return torch::from_blob(t.raw_data(), shape, dtype).clone();
}

class TorchRunner final : public Runner {
 public:
  explicit TorchRunner(const Workload& ours) : spec_(ours.spec()) {
    torch::NoGradGuard no_grad;
    const Spec& s = spec_;
    if (s.raw) {  // leaf tensors with ours' initial values, as a user of plain torch:: ops would hold them
      for (const ag::Tensor& p : ours.parameters()) params_.push_back(to_torch(p).requires_grad_());
      x_ = to_torch(ours.input());
      y_ = to_torch(ours.target());
      opt_ = std::make_unique<torch::optim::SGD>(params_, torch::optim::SGDOptions(s.lr));
      return;
    }
    switch (s.kind) {
      case Kind::Xor:
        seq_ = torch::nn::Sequential(torch::nn::Linear(2, 4), torch::nn::Sigmoid(), torch::nn::Linear(4, 1),
                                     torch::nn::Sigmoid());
        params_ = seq_->parameters();
        break;
      case Kind::Mlp:
        for (std::size_t l = 0; l + 1 < s.sizes.size(); ++l) {
          seq_->push_back(torch::nn::Linear(s.sizes[l], s.sizes[l + 1]));
          if (l + 2 < s.sizes.size()) seq_->push_back(torch::nn::ReLU());
        }
        params_ = seq_->parameters();
        break;
      case Kind::Rnn:
        rnn_ = torch::nn::RNN(torch::nn::RNNOptions(s.input, s.hidden).nonlinearity(torch::kTanh));
        head_ = torch::nn::Linear(s.hidden, 1);
        params_ = rnn_->parameters();
        break;
      case Kind::Lstm:
        lstm_ = torch::nn::LSTM(torch::nn::LSTMOptions(s.input, s.hidden));
        head_ = torch::nn::Linear(s.hidden, 1);
        params_ = lstm_->parameters();
        break;
      case Kind::Lm:
        embedding_ = torch::nn::Embedding(s.vocab, s.input);
        lstm_ = torch::nn::LSTM(torch::nn::LSTMOptions(s.input, s.hidden));
        head_ = torch::nn::Linear(s.hidden, s.vocab);
        params_ = embedding_->parameters();
        for (auto& p : lstm_->parameters()) params_.push_back(p);
        break;
      case Kind::Chain:
        for (int i = 0; i < 3; ++i) params_.push_back(torch::zeros({}, torch::kFloat64).requires_grad_());
        break;
      case Kind::Conv:
        seq_ = torch::nn::Sequential(torch::nn::Conv2d(1, 6, 5), torch::nn::ReLU(),
                                     torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(2)), torch::nn::Conv2d(6, 16, 5),
                                     torch::nn::ReLU(), torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(2)),
                                     torch::nn::Flatten(), torch::nn::Linear(256, 120), torch::nn::ReLU(),
                                     torch::nn::Linear(120, 84), torch::nn::ReLU(), torch::nn::Linear(84, 10));
        params_ = seq_->parameters();
        break;
    }
    if (head_)
      for (auto& p : head_->parameters()) params_.push_back(p);
    const auto& ours_params = ours.parameters();
    if (ours_params.size() != params_.size())
      throw std::runtime_error(s.name + ": ag and libtorch have different numbers of parameters");
    for (std::size_t i = 0; i < params_.size(); ++i) {
      torch::Tensor src = to_torch(ours_params[i]);
      if (src.sizes() != params_[i].sizes())
        throw std::runtime_error(s.name + ": parameter " + std::to_string(i) +
                                 " has different shapes in ag and libtorch");
      params_[i].copy_(src);
    }
    if (ours.input().defined()) {
      x_ = to_torch(ours.input());
      y_ = to_torch(ours.target());
    }
    opt_ = std::make_unique<torch::optim::SGD>(params_, torch::optim::SGDOptions(s.lr));
  }

  void forward_nograd() override {
    torch::NoGradGuard no_grad;
    torch::Tensor l = compute();
  }
  void forward() override { loss_ = compute(); }
  void backward() override {
    loss_.backward();
    loss_ = torch::Tensor();
  }
  void zero_grad() override { opt_->zero_grad(); }
  double step() override {
    opt_->zero_grad();
    torch::Tensor l = compute();
    l.backward();
    opt_->step();
    return l.item<double>();
  }
  double tape_bytes() override {
    for (int i = 0; i < 2; ++i) compute().backward();
    zero_grad();
    return heap_held_by([&] { return compute(); }, [](const torch::Tensor&) {});
  }
  double loss() override { return loss_.item<double>(); }
  std::vector<std::vector<double>> gradients() override {
    std::vector<std::vector<double>> out;
    for (const auto& p : params_) {
      torch::Tensor g = p.grad().to(torch::kFloat64).contiguous();
      out.emplace_back(g.data_ptr<double>(), g.data_ptr<double>() + g.numel());
    }
    return out;
  }

 private:
  // The raw-op forms (workloads.h): the model written with torch:: ops on leaf tensors, no torch::nn.
  torch::Tensor compute_raw() {
    const auto& p = params_;
    if (spec_.kind == Kind::Mlp) {
      torch::Tensor h = x_;
      for (std::size_t l = 0; l < p.size(); l += 2) {
        h = torch::matmul(h, p[l].t()) + p[l + 1];
        if (l + 2 < p.size()) h = torch::relu(h);
      }
      return torch::cross_entropy_loss(h, y_);
    }
    const torch::Tensor &w_ih = p[0], &w_hh = p[1], &b_ih = p[2], &b_hh = p[3];
    torch::Tensor h = torch::zeros({spec_.batch, spec_.hidden});
    for (std::int64_t t = 0; t < spec_.steps; ++t)
      h = torch::tanh(torch::matmul(x_.select(0, t), w_ih.t()) + b_ih + torch::matmul(h, w_hh.t()) + b_hh);
    return torch::mse_loss(torch::matmul(h, p[4].t()) + p[5], y_);
  }

  torch::Tensor compute() {
    if (spec_.raw) return compute_raw();
    switch (spec_.kind) {
      case Kind::Xor:
        return torch::mse_loss(seq_->forward(x_), y_);
      case Kind::Mlp:
      case Kind::Conv:
        return torch::nn::functional::cross_entropy(seq_->forward(x_), y_);
      case Kind::Rnn:
        return torch::mse_loss(head_(std::get<0>(rnn_(x_)).select(0, spec_.steps - 1)), y_);
      case Kind::Lstm:
        return torch::mse_loss(head_(std::get<0>(lstm_(x_)).select(0, spec_.steps - 1)), y_);
      case Kind::Lm: {
        const std::int64_t n = spec_.steps * spec_.batch;
        torch::Tensor out = std::get<0>(lstm_(embedding_(x_)));  // [T, B, H]
        return torch::nn::functional::cross_entropy(head_(out.reshape({n, spec_.hidden})), y_.reshape({n}));
      }
      case Kind::Chain: {
        const torch::Tensor &x = params_[0], &a = params_[1], &b = params_[2];
        torch::Tensor y = x;
        for (std::int64_t i = 0; i < spec_.steps; ++i) y = (i % 2 == 0) ? y + a : y * b;
        return y;
      }
    }
    return {};
  }

  Spec spec_;
  torch::nn::Sequential seq_;
  torch::nn::RNN rnn_{nullptr};
  torch::nn::LSTM lstm_{nullptr};
  torch::nn::Linear head_{nullptr};
  torch::nn::Embedding embedding_{nullptr};
  std::vector<torch::Tensor> params_;
  torch::Tensor x_, y_, loss_;
  std::unique_ptr<torch::optim::SGD> opt_;
};

}  // namespace

std::unique_ptr<Runner> make_torch_runner(const Workload& ours) { return std::make_unique<TorchRunner>(ours); }

void torch_set_num_threads(int n) { torch::set_num_threads(n); }

void torch_set_flush_denormal(bool on) { at::globalContext().setFlushDenormal(on); }

std::string torch_version() { return TORCH_VERSION; }

}  // namespace agbench
