// Gradient checkpointing: ag::checkpoint gradchecked, re-entrant backward, RNG replay, errors; RNN,
// LSTM and GRU with checkpoint_every give the gradients of plain BPTT with fewer nodes on the tape.
#include <algorithm>
#include <cmath>
#include <string>

#include "nn/nn.h"
#include "test_util.h"

using namespace ag;

namespace {

using Vec = std::vector<Tensor>;

double max_abs_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.defined());
  REQUIRE(b.defined());
  REQUIRE(a.shape() == b.shape());
  const auto u = a.to_vector<double>(), v = b.to_vector<double>();
  double m = 0;
  for (std::size_t i = 0; i < u.size(); ++i) m = std::max(m, std::abs(u[i] - v[i]));
  return m;
}

// The sum of every gradient's max abs difference, leaf by leaf.
double grads_diff(const Vec& a, const Vec& b) {
  REQUIRE(a.size() == b.size());
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, max_abs_diff(a[i].grad(), b[i].grad()));
  return m;
}

}  // namespace

TEST_CASE("checkpoint: gradcheck of small functions (float64)") {
  SUBCASE("one input, one output") {
    agt::check_gradients(
        [](const Vec& in) { return checkpoint([](const Tensor& x) { return tanh(x) * x + exp(x); }, in[0]); },
        {agt::input({3, 4})});
  }
  SUBCASE("a parameter captured by the function, not passed as an input") {
    const Tensor w = agt::input({4, 2}, 2.0, 0.5);
    agt::check_gradients(
        [](const Vec& in) {
          const Tensor w = in[1];
          return checkpoint([w](const Vec& v) { return Vec{tanh(matmul(v[0], w))}; }, {in[0]})[0];
        },
        {agt::input({3, 4}), w});
  }
  SUBCASE("two outputs, the loss uses one") {
    agt::check_gradients(
        [](const Vec& in) {
          const Vec r = checkpoint([](const Vec& v) { return Vec{sigmoid(v[0]) * v[1], v[0] + v[1]}; }, {in[0], in[1]});
          return r[0];
        },
        {agt::input({2, 3}), agt::input({2, 3}, 3.0)});
  }
  SUBCASE("an input passed twice and used twice") {
    agt::check_gradients(
        [](const Vec& in) {
          return checkpoint([](const Vec& v) { return Vec{v[0] * v[1] * v[0]}; }, {in[0], in[0]})[0];
        },
        {agt::input({5})});
  }
  SUBCASE("an input that does not require grad") {
    const Tensor c = agt::input({2, 3}, 4.0, 1.0, 0.0, false);
    agt::check_gradients(
        [c](const Vec& in) {
          return checkpoint([](const Vec& v) { return Vec{v[0] * v[1] + v[1]}; }, {in[0], c})[0];
        },
        {agt::input({2, 3})});
  }
  SUBCASE("checkpoint inside checkpoint") {
    agt::check_gradients(
        [](const Vec& in) {
          const Tensor w = in[1];
          return checkpoint(
              [w](const Vec& v) {
                const Tensor a = checkpoint([w](const Tensor& x) { return tanh(x * w); }, v[0]);
                return Vec{a * a + w};
              },
              {in[0]})[0];
        },
        {agt::input({3}), agt::input({3}, 5.0)});
  }
  SUBCASE("the function returns its input unchanged") {
    agt::check_gradients([](const Vec& in) { return checkpoint([](const Tensor& x) { return x; }, in[0]) * 3.0; },
                         {agt::input({3})});
  }
}

