// nn modules: Module registration and traversal, Linear, activations, Sequential, Dropout, MLP,
// nn::init, and an MLP learning XOR.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "nn/nn.h"
#include "test_util.h"

using namespace ag;

namespace {

struct Net : nn::Module {
  Net() : Module("Net") {
    w = register_parameter("w", tensor({1.0, 2.0, 3.0}, {3}));
    frozen = register_parameter("frozen", tensor({5.0}, {1}), /*requires_grad=*/false);
    scale = register_buffer("scale", tensor({2.0}, {1}));
    fc = register_module("fc", nn::Linear(3, 4));
    layers =
        register_module("layers", std::make_shared<nn::SequentialImpl>(nn::Linear(4, 4), nn::Tanh(), nn::Linear(4, 2)));
  }
  Tensor forward(const Tensor& x) const { return layers->forward(fc(x * w * scale)); }
  Tensor w, frozen, scale;
  nn::Linear fc{nullptr};
  std::shared_ptr<nn::SequentialImpl> layers;
};

double mean_of(const std::vector<double>& v) {
  return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

double std_of(const std::vector<double>& v) {
  const double m = mean_of(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / static_cast<double>(v.size()));
}

double max_abs(const Tensor& t) {
  double m = 0;
  for (double x : t.to_vector<double>()) m = std::max(m, std::abs(x));
  return m;
}

}  // namespace

TEST_CASE("Module: named_parameters walks submodules with dotted names in registration order") {
  auto net = std::make_shared<Net>();
  const std::vector<std::string> expected = {
      "w", "frozen", "fc.weight", "fc.bias", "layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"};
  CHECK(net->named_parameters().keys() == expected);
  const auto params = net->parameters();
  REQUIRE(params.size() == expected.size());
  CHECK(params[0].impl() == net->w.impl());
  CHECK(params[2].impl() == net->fc->weight.impl());
  CHECK(params[3].impl() == net->fc->bias.impl());
  CHECK(net->named_parameters()["layers.2.weight"].shape() == Shape{2, 4});
  CHECK(net->parameters(/*recurse=*/false).size() == 2);
  CHECK(net->named_parameters(false).keys() == std::vector<std::string>{"w", "frozen"});
  CHECK(net->w.requires_grad());
  CHECK(net->w.is_leaf());
  CHECK_FALSE(net->frozen.requires_grad());
  CHECK(net->named_buffers().keys() == std::vector<std::string>{"scale"});
  CHECK(net->buffers().size() == 1);
  CHECK_FALSE(net->scale.requires_grad());
  CHECK(net->name() == "Net");
  CHECK(net->fc->name() == "Linear");
}

TEST_CASE("Module: children and named_modules, depth first") {
  auto net = std::make_shared<Net>();
  const auto ch = net->children();
  REQUIRE(ch.size() == 2);
  CHECK(ch[0] == net->fc.ptr());
  CHECK(ch[1] == net->layers);
  CHECK(net->named_children().keys() == std::vector<std::string>{"fc", "layers"});
  const auto mods = net->named_modules();
  CHECK(mods.keys() == std::vector<std::string>{"", "fc", "layers", "layers.0", "layers.1", "layers.2"});
  CHECK(mods[""].get() == net.get());
  CHECK(std::dynamic_pointer_cast<nn::TanhImpl>(mods["layers.1"]) != nullptr);
  CHECK(net->named_modules("net").keys() ==
        std::vector<std::string>{"net", "net.fc", "net.layers", "net.layers.0", "net.layers.1", "net.layers.2"});
}

TEST_CASE("Module: named_modules on a module not owned by a shared_ptr is an ag::Error") {
  Net stack_net;
  CHECK_THROWS_AS(stack_net.named_modules(), Error);
  CHECK(stack_net.named_parameters().size() == 8);  // the rest works without a shared_ptr
}

TEST_CASE("Module: train() and eval() recurse into every submodule") {
  auto net = std::make_shared<Net>();
  for (auto& m : net->named_modules()) CHECK(m.value()->is_training());
  net->eval();
  for (auto& m : net->named_modules()) CHECK_FALSE(m.value()->is_training());
  net->train();
  for (auto& m : net->named_modules()) CHECK(m.value()->is_training());
  net->train(false);
  CHECK_FALSE(net->layers->operator[](1)->is_training());
}

TEST_CASE("Module: zero_grad zeroes in place or clears every gradient") {
  auto net = std::make_shared<Net>();
  const Tensor x = tensor({0.5, -1.0, 2.0, 1.0, 0.0, -0.5}, {2, 3});
  sum(net->forward(x)).backward();
  for (auto& p : net->named_parameters()) {
    INFO(p.key());
    CHECK(p.value().grad().defined() == (p.key() != "frozen"));
  }
  CHECK(max_abs(net->fc->weight.grad()) > 0);
  net->zero_grad(/*set_to_none=*/false);
  for (auto& p : net->parameters()) {
    if (!p.requires_grad()) continue;
    REQUIRE(p.grad().defined());
    CHECK(max_abs(p.grad()) == 0.0);
    CHECK(p.grad().shape() == p.shape());
  }
  sum(net->forward(x)).backward();
  net->zero_grad();
  for (auto& p : net->parameters()) CHECK_FALSE(p.grad().defined());
}

TEST_CASE("Module: to(kFloat64) converts parameters and buffers and keeps member handles valid") {
  auto net = std::make_shared<Net>();
  const auto before = net->fc->weight.to_vector<double>();
  const TensorImpl* impl = net->fc->weight.impl();
  net->to(kFloat64);
  for (auto& p : net->named_parameters()) {
    INFO(p.key());
    CHECK(p.value().dtype() == kFloat64);
    CHECK(p.value().is_leaf());
  }
  CHECK(net->scale.dtype() == kFloat64);
  CHECK(net->fc->weight.dtype() == kFloat64);
  CHECK(net->fc->weight.impl() == impl);
  CHECK(net->named_parameters()["fc.weight"].impl() == net->fc->weight.impl());
  CHECK(net->fc->weight.to_vector<double>() == before);  // float32 -> float64 is exact
  CHECK(net->fc->weight.requires_grad());
  CHECK_FALSE(net->frozen.requires_grad());
  const Tensor y = net->forward(tensor({0.5, -1.0, 2.0}, {1, 3}, kFloat64));
  CHECK(y.dtype() == kFloat64);
  sum(y).backward();
  REQUIRE(net->fc->weight.grad().defined());
  CHECK(net->fc->weight.grad().dtype() == kFloat64);
  CHECK(net->named_parameters()["layers.0.bias"].grad().defined());
}

TEST_CASE("Module: invalid names, duplicates, null and empty submodules are ag::Errors") {
  Net net;
  CHECK_THROWS_AS(net.register_parameter("", ones({1})), Error);
  CHECK_THROWS_AS(net.register_parameter("a.b", ones({1})), Error);
  CHECK_THROWS_AS(net.register_buffer("", ones({1})), Error);
  CHECK_THROWS_AS(net.register_buffer("x.y", ones({1})), Error);
  CHECK_THROWS_AS(net.register_module("", nn::Linear(1, 1)), Error);
  CHECK_THROWS_AS(net.register_module("a.b", nn::Linear(1, 1)), Error);
  CHECK_THROWS_AS(net.register_parameter("undef", Tensor()), Error);
  // duplicates, within one kind and across parameters, buffers and submodules
  CHECK_THROWS_AS(net.register_parameter("w", ones({1})), Error);
  CHECK_THROWS_AS(net.register_buffer("scale", ones({1})), Error);
  CHECK_THROWS_AS(net.register_module("fc", nn::Linear(1, 1)), Error);
  CHECK_THROWS_AS(net.register_buffer("w", ones({1})), Error);
  CHECK_THROWS_AS(net.register_parameter("scale", ones({1})), Error);
  CHECK_THROWS_AS(net.register_parameter("fc", ones({1})), Error);
  CHECK_THROWS_AS(net.register_module("w", nn::Linear(1, 1)), Error);
  // a null shared_ptr and an empty holder
  CHECK_THROWS_AS(net.register_module("null", std::shared_ptr<nn::LinearImpl>()), Error);
  nn::Linear empty{nullptr};
  CHECK(empty.is_empty());
  CHECK_THROWS_AS(net.register_module("empty", empty), Error);
  CHECK_THROWS_AS(empty->forward(ones({1, 1})), Error);
  CHECK_THROWS_AS(empty(ones({1, 1})), Error);
  CHECK_THROWS_AS((void)*empty, Error);
  CHECK(net.named_parameters().size() == 8);  // nothing was added by the failed calls
  CHECK(net.named_buffers().size() == 1);
  CHECK(net.children().size() == 2);
}

TEST_CASE("Module: a non-leaf registered as a parameter is detached into a leaf") {
  nn::Module m;
  Tensor a = ones({2}, kFloat64).requires_grad_();
  Tensor p = m.register_parameter("p", a * 3.0);
  CHECK(p.is_leaf());
  CHECK(p.requires_grad());
  agt::check_values(p, {3.0, 3.0});
}

TEST_CASE("Module: references returned by register_parameter stay valid; tied weights appear once in parameters()") {
  nn::Module m;
  Tensor& first = m.register_parameter("first", ones({2}, kFloat64));
  const TensorImpl* impl = first.impl();
  for (int i = 0; i < 100; ++i) m.register_parameter("p" + std::to_string(i), zeros({1}, kFloat64));
  CHECK(first.impl() == impl);
  CHECK(first.to_vector<double>() == std::vector<double>{1.0, 1.0});
  CHECK(m.named_parameters()["first"].impl() == impl);

  // one Linear registered twice, and a tensor registered under two names
  auto tied = std::make_shared<nn::Module>("Tied");
  nn::Linear shared(nn::LinearOptions(2, 2).dtype(kFloat64));
  tied->register_module("enc", shared);
  tied->register_module("dec", shared);
  tied->register_parameter("w", shared->weight);
  CHECK(tied->named_parameters().keys() ==
        std::vector<std::string>{"w", "enc.weight", "enc.bias", "dec.weight", "dec.bias"});
  const auto ps = tied->parameters();
  REQUIRE(ps.size() == 2);
  CHECK(ps[0].impl() == shared->weight.impl());
  CHECK(ps[1].impl() == shared->bias.impl());
  // an optimizer over them updates each tensor once
  sum(shared(ones({1, 2}, kFloat64)) + shared(ones({1, 2}, kFloat64))).backward();
  const auto b0 = shared->bias.to_vector<double>();
  optim::SGD opt(tied->parameters(), 0.5);
  opt.step();
  CHECK(shared->bias.to_vector<double>() == std::vector<double>{b0[0] - 0.5 * 2.0, b0[1] - 0.5 * 2.0});
}

TEST_CASE("Linear: shapes, bias(false), forward on [B,in], [in] and [A,B,in]") {
  nn::Linear fc(3, 2);
  CHECK(fc->weight.shape() == Shape{2, 3});
  CHECK(fc->bias.shape() == Shape{2});
  CHECK(fc->weight.dtype() == kFloat32);
  CHECK(fc->named_parameters().keys() == std::vector<std::string>{"weight", "bias"});
  nn::Linear nb(nn::LinearOptions(3, 2).bias(false));
  CHECK_FALSE(nb->bias.defined());
  CHECK(nb->parameters().size() == 1);
  CHECK(nb->named_parameters().keys() == std::vector<std::string>{"weight"});

  nn::Linear l(nn::LinearOptions(3, 2).dtype(kFloat64));
  nn::Linear lnb(nn::LinearOptions(3, 2).bias(false).dtype(kFloat64));
  {
    NoGradGuard no_grad;
    l->weight.copy_(tensor({1.0, 2.0, 3.0, -1.0, 0.5, 0.0}, {2, 3}, kFloat64));
    l->bias.copy_(tensor({0.5, -2.0}, {2}, kFloat64));
    lnb->weight.copy_(l->weight);
  }
  // rows: [1, 0, -1] -> [1-3+0.5, -1+0-2] = [-1.5, -3];  [2, 1, 1] -> [2+2+3+0.5, -2+0.5-2] = [7.5, -3.5]
  const Tensor x2 = tensor({1.0, 0.0, -1.0, 2.0, 1.0, 1.0}, {2, 3}, kFloat64);
  const Tensor y2 = l(x2);
  CHECK(y2.shape() == Shape{2, 2});
  agt::check_values(y2, {-1.5, -3.0, 7.5, -3.5});
  const Tensor y1 = l(tensor({1.0, 0.0, -1.0}, {3}, kFloat64));
  CHECK(y1.shape() == Shape{2});
  agt::check_values(y1, {-1.5, -3.0});
  const Tensor x3 = tensor({1.0, 0.0, -1.0, 2.0, 1.0, 1.0, 1.0, 0.0, -1.0, 0.0, 0.0, 0.0, 2.0, 1.0, 1.0, 1.0, 1.0, 1.0},
                           {3, 2, 3}, kFloat64);
  const Tensor y3 = l(x3);
  CHECK(y3.shape() == Shape{3, 2, 2});
  agt::check_values(y3, {-1.5, -3.0, 7.5, -3.5, -1.5, -3.0, 0.5, -2.0, 7.5, -3.5, 6.5, -2.5});
  agt::check_values(lnb(x2), {-2.0, -1.0, 7.0, -1.5});

  CHECK_THROWS_AS(l(ones({2, 4}, kFloat64)), Error);
  CHECK_THROWS_AS(l(scalar_tensor(1.0, kFloat64)), Error);
  CHECK_THROWS_AS(nn::Linear(0, 2), Error);
  CHECK_THROWS_AS(nn::Linear(2, -1), Error);
}

TEST_CASE("Linear: default initialisation is U(-1/sqrt(in), 1/sqrt(in)) for weight and bias") {
  manual_seed(3);
  nn::Linear fc(400, 300);
  const double bound = 1.0 / std::sqrt(400.0);
  const auto w = fc->weight.to_vector<double>();
  const auto b = fc->bias.to_vector<double>();
  CHECK(max_abs(fc->weight) <= bound);
  CHECK(max_abs(fc->weight) > 0.99 * bound);
  CHECK(max_abs(fc->bias) <= bound);
  CHECK(max_abs(fc->bias) > 0.95 * bound);
  CHECK(std::abs(mean_of(w)) < 0.02 * bound);
  CHECK(std_of(w) == doctest::Approx(bound / std::sqrt(3.0)).epsilon(0.01));
  CHECK(std_of(b) == doctest::Approx(bound / std::sqrt(3.0)).epsilon(0.1));
}

TEST_CASE("Linear: gradcheck in float64 through input, weight and bias") {
  manual_seed(1);
  nn::Linear fc(nn::LinearOptions(3, 4).dtype(kFloat64));
  const Tensor x = agt::input({5, 3});
  // The module's own parameters, listed as inputs, are differentiated in reverse mode only: forward
  // mode makes each input a new (dual) tensor, which fc does not read; the module's forward is
  // ag::linear of its parameters, gradchecked in both modes through the inputs themselves.
  const auto through_module = [&](const std::vector<Tensor>& in) { return fc(in[0]); };
  const auto through_inputs = [](const std::vector<Tensor>& in) {
    return ag::linear(in[0], in[1], in.size() > 2 ? in[2] : Tensor());
  };
  for (const Tensor& in : {x, agt::input({3}, 2.0), agt::input({2, 2, 3}, 0.3)}) {
    agt::check_values(fc(in), through_inputs({in, fc->weight, fc->bias}).to_vector<double>(), 1e-15);
    agt::check_gradients_reverse_only(through_module, {in, fc->weight, fc->bias});
    agt::check_gradients(through_module, {in});
    agt::check_gradients(through_inputs, {in, fc->weight, fc->bias});
  }
  nn::Linear nb(nn::LinearOptions(3, 2).bias(false).dtype(kFloat64));
  agt::check_gradients_reverse_only([&](const std::vector<Tensor>& in) { return nb(in[0]); }, {x, nb->weight});
  agt::check_gradients([&](const std::vector<Tensor>& in) { return nb(in[0]); }, {x});
  agt::check_gradients(through_inputs, {x, nb->weight});
}

TEST_CASE("activation modules: forward values and gradcheck in float64") {
  const Tensor x = tensor({-2.0, -0.5, 0.25, 3.0}, {2, 2}, kFloat64);
  agt::check_values(nn::Sigmoid()(x), {1 / (1 + std::exp(2.0)), 1 / (1 + std::exp(0.5)), 1 / (1 + std::exp(-0.25)),
                                       1 / (1 + std::exp(-3.0))});
  agt::check_values(nn::Tanh()(x), {std::tanh(-2.0), std::tanh(-0.5), std::tanh(0.25), std::tanh(3.0)});
  agt::check_values(nn::ReLU()(x), {0.0, 0.0, 0.25, 3.0});
  agt::check_values(nn::LeakyReLU()(x), {-0.02, -0.005, 0.25, 3.0});
  agt::check_values(nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2))(x), {-0.4, -0.1, 0.25, 3.0});
  const double z0 = std::exp(-2.0) + std::exp(-0.5), z1 = std::exp(0.25) + std::exp(3.0);
  agt::check_values(nn::Softmax(1)(x),
                    {std::exp(-2.0) / z0, std::exp(-0.5) / z0, std::exp(0.25) / z1, std::exp(3.0) / z1});
  agt::check_values(nn::LogSoftmax(1)(x),
                    {-2.0 - std::log(z0), -0.5 - std::log(z0), 0.25 - std::log(z1), 3.0 - std::log(z1)});
  const double y0 = std::exp(-2.0) + std::exp(0.25);
  agt::check_values(nn::Softmax(0)(x), {std::exp(-2.0) / y0, std::exp(-0.5) / (std::exp(-0.5) + std::exp(3.0)),
                                        std::exp(0.25) / y0, std::exp(3.0) / (std::exp(-0.5) + std::exp(3.0))});
  CHECK(nn::Sigmoid()->name() == "Sigmoid");

  const Tensor in = agt::input({3, 4}, 0.7, 1.5);
  auto check = [&](auto module) {
    agt::check_gradients([&](const std::vector<Tensor>& v) { return module(v[0]); }, {in});
  };
  check(nn::Sigmoid());
  check(nn::Tanh());
  check(nn::ReLU());
  check(nn::LeakyReLU());
  check(nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.3)));
  check(nn::Softmax(1));
  check(nn::Softmax(0));
  check(nn::LogSoftmax(1));
  check(nn::LogSoftmax(-2));
}

