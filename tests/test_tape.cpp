// The tape and the engine: recording, pruning, accumulation, freeing, long chains.
#include <future>
#include <thread>

#include "test_util.h"

using namespace ag;

TEST_CASE("backward of a small expression matches hand-computed gradients") {
  Tensor x = scalar_tensor(2.0, kFloat64).requires_grad_();
  Tensor y = scalar_tensor(3.0, kFloat64).requires_grad_();
  Tensor z = x * y + x * x;  // dz/dx = y + 2x = 7, dz/dy = x = 2
  CHECK(z.item<double>() == 10.0);
  z.backward();
  CHECK(x.grad().item<double>() == 7.0);
  CHECK(y.grad().item<double>() == 2.0);
}

TEST_CASE("nothing is recorded when no input requires grad, or under NoGradGuard") {
  Tape& tape = Tape::current();
  const auto before = tape.num_nodes();
  Tensor a = ones({3}, kFloat64);
  Tensor b = a * 2.0 + a;
  CHECK(tape.num_nodes() == before);
  CHECK_FALSE(b.requires_grad());
  Tensor w = ones({3}, kFloat64).requires_grad_();
  {
    NoGradGuard guard;
    Tensor c = w * 3.0;
    CHECK_FALSE(c.requires_grad());
    CHECK(tape.num_nodes() == before);
  }
  Tensor d = w * 3.0;
  CHECK(d.requires_grad());
  CHECK(tape.num_nodes() == before + 1);
}

TEST_CASE("gradients of a reused tensor add up: x*x and a hidden state feeding two paths") {
  Tensor x = tensor({1.5, -2.0}, {2}, kFloat64).requires_grad_();
  sum(x * x).backward();
  agt::check_values(x.grad(), {3.0, -4.0});

  // h feeds both the output and the next step: loss = sum(h1) + sum(h2), h2 = tanh(h1 * w)
  Tensor w = scalar_tensor(0.5, kFloat64).requires_grad_();
  Tensor h0 = tensor({0.3, -0.1}, {2}, kFloat64).requires_grad_();
  auto fn = [](const std::vector<Tensor>& in) {
    Tensor h1 = tanh(in[0] * in[1]);
    Tensor h2 = tanh(h1 * in[1]);
    return sum(h1) + sum(h2);
  };
  agt::check_gradients(fn, {h0, w});
}

TEST_CASE("repeated backward on new graphs accumulates into .grad until zeroed") {
  Tensor x = tensor({1.0, 2.0}, {2}, kFloat64).requires_grad_();
  sum(x * 3.0).backward();
  sum(x * 3.0).backward();
  agt::check_values(x.grad(), {6.0, 6.0});
  {
    NoGradGuard g;
    x.grad().zero_();
  }
  sum(x * x).backward();
  agt::check_values(x.grad(), {2.0, 4.0});
  x.set_grad(Tensor());
  CHECK_FALSE(x.grad().defined());
}

TEST_CASE("a second backward through a freed graph throws; retain_graph keeps it") {
  Tensor x = tensor({1.0, 2.0}, {2}, kFloat64).requires_grad_();
  Tensor y = sum(exp(x));
  y.backward(Tensor(), /*retain_graph=*/true);
  y.backward();
  const auto g = x.grad().to_vector<double>();
  CHECK(g[0] == doctest::Approx(2 * std::exp(1.0)));
  CHECK_THROWS_AS(y.backward(), Error);
  try {
    y.backward();
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("second time") != std::string::npos);
  }
}

TEST_CASE("a second backward names the op whose saved data was freed, in PyTorch's words") {
  const std::string pytorch = "Trying to backward through the graph a second time";
  Tensor x = tensor({2.0}, {1}, kFloat64).requires_grad_();
  // the output itself: the tape was consumed and rewound, the op is known only from the result
  Tensor y = x * x;
  y.backward();
  std::string msg = agt::error_message([&] { y.backward(); });
  CHECK(msg.find(pytorch) != std::string::npos);
  CHECK(msg.find("'mul'") != std::string::npos);
  CHECK(msg.find("'output'") == std::string::npos);
  CHECK(msg.find("float64[1]") != std::string::npos);
  // the same through ag::grad, with the result as an input
  Tensor e = exp(x);
  e.backward();
  msg = agt::error_message([&] { grad({sum(e * 2.0)}, {e}); });
  CHECK(msg.find(pytorch) != std::string::npos);
  CHECK(msg.find("'exp'") != std::string::npos);
  CHECK(msg.find("'input'") == std::string::npos);
  // an interior op freed by another output's backward (the tape still holds the rest)
  Tensor a = x * x;
  Tensor b = sum(a);
  Tensor c = sum(tanh(a));
  c.backward();
  msg = agt::error_message([&] { b.backward(); });
  CHECK(msg.find(pytorch) != std::string::npos);
  CHECK(msg.find("'mul'") != std::string::npos);
}