TEST_CASE(
    "checkpoint: forward mode goes through the function, tangents of inputs and captured tensors, reverse over "
    "forward") {
  namespace fw = ag::autograd::forward_ad;
  const Tensor x = agt::input({4}, 0.7);
  const Tensor v = agt::input({4}, 1.3, 1.0, 0.0, false), w = agt::input({4}, 0.4, 1.0, 0.0, false),
               u = agt::input({4}, 2.1, 1.0, 0.0, false);
  fw::dual_level level;
  const Tensor xd = fw::make_dual(x, v), wd = fw::make_dual(w, u);
  const Tensor y = checkpoint([wd](const Tensor& a) { return a * a * exp(a) + a * wd; }, xd);
  const auto [p, t] = fw::unpack_dual(y);
  REQUIRE(t.defined());
  const auto xs = x.to_vector<double>(), vs = v.to_vector<double>(), ws = w.to_vector<double>(),
             us = u.to_vector<double>();
  std::vector<double> want(4), want_grad(4);
  for (std::size_t i = 0; i < 4; ++i) {
    const double e = std::exp(xs[i]);
    want[i] = vs[i] * ((2 * xs[i] + xs[i] * xs[i]) * e + ws[i]) + xs[i] * us[i];
    want_grad[i] = vs[i] * (2 + 4 * xs[i] + xs[i] * xs[i]) * e + us[i];  // d(sum t)/dx
  }
  agt::check_values(t, want, 1e-12);
  // the tangent is recorded (fn ran with recording on): its gradient reaches x
  const auto g = grad({sum(t)}, {x});
  agt::check_values(g[0], want_grad, 1e-12);
}

TEST_CASE("checkpoint: values, backward into leaves and what the tape holds") {
  const Tensor x = agt::input({3, 4}), w = agt::input({4, 4}, 2.0, 0.5);
  auto body = [](const Tensor& a, const Tensor& w) { return tanh(matmul(tanh(matmul(a, w)), w)); };
  const Tensor plain = sum(body(x, w) * body(x, w));
  plain.backward();
  const Tensor gx = x.grad().clone(), gw = w.grad().clone();
  x.set_grad(Tensor());
  w.set_grad(Tensor());

  const std::size_t before = Tape::current().num_nodes();
  const Tensor y = checkpoint([&](const Tensor& a) { return body(a, w); }, x);
  CHECK(Tape::current().num_nodes() == before + 1);
  CHECK(std::string(Tape::current().node(before)->name) == "checkpoint");
  CHECK(y.requires_grad());
  CHECK(max_abs_diff(y, body(x, w).detach()) == 0.0);
  const Tensor loss = sum(y * y);
  CHECK(loss.item<double>() == plain.item<double>());
  loss.backward();
  CHECK(max_abs_diff(x.grad(), gx) <= 1e-12);
  CHECK(max_abs_diff(w.grad(), gw) <= 1e-12);

  SUBCASE("ag::grad reaches a captured parameter and touches no .grad()") {
    x.set_grad(Tensor());
    w.set_grad(Tensor());
    const Tensor y2 = checkpoint([&](const Tensor& a) { return body(a, w); }, x);
    const Vec g = grad({sum(y2 * y2)}, {w});
    CHECK(max_abs_diff(g[0], gw) <= 1e-12);
    CHECK_FALSE(w.grad().defined());
    CHECK_FALSE(x.grad().defined());
  }
  SUBCASE("retain_graph: a second backward re-runs the function again") {
    x.set_grad(Tensor());
    w.set_grad(Tensor());
    const Tensor y2 = checkpoint([&](const Tensor& a) { return body(a, w); }, x);
    const Tensor l2 = sum(y2 * y2);
    l2.backward({}, true);
    l2.backward();
    CHECK(max_abs_diff(w.grad(), gw * 2.0) <= 1e-12);
    CHECK(max_abs_diff(x.grad(), gx * 2.0) <= 1e-12);
  }
  SUBCASE("without grad mode the function is only called") {
    NoGradGuard ng;
    const std::size_t n0 = Tape::current().num_nodes();
    const Tensor y2 = checkpoint([&](const Tensor& a) { return body(a, w); }, x);
    CHECK_FALSE(y2.requires_grad());
    CHECK(Tape::current().num_nodes() == n0);
  }
  SUBCASE("outputs require grad when only a captured parameter does") {
    const Tensor c = x.detach();
    const Tensor y2 = checkpoint([&](const Tensor& a) { return body(a, w); }, c);
    w.set_grad(Tensor());
    sum(y2 * y2).backward();
    CHECK(max_abs_diff(w.grad(), gw) <= 1e-12);
  }
  SUBCASE("int64 and undefined results pass through unrecorded") {
    const Vec r = checkpoint([](const Vec& v) { return Vec{argmax(v[0], 1), Tensor(), v[0] * 2.0}; }, {x});
    REQUIRE(r.size() == 3);
    CHECK_FALSE(r[0].requires_grad());
    CHECK_FALSE(r[1].defined());
    x.set_grad(Tensor());
    sum(r[2]).backward();
    agt::check_values(x.grad(), std::vector<double>(12, 2.0));
  }
}

