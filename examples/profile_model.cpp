// ag::Profiler on two training loops: an MLP 64-256-256-10 (tanh, batch 128, cross-entropy) and an
// Elman RNN(32, 64) over T = 50 steps (batch 16, MSE on the last step). Prints the per-op table of
// each and writes a Chrome trace (open it in chrome://tracing or https://ui.perfetto.dev).
//   profile_model [--steps N] [--trace FILE]
#include <cstdlib>
#include <iostream>
#include <string>

#include <nn/nn.h>

using namespace ag;

int main(int argc, char** argv) {
  int steps = 100;
  std::string trace = "profile_trace.json";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string arg = argv[i];
    if (arg == "--steps") steps = std::atoi(argv[i + 1]);
    else if (arg == "--trace") trace = argv[i + 1];
    else {
      std::cerr << "usage: profile_model [--steps N] [--trace FILE]\n";
      return 2;
    }
  }
  manual_seed(7);
  nn::MLP mlp(nn::MLPOptions({64, 256, 256, 10}).activation(nn::Activation::Tanh));
  optim::SGD mlp_opt(mlp->parameters(), 0.01);
  const Tensor x = randn({128, 64});
  const Tensor labels = randint(0, 10, {128});
  {
    Profiler prof;
    for (int i = 0; i < steps; ++i) {
      mlp_opt.zero_grad();
      Tensor loss = cross_entropy(mlp->forward(x), labels);
      loss.backward();
      mlp_opt.step();
    }
    prof.stop();
    std::cout << "MLP 64-256-256-10, batch 128, " << steps << " SGD steps\n" << prof.table() << "\n";
  }

  nn::RNN rnn(32, 64);
  nn::Linear head(64, 1);
  std::vector<Tensor> params = rnn->parameters();
  for (const auto& p : head->parameters()) params.push_back(p);
  optim::SGD rnn_opt(params, 0.01);
  const Tensor seq = randn({50, 16, 32});
  const Tensor y = randn({16, 1});
  Profiler prof;
  for (int i = 0; i < steps; ++i) {
    rnn_opt.zero_grad();
    Tensor out = std::get<0>(rnn->forward(seq));
    Tensor loss = mse_loss(head->forward(select(out, 0, 49)), y);
    loss.backward();
    rnn_opt.step();
  }
  prof.stop();
  std::cout << "RNN(32, 64), T 50, batch 16, " << steps << " SGD steps\n" << prof.table() << "\n";
  prof.write_chrome_trace(trace);
  std::cout << "Chrome trace of the RNN loop written to " << trace << "\n";
}
