// libtorch's autograd names: ag::autograd::{grad, backward, Function, AutogradContext,
// variable_list, tensor_list}, Tensor::grad_fn() (node names, next_functions), register_hook and
// remove_hook, register_post_accumulate_grad_hook, the official custom-Function examples, IValue.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "test_util.h"

using ag::Tensor;

namespace {

Tensor leaf(std::vector<double> v, ag::Shape s) { return ag::tensor(v, s, ag::kFloat64).requires_grad_(); }

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

// ---- the official PyTorch C++ examples (docs "Autograd in C++ frontend", Custom autograd function),
// after renaming torch:: to ag:: and nothing else ---------------------------------------------------
namespace pt_docs {
using namespace ag::autograd;

class MulConstant : public Function<MulConstant> {
 public:
  static ag::Tensor forward(AutogradContext* ctx, ag::Tensor tensor, double constant) {
    // ctx is a context object that can be used to stash information
    // for backward computation
    ctx->saved_data["constant"] = constant;
    return tensor * constant;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grad_outputs) {
    // We return as many input gradients as there were arguments.
    // Gradients of non-tensor arguments to forward must be `ag::Tensor()`.
    return {grad_outputs[0] * ctx->saved_data["constant"].toDouble(), ag::Tensor()};
  }

  // Not in the docs (libtorch's C++ Function has no jvp): ag's forward mode, one tangent per Tensor
  // argument, as Python's Function.jvp.
  static ag::Tensor jvp(AutogradContext* ctx, const tensor_list& tangents) {
    return tangents[0] * ctx->saved_data["constant"].toDouble();
  }
};

// Inherit from Function
class LinearFunction : public Function<LinearFunction> {
 public:
  // Note that both forward and backward are static functions

  // bias is an optional argument
  static ag::Tensor forward(AutogradContext* ctx, ag::Tensor input, ag::Tensor weight, ag::Tensor bias = ag::Tensor()) {
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
    auto grad_bias = ag::Tensor();
    if (bias.defined()) {
      grad_bias = grad_output.sum(0);
    }

    return {grad_input, grad_weight, grad_bias};
  }

