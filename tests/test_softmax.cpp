// logsumexp, softmax and log_softmax: values, gradients, stability at extreme inputs.
#include <cmath>
#include <limits>

#include "test_util.h"

using namespace ag;

namespace {

const double kInf = std::numeric_limits<double>::infinity();

void check_finite(const Tensor& t) {
  for (double v : t.to_vector<double>()) {
    INFO("value " << v);
    CHECK(std::isfinite(v));
  }
}

}  // namespace

TEST_CASE("softmax family: forward values against hand-computed numbers") {
  Tensor x = tensor({1, 2, 3}, {3}, kFloat64);
  const double e1 = std::exp(1.0), e2 = std::exp(2.0), e3 = std::exp(3.0), z = e1 + e2 + e3;
  agt::check_values(softmax(x, 0), {e1 / z, e2 / z, e3 / z});
  agt::check_values(log_softmax(x, -1), {1 - std::log(z), 2 - std::log(z), 3 - std::log(z)});
  Tensor l = logsumexp(x, 0);
  CHECK(l.dim() == 0);
  CHECK(l.item<double>() == doctest::Approx(3.40760596444438).epsilon(1e-14));

  // [[1, 2], [3, 5]]: over dim 0 the columns, over dim 1 the rows.
  Tensor m = tensor({1, 2, 3, 5}, {2, 2}, kFloat64);
  const double s0 = 1 / (1 + std::exp(2.0)), s1 = 1 / (1 + std::exp(3.0));
  agt::check_values(softmax(m, 0), {s0, s1, 1 - s0, 1 - s1});
  const double r0 = 1 / (1 + std::exp(1.0)), r1 = 1 / (1 + std::exp(2.0));
  agt::check_values(softmax(m, 1), {r0, 1 - r0, r1, 1 - r1});
  agt::check_values(log_softmax(m, 1), {std::log(r0), std::log(1 - r0), std::log(r1), std::log(1 - r1)});
  Tensor lk = logsumexp(m, 1, true);
  CHECK(lk.shape() == Shape{2, 1});
  agt::check_values(lk, {std::log(e1 + e2), std::log(e3 + std::exp(5.0))});
  agt::check_values(logsumexp(m, 0), {std::log(e1 + e3), std::log(e2 + std::exp(5.0))});

  // float32 agrees with float64 to float32 precision.
  Tensor f = tensor({1, 2, 3, 5}, {2, 2}, kFloat32);
  CHECK(softmax(f, 1).dtype() == kFloat32);
  agt::check_values(softmax(f, 1), {r0, 1 - r0, r1, 1 - r1}, 1e-6);
  agt::check_values(logsumexp(f, 0), {std::log(e1 + e3), std::log(e2 + std::exp(5.0))}, 1e-6);

  // A 0-d input is a slice of one element; an empty dim gives an empty softmax and logsumexp -inf.
  Tensor s = scalar_tensor(0.3, kFloat64);
  CHECK(softmax(s, 0).item<double>() == 1.0);
  CHECK(log_softmax(s, -1).item<double>() == 0.0);
  CHECK(logsumexp(s, 0).item<double>() == doctest::Approx(0.3).epsilon(1e-15));
  CHECK(softmax(zeros({2, 0}, kFloat64), 1).shape() == Shape{2, 0});
  Tensor le = logsumexp(zeros({2, 0}, kFloat64), 1);
  CHECK(le.shape() == Shape{2});
  CHECK(le.to_vector<double>() == std::vector<double>{-kInf, -kInf});
}

TEST_CASE("softmax family: rows of a 3-D softmax sum to 1 and log_softmax = x - logsumexp") {
  Tensor x = agt::input({2, 3, 4}, 0.5, 3.0, 0.0, false);
  for (std::int64_t d = 0; d < 3; ++d) {
    CAPTURE(d);
    agt::check_values(sum(softmax(x, d), d), std::vector<double>(static_cast<std::size_t>(24 / x.size(d)), 1.0), 1e-14);
    agt::check_values(log_softmax(x, d), (x - logsumexp(x, d, true)).to_vector<double>(), 1e-13);
    agt::check_values(exp(log_softmax(x, d)), softmax(x, d).to_vector<double>(), 1e-13);
    agt::check_values(logsumexp(x, d), log(sum(exp(x), d)).to_vector<double>(), 1e-13);
  }
}