TEST_CASE("the tape rewinds when its results die, and after a backward consumes it") {
  Tape& tape = Tape::current();
  Tensor w = ones({4}, kFloat64).requires_grad_();
  {
    Tensor a = w * 2.0;
    Tensor b = exp(a);
    CHECK(tape.num_nodes() >= 2);
  }
  CHECK(tape.num_nodes() == 0);
  Tensor loss;
  for (int step = 0; step < 5; ++step) {
    loss = sum(tanh(w * 0.5));
    loss.backward();
    CHECK(tape.num_nodes() == 0);  // consumed: rewound even though `loss` is still alive
  }
}

TEST_CASE("100,000 chained ops: forward and backward without recursion") {
  Tensor x = scalar_tensor(1.0, kFloat64).requires_grad_();
  Tensor y = x;
  for (int i = 0; i < 50000; ++i) {
    y = y * 1.0000001;
    y = y + 0.0;
  }
  CHECK(Tape::current().num_nodes() == 100000);
  y.backward();
  CHECK(x.grad().item<double>() == doctest::Approx(std::pow(1.0000001, 50000)).epsilon(1e-12));
}

TEST_CASE("backward on a non-scalar needs a gradient; with one, it is a vector-Jacobian product") {
  Tensor x = tensor({1.0, 2.0, 3.0}, {3}, kFloat64).requires_grad_();
  Tensor y = x * x;
  CHECK_THROWS_AS(y.backward(), Error);
  y.backward(tensor({1.0, 0.0, 2.0}, {3}, kFloat64));
  agt::check_values(x.grad(), {2.0, 0.0, 12.0});
}

TEST_CASE("backward on a tensor that does not require grad throws") {
  Tensor x = ones({2}, kFloat64);
  CHECK_THROWS_AS(sum(x).backward(), Error);
}

TEST_CASE("in-place change of a tensor that backward needs is detected through its version") {
  Tensor w = tensor({1.0, 2.0}, {2}, kFloat64).requires_grad_();
  Tensor x = tensor({3.0, 4.0}, {2}, kFloat64);
  Tensor y = sum(w * x);  // saves x
  x.mul_(2.0);
  CHECK_THROWS_AS(y.backward(), Error);
}

TEST_CASE("detach cuts the graph and shares data") {
  Tensor x = tensor({1.0, 2.0}, {2}, kFloat64).requires_grad_();
  Tensor d = (x * 2.0).detach();
  CHECK_FALSE(d.requires_grad());
  Tensor y = sum(x * d);
  y.backward();
  agt::check_values(x.grad(), {2.0, 4.0});
}

TEST_CASE("retain_grad: an interior result gets its gradient; dropping it first is safe; leaves ignore it") {
  Tensor x = tensor({1.0, -2.0}, {2}, kFloat64).requires_grad_();
  Tensor y = x * 3.0;
  y.retain_grad();
  Tensor copy = y;           // every handle sees the same .grad()
  (y * y).sum().backward();  // dz/dy = 2y = 6x, dz/dx = 18x
  agt::check_values(copy.grad(), {6.0, -12.0});
  agt::check_values(x.grad(), {18.0, -36.0});
  CHECK(Tape::current().num_nodes() == 0);

  // retained, then destroyed before the backward: the tape forgets it (no dangling entry)
  x.set_grad(Tensor());
  Tensor z;
  {
    Tensor t = x * 3.0;
    t.retain_grad();
    z = (t * t).sum();
  }
  z.backward();
  agt::check_values(x.grad(), {18.0, -36.0});

  // on a leaf, a no-op: its .grad() is the ordinary one
  x.set_grad(Tensor());
  x.retain_grad();
  (x * x).sum().backward();
  agt::check_values(x.grad(), {2.0, -4.0});

  // retained, then every result dropped without a backward: the tape still rewinds
  {
    Tensor t = x * 2.0;
    t.retain_grad();
    Tensor u = t.sum();
  }
  CHECK(Tape::current().num_nodes() == 0);
}