TEST_CASE("checkpoint: a recorded result captured by the function passes its gradient on") {
  const Tensor x = agt::input({4}), w = agt::input({4}, 2.0);
  auto loss = [&](bool ck) {
    const Tensor z = w * 2.0;
    const auto f = [z](const Tensor& v) { return v * sigmoid(z) * v; };
    return sum((ck ? checkpoint(f, x) : f(x)) * z);
  };
  loss(false).backward();
  const Tensor gx = x.grad().clone(), gw = w.grad().clone();
  x.set_grad(Tensor());
  w.set_grad(Tensor());
  loss(true).backward();
  CHECK(max_abs_diff(x.grad(), gx) <= 1e-15);
  CHECK(max_abs_diff(w.grad(), gw) <= 1e-15);
  CHECK(Tape::current().num_nodes() == 0);  // backward released the node and what fn captured
  const Vec g = grad({loss(true)}, {w});    // ag::grad to an input of the captured result
  CHECK(max_abs_diff(g[0], gw) <= 1e-15);
}

TEST_CASE("checkpoint: random numbers are replayed, and the generator continues as without checkpoint") {
  const Tensor x = agt::input({50}), w = agt::input({50}, 3.0);
  auto f = [&](const Tensor& a) { return nn::dropout(a * w, 0.5, true); };
  manual_seed(7);
  sum(f(x) * x).backward();
  const Tensor gx = x.grad().clone(), gw = w.grad().clone();
  const Tensor next_plain = rand({4});
  x.set_grad(Tensor());
  w.set_grad(Tensor());
  manual_seed(7);
  const Tensor y = checkpoint(f, x);
  const std::string state = rng_state();
  sum(y * x).backward();
  CHECK(rng_state() == state);  // backward's re-run put the generator back
  CHECK(max_abs_diff(x.grad(), gx) == 0.0);
  CHECK(max_abs_diff(w.grad(), gw) == 0.0);
  CHECK(max_abs_diff(rand({4}), next_plain) == 0.0);
  CHECK_THROWS_AS(set_rng_state("short"), ag::Error);
}

