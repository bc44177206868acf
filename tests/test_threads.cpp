// Threads: each thread records on its own tape. Two threads training their own models at once get
// bit-identical results to running one after the other; one shared model can serve forward passes
// in several threads under NoGradGuard. Run under ThreadSanitizer by `ctest --preset tsan`.
#include <thread>

#include "test_util.h"

#include "nn/nn.h"

using namespace ag;

namespace {

/// Everything random is drawn here, before any thread starts (the global generator is shared).
struct Job {
  nn::MLP model;
  Tensor x, y;
  std::vector<double> losses;
  explicit Job(std::uint64_t seed) : model(nullptr) {
    manual_seed(seed);
    model = nn::MLP(nn::MLPOptions({4, 8, 3}).activation(nn::Activation::Tanh).dtype(kFloat64));
    x = randn({16, 4}, kFloat64);
    y = randn({16, 3}, kFloat64);
  }
  void train(int steps) {
    optim::Adam opt(model->parameters(), optim::AdamOptions(0.01));
    for (int i = 0; i < steps; ++i) {
      opt.zero_grad();
      Tensor loss = nn::mse_loss(model->forward(x), y);
      loss.backward();
      opt.step();
      losses.push_back(loss.item<double>());
    }
    CHECK(Tape::current().num_nodes() == 0);
  }
  std::vector<std::vector<double>> weights() const {
    std::vector<std::vector<double>> w;
    for (const Tensor& p : model->parameters()) w.push_back(p.to_vector<double>());
    return w;
  }
};

}  // namespace

TEST_CASE("threads: two models trained concurrently match a sequential run bit for bit") {
  constexpr int kSteps = 30;
  Job s1(1), s2(2);
  s1.train(kSteps);
  s2.train(kSteps);
  Job c1(1), c2(2);
  std::thread t1([&] { c1.train(kSteps); });
  std::thread t2([&] { c2.train(kSteps); });
  t1.join();
  t2.join();
  CHECK(c1.losses == s1.losses);
  CHECK(c2.losses == s2.losses);
  CHECK(c1.weights() == s1.weights());
  CHECK(c2.weights() == s2.weights());
  CHECK(c1.losses.back() < c1.losses.front());
}

TEST_CASE("threads: forward passes of one shared model under NoGradGuard in two threads") {
  manual_seed(3);
  nn::MLP model(nn::MLPOptions({4, 8, 2}).activation(nn::Activation::Tanh).dtype(kFloat64));
  const Tensor xa = randn({8, 4}, kFloat64), xb = randn({8, 4}, kFloat64);
  std::vector<double> ref_a, ref_b;
  {
    NoGradGuard ng;
    ref_a = model->forward(xa).to_vector<double>();
    ref_b = model->forward(xb).to_vector<double>();
  }
  std::vector<double> out_a, out_b;
  auto run = [&model](const Tensor& x, std::vector<double>& out) {
    NoGradGuard ng;
    for (int i = 0; i < 50; ++i) out = model->forward(x).to_vector<double>();
    CHECK(Tape::current().num_nodes() == 0);
  };
  std::thread ta(run, std::cref(xa), std::ref(out_a));
  std::thread tb(run, std::cref(xb), std::ref(out_b));
  ta.join();
  tb.join();
  CHECK(out_a == ref_a);
  CHECK(out_b == ref_b);
}

TEST_CASE("threads: each thread has its own tape and grad mode; another thread's recorded result is refused") {
  Tensor w = tensor({1.0, 2.0}, {2}, kFloat64).requires_grad_();
  Tensor mine = w * 3.0;  // recorded on this thread's tape
  const auto nodes_here = Tape::current().num_nodes();
  bool other_error = false, other_grad_mode = false;
  std::size_t other_nodes = 99;
  {
    NoGradGuard ng;  // only this thread
    std::thread t([&] {
      other_grad_mode = GradMode::is_enabled();
      other_nodes = Tape::current().num_nodes();
      try {
        sum(mine).backward();
      } catch (const Error&) {
        other_error = true;
      }
    });
    t.join();
  }
  CHECK(other_grad_mode);
  CHECK(other_nodes == 0);
  CHECK(other_error);
  CHECK(Tape::current().num_nodes() == nodes_here);
  sum(mine).backward();  // still fine here
  agt::check_values(w.grad(), {3.0, 3.0});
}

TEST_CASE("threads: an op refused for another thread's input leaves a tape that rewinds cleanly") {
  Tensor w = tensor({1.0, 2.0}, {2}, kFloat64).requires_grad_();
  Tensor mine = w * 3.0;
  bool refused = false;
  std::vector<double> grad_after;
  std::thread t([&] {
    Tensor v = tensor({0.5, -1.0}, {2}, kFloat64).requires_grad_();
    for (int i = 0; i < 3; ++i) sum(v * v + v).backward();  // fills the arena with edges, then rewinds
    try {
      Tensor bad = add(v, mine);  // first edge built, the second refused
    } catch (const Error&) {
      refused = true;
    }
    v.set_grad(Tensor());
    sum(v * v).backward();
    grad_after = v.grad().to_vector<double>();
  });  // the thread's tape is destroyed here, with the refused node on it
  t.join();
  CHECK(refused);
  REQUIRE(grad_after.size() == 2);
  CHECK(grad_after[0] == 1.0);
  CHECK(grad_after[1] == -2.0);
}

TEST_CASE("threads: views: two threads reading one non-contiguous view get the same values") {
  const Tensor base = agt::input({64, 32}, 0.5, 1.0, 0.0, false);
  const Tensor v = base.t();
  const double expected = sum(v.contiguous()).item<double>();
  double r1 = 0, r2 = 0;
  std::thread t1([&] { r1 = sum(exp(v)).item<double>(); });
  std::thread t2([&] { r2 = sum(exp(v)).item<double>(); });
  t1.join();
  t2.join();
  CHECK(r1 == r2);
  CHECK(r1 == doctest::Approx(sum(exp(base)).item<double>()));
  CHECK(expected == doctest::Approx(sum(base).item<double>()));
}
