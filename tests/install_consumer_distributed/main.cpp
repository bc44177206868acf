// A one-process data-parallel step through the installed package: the average over one rank is the
// gradient itself.
#include <distributed/distributed.h>
#include <nn/nn.h>
#include <cstdio>

int main() {
  ag::distributed::init_process_group("mpi");
  auto fc = std::make_shared<ag::nn::LinearImpl>(ag::nn::LinearOptions(3, 1).dtype(ag::kFloat64));
  ag::nn::parallel::DistributedDataParallel ddp(fc);
  ag::Tensor x = ag::ones({2, 3}, ag::TensorOptions().dtype(ag::kFloat64));
  ag::sum(ddp.forward(x)).backward();
  const double g = fc->weight.grad().to_vector<double>()[0];
  ag::distributed::destroy_process_group();
  std::printf("world 1, d/dw = %g\n", g);
  return g == 2.0 ? 0 : 1;
}