TEST_CASE("checkpoint: errors name the op") {
  const Tensor x = agt::input({3}), w = agt::input({3}, 2.0);
  SUBCASE("create_graph through a checkpoint") {
    const Tensor y = checkpoint([&](const Tensor& a) { return a * a * w; }, x);
    const std::string msg = agt::error_message([&] { (void)grad({sum(y)}, {x}, {}, true, true); });
    CHECK(msg.find("checkpoint") != std::string::npos);
    CHECK(msg.find("create_graph") != std::string::npos);
    CHECK_THROWS_AS(grad({sum(y)}, {x}, {}, true, true), ag::Error);
  }
  SUBCASE("an input changed in place before backward; leaves keep their .grad()") {
    Tensor a = x * 1.0;
    const Tensor y = checkpoint([&](const Tensor& v) { return v * w; }, a);
    const Tensor loss = sum(y) + sum(x * w);
    {
      NoGradGuard ng;
      a.mul_(2.0);
    }
    const std::string msg = agt::error_message([&] { loss.backward(); });
    CHECK(msg.find("checkpoint") != std::string::npos);
    CHECK(msg.find("in-place") != std::string::npos);
    CHECK_FALSE(w.grad().defined());
    CHECK_FALSE(x.grad().defined());
  }
  SUBCASE("a function that computes something else when re-run") {
    int calls = 0;
    const Vec r = checkpoint([&](const Vec& v) { return ++calls == 1 ? Vec{v[0] * w} : Vec{v[0] * w, v[0]}; }, {x});
    const std::string msg = agt::error_message([&] { sum(r[0]).backward(); });
    CHECK(msg.find("checkpoint: the function returned 2 tensors when re-run") != std::string::npos);
    calls = 0;
    const Vec r2 = checkpoint([&](const Vec& v) { return Vec{++calls == 1 ? v[0] * w : sum(v[0] * w)}; }, {x});
    CHECK(agt::error_message([&] { sum(r2[0]).backward(); }).find("checkpoint: result 0 is float64[]") !=
          std::string::npos);
  }
  SUBCASE("a captured tensor recorded after the call") {
    Tensor z = w * 1.0;
    const Tensor y = checkpoint([&z](const Tensor& v) { return v * z; }, x);
    z = w * y;  // the closure holds z by reference: the re-run reads a later result
    const std::string msg = agt::error_message([&] { sum(z).backward(); });
    CHECK(msg.find("checkpoint: the recomputed function used a result") != std::string::npos);
  }
  SUBCASE("no function; backward_segment outside backward") {
    CHECK(agt::error_message([&] { (void)checkpoint(CheckpointFn(), {x}); }).find("checkpoint: no function") == 0);
    CHECK_THROWS_AS(checkpoint(std::function<Tensor(const Tensor&)>(), x), ag::Error);
    const std::string msg = agt::error_message([&] { (void)detail::backward_segment({x}, {x}, {}, 0, "checkpoint"); });
    CHECK(msg.find("checkpoint: backward_segment may only be called from a backward function") == 0);
  }
  SUBCASE("bad checkpoint_every") {
    const std::string msg = agt::error_message([] { nn::RNN rnn(nn::RNNOptions(2, 3).checkpoint_every(-2)); });
    CHECK(msg.find("RNN: checkpoint_every must be") == 0);
    CHECK_THROWS_AS(nn::LSTM(nn::RNNOptions(2, 3).checkpoint_every(-5)), ag::Error);
  }
}

