// The engine's grad-ready hooks (ag::autograd::register_grad_ready_hook) and end-of-backward
// callbacks (ag::autograd::queue_callback), on which DistributedDataParallel is built.
#include <string>
#include <vector>

#include "test_util.h"

using namespace ag;

namespace {

Tensor leaf(std::vector<double> v) { return tensor(v, kFloat64).requires_grad_(); }

/// y = 2x whose backward throws (to test a failing pass).
struct Throwing : Function<Throwing> {
  static Tensor forward(AutogradContext*, const Tensor& x) { return x * 2.0; }
  static std::vector<Tensor> backward(AutogradContext*, const std::vector<Tensor>&) { fail("Throwing: on purpose"); }
};

}  // namespace

TEST_CASE("grad-ready hooks fire in reverse tape order with the complete gradient") {
  Tensor a = leaf({1.0, 2.0}), b = leaf({3.0, -1.0}), c = leaf({0.5, 4.0});
  std::vector<std::string> order;
  std::vector<std::vector<double>> seen(3);
  int callbacks = 0;
  const Tensor* leaves[] = {&a, &b, &c};
  for (int k = 0; k < 3; ++k)
    autograd::register_grad_ready_hook(*leaves[k], [&, k](const Tensor& g) {
      order.push_back(std::string(1, static_cast<char>('a' + k)));
      seen[static_cast<std::size_t>(k)] = g.to_vector<double>();
      CHECK_FALSE(leaves[k]->grad().defined());  // not committed yet
      if (k == 2)
        autograd::queue_callback([&] {
          ++callbacks;
          CHECK(a.grad().defined());  // after the commit
        });
    });
  // node 0: a*b (a's first user), node 1: *c, node 2: *a (a's second use)
  Tensor y = a * b;
  Tensor z = y * c;
  Tensor w = sum(z * a);
  w.backward();
  // c is ready after node 1, b after node 0, a after node 0 too (its first user); a and b in
  // edge order of that node
  REQUIRE(order.size() == 3);
  CHECK(order[0] == "c");
  CHECK(callbacks == 1);
  CHECK(seen[0] == a.grad().to_vector<double>());
  CHECK(seen[1] == b.grad().to_vector<double>());
  CHECK(seen[2] == c.grad().to_vector<double>());
  // d/da sum(a^2 b c) = 2 a b c
  CHECK(seen[0] == std::vector<double>{2 * 1.0 * 3.0 * 0.5, 2 * 2.0 * -1.0 * 4.0});
}

TEST_CASE("a grad-ready hook fires before the earlier nodes run") {
  Tensor p = leaf({1.0, 2.0, 3.0});
  Tensor x = leaf({0.5, 0.5, 0.5});
  bool p_ready = false, x_ready_after_p = false;
  autograd::register_grad_ready_hook(p, [&](const Tensor&) { p_ready = true; });
  autograd::register_grad_ready_hook(x, [&](const Tensor&) { x_ready_after_p = p_ready; });
  // x is used by node 0 only, p by node 2 only: p is ready before node 0 runs
  Tensor h = exp(x);
  Tensor u = h * 3.0;
  Tensor loss = sum(u * p);
  loss.backward();
  CHECK(p_ready);
  CHECK(x_ready_after_p);
}

TEST_CASE("grad-ready hooks: the gradient of this pass, not .grad(); none under ag::grad; remove") {
  Tensor p = leaf({1.0, -2.0});
  std::vector<std::vector<double>> seen;
  const unsigned h =
      autograd::register_grad_ready_hook(p, [&](const Tensor& g) { seen.push_back(g.to_vector<double>()); });
  sum(p * p).backward();
  sum(p * p).backward();
  REQUIRE(seen.size() == 2);
  CHECK(seen[1] == std::vector<double>{2.0, -4.0});
  CHECK(p.grad().to_vector<double>() == std::vector<double>{4.0, -8.0});
  auto g = ag::grad({sum(p * p)}, {p});
  CHECK(seen.size() == 2);
  CHECK(g[0].to_vector<double>() == std::vector<double>{2.0, -4.0});
  autograd::remove_grad_ready_hook(p, h);
  sum(p * p).backward();
  CHECK(seen.size() == 2);
  CHECK_THROWS_AS(autograd::remove_grad_ready_hook(p, h), Error);
  CHECK_THROWS_AS(autograd::register_grad_ready_hook(p * 2.0, [](const Tensor&) {}), Error);
  CHECK_THROWS_AS(autograd::register_grad_ready_hook(tensor({1.0}, kFloat64), [](const Tensor&) {}), Error);
  CHECK_THROWS_AS(autograd::queue_callback([] {}), Error);
}

TEST_CASE("grad-ready hooks with create_graph see a differentiable gradient") {
  Tensor p = leaf({1.0, 2.0});
  Tensor seen;
  autograd::register_grad_ready_hook(p, [&](const Tensor& g) { seen = g; });
  sum(pow(p, 3.0)).backward({}, /*retain_graph=*/true, /*create_graph=*/true);
  REQUIRE(seen.defined());
  CHECK(seen.requires_grad());
  CHECK(seen.to_vector<double>() == p.grad().to_vector<double>());  // 3 p^2
  Tensor gg = ag::grad({sum(seen)}, {p})[0];                        // 6 p
  CHECK(gg.to_vector<double>() == std::vector<double>{6.0, 12.0});
  // backward(create_graph) made p.grad() a result of a graph that holds p: a reference cycle (as in
  // PyTorch, which says to clear such gradients). Clearing it lets the tape rewind for the next test.
  p.set_grad(Tensor());
  seen = Tensor();
  CHECK(Tape::current().live_tensors() == 0);
}

TEST_CASE("a backward pass that throws runs no callback and commits nothing") {
  Tensor p = leaf({1.0, 2.0});
  Tensor q = leaf({3.0, 4.0});
  int ready = 0, callbacks = 0;
  for (const Tensor* t : {&p, &q})
    autograd::register_grad_ready_hook(*t, [&](const Tensor&) {
      ++ready;
      autograd::queue_callback([&] { ++callbacks; });
    });
  // node 0: Throwing(q); node 1: * p. p is ready (its hook fires) before the throwing node runs.
  Tensor loss = sum(Throwing::apply(q) * p);
  CHECK_THROWS_AS(loss.backward(), Error);
  CHECK(ready == 1);
  CHECK(callbacks == 0);
  CHECK_FALSE(p.grad().defined());
  CHECK_FALSE(q.grad().defined());
}

TEST_CASE("grad-ready hooks through ag::checkpoint fire at the end of the pass") {
  Tensor p = leaf({1.0, 2.0});
  Tensor x = leaf({0.5, -1.0});
  std::vector<double> seen;
  autograd::register_grad_ready_hook(p, [&](const Tensor& g) { seen = g.to_vector<double>(); });
  Tensor y = checkpoint([&](const std::vector<Tensor>& in) { return std::vector<Tensor>{in[0] * p}; }, {x})[0];
  sum(y).backward();
  CHECK(seen == std::vector<double>{0.5, -1.0});
  CHECK(seen == p.grad().to_vector<double>());
}
