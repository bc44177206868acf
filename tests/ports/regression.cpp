// A libtorch program (torch::, <torch/torch.h>) that the build renames to ag:: and runs: it fits a
// polynomial of degree 4 with a torch::nn::Linear on the features (x, x^2, x^3, x^4), a smooth L1
// loss and plain SGD, in the manner of PyTorch's C++ "regression" example. Unlike that example it is
// deterministic: the data come from a formula (not randn) and the layer starts from zeros (not its
// random initialisation), because libtorch's random generator and this library's differ. It runs in
// float64 and prints 6 significant digits, so that rounding differences between the two engines'
// kernels (1e-16 relative) never reach the output (in float32 the 600 steps drift apart in the 6th
// digit of one coefficient: 0.640216 here, 0.640215 with libtorch). The output must equal
// tests/ports/expected/regression.txt (made by tests/ports/make_expected.sh with libtorch) byte for
// byte.
#include <torch/torch.h>

#include <cmath>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace F = torch::nn::functional;

constexpr int64_t kDegree = 4;
constexpr int64_t kBatchSize = 32;

// The columns x, x^2, ..., x^kDegree of the points x [N] -> [N, kDegree].
torch::Tensor polynomial_features(const torch::Tensor& x) {
  std::vector<torch::Tensor> columns;
  for (int64_t power = 1; power <= kDegree; ++power) {
    columns.push_back(x.unsqueeze(1).pow(power));
  }
  return torch::cat(columns, 1);
}

// "y = c0 + c1 x + c2 x^2 ..." for the coefficients [kDegree] of x^1.. and the constant term.
std::string describe(const torch::Tensor& coefficients, double constant) {
  std::ostringstream out;
  out << std::setprecision(6) << "y = " << constant;
  for (int64_t i = 0; i < coefficients.size(0); ++i) {
    const double c = coefficients[i].item<double>();
    out << (c < 0 ? " - " : " + ") << std::abs(c) << " x^" << (i + 1);
  }
  return out.str();
}

// Batch `index`: kBatchSize points spread over [-s, s], s shrinking a little from batch to batch
// (four different batches in turn), and the target polynomial's values there [kBatchSize, 1].
std::pair<torch::Tensor, torch::Tensor> make_batch(int64_t index, const torch::Tensor& true_weights, double true_bias) {
  const double spread = 1.0 - 0.05 * static_cast<double>(index % 4);
  auto x = torch::linspace(-spread, spread, kBatchSize, torch::kFloat64);
  auto features = polynomial_features(x);
  auto y = features.mm(true_weights.unsqueeze(1)) + true_bias;
  return {features, y};
}

int main() {
  const auto true_weights = torch::tensor({0.5, -1.2, 0.8, 0.3}, torch::kFloat64);
  const double true_bias = 0.25;

  auto model = torch::nn::Linear(kDegree, 1);
  model->to(torch::kFloat64);
  {
    torch::NoGradGuard no_grad;
    model->weight.zero_();
    model->bias.zero_();
  }
  torch::optim::SGD optimizer(model->parameters(), torch::optim::SGDOptions(0.1));

  std::cout << std::setprecision(6);
  double loss_value = 0;
  int64_t step = 0;
  for (; step < 5000; ++step) {
    auto batch = make_batch(step, true_weights, true_bias);
    optimizer.zero_grad();
    auto loss = F::smooth_l1_loss(model(batch.first), batch.second);
    loss_value = loss.item<double>();
    loss.backward();
    optimizer.step();
    if (step % 250 == 0) {
      std::cout << "step " << step << ": loss " << loss_value << std::endl;
    }
    if (loss_value < 1e-3) {
      break;
    }
  }
  std::cout << "stopped after step " << step << " with loss " << loss_value << std::endl;
  std::cout << "learned: " << describe(model->weight.view({-1}), model->bias.item<double>()) << std::endl;
  std::cout << "actual:  " << describe(true_weights, true_bias) << std::endl;

  // the same model on points it has not seen
  torch::NoGradGuard no_grad;
  auto x = torch::linspace(-0.9, 0.9, 4, torch::kFloat64);
  auto predicted = model(polynomial_features(x)).view({-1});
  for (int64_t i = 0; i < x.size(0); ++i) {
    const double xi = x[i].item<double>();
    double expected = true_bias;
    for (int64_t p = 1; p <= kDegree; ++p) {
      expected += true_weights[p - 1].item<double>() * std::pow(xi, static_cast<double>(p));
    }
    std::cout << "x = " << xi << ": model " << predicted[i].item<double>() << ", polynomial " << expected << std::endl;
  }
}