namespace {

struct Run {
  Vec params;  // with the input and the initial state(s) last
  std::size_t nodes = 0, segments = 0;
};

// One forward and backward of a recurrent module with the loss reading the outputs at every step
// (weighted), the final hidden state and, for LSTM, the final cell state.
template <class Module>
Run run_model(Module& m, Dtype dt, const Tensor& x_in, const Tensor& h_in, const Tensor& c_in) {
  Run r;
  r.params = m->parameters();
  const Tensor x = x_in.to(dt).detach().requires_grad_(), h0 = h_in.to(dt).detach().requires_grad_(),
               c0 = c_in.to(dt).detach().requires_grad_();
  Tensor out, hn, cn;
  if constexpr (std::is_same_v<Module, nn::LSTM>) {
    std::tuple<Tensor, Tensor> st;
    std::tie(out, st) = m->forward(x, {h0, c0});
    std::tie(hn, cn) = st;
  } else {
    std::tie(out, hn) = m->forward(x, h0);
  }
  r.nodes = Tape::current().num_nodes();
  for (std::size_t i = 0; i < r.nodes; ++i) r.segments += std::string(Tape::current().node(i)->name) == "checkpoint";
  const Tensor wt = agt::input(out.shape(), 0.3, 1.0, 0.0, false).to(dt);
  Tensor loss = sum(out * wt) + sum(hn * hn);
  if (cn.defined()) loss = loss + sum(cn * cn);
  loss.backward();
  r.params.push_back(x);
  r.params.push_back(h0);
  if (cn.defined()) r.params.push_back(c0);
  return r;
}

template <class Module>
void compare_with_bptt(std::int64_t every, std::int64_t layers, Dtype dt, double tol) {
  constexpr std::int64_t T = 13, B = 3, F = 4, H = 5;
  const Tensor x = agt::input({T, B, F}, 0.7), h0 = agt::input({layers, B, H}, 1.3, 0.5),
               c0 = agt::input({layers, B, H}, 1.9, 0.5);
  manual_seed(11);
  Module plain(nn::RNNOptions(F, H).num_layers(layers).dtype(dt));
  manual_seed(11);
  Module ckpt(nn::RNNOptions(F, H).num_layers(layers).dtype(dt).checkpoint_every(every));
  const Run a = run_model(plain, dt, x, h0, c0);
  const Run b = run_model(ckpt, dt, x, h0, c0);
  CHECK(grads_diff(a.params, b.params) <= tol);
  // every segment but the last is one node (kCheckpointAuto: k = round(sqrt(13)) = 4)
  const std::int64_t k = every == nn::kCheckpointAuto ? 4 : every;
  CHECK(a.segments == 0);
  CHECK(b.segments == static_cast<std::size_t>((T - 1) / k * layers));  // ceil((T - k) / k) per layer
  CHECK(b.nodes <= a.nodes);
}

}  // namespace

TEST_CASE("checkpoint: RNN, LSTM and GRU with checkpoint_every give BPTT's gradients") {
  for (std::int64_t every :
       {std::int64_t{1}, std::int64_t{4}, std::int64_t{13}, std::int64_t{20}, nn::kCheckpointAuto}) {
    for (std::int64_t layers : {1, 2}) {
      CAPTURE(every);
      CAPTURE(layers);
      compare_with_bptt<nn::RNN>(every, layers, kFloat64, 1e-12);
      compare_with_bptt<nn::LSTM>(every, layers, kFloat64, 1e-12);
      compare_with_bptt<nn::GRU>(every, layers, kFloat64, 1e-12);
    }
  }
  compare_with_bptt<nn::RNN>(4, 2, kFloat32, 1e-6);
  compare_with_bptt<nn::LSTM>(4, 2, kFloat32, 1e-6);
  compare_with_bptt<nn::GRU>(nn::kCheckpointAuto, 1, kFloat32, 1e-6);
}

TEST_CASE("checkpoint: a checkpointed LSTM trains as plain BPTT (2 layers, dropout, Adam, several steps)") {
  constexpr std::int64_t T = 16, B = 4, F = 3, H = 6;
  const Tensor x = agt::input({B, T, F}, 0.2, 1.0, 0.0, false), y = agt::input({B, 1}, 0.9, 0.5, 0.0, false);
  for (int kind = 0; kind < 2; ++kind) {
    CAPTURE(kind);
    manual_seed(3);
    nn::LSTM l1(nn::RNNOptions(F, H).batch_first(true).dtype(kFloat64).num_layers(2).dropout(0.3));
    manual_seed(3);
    nn::LSTM l2(nn::RNNOptions(F, H).batch_first(true).dtype(kFloat64).num_layers(2).dropout(0.3).checkpoint_every(
        kind == 0 ? 5 : nn::kCheckpointAuto));
    manual_seed(4);
    nn::Linear head1(nn::LinearOptions(H, 1).dtype(kFloat64));
    manual_seed(4);
    nn::Linear head2(nn::LinearOptions(H, 1).dtype(kFloat64));
    Vec p1 = l1->parameters(), p2 = l2->parameters();
    for (auto& p : head1->parameters()) p1.push_back(p);
    for (auto& p : head2->parameters()) p2.push_back(p);
    optim::Adam o1(p1, 0.01), o2(p2, 0.01);
    for (int step = 0; step < 5; ++step) {
      CAPTURE(step);
      auto loss_of = [&](nn::LSTM& l, nn::Linear& head) {
        const Tensor out = std::get<0>(l->forward(x));
        // outputs at several time steps, not only the last
        return mse_loss(head(select(out, 1, T - 1)), y) + mean(select(out, 1, 3) * select(out, 1, 9));
      };
      o1.zero_grad();
      o2.zero_grad();
      manual_seed(100 + static_cast<std::uint64_t>(step));  // the same dropout masks in both
      const Tensor a = loss_of(l1, head1);
      a.backward();
      manual_seed(100 + static_cast<std::uint64_t>(step));
      const Tensor b = loss_of(l2, head2);
      std::size_t segments = 0;
      for (std::size_t i = 0; i < Tape::current().num_nodes(); ++i)
        segments += std::string(Tape::current().node(i)->name) == "checkpoint";
      CHECK(segments == 2u * 3u);  // 2 layers of 16 steps: the last 5 (or 4) plain, 11 (or 12) in 3 segments
      b.backward();
      CHECK(a.item<double>() == b.item<double>());
      CHECK(grads_diff(p1, p2) <= 1e-12);
      o1.step();
      o2.step();
    }
    for (std::size_t i = 0; i < p1.size(); ++i) CHECK(max_abs_diff(p1[i], p2[i]) <= 1e-12);
  }
}

