// Backpropagation through time: truncated BPTT windows and per-step hidden-state gradient norms.
#include <cmath>
#include <vector>

#include "nn/nn.h"
#include "test_util.h"

using namespace ag;

namespace {

void fill_params(const nn::Module& m, double scale) {
  NoGradGuard g;
  for (auto& it : m.named_parameters()) {
    Tensor p = it.value();
    p.copy_(agt::input(p.shape(), 2.0 * static_cast<double>(it.key().size()), scale, 0.0, false));
  }
}

std::vector<std::vector<double>> grads_of(const nn::Module& m) {
  std::vector<std::vector<double>> out;
  for (const auto& p : m.parameters()) {
    REQUIRE(p.grad().defined());
    out.push_back(p.grad().to_vector<double>());
  }
  return out;
}

void check_same(const std::vector<double>& a, const std::vector<double>& b, double rtol) {
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    INFO("element " << i << ": " << a[i] << " vs " << b[i]);
    CHECK(std::abs(a[i] - b[i]) <= rtol * std::max(1.0, std::abs(b[i])));
  }
}

}  // namespace

TEST_CASE(
    "nn bptt: truncated_bptt windows give the gradients of full BPTT over each window from the same detached state") {
  nn::RNN rnn(nn::RNNOptions(2, 3).dtype(kFloat64));
  fill_params(*rnn, 0.6);
  const std::int64_t T = 12, k = 4;
  const Tensor seq = agt::input({T, 2, 2}, 0.4, 1.0, 0.0, false);
  const Tensor h0 = agt::input({1, 2, 3}, 1.1, 0.5, 0.0, false);
  Tape& tape = Tape::current();
  std::vector<std::int64_t> t0s;
  std::vector<Tensor> starts;
  std::vector<std::vector<double>> ends;
  std::vector<std::vector<std::vector<double>>> window_grads;
  const Tensor last = nn::truncated_bptt(seq, k, h0, [&](const Tensor& chunk, std::int64_t t0, const Tensor& state) {
    CHECK(tape.num_nodes() == 0);  // nothing of the previous window is left on the tape
    CHECK_FALSE(state.requires_grad());
    CHECK(chunk.size(0) == k);
    t0s.push_back(t0);
    starts.push_back(state.clone());
    if (!ends.empty()) check_same(state.to_vector<double>(), ends.back(), 0.0);  // carried values unchanged
    rnn->zero_grad();
    auto [out, h] = rnn(chunk, state);
    Tensor loss = sum(out * out) + sum(h);
    loss.backward();
    CHECK(tape.num_nodes() == 0);  // the backward consumed this window's graph and rewound the tape
    window_grads.push_back(grads_of(*rnn));
    ends.push_back(h.to_vector<double>());
    return h;
  });
  REQUIRE(t0s == std::vector<std::int64_t>{0, 4, 8});
  CHECK_FALSE(last.requires_grad());
  check_same(last.to_vector<double>(), ends.back(), 0.0);

  for (std::size_t w = 0; w < 3; ++w) {
    CAPTURE(w);
    rnn->zero_grad();
    auto [out, h] = rnn(narrow(seq, 0, t0s[w], k), starts[w]);
    (sum(out * out) + sum(h)).backward();
    const auto full = grads_of(*rnn);
    for (std::size_t p = 0; p < full.size(); ++p) check_same(window_grads[w][p], full[p], 1e-12);
  }
  // the carried state is the full forward's state at each window boundary
  NoGradGuard g;
  for (std::size_t w = 0; w < 3; ++w) {
    auto [out, h] = rnn(narrow(seq, 0, 0, k * static_cast<std::int64_t>(w + 1)), h0);
    check_same(ends[w], h.to_vector<double>(), 1e-14);
  }
}