TEST_CASE("MLP: layers, parameter names and gradcheck in float64 (Tanh)") {
  manual_seed(5);
  nn::MLP mlp(nn::MLPOptions({3, 5, 4, 2}).dtype(kFloat64).activation(nn::Activation::Tanh));
  CHECK(mlp->layers->size() == 5);  // Linear, Tanh, Linear, Tanh, Linear: nothing after the last
  CHECK(std::dynamic_pointer_cast<nn::TanhImpl>((*mlp->layers)[1]) != nullptr);
  CHECK(std::dynamic_pointer_cast<nn::LinearImpl>((*mlp->layers)[4]) != nullptr);
  CHECK(mlp->named_parameters().keys() == std::vector<std::string>{"layers.0.weight", "layers.0.bias",
                                                                   "layers.2.weight", "layers.2.bias",
                                                                   "layers.4.weight", "layers.4.bias"});
  for (auto& p : mlp->parameters()) CHECK(p.dtype() == kFloat64);
  const Tensor x = agt::input({4, 3}, 0.2);
  CHECK(mlp(x).shape() == Shape{4, 2});
  std::vector<Tensor> inputs{x};
  for (auto& p : mlp->parameters()) inputs.push_back(p);
  agt::check_gradients([&](const std::vector<Tensor>& v) { return mlp(v[0]); }, inputs);

  nn::MLP id(nn::MLPOptions({2, 3, 1}).activation(nn::Activation::Identity).bias(false));
  CHECK(id->layers->size() == 2);
  CHECK(id->parameters().size() == 2);
  CHECK(nn::MLP(nn::MLPOptions({2, 3, 1}).activation(nn::Activation::Sigmoid))->layers->size() == 3);
  CHECK_THROWS_AS(nn::MLP(nn::MLPOptions({4})), Error);
}

