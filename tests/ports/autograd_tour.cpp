// A libtorch program, written against libtorch's C++ API (torch::), that the build turns into an
// autograd program by renaming torch:: to ag:: and <torch/torch.h> to this library's headers (see
// tests/CMakeLists.txt). It walks the same ground as PyTorch's C++ autograd tutorial (requires_grad,
// grad_fn names, backward, vector-Jacobian products, NoGradGuard and detach, a gradient penalty with
// torch::autograd::grad and create_graph, custom Functions with saved_data), with deterministic
// inputs instead of randn, and adds views and indexing. Its output must equal what the same file
// prints when built with libtorch: tests/ports/expected/autograd_tour.txt, made by
// tests/ports/make_expected.sh.
#include <torch/torch.h>

#include <iostream>

using namespace torch::autograd;

void basic_operations() {
  std::cout << "== basic operations" << std::endl;
  auto x = torch::ones({2, 2}, torch::requires_grad());
  std::cout << x << std::endl;
  auto y = x + 2;
  std::cout << y << std::endl;
  std::cout << y.grad_fn()->name() << std::endl;
  auto z = y * y * 3;
  auto out = z.mean();
  std::cout << z << std::endl;
  std::cout << z.grad_fn()->name() << std::endl;
  std::cout << out << std::endl;
  std::cout << out.grad_fn()->name() << std::endl;

  auto a = torch::linspace(-1.5, 1.5, 4).reshape({2, 2});
  a = ((a * 3) / (a - 1));
  std::cout << a.requires_grad() << std::endl;
  a.requires_grad_(true);
  std::cout << a.requires_grad() << std::endl;
  auto b = (a * a).sum();
  std::cout << b.grad_fn()->name() << std::endl;

  out.backward();
  std::cout << x.grad() << std::endl;

  x = torch::tensor({0.5, -1.25, 2.0}, torch::requires_grad());
  y = x * 2;
  while (y.norm().item<double>() < 1000) {
    y = y * 2;
  }
  std::cout << y << std::endl;
  std::cout << y.grad_fn()->name() << std::endl;
  auto v = torch::tensor({0.1, 1.0, 0.0001}, torch::kFloat);
  y.backward(v);
  std::cout << x.grad() << std::endl;

  std::cout << x.requires_grad() << std::endl;
  std::cout << x.pow(2).requires_grad() << std::endl;
  {
    torch::NoGradGuard no_grad;
    std::cout << x.pow(2).requires_grad() << std::endl;
  }
  std::cout << x.requires_grad() << std::endl;
  y = x.detach();
  std::cout << y.requires_grad() << std::endl;
  std::cout << x.eq(y).all().item<bool>() << std::endl;
}

void gradient_penalty() {
  std::cout << "== higher-order gradients" << std::endl;
  auto model = torch::nn::Linear(4, 3);
  {
    torch::NoGradGuard no_grad;
    model->weight.copy_(torch::linspace(-0.6, 0.5, 12).reshape({3, 4}));
    model->bias.copy_(torch::tensor({0.1, -0.2, 0.3}));
  }
  auto input = torch::linspace(-1, 1, 12).reshape({3, 4}).requires_grad_(true);
  auto output = model(input);
  auto target = torch::linspace(0.5, -0.5, 9).reshape({3, 3});
  auto loss = torch::nn::MSELoss()(output, target);
  auto grad_output = torch::ones_like(output);
  auto gradient = torch::autograd::grad({output}, {input}, {grad_output}, /*retain_graph=*/true,
                                        /*create_graph=*/true)[0];
  auto gradient_penalty = torch::pow((gradient.norm(2, /*dim=*/1) - 1), 2).mean();
  auto combined_loss = loss + gradient_penalty;
  combined_loss.backward();
  std::cout << input.grad() << std::endl;
  std::cout << model->weight.grad() << std::endl;
}

class LinearFunction : public Function<LinearFunction> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, torch::Tensor input, torch::Tensor weight,
                               torch::Tensor bias = torch::Tensor()) {
    ctx->save_for_backward({input, weight, bias});
    auto output = input.mm(weight.t());
    if (bias.defined()) {
      output += bias.unsqueeze(0).expand_as(output);
    }
    return output;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grad_outputs) {
    auto saved = ctx->get_saved_variables();
    auto input = saved[0];
    auto weight = saved[1];
    auto bias = saved[2];
    auto grad_output = grad_outputs[0];
    auto grad_input = grad_output.mm(weight);
    auto grad_weight = grad_output.t().mm(input);
    auto grad_bias = torch::Tensor();
    if (bias.defined()) {
      grad_bias = grad_output.sum(0);
    }
    return {grad_input, grad_weight, grad_bias};
  }
};

class MulConstant : public Function<MulConstant> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, torch::Tensor tensor, double constant) {
    ctx->saved_data["constant"] = constant;
    return tensor * constant;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grad_outputs) {
    return {grad_outputs[0] * ctx->saved_data["constant"].toDouble(), torch::Tensor()};
  }
};

void custom_functions() {
  std::cout << "== custom functions" << std::endl;
  {
    auto x = torch::linspace(-1, 1, 6).reshape({2, 3}).requires_grad_();
    auto weight = torch::linspace(0.5, -0.5, 12).reshape({4, 3}).requires_grad_();
    auto bias = torch::tensor({1.0, 2.0, 3.0, 4.0}).requires_grad_();
    auto y = LinearFunction::apply(x, weight, bias);
    std::cout << y << std::endl;
    (y * y).sum().backward();
    std::cout << x.grad() << std::endl;
    std::cout << weight.grad() << std::endl;
    std::cout << bias.grad() << std::endl;
  }
  {
    auto x = torch::tensor({1.5, -2.0}).requires_grad_();
    auto y = MulConstant::apply(x, 5.5);
    y.sum().backward();
    std::cout << x.grad() << std::endl;
  }
}

void views_and_indexing() {
  std::cout << "== views and indexing" << std::endl;
  using namespace torch::indexing;
  auto m = torch::zeros({3, 4});
  m.select(0, 1).fill_(5);
  m.t().select(0, 2).add_(1);
  m.narrow(1, 0, 2).mul_(2);
  m.index_put_({Slice(), 3}, -1);
  std::cout << m << std::endl;
  std::cout << m.t().is_contiguous() << " " << m.t().contiguous().is_contiguous() << std::endl;
  std::cout << m.index({Slice(1, None), Slice(None, None, 2)}) << std::endl;
  auto w = torch::ones({8}, torch::requires_grad());
  {
    torch::NoGradGuard no_grad;
    w.narrow(0, 2, 2).fill_(1.0);
    w.narrow(0, 4, 4).fill_(0.5);
  }
  auto loss = (w.view({2, 4}).t() * torch::linspace(1, 8, 8).view({4, 2})).sum();
  loss.backward();
  std::cout << w << std::endl;
  std::cout << w.grad() << std::endl;
}

int main() {
  std::cout << std::boolalpha;
  basic_operations();
  gradient_penalty();
  custom_functions();
  views_and_indexing();
}