TEST_CASE("nn bptt: truncated_bptt carries an LSTM's (h, c) and handles a shorter last window") {
  nn::LSTM lstm(nn::LSTMOptions(2, 3).dtype(kFloat64));
  fill_params(*lstm, 0.6);
  const Tensor seq = agt::input({10, 2, 2}, 0.4, 1.0, 0.0, false);
  std::vector<std::int64_t> lengths;
  using State = std::tuple<Tensor, Tensor>;
  const State final_state =
      nn::truncated_bptt(seq, 4, State{}, [&](const Tensor& chunk, std::int64_t, const State& st) {
        CHECK(Tape::current().num_nodes() == 0);
        if (!lengths.empty()) {
          CHECK_FALSE(std::get<0>(st).requires_grad());
          CHECK_FALSE(std::get<1>(st).requires_grad());
        }
        lengths.push_back(chunk.size(0));
        auto [out, next] = lstm(chunk, st);
        (sum(out) + sum(std::get<0>(next)) + sum(std::get<1>(next))).backward();
        CHECK(Tape::current().num_nodes() == 0);
        return next;
      });
  CHECK(lengths == std::vector<std::int64_t>{4, 4, 2});
  NoGradGuard g;
  auto [out, full] = lstm(seq);
  agt::check_values(std::get<0>(final_state), std::get<0>(full).to_vector<double>(), 1e-14);
  agt::check_values(std::get<1>(final_state), std::get<1>(full).to_vector<double>(), 1e-14);
}

TEST_CASE("nn bptt: truncated_bptt misuse throws ag::Error") {
  auto id = [](const Tensor&, std::int64_t, const Tensor& s) { return s; };
  CHECK_THROWS_AS(nn::truncated_bptt(zeros({4, 1}, kFloat64), 0, Tensor(), id), Error);
  CHECK_THROWS_AS(nn::truncated_bptt(zeros({4, 1}, kFloat64), -2, Tensor(), id), Error);
  CHECK_THROWS_AS(nn::truncated_bptt(scalar_tensor(1.0, kFloat64), 2, Tensor(), id), Error);
  nn::HiddenGradMonitor mon;
  CHECK_THROWS_AS(mon.watch(zeros({2}, kFloat64)), Error);
  CHECK(mon.size() == 0);
}

TEST_CASE("nn bptt: HiddenGradMonitor shows the gradient vanishing through a saturated tanh RNN") {
  const std::int64_t T = 30, B = 2, H = 4;
  nn::RNN rnn(nn::RNNOptions(3, H).dtype(kFloat64));
  fill_params(*rnn, 3.0);  // |pre-activations| of several units: tanh saturates
  nn::HiddenGradMonitor mon;
  rnn->monitor = &mon;
  const Tensor x = agt::input({T, B, 3}, 0.4, 1.0, 0.0, false);
  auto [out, hn] = rnn(x);
  REQUIRE(mon.size() == static_cast<std::size_t>(T));
  sum(select(out, 0, T - 1)).backward();  // loss on the last step only
  const auto norms = mon.grad_norms();
  REQUIRE(norms.size() == static_cast<std::size_t>(T));
  std::string shown;
  for (auto v : norms) shown += fmt::format("{:.3g} ", v);
  MESSAGE("||dL/dh_t||, t = 0..29: " << shown);
  CHECK(norms[T - 1] == doctest::Approx(std::sqrt(static_cast<double>(B * H))).epsilon(1e-14));
  CHECK(norms[0] < 1e-3 * norms[T - 1]);
  for (std::int64_t t = T - 1; t > T - 6; --t) {
    CAPTURE(t);
    CHECK(norms[t - 1] <= norms[t]);
  }

  // each norm is ||dL/dh_t|| computed independently with ag::grad over the same unrolled cells
  const auto& l = rnn->layers[0];
  std::vector<Tensor> hs;
  Tensor h = zeros({B, H}, kFloat64);
  for (std::int64_t t = 0; t < T; ++t)
    hs.push_back(h = nn::functional::rnn_cell(select(x, 0, t), h, l.w_ih, l.w_hh, l.b_ih, l.b_hh));
  const auto gs = grad({sum(hs.back())}, hs, {}, false, false, true);
  for (std::int64_t t = 0; t < T; ++t) {
    CAPTURE(t);
    double s = 0;
    for (double v : gs[static_cast<std::size_t>(t)].to_vector<double>()) s += v * v;
    CHECK(norms[t] == doctest::Approx(std::sqrt(s)).epsilon(1e-12));
  }
}