TEST_CASE("checkpoint: the tape of a checkpointed RNN holds the segment boundaries only") {
  constexpr std::int64_t T = 100, B = 2, F = 3, H = 4;
  const Tensor x = agt::input({T, B, F}, 0.1, 1.0, 0.0, false);
  std::size_t count_checkpoints = 0;
  auto nodes_after_forward = [&](std::int64_t every) {
    manual_seed(5);
    nn::RNN rnn(nn::RNNOptions(F, H).dtype(kFloat64).checkpoint_every(every));
    const std::size_t n0 = Tape::current().num_nodes();
    const Tensor out = std::get<0>(rnn(x));
    const std::size_t n = Tape::current().num_nodes() - n0;
    count_checkpoints = 0;
    for (std::size_t i = n0; i < Tape::current().num_nodes(); ++i)
      count_checkpoints += std::string(Tape::current().node(i)->name) == "checkpoint";
    sum(out).backward();
    return n;
  };
  const std::size_t plain = nodes_after_forward(0), ck = nodes_after_forward(nn::kCheckpointAuto);
  // segments of 10 steps: 9 checkpoint nodes, then 10 steps recorded plainly (each at least one
  // node); the output stack records one node per step in both
  CHECK(count_checkpoints == 9);
  CHECK(ck + 90 - 9 <= plain);
  CHECK(nodes_after_forward(25) < plain);
  CHECK(count_checkpoints == 3);
  // after backward the tape has rewound: the re-run nodes were released with the rest
  CHECK(Tape::current().num_nodes() == 0);
}

TEST_CASE("checkpoint: with a HiddenGradMonitor attached the loop runs plain (every h_t on the tape)") {
  constexpr std::int64_t T = 9, B = 2, F = 3, H = 4;
  const Tensor x = agt::input({T, B, F}, 0.4, 1.0, 0.0, false);
  auto norms = [&](std::int64_t every) {
    manual_seed(8);
    nn::GRU gru(nn::RNNOptions(F, H).dtype(kFloat64).checkpoint_every(every));
    nn::HiddenGradMonitor m;
    gru->monitor = &m;
    const Tensor out = std::get<0>(gru(x));
    sum(select(out, 0, T - 1)).backward();
    return m.grad_norms();
  };
  const auto a = norms(0), b = norms(3);
  REQUIRE(a.size() == static_cast<std::size_t>(T));
  REQUIRE(b.size() == a.size());
  for (std::size_t t = 0; t < a.size(); ++t) CHECK(a[t] == b[t]);
  CHECK(a[0] > 0.0);
}
