#include "bench/workloads.h"

#include <fmt/core.h>
#include <malloc.h>

namespace agbench {

using namespace ag;

std::int64_t Spec::items() const {
  switch (kind) {
    case Kind::Chain:
      return steps;
    case Kind::Rnn:
    case Kind::Lstm:
    case Kind::Lm:
      return batch * steps;
    default:
      return batch;
  }
}

double Spec::forward_flops() const {
  if (kind != Kind::Mlp && kind != Kind::Xor) return 0;
  double f = 0;
  for (std::size_t l = 0; l + 1 < sizes.size(); ++l) f += 2.0 * static_cast<double>(batch * sizes[l] * sizes[l + 1]);
  return f;
}

double Spec::backward_flops() const {
  if (forward_flops() == 0) return 0;
  return 2 * forward_flops() - 2.0 * static_cast<double>(batch * sizes[0] * sizes[1]);
}

namespace {

Spec named(std::string name, std::string label, Kind kind) {
  Spec s;
  s.name = std::move(name);
  s.label = std::move(label);
  s.kind = kind;
  return s;
}

Spec mlp(std::string name, std::string label, std::vector<std::int64_t> sizes, std::int64_t batch, double target) {
  Spec s = named(std::move(name), std::move(label), Kind::Mlp);
  s.sizes = std::move(sizes);
  s.batch = batch;
  s.target = target;
  return s;
}

Spec recurrent(std::string name, std::string label, Kind kind, std::int64_t input, std::int64_t hidden,
               std::int64_t steps, std::int64_t batch, double target) {
  Spec s = named(std::move(name), std::move(label), kind);
  s.input = input;
  s.hidden = hidden;
  s.steps = steps;
  s.batch = batch;
  s.target = target;
  return s;
}

/// The raw-op form of an Mlp or Rnn spec: "mlp_small" -> "mlp_small_raw", "(3) MLP ..., B 32" ->
/// "(3r) MLP ... raw ops, B 32"; same shapes and target.
Spec raw_ops(Spec s) {
  s.name += "_raw";
  const auto close = s.label.find(')'), comma = s.label.find(", ");
  s.label = s.label.substr(0, close) + "r" + s.label.substr(close, comma - close) + " raw ops" + s.label.substr(comma);
  s.raw = true;
  return s;
}

Spec lenet() {
  Spec s = named("lenet", "(10) LeNet-5 conv net, 28x28, B 64", Kind::Conv);
  s.batch = 64;
  s.target = 1.0;
  return s;
}

}  // namespace

std::vector<Spec> main_specs() {
  Spec xor_net = named("xor", "(1) XOR 2-4-1 sigmoid, B 4, MSE", Kind::Xor);
  xor_net.sizes = {2, 4, 1};
  xor_net.batch = 4;
  xor_net.lr = 0.1;
  xor_net.target = 0.05;
  Spec chain = named("chain", "(2) chain of 10,000 add/mul, 0-d f64", Kind::Chain);
  chain.steps = 10000;
  chain.lr = 1e-12;
  chain.target = 0.025;
  Spec lm = recurrent("lm", "(11) LM Embedding 10000x128, LSTM 128-256, Linear 256-10000, T 35, B 20", Kind::Lm, 128,
                      256, 35, 20, 0.6);
  lm.vocab = 10000;
  lm.lr = 0.1;
  const Spec mlp_small = mlp("mlp_small", "(3) MLP 64-128-128-10, B 32", {64, 128, 128, 10}, 32, 0.4);
  const Spec mlp_mnist = mlp("mlp_mnist", "(4) MLP 784-256-256-10, B 64", {784, 256, 256, 10}, 64, 0.7);
  const Spec mlp_large = mlp("mlp_large", "(5) MLP 1024-1024-1024-10, B 256", {1024, 1024, 1024, 10}, 256, 0.9);
  const Spec rnn = recurrent("rnn", "(6) RNN 32-128, T 50, B 16", Kind::Rnn, 32, 128, 50, 16, 0.5);
  const Spec rnn_tiny = recurrent("rnn_tiny", "(7) RNN 8-32, T 100, B 1", Kind::Rnn, 8, 32, 100, 1, 0.1);
  return {xor_net,
          chain,
          mlp_small,
          raw_ops(mlp_small),
          mlp_mnist,
          raw_ops(mlp_mnist),
          mlp_large,
          raw_ops(mlp_large),
          rnn,
          raw_ops(rnn),
          rnn_tiny,
          raw_ops(rnn_tiny),
          recurrent("lstm", "(8) LSTM 32-128, T 50, B 16", Kind::Lstm, 32, 128, 50, 16, 0.5),
          lenet(),
          lm};
}

std::vector<Spec> rnn_length_specs() {
  std::vector<Spec> out;
  for (std::int64_t T : {25, 50, 100, 200, 400})
    out.push_back(recurrent(fmt::format("rnn_T{}", T), fmt::format("(9) RNN 32-128, B 16, T {}", T), Kind::Rnn, 32, 128,
                            T, 16, 0));
  return out;
}

Workload::Workload(const Spec& spec) : spec_(spec) {
  manual_seed(kSeed);
  switch (spec.kind) {
    case Kind::Xor: {
      nn::Sequential net(nn::Linear(2, 4), nn::Sigmoid(), nn::Linear(4, 1), nn::Sigmoid());
      params_ = net->parameters();
      x_ = tensor({0, 0, 0, 1, 1, 0, 1, 1}, {4, 2});
      y_ = tensor({0, 1, 1, 0}, {4, 1});
      loss_fn_ = [net, x = x_, y = y_] { return mse_loss(net->forward(x), y); };
      break;
    }
    case Kind::Chain: {
      Tensor x = randn({}, kFloat64).requires_grad_(), a = randn({}, kFloat64).requires_grad_();
      Tensor b = full({}, 0.999, kFloat64).requires_grad_();
      params_ = {x, a, b};
      loss_fn_ = [x, a, b, n = spec.steps] {
        Tensor y = x;
        for (std::int64_t i = 0; i < n; ++i) y = (i % 2 == 0) ? y + a : y * b;
        return y;
      };
      break;
    }
    case Kind::Mlp: {
      nn::MLP net(nn::MLPOptions(spec.sizes).activation(nn::Activation::ReLU));
      params_ = net->parameters();  // W1, b1, W2, b2, ...: leaves, the raw form's too (same initial values)
      x_ = randn({spec.batch, spec.sizes.front()});
      y_ = randint(0, spec.sizes.back(), {spec.batch});
      if (spec.raw)
        loss_fn_ = [p = params_, x = x_, y = y_] {
          Tensor h = x;
          for (std::size_t l = 0; l < p.size(); l += 2) {
            h = matmul(h, p[l].t()) + p[l + 1];
            if (l + 2 < p.size()) h = relu(h);
          }
          return cross_entropy(h, y);
        };
      else loss_fn_ = [net, x = x_, y = y_] { return cross_entropy(net->forward(x), y); };
      break;
    }
    case Kind::Rnn:
    case Kind::Lstm: {
      nn::RNN rnn(nullptr);
      nn::LSTM lstm(nullptr);
      const auto options = nn::RNNOptions(spec.input, spec.hidden).checkpoint_every(spec.checkpoint_every);
      if (spec.kind == Kind::Rnn) rnn = nn::RNN(options);
      else lstm = nn::LSTM(options);
      nn::Linear head(spec.hidden, 1);
      params_ = spec.kind == Kind::Rnn ? rnn->parameters() : lstm->parameters();
      for (const Tensor& p : head->parameters()) params_.push_back(p);
      x_ = randn({spec.steps, spec.batch, spec.input});
      y_ = randn({spec.batch, 1});
      if (spec.raw && spec.kind == Kind::Rnn) {  // W_ih, W_hh, b_ih, b_hh, then the head's W, b
        loss_fn_ = [p = params_, x = x_, y = y_, s = spec] {
          const Tensor &w_ih = p[0], &w_hh = p[1], &b_ih = p[2], &b_hh = p[3];
          Tensor h = zeros({s.batch, s.hidden});
          for (std::int64_t t = 0; t < s.steps; ++t)
            h = tanh(matmul(select(x, 0, t), w_ih.t()) + b_ih + matmul(h, w_hh.t()) + b_hh);
          return mse_loss(matmul(h, p[4].t()) + p[5], y);
        };
        break;
      }
      loss_fn_ = [rnn, lstm, head, x = x_, y = y_, last = spec.steps - 1] {
        const Tensor out = rnn.is_empty() ? std::get<0>(lstm(x)) : std::get<0>(rnn(x));
        return mse_loss(head(select(out, 0, last)), y);
      };
      break;
    }
    case Kind::Conv: {
      nn::Sequential features(nn::Conv2d(1, 6, 5), nn::ReLU(), nn::MaxPool2d(nn::MaxPool2dOptions(2)),
                              nn::Conv2d(6, 16, 5), nn::ReLU(), nn::MaxPool2d(nn::MaxPool2dOptions(2)));
      nn::Sequential classifier(nn::Linear(256, 120), nn::ReLU(), nn::Linear(120, 84), nn::ReLU(), nn::Linear(84, 10));
      params_ = features->parameters();
      for (const Tensor& p : classifier->parameters()) params_.push_back(p);
      x_ = randn({spec.batch, 1, 28, 28});
      y_ = randint(0, 10, {spec.batch});
      loss_fn_ = [features, classifier, x = x_, y = y_] {
        const Tensor h = features->forward(x);
        return cross_entropy(classifier->forward(reshape(h, {h.size(0), -1})), y);
      };
      break;
    }
    case Kind::Lm: {
      nn::Embedding embedding(spec.vocab, spec.input);
      nn::LSTM lstm(nn::RNNOptions(spec.input, spec.hidden).checkpoint_every(spec.checkpoint_every));
      nn::Linear head(spec.hidden, spec.vocab);
      params_ = embedding->parameters();
      for (const Tensor& p : lstm->parameters()) params_.push_back(p);
      for (const Tensor& p : head->parameters()) params_.push_back(p);
      x_ = randint(0, spec.vocab, {spec.steps, spec.batch});
      y_ = randint(0, spec.vocab, {spec.steps, spec.batch});
      loss_fn_ = [embedding, lstm, head, x = x_, y = y_, n = spec.steps * spec.batch, h = spec.hidden] {
        const Tensor out = std::get<0>(lstm(embedding(x)));  // [T, B, H]
        return cross_entropy(head(reshape(out, {n, h})), reshape(y, {n}));
      };
      break;
    }
  }
  opt_ = std::make_unique<optim::SGD>(params_, spec.lr);
}

Tensor Workload::forward_nograd() const {
  NoGradGuard no_grad;
  return loss_fn_();
}

double Workload::step() {
  opt_->zero_grad();
  Tensor loss = loss_fn_();
  loss.backward();
  opt_->step();
  return loss.item<double>();
}

std::size_t heap_in_use() {
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

TapeMemory measure_tape_memory(const Workload& w) {
  for (int i = 0; i < 2; ++i) w.forward().backward();  // the arena's blocks, the pool's classes
  TapeMemory m;
  m.heap_bytes = heap_held_by([&] { return w.forward(); },
                              [&](const Tensor&) {
                                m.arena_bytes = Tape::current().arena_bytes();
                                m.nodes = Tape::current().num_nodes();
                              });
  return m;
}

std::string human_bytes(double bytes) {
  if (bytes < 0) return fmt::format("{:.0f} B", bytes);
  if (bytes < 1024) return fmt::format("{:.0f} B", bytes);
  if (bytes < 1024.0 * 1024) return fmt::format("{:.1f} KiB", bytes / 1024);
  return fmt::format("{:.2f} MiB", bytes / (1024.0 * 1024));
}

}  // namespace agbench
