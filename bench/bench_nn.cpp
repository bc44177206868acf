// Training steps of nn models (Google Benchmark): one iteration = zero_grad, forward, loss,
// backward and an optimizer step, on fixed data drawn after ag::manual_seed. float32 throughout.
//   ag_bench --benchmark_filter=train_step
//  - train_step_xor              the seed's 2-4-1 sigmoid net, batch 4, MSE, SGD(lr 0.1)
//  - train_step_mlp_64_128_128_10  ReLU MLP, batch 32, cross-entropy with class indices, SGD(lr 0.01)
//  - train_step_lstm             LSTM(input 32, hidden 128), T 50, batch 16, Linear(128, 1) head on
//                                the last step, MSE, SGD(lr 0.01)
//  - train_step_rnn/T            Elman tanh RNN(32, 128), batch 16, same head and loss, T as given
#include <benchmark/benchmark.h>

#include "nn/nn.h"

namespace {

using namespace ag;

constexpr std::uint64_t kSeed = 20240607;

template <class Step>
void run(benchmark::State& state, Step step) {
  for (auto _ : state) {
    const double loss = step();
    benchmark::DoNotOptimize(loss);
  }
}

void BM_train_step_xor(benchmark::State& state) {
  manual_seed(kSeed);
  nn::Sequential net(nn::Linear(2, 4), nn::Sigmoid(), nn::Linear(4, 1), nn::Sigmoid());
  optim::SGD opt(net->parameters(), 0.1);
  const Tensor x = tensor({0, 0, 0, 1, 1, 0, 1, 1}, {4, 2});
  const Tensor y = tensor({0, 1, 1, 0}, {4, 1});
  run(state, [&] {
    opt.zero_grad();
    Tensor loss = mse_loss(net->forward(x), y);
    loss.backward();
    opt.step();
    return loss.item<double>();
  });
}
BENCHMARK(BM_train_step_xor);

void BM_train_step_mlp_64_128_128_10(benchmark::State& state) {
  manual_seed(kSeed);
  nn::MLP net(nn::MLPOptions({64, 128, 128, 10}).activation(nn::Activation::ReLU));
  optim::SGD opt(net->parameters(), 0.01);
  const Tensor x = randn({32, 64});
  const Tensor labels = randint(0, 10, {32});
  run(state, [&] {
    opt.zero_grad();
    Tensor loss = cross_entropy(net->forward(x), labels);
    loss.backward();
    opt.step();
    return loss.item<double>();
  });
  state.SetItemsProcessed(state.iterations() * 32);
}
BENCHMARK(BM_train_step_mlp_64_128_128_10);

template <class Net>
void recurrent_step(benchmark::State& state, Net& rnn, std::int64_t T) {
  nn::Linear head(128, 1);
  std::vector<Tensor> params = rnn->parameters();
  for (auto& p : head->parameters()) params.push_back(p);
  optim::SGD opt(params, 0.01);
  const Tensor x = randn({T, 16, 32});
  const Tensor y = randn({16, 1});
  run(state, [&] {
    opt.zero_grad();
    auto out = std::get<0>(rnn->forward(x));
    Tensor loss = mse_loss(head->forward(select(out, 0, T - 1)), y);
    loss.backward();
    opt.step();
    return loss.item<double>();
  });
  state.SetItemsProcessed(state.iterations() * 16 * T);
}

void BM_train_step_lstm(benchmark::State& state) {
  manual_seed(kSeed);
  nn::LSTM lstm(32, 128);
  recurrent_step(state, lstm, 50);
}
BENCHMARK(BM_train_step_lstm)->Unit(benchmark::kMillisecond);

void BM_train_step_rnn(benchmark::State& state) {
  manual_seed(kSeed);
  nn::RNN rnn(32, 128);
  recurrent_step(state, rnn, state.range(0));
}
BENCHMARK(BM_train_step_rnn)->Unit(benchmark::kMillisecond)->Arg(25)->Arg(50)->Arg(100);

}  // namespace