TEST_CASE("saved results: kept for backward after their last handle, freed with the last saved reference") {
  Tape& tape = Tape::current();
  Tensor x = tensor({1.0, -2.0}, {2}, kFloat64).requires_grad_();
  Tensor alias, z;
  {
    Tensor y = x * 3.0;
    alias = y.detach();  // shares y's storage: tells whether anything else still holds it
    z = (y * y).sum();   // mul saves y twice
  }
  CHECK_FALSE(alias.impl()->storage.unique());  // y's handles are gone, its saved references keep it
  CHECK(tape.live_tensors() == 1);              // ...without counting it alive: only z is
  z.backward();
  agt::check_values(x.grad(), {18.0, -36.0});
  CHECK(alias.impl()->storage.unique());  // the backward freed the saved y with its node
  CHECK(tape.num_nodes() == 0);

  // every handle dropped without a backward: the tape rewinds although nodes borrow results
  {
    Tensor y = tanh(x * 2.0);  // tanh also keeps its output
    Tensor u = (y * y).sum();
    alias = y.detach();
    CHECK(tape.live_tensors() == 2);  // y and u: the temporaries went
  }
  CHECK(tape.num_nodes() == 0);
  CHECK(alias.impl()->storage.unique());

  // retain_graph: a second backward reads the kept results again; partial backward keeps the rest
  x.set_grad(Tensor());
  Tensor w;
  {
    Tensor y = x * x;
    w = (y * y).sum();  // x^4
  }
  w.backward(Tensor(), /*retain_graph=*/true);
  w.backward();
  agt::check_values(x.grad(), {8.0, -64.0});
  CHECK(tape.num_nodes() == 0);
}

TEST_CASE("saved results are borrowed: no reference and no copy; the last handle's drop adopts the result") {
  Tape& tape = Tape::current();
  Tensor x = tensor({1.0, -2.0}, {2}, kFloat64).requires_grad_();
  const TensorImpl* made = nullptr;
  bool same = false, adopted = false;
  Tensor z;
  {
    Tensor y = x * 3.0;
    made = y.impl();
    Tensor out;
    {
      NoGradGuard no_grad;
      out = y * y;
    }
    // an op saving its input y: its VJP tells which TensorImpl the saved tensor gives back
    record("square_saving_input", {&y}, {&out}, [sy = SavedTensor(y), made, &same, &adopted](BackwardCtx& c) {
      const Tensor v = sy.get();
      same = v.impl() == made;
      adopted = v.impl()->adopted && !v.impl()->in_live_count;
      c.set(0, c.grad() * 2.0 * v);
    });
    CHECK(y.impl()->saved_refs == 1);  // one borrow (the lambda's SavedTensor, moved into the node)...
    CHECK(y.impl_ptr().unique());      // ...and no reference
    z = out.sum();
    CHECK(tape.live_tensors() == 3);  // y, out, z
  }
  CHECK(tape.live_tensors() == 1);  // y's last handle went: adopted, out of the live count
  z.backward();
  CHECK(same);     // the result itself, not a copy
  CHECK(adopted);  // kept alive for the borrower
  agt::check_values(x.grad(), {18.0, -36.0});
  CHECK(tape.num_nodes() == 0);
}

TEST_CASE("a borrowed result whose last handle another thread drops is adopted on its own thread") {
  Tape& tape = Tape::current();
  Tensor x = tensor({1.0, -2.0}, {2}, kFloat64).requires_grad_();
  Tensor alias, z;
  {
    Tensor y = x * 3.0;
    alias = y.detach();
    z = (y * y).sum();  // mul borrows y twice
    std::thread([y = std::move(y)]() mutable { y = Tensor(); }).join();
  }
  // dropped elsewhere: queued to this thread, which destroys (here: adopts) it at its next creation
  CHECK(tape.live_tensors() == 2);
  Tensor one = ones({1}, kFloat64);
  CHECK(tape.live_tensors() == 1);
  CHECK_FALSE(alias.impl()->storage.unique());
  z.backward();
  agt::check_values(x.grad(), {18.0, -36.0});
  CHECK(alias.impl()->storage.unique());
  CHECK(tape.num_nodes() == 0);

  // the same when the drop rewinds the tape: adopted, then freed inside the rewind with its borrowers
  {
    Tensor y = x * 3.0;
    alias = y.detach();
    Tensor u = y * y;
    u = Tensor();
    CHECK(tape.live_tensors() == 1);
    std::thread([y = std::move(y)]() mutable { y = Tensor(); }).join();
  }
  CHECK(tape.num_nodes() == 2);
  one = ones({1}, kFloat64);
  CHECK(tape.num_nodes() == 0);
  CHECK(tape.live_tensors() == 0);
  CHECK(alias.impl()->storage.unique());
}