TEST_CASE("softmax family: each is one recorded op") {
  Tensor x = agt::input({2, 3});
  Tape& tape = Tape::current();
  const auto before = tape.num_nodes();
  Tensor a = softmax(x, 1);
  CHECK(tape.num_nodes() == before + 1);
  Tensor b = log_softmax(x, 0);
  CHECK(tape.num_nodes() == before + 2);
  Tensor c = logsumexp(x, 1);
  CHECK(tape.num_nodes() == before + 3);
}

TEST_CASE("softmax family: gradcheck and gradgradcheck over every dim of a 3-D input") {
  Tensor x = agt::input({2, 3, 4});
  for (std::int64_t d = -3; d < 3; ++d) {
    CAPTURE(d);
    agt::check_gradients([d](const std::vector<Tensor>& in) { return softmax(in[0], d); }, {x});
    agt::check_gradients([d](const std::vector<Tensor>& in) { return log_softmax(in[0], d); }, {x});
    for (bool keep : {false, true}) {
      CAPTURE(keep);
      agt::check_gradients([d, keep](const std::vector<Tensor>& in) { return logsumexp(in[0], d, keep); }, {x});
    }
  }
  for (std::int64_t d = 0; d < 3; ++d) {
    CAPTURE(d);
    agt::check_second_gradients([d](const std::vector<Tensor>& in) { return softmax(in[0], d); }, {x});
    agt::check_second_gradients([d](const std::vector<Tensor>& in) { return log_softmax(in[0], d); }, {x});
    agt::check_second_gradients([d](const std::vector<Tensor>& in) { return logsumexp(in[0], d); }, {x});
    agt::check_second_gradients([d](const std::vector<Tensor>& in) { return logsumexp(in[0], d, true); }, {x});
  }
  // Reuse of the input next to the op, and a 0-d input.
  agt::check_gradients([](const std::vector<Tensor>& in) { return softmax(in[0], 1) * in[0]; }, {x});
  agt::check_second_gradients([](const std::vector<Tensor>& in) { return log_softmax(in[0], 2) * in[0]; }, {x});
  Tensor s = scalar_tensor(0.6, kFloat64).requires_grad_();
  agt::check_gradients([](const std::vector<Tensor>& in) { return softmax(in[0], 0) * in[0]; }, {s});
  agt::check_gradients([](const std::vector<Tensor>& in) { return log_softmax(in[0], 0) + in[0]; }, {s});
  agt::check_gradients([](const std::vector<Tensor>& in) { return logsumexp(in[0], -1); }, {s});
  agt::check_second_gradients([](const std::vector<Tensor>& in) { return logsumexp(in[0] * in[0], 0); }, {s});
}

TEST_CASE("softmax family: gradients against hand-computed numbers") {
  Tensor x = tensor({0.0, std::log(3.0)}, {2}, kFloat64).requires_grad_();  // softmax = [1/4, 3/4]
  Tensor g = tensor({1.0, 2.0}, {2}, kFloat64);
  softmax(x, 0).backward(g);
  // y * (g - <g, y>) with <g, y> = 7/4
  agt::check_values(x.grad(), {0.25 * (1 - 1.75), 0.75 * (2 - 1.75)});
  x.set_grad(Tensor());
  log_softmax(x, 0).backward(g);
  agt::check_values(x.grad(), {1 - 0.25 * 3, 2 - 0.75 * 3});
  x.set_grad(Tensor());
  (logsumexp(x, 0) * 2.0).backward();
  agt::check_values(x.grad(), {0.5, 1.5});
}