TEST_CASE("Sequential: modules applied in order, indexing, names") {
  manual_seed(2);
  nn::Sequential seq(nn::Linear(nn::LinearOptions(2, 3).dtype(kFloat64)), nn::ReLU(),
                     nn::Linear(nn::LinearOptions(3, 1).dtype(kFloat64)));
  CHECK(seq->size() == 3);
  CHECK(seq->named_children().keys() == std::vector<std::string>{"0", "1", "2"});
  auto l0 = std::dynamic_pointer_cast<nn::LinearImpl>((*seq)[0]);
  auto l2 = std::dynamic_pointer_cast<nn::LinearImpl>((*seq)[2]);
  REQUIRE(l0);
  REQUIRE(l2);
  CHECK(std::dynamic_pointer_cast<nn::ReLUImpl>((*seq)[1]) != nullptr);
  CHECK_THROWS_AS((*seq)[3], Error);
  const Tensor x = agt::input({4, 2}, 0.4, 2.0, 0.0, false);
  const Tensor expected = l2->forward(relu(l0->forward(x)));
  CHECK(seq(x).to_vector<double>() == expected.to_vector<double>());
  // order matters: tanh after the first layer gives something else
  nn::Sequential other;
  other->push_back(l0);
  other->push_back(std::make_shared<nn::TanhImpl>());
  other->push_back(nn::Linear(l2));
  CHECK(other->size() == 3);
  CHECK(other(x).to_vector<double>() == l2->forward(tanh(l0->forward(x))).to_vector<double>());
  // nested sequentials name their parameters through both levels
  nn::Sequential outer(seq, nn::Tanh());
  CHECK(outer->named_parameters().keys() ==
        std::vector<std::string>{"0.0.weight", "0.0.bias", "0.2.weight", "0.2.bias"});
  CHECK(outer(x).to_vector<double>() == tanh(expected).to_vector<double>());
}