TEST_CASE("a result of another thread, saved by an op refused for it, is referenced, not borrowed") {
  Tensor w = tensor({1.0, 2.0}, {2}, kFloat64).requires_grad_();
  Tensor mine = w * 3.0;
  bool refused = false;
  std::promise<void> saved, done;
  std::thread t([&, release = done.get_future()] {
    Tensor v = tensor({0.5, -1.0}, {2}, kFloat64).requires_grad_();
    try {
      Tensor bad = v * mine;  // mul saves both inputs, then refuses mine
    } catch (const Error&) {
      refused = true;
    }
    saved.set_value();
    release.wait();
  });  // the thread's tape drops the refused node, and its reference to mine, at thread exit
  saved.get_future().wait();
  CHECK(refused);
  CHECK(mine.impl()->saved_refs == 0);    // borrowing is for the owner thread only...
  CHECK_FALSE(mine.impl_ptr().unique());  // ...the refused node holds a reference instead
  done.set_value();
  t.join();
  CHECK(mine.impl_ptr().unique());
  sum(mine * mine).backward();
  agt::check_values(w.grad(), {18.0, 36.0});
}

TEST_CASE("a custom function whose result another thread made is still counted by this thread's tape") {
  struct Twice : Function<Twice> {
    static Tensor forward(AutogradContext*, const Tensor& x) {
      return std::async(std::launch::async,
                        [x] {
                          NoGradGuard no_grad;
                          return x * 2.0;
                        })
          .get();
    }
    static std::vector<Tensor> backward(AutogradContext*, const std::vector<Tensor>& g) { return {g[0] * 2.0}; }
  };
  Tape& tape = Tape::current();
  Tensor x = tensor({1.0, 2.0}, {2}, kFloat64).requires_grad_();
  {
    Tensor y = Twice::apply(x);
    CHECK(y.impl()->owned_here());
    CHECK(tape.live_tensors() == 1);
  }
  CHECK(tape.num_nodes() == 0);  // its handle went on this thread: the tape rewound
  Tensor y = Twice::apply(x);
  sum(y * y).backward();
  agt::check_values(x.grad(), {8.0, 16.0});
}

TEST_CASE("a rewind that frees the last handle to a result of the same tape does not rewind again") {
  // A custom function's context holds a recorded result in saved_data. That handle counts as live,
  // so dropping the others does not rewind the tape; Tape::reset() does, and destroying the node
  // drops the result's last handle inside the rewind (Note: lifetimes, reentrancy).
  struct KeepsResult : Function<KeepsResult> {
    static Tensor forward(AutogradContext* ctx, const Tensor& x, const Tensor& kept) {
      ctx->saved_data["kept"] = kept;
      return x * 2.0;
    }
    static std::vector<Tensor> backward(AutogradContext*, const std::vector<Tensor>& g) {
      return {g[0] * 2.0, Tensor()};
    }
  };
  Tape& tape = Tape::current();
  Tensor x = tensor({1.0, 2.0}, {2}, kFloat64).requires_grad_();
  {
    Tensor kept = x * 3.0;
    Tensor z = KeepsResult::apply(x, kept).sum();
    CHECK(tape.live_tensors() == 2);  // kept and z (the function's result was a temporary)
  }
  CHECK(tape.live_tensors() == 1);  // kept, through saved_data
  CHECK(tape.num_nodes() == 3);
  const auto gen = tape.generation();
  tape.reset();
  CHECK(tape.generation() == gen + 1);  // one rewind, not two
  CHECK(tape.num_nodes() == 0);
  CHECK(tape.live_tensors() == 0);
  Tensor y = x * 2.0;  // the tape records as usual after it
  CHECK(tape.live_tensors() == 1);
  CHECK(tape.num_nodes() == 1);
  sum(y).backward();
  agt::check_values(x.grad(), {2.0, 2.0});
}

namespace {
// Made before the thread's tape, so destroyed after it at thread exit.
struct RecordsAtThreadExit {
  Tensor x;
  std::string* error = nullptr;
  ~RecordsAtThreadExit() {
    try {
      Tensor y = x * 2.0;  // x requires grad: this would record on the destroyed tape
    } catch (const Error& e) {
      *error = e.what();
    }
  }
};
}  // namespace

TEST_CASE("an op recorded by a thread_local destroyed after the thread's tape throws instead of using it") {
  std::string error;
  std::thread([&] {
    thread_local RecordsAtThreadExit late;  // constructed first: before the tape
    late.x = tensor({1.0}, {1}, kFloat64).requires_grad_();
    late.error = &error;
    Tensor z = late.x * 3.0;  // the thread's tape comes into being here
    CHECK(z.item<double>() == 3.0);
  }).join();
  CHECK(error.find("tape was destroyed at thread exit") != std::string::npos);
}

// ---- BackwardCtx::accumulator: a recurrent weight's per-step gradients added in place ----