TEST_CASE("softmax family: stable and exact at +-1e3 and +-1e30, with finite gradients") {
  for (Dtype dt : {kFloat64, kFloat32}) {
    CAPTURE(dt == kFloat32);
    Tensor big = tensor({1e30, 0.0}, {2}, dt).requires_grad_();
    Tensor ls = log_softmax(big, 0);
    check_finite(ls);
    const double minus_big = dt == kFloat32 ? static_cast<double>(-1e30f) : -1e30;
    CHECK(ls.to_vector<double>() == std::vector<double>{0.0, minus_big});
    ls.backward(tensor({1.0, 2.0}, {2}, dt));
    check_finite(big.grad());
    agt::check_values(big.grad(), {-2.0, 2.0});

    Tensor sm_in = tensor({1e30, -1e30, 0.0}, {3}, dt).requires_grad_();
    Tensor sm = softmax(sm_in, 0);
    CHECK(sm.to_vector<double>() == std::vector<double>{1.0, 0.0, 0.0});
    sm.backward(tensor({1.0, 2.0, 3.0}, {3}, dt));
    check_finite(sm_in.grad());
    agt::check_values(sm_in.grad(), {0.0, 0.0, 0.0});

    Tensor lse_in = tensor({1e30, 0.0, -1e30, -1e30}, {2, 2}, dt).requires_grad_();
    Tensor lse = logsumexp(lse_in, 1);
    check_finite(lse);
    agt::check_values(lse, {1e30, -1e30}, dt == kFloat32 ? 1e-7 : 1e-15);
    lse.backward(tensor({1.0, 1.0}, {2}, dt));
    check_finite(lse_in.grad());
    agt::check_values(lse_in.grad(), {1.0, 0.0, 0.5, 0.5});

    Tensor k = tensor({1000.0, 0.0, -1000.0, -1000.0, -1000.0, -1000.0}, {2, 3}, dt).requires_grad_();
    agt::check_values(log_softmax(k, 1), {0.0, -1000.0, -2000.0, -std::log(3.0), -std::log(3.0), -std::log(3.0)}, 1e-6);
    agt::check_values(softmax(k, 1), {1.0, 0.0, 0.0, 1.0 / 3, 1.0 / 3, 1.0 / 3}, 1e-6);
    Tensor kl = logsumexp(k, 1);
    agt::check_values(kl, {1000.0, -1000.0 + std::log(3.0)}, 1e-7);
    kl.backward(tensor({1.0, 3.0}, {2}, dt));
    agt::check_values(k.grad(), {1.0, 0.0, 0.0, 1.0, 1.0, 1.0}, 1e-6);
    check_finite(k.grad());
    k.set_grad(Tensor());
    sum(log_softmax(k, 0) * tensor({1, 2, 3, 4, 5, 6}, {2, 3}, dt)).backward();
    check_finite(k.grad());
    // columns: softmax [1, 0], [1, 0], [1/2, 1/2]; grad = g - softmax * sum(g)
    agt::check_values(k.grad(), {1.0 - 5.0, 2.0 - 7.0, 3.0 - 4.5, 4.0, 5.0, 6.0 - 4.5}, 1e-6);
  }
}

TEST_CASE("softmax family: infinite inputs give libtorch's limits") {
  Tensor a = tensor({-kInf, -kInf}, {2}, kFloat64);
  CHECK(logsumexp(a, 0).item<double>() == -kInf);
  Tensor b = tensor({kInf, 0.0}, {2}, kFloat64);
  CHECK(logsumexp(b, 0).item<double>() == kInf);
  Tensor c = tensor({-kInf, 0.0}, {2}, kFloat64);
  CHECK(log_softmax(c, 0).to_vector<double>() == std::vector<double>{-kInf, 0.0});
  CHECK(softmax(c, 0).to_vector<double>() == std::vector<double>{0.0, 1.0});
  CHECK(logsumexp(c, 0).item<double>() == 0.0);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Tensor d = tensor({1.0, nan}, {2}, kFloat64);
  CHECK(std::isnan(logsumexp(d, 0).item<double>()));
  for (double v : softmax(d, 0).to_vector<double>()) CHECK(std::isnan(v));
}

TEST_CASE("softmax family: bad dims and int64 inputs throw ag::Error") {
  Tensor x = ones({2, 3}, kFloat64);
  CHECK_THROWS_AS(softmax(x, 2), Error);
  CHECK_THROWS_AS(log_softmax(x, -3), Error);
  CHECK_THROWS_AS(logsumexp(x, 2), Error);
  CHECK_THROWS_AS(softmax(scalar_tensor(1.0), 1), Error);
  CHECK_THROWS_AS(softmax(Tensor(), 0), Error);
  Tensor l = tensor(std::vector<std::int64_t>{1, 2, 3}, {3});
  CHECK_THROWS_AS(softmax(l, 0), Error);
  CHECK_THROWS_AS(log_softmax(l, 0), Error);
  CHECK_THROWS_AS(logsumexp(l, 0), Error);
  try {
    log_softmax(l, 0);
  } catch (const Error& e) {
    const std::string msg = e.what();
    CHECK(msg.find("log_softmax") != std::string::npos);
    CHECK(msg.find("int64[3]") != std::string::npos);
  }
}