TEST_CASE("Dropout: identity in eval, exact mask and scale in training, gradient follows the mask") {
  const std::int64_t n = 20000;
  const double p = 0.3;
  const Tensor x = (arange(1.0, static_cast<double>(n) + 1.0, 1.0, kFloat64) * 0.001).requires_grad_();
  nn::Dropout drop{nn::DropoutOptions(p)};
  CHECK(drop->is_training());
  manual_seed(11);
  const Tensor y = drop(x);
  const auto xv = x.to_vector<double>(), yv = y.to_vector<double>();
  const double scale = 1.0 / (1.0 - p);
  std::int64_t zeros_count = 0;
  bool exact = true;
  for (std::int64_t i = 0; i < n; ++i) {
    const auto k = static_cast<std::size_t>(i);
    if (yv[k] == 0.0) ++zeros_count;
    else if (yv[k] != xv[k] * scale) exact = false;
  }
  CHECK(exact);
  const double frac = static_cast<double>(zeros_count) / static_cast<double>(n);
  CHECK(frac == doctest::Approx(p).epsilon(0.05));  // 3.3 sigma is ~0.011 absolute; 5% of 0.3 = 0.015
  sum(y * 2.0).backward();
  const auto g = x.grad().to_vector<double>();
  for (std::size_t k = 0; k < g.size(); ++k) {
    if (g[k] != (yv[k] == 0.0 ? 0.0 : 2.0 * scale)) {
      FAIL("gradient at " << k << " is " << g[k] << " for output " << yv[k]);
      break;
    }
  }
  // reproducible after manual_seed, different without it
  manual_seed(11);
  CHECK(drop(x).to_vector<double>() == yv);
  CHECK(drop(x).to_vector<double>() != yv);
  // eval: the identity (values and gradient)
  drop->eval();
  x.set_grad(Tensor());
  const Tensor ye = drop(x);
  CHECK(ye.to_vector<double>() == xv);
  sum(ye).backward();
  CHECK(max_abs(x.grad() - 1.0) == 0.0);
  // functional form, p = 0 and p = 1
  const Tensor small = tensor({1.0, -2.0, 3.0}, {3}, kFloat64);
  CHECK(nn::dropout(small, 0.0, true).to_vector<double>() == small.to_vector<double>());
  CHECK(nn::dropout(small, 1.0, true).to_vector<double>() == std::vector<double>{0.0, 0.0, 0.0});
  CHECK(nn::dropout(small, 0.9, false).to_vector<double>() == small.to_vector<double>());
  // float32 works too, and the default p is 0.5
  CHECK(nn::Dropout()->options.p() == 0.5);
  const auto y32 = nn::Dropout()(ones({1000})).to_vector<double>();
  for (double v : y32) CHECK((v == 0.0 || v == 2.0));
}

