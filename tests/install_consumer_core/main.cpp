// Built against the installed package's core component alone: a gradient through matmul and tanh,
// checked by gradcheck.
#include <autograd/autograd.h>

#include <cstdio>
#include <vector>

int main() {
  ag::Tensor w = ag::tensor({0.5, -1.0, 2.0, 0.25}, {2, 2}, ag::kFloat64).requires_grad_();
  ag::Tensor x = ag::tensor({1.0, 2.0}, {1, 2}, ag::kFloat64);
  const ag::GradcheckReport report =
      ag::gradcheck([&](const std::vector<ag::Tensor>& in) { return ag::tanh(ag::matmul(x, in[0])); }, {w});
  std::printf("consumer (core only): gradcheck of tanh(x W): %s\n", report.ok ? "passed" : report.str().c_str());
  return report.ok ? 0 : 1;
}
