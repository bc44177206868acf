// Forward-mode AD (autograd/forward_ad.h, autograd/forward_grad.h): dual levels, make_dual and
// unpack_dual, the JVP rules' plumbing, custom Functions with and without jvp, the errors, and
// forward mode against finite differences and reverse mode through gradcheck(check_forward_ad).
// Each op's JVP rule is checked next to its gradcheck in the op's own test file.
#include <doctest/doctest.h>

#include "test_util.h"

using namespace ag;
namespace fw = ag::autograd::forward_ad;

namespace {

struct Cube : Function<Cube> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x) {
    ctx->save_for_backward({x});
    return x * x * x;
  }
  static std::vector<Tensor> backward(AutogradContext* ctx, const std::vector<Tensor>& g) {
    const Tensor x = ctx->get_saved_variables()[0];
    return {g[0] * 3.0 * x * x};
  }
  static Tensor jvp(AutogradContext* ctx, const std::vector<Tensor>& t) {
    const Tensor x = ctx->get_saved_variables()[0];
    return t[0] * 3.0 * x * x;
  }
};

struct CubeNoJvp : Function<CubeNoJvp> {
  static Tensor forward(AutogradContext*, const Tensor& x) { return x * x * x; }
  static std::vector<Tensor> backward(AutogradContext*, const std::vector<Tensor>& g) { return {g[0]}; }
};

}  // namespace

TEST_CASE("forward_ad: make_dual, unpack_dual and the level's lifetime") {
  const Tensor x = agt::input({3}, 1.0, 1.0, 0.0, false);
  const Tensor v = agt::input({3}, 2.0, 1.0, 0.0, false);
  CHECK_FALSE(fw::is_active());
  Tensor y;
  {
    fw::dual_level level;
    CHECK(fw::is_active());
    const Tensor d = fw::make_dual(x, v);
    CHECK(d.shape() == x.shape());
    auto [p, t] = fw::unpack_dual(d);
    agt::check_values(p, x.to_vector<double>(), 1e-300);
    agt::check_values(t, v.to_vector<double>(), 1e-300);
    CHECK_FALSE(fw::unpack_dual(x).tangent.defined());  // the primal itself carries none
    y = exp(d);
    const Tensor ty = fw::unpack_dual(y).tangent;
    REQUIRE(ty.defined());
    const auto xv = x.to_vector<double>(), vv = v.to_vector<double>(), tv = ty.to_vector<double>();
    for (std::size_t i = 0; i < 3; ++i) CHECK(tv[i] == doctest::Approx(std::exp(xv[i]) * vv[i]).epsilon(1e-15));
    // the primal of unpack_dual carries no tangent: ops on it propagate none
    CHECK_FALSE(fw::unpack_dual(exp(p)).tangent.defined());
    // make_dual is a view of the primal
    CHECK(d.data_ptr<double>() == x.data_ptr<double>());
  }
  CHECK_FALSE(fw::is_active());
  CHECK_FALSE(fw::unpack_dual(y).tangent.defined());  // leaving the level forgets its tangents
}

TEST_CASE("forward_ad: errors") {
  const Tensor x = agt::input({3}, 1.0, 1.0, 0.0, false);
  CHECK(agt::error_message([&] { (void)fw::make_dual(x, x); }).find("no forward-AD level is active") !=
        std::string::npos);
  fw::dual_level level;
  CHECK(agt::error_message([] { fw::dual_level nested; }).find("nested") != std::string::npos);
  const std::string shape = agt::error_message([&] { (void)fw::make_dual(x, agt::input({4}, 1.0)); });
  CHECK(shape.find("make_dual") != std::string::npos);
  CHECK(shape.find("float64[4]") != std::string::npos);
  CHECK(shape.find("float64[3]") != std::string::npos);
  const std::string dt = agt::error_message([&] { (void)fw::make_dual(x, x.to(kFloat32)); });
  CHECK(dt.find("float32[3]") != std::string::npos);
  const Tensor d = fw::make_dual(x, ones({3}, kFloat64));
  const std::string ff = agt::error_message([&] { (void)fw::make_dual(x, d); });
  CHECK(ff.find("forward over forward") != std::string::npos);
  const std::string fn = agt::error_message([&] { (void)CubeNoJvp::apply(d); });
  CHECK(fn.find("CubeNoJvp") != std::string::npos);
  CHECK(fn.find("jvp") != std::string::npos);
}

TEST_CASE("forward_ad: custom Function jvp") {
  const Tensor x = agt::input({4}, 1.0);
  agt::check_forward_gradients([](const std::vector<Tensor>& in) { return Cube::apply(in[0]); }, {x});
  fw::dual_level level;
  const Tensor t = fw::unpack_dual(Cube::apply(fw::make_dual(x.detach(), ones({4}, kFloat64)))).tangent;
  const auto xv = x.to_vector<double>(), tv = t.to_vector<double>();
  for (std::size_t i = 0; i < 4; ++i) CHECK(tv[i] == doctest::Approx(3 * xv[i] * xv[i]).epsilon(1e-15));
  // without a tangent on its input it needs no jvp
  CHECK_FALSE(fw::unpack_dual(CubeNoJvp::apply(x.detach())).tangent.defined());
}