TEST_CASE("Dropout: p outside [0, 1] is an ag::Error") {
  CHECK_THROWS_AS(nn::Dropout(nn::DropoutOptions(1.5)), Error);
  CHECK_THROWS_AS(nn::Dropout(nn::DropoutOptions(-0.1)), Error);
  CHECK_THROWS_AS(nn::Dropout(nn::DropoutOptions(std::nan(""))), Error);
  CHECK_THROWS_AS(nn::dropout(ones({2}), 2.0, true), Error);
  CHECK_THROWS_AS(nn::dropout(ones({2}), -1.0, false), Error);
  nn::Dropout d(nn::DropoutOptions(0.5));
  d->options.p(7.0);
  CHECK_THROWS_AS(d(ones({2})), Error);
}

TEST_CASE("init: calculate_gain and fan computation") {
  using namespace nn::init;
  CHECK(calculate_gain(Nonlinearity::Linear) == 1.0);
  CHECK(calculate_gain(Nonlinearity::Sigmoid) == 1.0);
  CHECK(calculate_gain(Nonlinearity::Tanh) == doctest::Approx(5.0 / 3.0).epsilon(1e-15));
  CHECK(calculate_gain(Nonlinearity::ReLU) == doctest::Approx(std::sqrt(2.0)).epsilon(1e-15));
  CHECK(calculate_gain(Nonlinearity::LeakyReLU) == doctest::Approx(std::sqrt(2.0 / 1.0001)).epsilon(1e-15));
  CHECK(calculate_gain(Nonlinearity::LeakyReLU, 0.2) == doctest::Approx(std::sqrt(2.0 / 1.04)).epsilon(1e-15));
  CHECK(calculate_gain(Nonlinearity::LeakyReLU, std::sqrt(5.0)) ==
        doctest::Approx(std::sqrt(1.0 / 3.0)).epsilon(1e-15));
  CHECK(calculate_fan_in_and_fan_out(empty({4, 3})) == std::pair<std::int64_t, std::int64_t>{3, 4});
  CHECK(calculate_fan_in_and_fan_out(empty({4, 3, 5, 2})) == std::pair<std::int64_t, std::int64_t>{30, 40});
  CHECK_THROWS_AS(calculate_fan_in_and_fan_out(empty({4})), Error);
  CHECK_THROWS_AS(calculate_fan_in_and_fan_out(scalar_tensor(1.0)), Error);
  CHECK_THROWS_AS(xavier_uniform_(empty({4})), Error);
  CHECK_THROWS_AS(xavier_normal_(empty({4})), Error);
  CHECK_THROWS_AS(kaiming_uniform_(empty({4})), Error);
  CHECK_THROWS_AS(kaiming_normal_(empty({4})), Error);
  CHECK_THROWS_AS(kaiming_uniform_(empty({0, 3}), 0.0, FanMode::FanOut), Error);  // zero fan
}