  // Not in the docs (libtorch's C++ Function has no jvp): ag's forward mode, the tangent of
  // input W^T + b (tangents of input, weight, bias; bias's undefined when forward got none).
  static ag::Tensor jvp(AutogradContext* ctx, const tensor_list& tangents) {
    auto saved = ctx->get_saved_variables();
    auto out = tangents[0].mm(saved[1].t()) + saved[0].mm(tangents[1].t());
    if (tangents[2].defined()) out = out + tangents[2].unsqueeze(0).expand_as(out);
    return out;
  }
};

/// A Function with a non-Tensor argument first: gradients are per argument, not per Tensor.
struct ScaleFirst : Function<ScaleFirst> {
  static ag::Tensor forward(AutogradContext* ctx, double k, const ag::Tensor& x) {
    ctx->saved_data["k"] = k;
    return x * k;
  }
  static variable_list backward(AutogradContext* ctx, variable_list g) {
    return {ag::Tensor(), g[0] * ctx->saved_data["k"].toDouble()};
  }
};

/// Returns a defined gradient for its double argument: an error, as in libtorch.
struct GradForDouble : Function<GradForDouble> {
  static ag::Tensor forward(AutogradContext*, const ag::Tensor& x, double k) { return x * k; }
  static variable_list backward(AutogradContext*, variable_list g) { return {g[0], g[0]}; }
};
}  // namespace pt_docs

TEST_CASE("autograd names: the ag::autograd aliases are libtorch's") {
  static_assert(std::is_same_v<ag::autograd::variable_list, std::vector<Tensor>>);
  static_assert(std::is_same_v<ag::autograd::tensor_list, std::vector<Tensor>>);
  static_assert(std::is_same_v<ag::autograd::AutogradContext, ag::AutogradContext>);
  static_assert(std::is_base_of_v<ag::Function<pt_docs::MulConstant>, pt_docs::MulConstant>);
  Tensor x = leaf({1.0, 2.0}, {2});
  ag::autograd::variable_list g = ag::autograd::grad({(x * x).sum()}, {x});
  agt::check_values(g[0], {2.0, 4.0});
  ag::autograd::backward({(x * x * x).sum()});
  agt::check_values(x.grad(), {3.0, 12.0});
  // both namespaces in scope: the names are the same entities, not ambiguous
  using namespace ag;
  using namespace ag::autograd;
  tensor_list again = grad({(x * 3.0).sum()}, {x});
  agt::check_values(again[0], {3.0, 3.0});
}

TEST_CASE("autograd names: grad_fn()->name() is libtorch's node name for each op") {
  // Expected names: what libtorch 1.13's C++ API prints for the same op (t.grad_fn()->name();
  // Python's torch 1.13 prints the same except where a Python scalar is wrapped in a tensor:
  // x * 2 is MulBackward0 there, x + 2 AddBackward0, x / 2 DivBackward0, 2 - x RsubBackward1,
  // 2 / x MulBackward0).
  Tensor x = leaf({0.5, 0.75, 1.25, 1.5, 0.6, 0.9}, {2, 3});
  Tensor y = leaf({1.1, 0.4, 0.7, 1.3, 0.8, 1.6}, {2, 3});
  Tensor w = leaf({0.1, 0.2, 0.3, 0.4, 0.5, 0.6}, {3, 2});
  Tensor b = leaf({0.1, -0.2}, {2});
  Tensor idx = ag::tensor({0, 2}, {2, 1}, ag::kInt64);
  const std::vector<std::pair<const char*, std::function<Tensor()>>> cases = {
      {"AddBackward0", [&] { return x + y; }},
      {"AddBackward1", [&] { return x + 2.0; }},
      {"SubBackward0", [&] { return x - y; }},
      {"SubBackward0", [&] { return 2.0 - x; }},
      {"MulBackward0", [&] { return x * y; }},
      {"MulBackward1", [&] { return x * 2.0; }},
      {"MulBackward1", [&] { return 2.0 * x; }},
      {"DivBackward0", [&] { return x / y; }},
      {"DivBackward1", [&] { return x / 2.0; }},
      {"DivBackward0", [&] { return 2.0 / x; }},
      {"NegBackward0", [&] { return -x; }},
      {"PowBackward0", [&] { return x.pow(2.0); }},
      {"SumBackward0", [&] { return x.sum(); }},
      {"SumBackward1", [&] { return x.sum(0); }},
      {"MeanBackward0", [&] { return x.mean(); }},
      {"MeanBackward1", [&] { return x.mean(0); }},
      {"MmBackward0", [&] { return x.matmul(w); }},
      {"MmBackward0", [&] { return x.mm(w); }},
      {"AddmmBackward0", [&] { return ag::addmm(b, x, w); }},
      {"AddmmBackward0", [&] { return ag::linear(x, ag::t(w), b); }},
      {"ExpBackward0", [&] { return x.exp(); }},
      {"LogBackward0", [&] { return x.log(); }},
      {"SqrtBackward0", [&] { return x.sqrt(); }},
      {"AbsBackward0", [&] { return x.abs(); }},
      {"TanhBackward0", [&] { return x.tanh(); }},
      {"SigmoidBackward0", [&] { return x.sigmoid(); }},
      {"ReluBackward0", [&] { return x.relu(); }},
      {"LeakyReluBackward0", [&] { return ag::leaky_relu(x, 0.1); }},
      {"SoftplusBackward0", [&] { return ag::softplus(x); }},
      {"SinBackward0", [&] { return ag::sin(x); }},
      {"CosBackward0", [&] { return ag::cos(x); }},
      {"TanBackward0", [&] { return ag::tan(x); }},
      {"AsinBackward0", [&] { return ag::asin(x * 0.5); }},
      {"AcosBackward0", [&] { return ag::acos(x * 0.5); }},
      {"AtanBackward0", [&] { return ag::atan(x); }},
      {"Atan2Backward0", [&] { return ag::atan2(x, y); }},
      {"SinhBackward0", [&] { return ag::sinh(x); }},
      {"CoshBackward0", [&] { return ag::cosh(x); }},
      {"ErfBackward0", [&] { return ag::erf(x); }},
      {"Log1PBackward0", [&] { return ag::log1p(x); }},
      {"Expm1Backward0", [&] { return ag::expm1(x); }},
      {"Log2Backward0", [&] { return ag::log2(x); }},
      {"Log10Backward0", [&] { return ag::log10(x); }},
      {"RsqrtBackward0", [&] { return ag::rsqrt(x); }},
      {"ReciprocalBackward0", [&] { return ag::reciprocal(x); }},
      {"FracBackward0", [&] { return ag::frac(x); }},
      {"FmodBackward1", [&] { return ag::fmod(x, y); }},
      {"FmodBackward0", [&] { return ag::fmod(x, 2.0); }},
      {"RemainderBackward1", [&] { return ag::remainder(x, y); }},
      {"RemainderBackward0", [&] { return ag::remainder(x, 2.0); }},
      {"MaximumBackward0", [&] { return ag::maximum(x, y); }},
      {"MinimumBackward0", [&] { return ag::minimum(x, y); }},
      {"LerpBackward1", [&] { return ag::lerp(x, y, y); }},
      {"LerpBackward0", [&] { return ag::lerp(x, y, 0.3); }},
      {"AddcmulBackward0", [&] { return ag::addcmul(x, y, y); }},
      {"AddcdivBackward0", [&] { return ag::addcdiv(x, y, y); }},
      {"CumsumBackward0", [&] { return ag::cumsum(x, 0); }},
      {"CumprodBackward0", [&] { return ag::cumprod(x, 0); }},
      {"ProdBackward0", [&] { return ag::prod(x); }},
      {"ProdBackward1", [&] { return ag::prod(x, 0); }},
      {"SoftmaxBackward0", [&] { return ag::softmax(x, 1); }},
      {"LogSoftmaxBackward0", [&] { return ag::log_softmax(x, 1); }},
      {"LogsumexpBackward0", [&] { return ag::logsumexp(x, 1); }},
      {"MaxBackward1", [&] { return ag::max(x); }},
      {"MaxBackward0", [&] { return ag::max(x, 0).values; }},
      {"MinBackward1", [&] { return ag::min(x); }},
      {"MinBackward0", [&] { return ag::min(x, 0).values; }},
      {"AmaxBackward0", [&] { return ag::amax(x, 0); }},
      {"AminBackward0", [&] { return ag::amin(x, 0); }},
      {"TransposeBackward0", [&] { return x.transpose(0, 1); }},
      {"PermuteBackward0",
       [&] {
         return ag::permute(x, {1, 0});
       }},
      {"ReshapeAliasBackward0", [&] { return x.reshape({6}); }},
      {"ReshapeAliasBackward0", [&] { return x.flatten(); }},
      {"ExpandBackward0",
       [&] {
         return b.expand({3, 2});
       }},
      {"CloneBackward0", [&] { return x.clone(); }},
      {"ToCopyBackward0", [&] { return x.to(ag::kFloat32); }},
      {"CatBackward0",
       [&] {
         return ag::cat({x, y});
       }},
      {"UnbindBackward0", [&] { return ag::unbind(x, 0)[0]; }},
      {"WhereBackward0", [&] { return ag::where(x > 1.0, x, y); }},
      {"GatherBackward0", [&] { return ag::gather(x, 1, idx); }},
      {"ClampBackward1", [&] { return x.clamp(0.6, 1.2); }},
      {"TanhBackwardBackward0", [&] { return ag::tanh_backward(x, y); }},
      {"SigmoidBackwardBackward0", [&] { return ag::sigmoid_backward(x, y); }},
      {"ThresholdBackwardBackward0", [&] { return ag::threshold_backward(x, y, 0.0); }},
      {"NllLossBackward0",
       [&] {
         return ag::softmax_cross_entropy(x, ag::tensor({0, 2}, {2}, ag::kInt64));
       }},
  };
  for (const auto& [expected, op] : cases) {
    const Tensor r = op();
    const auto fn = r.grad_fn();
    REQUIRE_MESSAGE(fn != nullptr, expected);
    CHECK(fn->name() == expected);
  }
  // a leaf, and a result computed without grad, have none
  CHECK(x.grad_fn() == nullptr);
  CHECK_FALSE(x.grad_fn());
  {
    ag::NoGradGuard ng;
    CHECK((x * y).grad_fn() == nullptr);
  }
  CHECK(ag::tensor({1.0}, {1}).grad_fn() == nullptr);
  CHECK(Tensor().grad_fn() == nullptr);
}

TEST_CASE("autograd names: the name table and its CamelCase fallback") {
  CHECK(ag::autograd::autograd_node_name("mul") == "MulBackward0");
  CHECK(ag::autograd::autograd_node_name("mul_scalar") == "MulBackward1");
  CHECK(ag::autograd::autograd_node_name("rnn_tanh_cell_gates") == "RnnTanhCellGatesBackward0");
  CHECK(ag::autograd::autograd_node_name("fused_lstm_cell") == "FusedLstmCellBackward0");
  CHECK(ag::autograd::autograd_node_name("ag::autograd::CppNode<F>") == "ag::autograd::CppNode<F>");
  // a custom Function's node: libtorch 1.13 prints "torch::autograd::CppNode<MulConstant>"
  Tensor x = leaf({1.0, 2.0}, {2});
  Tensor y = pt_docs::MulConstant::apply(x, 5.5);
  CHECK(y.grad_fn()->name() == "ag::autograd::CppNode<pt_docs::MulConstant>");
  CHECK(pt_docs::MulConstant::name() == "pt_docs::MulConstant");
}

TEST_CASE("autograd names: next_functions of a small graph, in PyTorch's shape") {
  // PyTorch 1.13: z = x * w + x.exp() (x requires grad, w does not):
  //   z.grad_fn                  AddBackward0  next ((MulBackward0, 0), (ExpBackward0, 0))
  //   MulBackward0                             next ((AccumulateGrad, 0), (None, 0))
  //   ExpBackward0                             next ((AccumulateGrad, 0),)
  Tensor x = leaf({1.0, 2.0}, {2});
  Tensor w = ag::tensor({3.0, 4.0}, {2}, ag::kFloat64);
  Tensor z = x * w + x.exp();
  const auto add = z.grad_fn();
  REQUIRE(add);
  CHECK(add->name() == "AddBackward0");
  CHECK(add->num_inputs() == 1);
  const auto next = add->next_functions();
  REQUIRE(next.size() == 2);
  REQUIRE(next[0].first);
  REQUIRE(next[1].first);
  CHECK(next[0].first->name() == "MulBackward0");
  CHECK(next[0].second == 0);
  CHECK(next[1].first->name() == "ExpBackward0");
  CHECK(next[1].second == 0);
  const auto mul_next = next[0].first->next_functions();
  REQUIRE(mul_next.size() == 2);
  REQUIRE(mul_next[0].first);
  CHECK(mul_next[0].first->name() == "ag::autograd::AccumulateGrad");
  CHECK(mul_next[0].first->variable().impl() == x.impl());
  CHECK(mul_next[0].first->next_functions().empty());
  CHECK(mul_next[1].first == nullptr);  // the constant w
  CHECK(mul_next[1].second == 0);
  const auto edges = next[1].first->next_edges();  // libtorch's C++ form
  REQUIRE(edges.size() == 1);
  CHECK(edges[0].is_valid());
  CHECK(edges[0].function->name() == "ag::autograd::AccumulateGrad");
  CHECK(add->num_outputs() == 2);

  // input_nr: which output of a several-output op the input is (unbind's second output)
  auto parts = ag::unbind(leaf({1.0, 2.0, 3.0, 4.0}, {2, 2}), 0);
  const auto s = (parts[0] * parts[1]).grad_fn()->next_functions();
  REQUIRE(s.size() == 2);
  CHECK(s[0].first->name() == "UnbindBackward0");
  CHECK(s[0].second == 0);
  CHECK(s[1].first->name() == "UnbindBackward0");
  CHECK(s[1].second == 1);
}

TEST_CASE("autograd names: a grad_fn handle never dangles; a freed graph is an ag::Error") {
  Tensor x = leaf({1.0, 2.0}, {2});
  Tensor loss = (x * x).sum();
  const auto fn = loss.grad_fn();
  CHECK(fn->is_alive());
  loss.backward();  // frees the graph
  CHECK_FALSE(fn->is_alive());
  CHECK(fn->name() == "SumBackward0");  // the name stays readable
  CHECK_THROWS_AS(fn->next_edges(), ag::Error);
  const std::string msg = agt::error_message([&] { fn->next_functions(); });
  CHECK(contains(msg, "SumBackward0"));
  CHECK(contains(msg, "freed"));
  // grad_fn() of a result whose graph was freed: a handle with the name only
  CHECK(loss.grad_fn()->name() == "SumBackward0");
  CHECK_THROWS_AS(loss.grad_fn()->next_functions(), ag::Error);
  // a rewind by dropping every result: the handle outlives the node without dangling
  std::shared_ptr<ag::autograd::Node> kept;
  {
    Tensor t = x.exp();
    kept = t.grad_fn();
  }
  CHECK(kept->name() == "ExpBackward0");
  CHECK_THROWS_AS(kept->next_edges(), ag::Error);
  // a result of another thread's tape (here gone with its thread): the name only
  Tensor other;
  std::thread([&] { other = leaf({1.0, 2.0}, {2}).tanh(); }).join();
  const auto fo = other.grad_fn();
  REQUIRE(fo);
  CHECK(fo->name() == "TanhBackward0");
  CHECK_FALSE(fo->is_alive());
  CHECK_THROWS_AS(fo->next_functions(), ag::Error);
  CHECK_THROWS_AS(other.register_hook([](const Tensor&) {}), ag::Error);
}

TEST_CASE("autograd names: register_hook order, replacement and removal") {
  // PyTorch 1.13: hooks run in registration order, each on the previous one's result; returning
  // None (here void, or an undefined Tensor) keeps the gradient.
  Tensor x = leaf({1.0, 2.0}, {2});
  Tensor y = x * 1.0;
  std::vector<int> order;
  std::vector<Tensor> seen;
  y.register_hook([&](Tensor g) {
    order.push_back(1);
    return g * 2.0;
  });
  const unsigned h2 = y.register_hook([&](const Tensor& g) {
    order.push_back(2);
    seen.push_back(g.detach().clone());
  });
  y.register_hook([&](Tensor g) {
    order.push_back(3);
    return g + 1.0;
  });
  y.retain_grad();
  y.sum().backward(Tensor(), /*retain_graph=*/true);
  CHECK(order == std::vector<int>{1, 2, 3});
  REQUIRE(seen.size() == 1);
  agt::check_values(seen[0], {2.0, 2.0});
  agt::check_values(x.grad(), {3.0, 3.0});  // (1 * 2) + 1
  agt::check_values(y.grad(), {3.0, 3.0});  // retain_grad sees the hooks' result

  y.remove_hook(h2);
  order.clear();
  x.set_grad(Tensor());
  y.sum().backward();
  CHECK(order == std::vector<int>{1, 3});
  agt::check_values(x.grad(), {3.0, 3.0});
  CHECK_THROWS_AS(y.remove_hook(h2), ag::Error);  // already removed
  CHECK_THROWS_AS(y.remove_hook(99), ag::Error);

  // on a leaf: the replacement is what .grad() accumulates
  Tensor a = leaf({1.0, 2.0}, {2});
  const unsigned ha = a.register_hook([](Tensor g) { return g * 10.0; });
  (a * 3.0).sum().backward();
  agt::check_values(a.grad(), {30.0, 30.0});
  a.remove_hook(ha);
  (a * 3.0).sum().backward();
  agt::check_values(a.grad(), {33.0, 33.0});

  // errors: no grad, a wrong shape
  Tensor c = ag::tensor({1.0}, {1}, ag::kFloat64);
  CHECK_THROWS_AS(c.register_hook([](Tensor g) { return g; }), ag::Error);
  Tensor d = leaf({1.0, 2.0}, {2});
  d.register_hook([](Tensor g) { return g.sum(); });
  const std::string msg = agt::error_message([&] { (d * 2.0).sum().backward(); });
  CHECK(contains(msg, "hook"));
  CHECK_FALSE(d.grad().defined());  // nothing committed
}

TEST_CASE("autograd names: a leaf used twice gets its hook once, with the summed gradient") {
  // PyTorch 1.13: a = [1, 2]; (a * 2 + a * 3).sum().backward() calls a's hook once with [5, 5].
  Tensor a = leaf({1.0, 2.0}, {2});
  std::vector<Tensor> calls;
  a.register_hook([&](const Tensor& g) { calls.push_back(g.detach().clone()); });
  (a * 2.0 + a * 3.0).sum().backward();
  REQUIRE(calls.size() == 1);
  agt::check_values(calls[0], {5.0, 5.0});
  agt::check_values(a.grad(), {5.0, 5.0});
  // once per backward, each with that backward's gradient only (not the accumulated .grad())
  (a * a).sum().backward();
  REQUIRE(calls.size() == 2);
  agt::check_values(calls[1], {2.0, 4.0});
  agt::check_values(a.grad(), {7.0, 9.0});
  // several outputs in one backward call: still once
  ag::backward({(a * 2.0).sum(), (a * 4.0).sum()});
  REQUIRE(calls.size() == 3);
  agt::check_values(calls[2], {6.0, 6.0});

  // post-accumulate-grad hook (PyTorch >= 2.1): after .grad() is updated, with the leaf
  Tensor p = leaf({1.0, 2.0}, {2});
  std::vector<std::vector<double>> grads_seen;
  const unsigned hp = p.register_post_accumulate_grad_hook(
      [&](const Tensor& t) { grads_seen.push_back(t.grad().to_vector<double>()); });
  (p * 2.0 + p * 3.0).sum().backward();
  (p * 2.0).sum().backward();
  REQUIRE(grads_seen.size() == 2);
  CHECK(grads_seen[0] == std::vector<double>{5.0, 5.0});
  CHECK(grads_seen[1] == std::vector<double>{7.0, 7.0});
  ag::grad({(p * 2.0).sum()}, {p});  // not by grad()
  CHECK(grads_seen.size() == 2);
  p.remove_post_accumulate_grad_hook(hp);
  (p * 2.0).sum().backward();
  CHECK(grads_seen.size() == 2);
  CHECK_THROWS_AS((p * 2.0).register_post_accumulate_grad_hook([](const Tensor&) {}), ag::Error);
}

TEST_CASE("autograd names: hooks under ag::grad and create_graph") {
  // PyTorch 1.13: x = [1, 2]; h = x * 3 with a hook g -> g * 10;
  // grad((h * h).sum(), [x]) calls the hook with [6, 12] and returns [180, 360].
  Tensor x = leaf({1.0, 2.0}, {2});
  Tensor h = x * 3.0;
  std::vector<Tensor> calls;
  h.register_hook([&](const Tensor& g) {
    calls.push_back(g.detach().clone());
    return g * 10.0;
  });
  const auto g = ag::grad({(h * h).sum()}, {x}, {}, /*retain_graph=*/true);
  REQUIRE(calls.size() == 1);
  agt::check_values(calls[0], {6.0, 12.0});
  agt::check_values(g[0], {180.0, 360.0});
  CHECK_FALSE(x.grad().defined());
  // requested inputs: their hooks run before the gradient is returned (PyTorch >= 2.0; 1.13 does
  // not run them: this follows the newer behaviour, which data-parallel hooks rely on)
  const auto gh = ag::grad({(h * h).sum()}, {h});
  REQUIRE(calls.size() == 2);
  agt::check_values(gh[0], {60.0, 120.0});
  Tensor b = leaf({1.0, 2.0}, {2});
  int leaf_calls = 0;
  b.register_hook([&](const Tensor& gb) {
    ++leaf_calls;
    return gb * 10.0;
  });
  const auto gb = ag::grad({(b * 2.0 + b * 3.0).sum()}, {b});
  CHECK(leaf_calls == 1);
  agt::check_values(gb[0], {50.0, 50.0});
  // a leaf reached but not requested: its hook does not run (no accumulation happens)
  Tensor c = leaf({3.0, 4.0}, {2});
  ag::grad({(b * c).sum()}, {c});
  CHECK(leaf_calls == 1);

  // create_graph: the hook's ops are recorded, so the result can be differentiated again.
  // PyTorch 1.13: y = x * x with hook g -> g * x; g = grad(y.sum(), [x], create_graph=True) is
  // 2x * x = [2, 8]; its derivative d(sum(2x^2))/dx = 4x.
  Tensor y = x * x;
  y.register_hook([&](const Tensor& gy) { return gy * x; });
  const auto g1 = ag::grad({y.sum()}, {x}, {}, std::nullopt, /*create_graph=*/true);
  agt::check_values(g1[0], {2.0, 8.0});
  REQUIRE(g1[0].grad_fn());
  const auto g2 = ag::grad({g1[0].sum()}, {x});
  agt::check_values(g2[0], {4.0, 8.0});
}

TEST_CASE("autograd names: MulConstant and LinearFunction, the official examples, with torch's gradients") {
  using pt_docs::LinearFunction;
  using pt_docs::MulConstant;
  // Values from torch 1.13 (float64): the same inputs through x * 5.5 and F.linear, loss (y * y).sum().
  Tensor x = leaf({0.5, -1.0, 2.0, 1.5, 0.25, -0.75}, {2, 3});
  Tensor y = MulConstant::apply(x, 5.5);
  (y * y).sum().backward();
  agt::check_values(x.grad(), {30.25, -60.5, 121.0, 90.75, 15.125, -45.375});

  Tensor w = leaf({0.1, 0.2, 0.3, -0.4, 0.5, -0.6, 0.7, -0.8, 0.9, 1.0, -1.1, 1.2}, {4, 3});
  Tensor b = leaf({0.01, -0.02, 0.03, -0.04}, {4});
  x.set_grad(Tensor());
  Tensor out = LinearFunction::apply(x, w);  // bias left out: forward's default, an undefined Tensor
  CHECK(out.grad_fn()->name() == "ag::autograd::CppNode<pt_docs::LinearFunction>");
  agt::check_values(out, {0.45, -1.9, 2.95, 4.0, -0.025, -0.025, 0.175, 0.325}, 1e-12);
  (out * out).sum().backward();
  agt::check_values(x.grad(), {13.74, -15.24, 17.46, 0.91, -1.03, 1.11}, 1e-12);
  agt::check_values(w.grad(),
                    {0.375, -0.9125, 1.8375, -1.975, 3.7875, -7.5625, 3.475, -5.8125, 11.5375, 4.975, -7.8375, 15.5125},
                    1e-12);

  x.set_grad(Tensor());
  w.set_grad(Tensor());
  Tensor outb = LinearFunction::apply(x, w, b);
  agt::check_values(outb, {0.46, -1.92, 2.98, 3.96, -0.015, -0.045, 0.205, 0.285}, 1e-12);
  (outb * outb).sum().backward();
  agt::check_values(x.grad(), {13.72, -15.216, 17.448, 0.89, -1.006, 1.098}, 1e-12);
  agt::check_values(w.grad(),
                    {0.415, -0.9275, 1.8625, -2.055, 3.8175, -7.6125, 3.595, -5.8575, 11.6125, 4.815, -7.7775, 15.4125},
                    1e-12);
  agt::check_values(b.grad(), {0.89, -3.93, 6.37, 8.49}, 1e-12);

  // the docs' own usage: y.sum().backward() on float32 randn-like inputs, and gradcheck
  agt::check_gradients([](const std::vector<Tensor>& in) { return LinearFunction::apply(in[0], in[1], in[2]); },
                       {agt::input({2, 3}, 0.3), agt::input({4, 3}, 1.7), agt::input({4}, 0.9)});
  agt::check_gradients([](const std::vector<Tensor>& in) { return MulConstant::apply(in[0], 5.5); },
                       {agt::input({3}, 0.4)});
}

TEST_CASE("autograd names: custom Function gradients are per argument of forward") {
  // a non-Tensor argument first: its gradient slot is position 0
  Tensor x = leaf({1.0, 2.0}, {2});
  (pt_docs::ScaleFirst::apply(3.0, x)).sum().backward();
  agt::check_values(x.grad(), {3.0, 3.0});
  // a defined gradient for the double argument is an error naming the function (demangled)
  const std::string msg = agt::error_message([&] { pt_docs::GradForDouble::apply(x, 2.0).sum().backward(); });
  CHECK(contains(msg, "pt_docs::GradForDouble::backward"));
  CHECK(contains(msg, "not a Tensor"));
}

TEST_CASE("autograd names: IValue holds saved_data as libtorch's, and a wrong toX() names the type") {
  ag::AutogradContext ctx;
  ctx.saved_data["d"] = 2.5;
  ctx.saved_data["i"] = 7;
  ctx.saved_data["l"] = std::int64_t{1} << 40;
  ctx.saved_data["b"] = true;
  ctx.saved_data["s"] = "name";
  ctx.saved_data["s2"] = std::string("other");
  ctx.saved_data["t"] = ag::tensor({1.0, 2.0}, {2});
  ctx.saved_data["shape"] = ag::Shape{2, 3};
  CHECK(ctx.saved_data["d"].toDouble() == 2.5);
  CHECK(ctx.saved_data["d"].isDouble());
  CHECK(ctx.saved_data["i"].toInt() == 7);
  CHECK(ctx.saved_data["i"].isInt());
  CHECK(ctx.saved_data["l"].toInt() == (std::int64_t{1} << 40));
  CHECK(ctx.saved_data["b"].toBool());
  CHECK(ctx.saved_data["b"].isBool());
  CHECK(ctx.saved_data["s"].toStringRef() == "name");
  CHECK(ctx.saved_data["s"].isString());
  CHECK(ctx.saved_data["s2"].toStringRef() == "other");
  CHECK(ctx.saved_data["t"].isTensor());
  agt::check_values(ctx.saved_data["t"].toTensor(), {1.0, 2.0});
  CHECK(ctx.saved_data["shape"].toIntVector() == std::vector<std::int64_t>{2, 3});
  CHECK(ctx.saved_data["missing"].isNone());  // operator[] makes a None, as libtorch's map
  CHECK(ctx.saved_data["missing"].tagKind() == std::string("None"));

  const std::string e1 = agt::error_message([&] { ctx.saved_data["d"].toInt(); });
  CHECK(contains(e1, "toInt"));
  CHECK(contains(e1, "expected Int but got Double"));
  const std::string e2 = agt::error_message([&] { ctx.saved_data["t"].toDouble(); });
  CHECK(contains(e2, "expected Double but got Tensor"));
  const std::string e3 = agt::error_message([&] { ctx.saved_data["s"].toBool(); });
  CHECK(contains(e3, "expected Bool but got String"));
  CHECK_THROWS_AS(ctx.saved_data["i"].toTensor(), ag::Error);
  CHECK_THROWS_AS(ctx.saved_data["missing"].toStringRef(), ag::Error);
}