namespace {

double gap(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  return max(abs(a.detach() - b.detach())).item<double>();
}

// h_T of a tanh RNN over T steps with the fused cell (its VJP adds each step's weight gradient into
// the sum through accumulator()) and with composite ops (one gradient per step, summed by the engine).
Tensor rnn_fused(const Tensor& x, const Tensor& h0, const Tensor& wi, const Tensor& wh, const Tensor& b) {
  Tensor h = h0;
  for (std::int64_t t = 0; t < x.size(0); ++t) h = rnn_tanh_cell(select(x, 0, t), h, wi, wh, b, b);
  return h;
}
Tensor rnn_ops(const Tensor& x, const Tensor& h0, const Tensor& wi, const Tensor& wh, const Tensor& b) {
  Tensor h = h0;
  for (std::int64_t t = 0; t < x.size(0); ++t) h = tanh(matmul(select(x, 0, t), wi.t()) + b + matmul(h, wh.t()) + b);
  return h;
}

/// Returns its input; its backward returns the incoming gradient times 2 and keeps a handle to that
/// tensor (as a user's Function may): a gradient held elsewhere, which no VJP may add into.
struct KeepGrad : Function<KeepGrad> {
  static inline Tensor kept;
  static Tensor forward(AutogradContext*, const Tensor& w) { return w * 1.0; }
  static std::vector<Tensor> backward(AutogradContext*, const std::vector<Tensor>& g) {
    kept = g[0] * 2.0;
    return {kept};
  }
};

}  // namespace

TEST_CASE("engine: a weight's per-step gradients added in place by the cell's VJP equal the engine's sum") {
  const Tensor x = agt::input({7, 3, 4}, 0.3, 1.0, 0.0, false), h0 = agt::input({3, 5}, 0.7, 0.5, 0.0, false);
  const Tensor wi = agt::input({5, 4}, 1.1, 0.5), wh = agt::input({5, 5}, 1.3, 0.5), b = agt::input({5}, 1.7, 0.3);
  const std::vector<Tensor> p{wi, wh, b};
  const Tensor target = agt::input({3, 5}, 2.1, 1.0, 0.0, false);
  auto loss = [&](bool fused) { return sum((fused ? rnn_fused : rnn_ops)(x, h0, wi, wh, b) * target); };
  const std::vector<Tensor> want = grad({loss(false)}, p);
  loss(true).backward();  // backward(): the pass whose leaf sums the VJPs add into
  for (std::size_t i = 0; i < p.size(); ++i) {
    CAPTURE(i);
    CHECK(gap(p[i].grad(), want[i]) <= 1e-13);
  }
  // grad() (captured inputs: no in-place sum) and create_graph (recorded sums) give the same
  const std::vector<Tensor> got = grad({loss(true)}, p);
  for (std::size_t i = 0; i < p.size(); ++i) CHECK(gap(got[i], want[i]) <= 1e-13);
  const std::vector<Tensor> g2 = grad({loss(true)}, p, {}, std::nullopt, true);
  for (std::size_t i = 0; i < p.size(); ++i) CHECK(gap(g2[i].detach(), want[i]) <= 1e-13);
  CHECK(g2[1].requires_grad());
  // a second backward() adds to .grad(): twice the gradient
  loss(true).backward();
  for (std::size_t i = 0; i < p.size(); ++i) CHECK(gap(p[i].grad(), want[i] * 2.0) <= 1e-12);
}

TEST_CASE("engine: no VJP adds into a gradient that something else holds") {
  const Tensor x = agt::input({5, 2, 3}, 0.3, 1.0, 0.0, false), h0 = agt::input({2, 4}, 0.7, 0.5, 0.0, false);
  const Tensor wi = agt::input({4, 3}, 1.1, 0.5), wh = agt::input({4, 4}, 1.3, 0.5), b = agt::input({4}, 1.7, 0.3);
  // w_hh's first gradient (its VJP runs first: recorded last) is KeepGrad's, which the Function keeps
  auto loss = [&](bool fused) {
    const Tensor h = (fused ? rnn_fused : rnn_ops)(x, h0, wi, wh, b);
    return sum(h) + sum(KeepGrad::apply(wh));
  };
  const Tensor want = grad({loss(false)}, {wh})[0];
  KeepGrad::kept = Tensor();
  loss(true).backward();
  REQUIRE(KeepGrad::kept.defined());
  CHECK(gap(KeepGrad::kept, full({4, 4}, 2.0, kFloat64)) == 0.0);  // unchanged by the cells' sums
  CHECK(gap(wh.grad(), want) <= 1e-13);
  KeepGrad::kept = Tensor();
}