TEST_CASE("forward_ad: independent of grad mode, and reverse over forward") {
  const Tensor x = agt::input({3}, 1.0, 1.0, 0.2);
  const Tensor v = agt::input({3}, 2.0, 1.0, 0.0, false);
  fw::dual_level level;
  {
    NoGradGuard ng;
    const Tensor t = fw::unpack_dual(mul(exp(fw::make_dual(x, v)), 2.0)).tangent;
    REQUIRE(t.defined());
    CHECK_FALSE(t.requires_grad());
  }
  // d/dx sum(tangent of exp(x)) with tangent v: sum(exp(x) v) -> exp(x) v
  const Tensor t = fw::unpack_dual(exp(fw::make_dual(x, v))).tangent;
  REQUIRE(t.requires_grad());
  const Tensor g = ag::grad({t.sum()}, {x})[0];
  const auto xv = x.to_vector<double>(), vv = v.to_vector<double>(), gv = g.to_vector<double>();
  for (std::size_t i = 0; i < 3; ++i) CHECK(gv[i] == doctest::Approx(std::exp(xv[i]) * vv[i]).epsilon(1e-14));
}

TEST_CASE("forward_ad: arithmetic with broadcasting, against finite differences and reverse mode") {
  const Tensor a = agt::input({2, 3}, 1.0);
  const Tensor b = agt::input({3}, 2.0, 0.5, 2.0);
  agt::check_forward_gradients(
      [](const std::vector<Tensor>& in) {
        const Tensor& p = in[0];
        const Tensor& q = in[1];
        return div(mul(add(p, q), sub(q, p)), q) + pow(p, 3.0) * 0.5 - neg(p) / 2.0 + 1.0 / q - (2.0 - p) +
               exp(p * 0.3);
      },
      {a, b});
  agt::check_forward_gradients([](const std::vector<Tensor>& in) { return mul(in[0], in[1]); },
                               {a, b.detach()});  // one input constant
  agt::check_forward_gradients([](const std::vector<Tensor>& in) { return mul(in[0], in[1]); }, {a, b},
                               GradcheckOptions().set_fast_mode(true));
}

TEST_CASE("forward_ad: LSTM and GRU cells give the same tangents from the forward's buffers as recomputed") {
  // with no input requiring grad the rules read the forward's activations; with one, they recompute
  // the gates with ops (differentiable): both must give the same tangents
  const std::int64_t B = 3, I = 4, H = 5;
  auto run = [&](bool requires_grad, bool gru, bool gates) {
    auto in = [&](const Shape& s, double seed) { return agt::input(s, seed, 0.5, 0.0, requires_grad); };
    const Tensor x = in({B, gates ? (gru ? 3 : 4) * H : I}, 1.0), h = in({B, H}, 2.0), c = in({B, H}, 3.0);
    const Tensor w_ih = in({(gru ? 3 : 4) * H, I}, 4.0), w_hh = in({(gru ? 3 : 4) * H, H}, 5.0);
    const Tensor b_ih = in({(gru ? 3 : 4) * H}, 6.0), b_hh = in({(gru ? 3 : 4) * H}, 7.0);
    fw::dual_level level;
    auto dual = [](const Tensor& t, double seed) {
      return fw::make_dual(t, agt::input(t.shape(), seed, 1.0, 0.0, false));
    };
    const Tensor dx = dual(x, 11.0), dh = dual(h, 12.0), dc = dual(c, 13.0), dwh = dual(w_hh, 15.0),
                 dbh = dual(b_hh, 17.0);
    std::vector<Tensor> ts;
    if (gru) {
      const Tensor y = gates ? fused_gru_cell_gates(dx, dh, dwh, dbh)
                             : fused_gru_cell(dx, dh, dual(w_ih, 14.0), dwh, dual(b_ih, 16.0), dbh);
      ts.push_back(fw::unpack_dual(y).tangent.detach());
    } else {
      auto [h2, c2] = gates ? fused_lstm_cell_gates(dx, dh, dc, dwh, dbh)
                            : fused_lstm_cell(dx, dh, dc, dual(w_ih, 14.0), dwh, dual(b_ih, 16.0), dbh);
      ts.push_back(fw::unpack_dual(h2).tangent.detach());
      ts.push_back(fw::unpack_dual(c2).tangent.detach());
    }
    return ts;
  };
  for (bool gru : {false, true})
    for (bool gates : {false, true}) {
      INFO("gru " << gru << " gates " << gates);
      const auto plain = run(false, gru, gates), recorded = run(true, gru, gates);
      REQUIRE(plain.size() == recorded.size());
      for (std::size_t k = 0; k < plain.size(); ++k)
        agt::check_values(plain[k], recorded[k].to_vector<double>(), 1e-13);
    }
}
