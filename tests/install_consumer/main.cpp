// Built against the installed package: computes a gradient and checks it, and iterates a data
// loader with a worker thread (ag::data, through the one header <nn/nn.h>).
#include <autograd/autograd.h>
#include <nn/nn.h>

#include <cmath>
#include <cstdio>

int main() {
  ag::Tensor x = ag::tensor({1.0, 2.0, 3.0}, {3}, ag::kFloat64).requires_grad_();
  ag::Tensor y = ag::sum(x * x * x);  // dy/dx = 3x^2
  y.backward();
  const auto g = x.grad().to_vector<double>();
  const double expected[] = {3.0, 12.0, 27.0};
  for (int i = 0; i < 3; ++i)
    if (std::abs(g[static_cast<std::size_t>(i)] - expected[i]) > 1e-12) {
      std::printf("wrong gradient at %d: %g\n", i, g[static_cast<std::size_t>(i)]);
      return 1;
    }
  std::printf("consumer: d/dx sum(x^3) at [1,2,3] = [%g, %g, %g]\n", g[0], g[1], g[2]);

  auto loader = ag::data::make_data_loader<ag::data::samplers::SequentialSampler>(
      ag::data::datasets::TensorDataset(ag::arange(10.0)).map(ag::data::transforms::Stack<ag::data::TensorExample>()),
      ag::data::DataLoaderOptions().batch_size(4).workers(1));
  double total = 0;
  int batches = 0;
  for (auto& batch : *loader) {
    total += ag::sum(batch.data).item<double>();
    ++batches;
  }
  if (batches != 3 || total != 45.0) {
    std::printf("wrong data loader batches: %d batches, sum %g\n", batches, total);
    return 1;
  }
  std::printf("consumer: data loader, %d batches summing to %g\n", batches, total);
  return 0;
}