TEST_CASE("init: xavier and kaiming bounds and empirical std on a large tensor") {
  using namespace nn::init;
  manual_seed(42);
  Tensor t = empty({300, 200}, kFloat64);  // fan_in 200, fan_out 300
  const double u = 1.0 / std::sqrt(3.0);   // std of U(-1, 1)

  xavier_uniform_(t);
  double a = std::sqrt(6.0 / 500.0);
  CHECK(max_abs(t) <= a);
  CHECK(max_abs(t) > 0.999 * a);
  CHECK(std_of(t.to_vector<double>()) == doctest::Approx(a * u).epsilon(0.01));

  xavier_uniform_(t, 2.0);
  CHECK(max_abs(t) <= 2 * a);
  CHECK(max_abs(t) > 0.999 * 2 * a);

  xavier_normal_(t, 0.5);
  CHECK(std_of(t.to_vector<double>()) == doctest::Approx(0.5 * std::sqrt(2.0 / 500.0)).epsilon(0.01));
  CHECK(std::abs(mean_of(t.to_vector<double>())) < 0.01 * 0.5 * std::sqrt(2.0 / 500.0));

  kaiming_uniform_(t, 0.0, FanMode::FanIn, Nonlinearity::ReLU);
  double b = std::sqrt(2.0) * std::sqrt(3.0 / 200.0);
  CHECK(max_abs(t) <= b);
  CHECK(max_abs(t) > 0.999 * b);
  CHECK(std_of(t.to_vector<double>()) == doctest::Approx(std::sqrt(2.0 / 200.0)).epsilon(0.01));

  kaiming_uniform_(t, std::sqrt(5.0));  // Linear's default: bound 1/sqrt(fan_in)
  CHECK(max_abs(t) <= 1.0 / std::sqrt(200.0));
  CHECK(max_abs(t) > 0.999 / std::sqrt(200.0));

  kaiming_normal_(t, 0.0, FanMode::FanOut, Nonlinearity::ReLU);
  CHECK(std_of(t.to_vector<double>()) == doctest::Approx(std::sqrt(2.0 / 300.0)).epsilon(0.01));
  kaiming_normal_(t, 0.0, FanMode::FanIn, Nonlinearity::Tanh);
  CHECK(std_of(t.to_vector<double>()) == doctest::Approx(5.0 / 3.0 / std::sqrt(200.0)).epsilon(0.01));

  Tensor f = empty({4, 6});
  uniform_(f, 2.0, 3.0);
  for (double v : f.to_vector<double>()) CHECK((v >= 2.0 && v < 3.0));
  constant_(f, 1.5);
  CHECK(f.to_vector<double>() == std::vector<double>(24, 1.5));
  zeros_(f);
  CHECK(max_abs(f) == 0.0);
  ones_(f);
  CHECK(f.to_vector<double>() == std::vector<double>(24, 1.0));
  normal_(t, 3.0, 0.5);
  CHECK(mean_of(t.to_vector<double>()) == doctest::Approx(3.0).epsilon(0.005));
  CHECK(std_of(t.to_vector<double>()) == doctest::Approx(0.5).epsilon(0.01));

  // init works on parameters (leaves that require grad) without recording
  nn::Linear fc(4, 3);
  const auto nodes = Tape::current().num_nodes();
  xavier_uniform_(fc->weight);
  zeros_(fc->bias);
  CHECK(Tape::current().num_nodes() == nodes);
  CHECK(fc->weight.is_leaf());
  CHECK(max_abs(fc->bias) == 0.0);
}

TEST_CASE("an MLP learns XOR with SGD and MSE") {
  manual_seed(0);
  nn::Sequential net(nn::Linear(2, 8), nn::Tanh(), nn::Linear(8, 1), nn::Sigmoid());
  const Tensor x = tensor({0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0}, {4, 2});
  const Tensor y = tensor({0.0, 1.0, 1.0, 0.0}, {4, 1});
  optim::SGD opt(net->parameters(), optim::SGDOptions(0.5).momentum(0.9));
  double loss_value = 1.0;
  for (int it = 0; it < 1000; ++it) {
    opt.zero_grad();
    Tensor loss = nn::mse_loss(net(x), y);
    loss.backward();
    opt.step();
    loss_value = loss.item<double>();
  }
  const auto pred = net(x).to_vector<double>();
  INFO("loss " << loss_value << " predictions " << pred[0] << " " << pred[1] << " " << pred[2] << " " << pred[3]);
  CHECK(loss_value < 0.05);
  CHECK(std::round(pred[0]) == 0.0);
  CHECK(std::round(pred[1]) == 1.0);
  CHECK(std::round(pred[2]) == 1.0);
  CHECK(std::round(pred[3]) == 0.0);
}