TEST_CASE("nn bptt: with small weights the gradient shrinks at every step going back in time") {
  const std::int64_t T = 30;
  nn::RNN rnn(nn::RNNOptions(3, 4).dtype(kFloat64));
  fill_params(*rnn, 0.2);  // ||W_hh|| < 1 and tanh' <= 1: a contraction
  nn::HiddenGradMonitor mon;
  rnn->monitor = &mon;
  auto [out, hn] = rnn(agt::input({T, 2, 3}, 0.4, 1.0, 0.0, false));
  sum(hn).backward();
  const auto norms = mon.grad_norms();
  REQUIRE(norms.size() == static_cast<std::size_t>(T));
  MESSAGE("small weights: ||dL/dh_0|| = " << norms[0] << ", ||dL/dh_28|| = " << norms[T - 2]);
  CHECK(norms[T - 1] == doctest::Approx(std::sqrt(8.0)).epsilon(1e-14));
  for (std::int64_t t = 1; t < T; ++t) {
    CAPTURE(t);
    CHECK(norms[t - 1] < norms[t]);
  }
  CHECK(norms[0] < 1e-3 * norms[T - 1]);
}

TEST_CASE("nn bptt: HiddenGradMonitor sees sqrt(B*H) at the last step for loss = sum(h_T), and is reset per forward") {
  const std::int64_t T = 5, B = 3, H = 2;
  nn::GRU gru(nn::GRUOptions(2, H).num_layers(2).dtype(kFloat64));
  fill_params(*gru, 0.5);
  nn::HiddenGradMonitor mon;
  gru->monitor = &mon;
  const Tensor x = agt::input({T, B, 2}, 0.7, 1.0, 0.0, false);
  auto [out, hn] = gru(x);
  CHECK(mon.size() == static_cast<std::size_t>(T));  // the last layer only
  sum(select(hn, 0, 1)).backward();
  auto norms = mon.grad_norms();
  CHECK(norms.back() == doctest::Approx(std::sqrt(static_cast<double>(B * H))).epsilon(1e-14));
  for (double v : norms) CHECK(v > 0);
  // a second forward starts a new record; without backward no gradient reached it
  auto again = gru(x);
  CHECK(mon.size() == static_cast<std::size_t>(T));
  for (double v : mon.grad_norms()) CHECK(v == 0.0);
  {
    NoGradGuard g;
    auto nothing = gru(x);
    CHECK(mon.size() == 0);
  }
  gru->monitor = nullptr;
  auto unwatched = gru(x);
  CHECK(mon.size() == 0);
  // the gradients of a later backward do not leak into the states of an earlier record
  auto [o2, h2] = gru(x);
  mon.clear();
  sum(o2).backward();
  CHECK(mon.size() == 0);
}

TEST_CASE("nn bptt: a monitor's norms belong to its own backward, not to later graphs") {
  nn::RNN rnn(nn::RNNOptions(2, 3).dtype(kFloat64));
  fill_params(*rnn, 0.5);
  nn::HiddenGradMonitor mon;
  rnn->monitor = &mon;
  const Tensor x = agt::input({4, 2, 2}, 0.7, 1.0, 0.0, false);
  {
    auto [out, hn] = rnn(x);
    sum(hn).backward();
  }
  const auto before = mon.grad_norms();
  CHECK(before.back() == doctest::Approx(std::sqrt(6.0)).epsilon(1e-14));
  rnn->monitor = nullptr;
  for (int i = 0; i < 2; ++i) {
    auto [out, hn] = rnn(x * 3.0);
    (sum(out * out) * 10.0).backward();
  }
  CHECK(mon.grad_norms() == before);
}
