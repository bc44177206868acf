// Parity with PyTorch 1.13 (float64): every case of tests/data/torch_reference.json is rebuilt here
// from ag ops, and its value and every gradient must match to 1e-10 relative (1e-12 absolute near 0).
#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <tuple>

#include <nlohmann/json.hpp>

#include "nn/reference_cells.h"
#include "parity_util.h"
#include "test_util.h"

using namespace ag;
using json = nlohmann::json;

namespace {

using agt::parity::CaseFn;
using agt::parity::check_close;
using agt::parity::Inputs;
using agt::parity::make_input;
using agt::parity::reference;

Tensor idx(const std::vector<std::int64_t>& v, const Shape& shape = {}) { return tensor(v, shape, kInt64); }

/// F.binary_cross_entropy(p, y): mean of -(y max(log p, -100) + (1 - y) max(log(1 - p), -100)).
Tensor bce_loss(const Tensor& p, const Tensor& y) {
  const Tensor lp = clamp_min(log(p), -100.0);
  const Tensor lq = clamp_min(log(1.0 - p), -100.0);
  return neg(mean(y * lp + (1.0 - y) * lq));
}

/// F.binary_cross_entropy_with_logits(z, y), stable: mean of max(z, 0) - z y + log(1 + exp(-|z|)).
Tensor bce_with_logits(const Tensor& z, const Tensor& y) { return mean(relu(z) - z * y + softplus(neg(abs(z)))); }

const std::map<std::string, CaseFn>& cases() {
  static const std::map<std::string, CaseFn> m = {
      {"add_broadcast", [](const Inputs& in, const json&) { return sum((in.at("a") + in.at("b")) * in.at("w")); }},
      {"sub_broadcast", [](const Inputs& in, const json&) { return sum(pow(in.at("a") - in.at("b"), 2.0)); }},
      {"mul_scalar", [](const Inputs& in, const json&) { return sum(2.5 * in.at("a") * in.at("a")); }},
      {"div", [](const Inputs& in, const json&) { return sum(in.at("a") / in.at("b")); }},
      {"neg_pow", [](const Inputs& in, const json&) { return sum(-pow(in.at("a"), 3.0)) + sum(pow(in.at("b"), 0.5)); }},
      {"exp_log", [](const Inputs& in, const json&) { return sum(exp(in.at("a"))) + sum(log(in.at("b"))); }},
      {"sqrt_abs", [](const Inputs& in, const json&) { return sum(sqrt(in.at("b"))) + sum(abs(in.at("a"))); }},
      {"clamp", [](const Inputs& in, const json&) { return sum(clamp(in.at("a"), -0.5, 0.6) * in.at("w")); }},
      {"sigmoid", [](const Inputs& in, const json&) { return sum(sigmoid(3.0 * in.at("a")) * in.at("w")); }},
      {"tanh", [](const Inputs& in, const json&) { return sum(tanh(2.0 * in.at("a")) * in.at("w")); }},
      {"relu", [](const Inputs& in, const json&) { return sum(relu(in.at("a")) * in.at("w")); }},
      {"leaky_relu", [](const Inputs& in, const json&) { return sum(leaky_relu(in.at("a"), 0.2) * in.at("w")); }},
      {"softplus", [](const Inputs& in, const json&) { return sum(softplus(4.0 * in.at("a")) * in.at("w")); }},
      {"where",
       [](const Inputs& in, const json&) {
         const Tensor& a = in.at("a");
         const Tensor& b = in.at("b");
         return sum(where(a > 0.0, a * b, pow(b, 2.0)));
       }},
      {"matmul_2d", [](const Inputs& in, const json&) { return sum(tanh(matmul(in.at("a"), in.at("b")))); }},
      {"matmul_vec", [](const Inputs& in, const json&) { return sum(pow(matmul(in.at("a"), in.at("v")), 2.0)); }},
      {"matmul_batched_broadcast",
       [](const Inputs& in, const json&) { return sum(sigmoid(matmul(in.at("a"), in.at("b")))); }},
      {"transpose_reshape",
       [](const Inputs& in, const json&) { return sum(reshape(transpose(in.at("a"), 0, 1), {6}) * in.at("w")); }},
      {"squeeze_unsqueeze_expand",
       [](const Inputs& in, const json&) {
         return sum(expand(unsqueeze(in.at("a"), 1), {3, 4}) * in.at("w"));
       }},
      {"sum_dim_keepdim", [](const Inputs& in, const json&) { return sum(pow(sum(in.at("a"), 1, true), 2.0)); }},
      {"mean_dim", [](const Inputs& in, const json&) { return sum(mean(in.at("a"), 0) * in.at("w")); }},
      {"max_min_dim",
       [](const Inputs& in, const json&) { return sum(max(in.at("a"), 1).values) - sum(min(in.at("a"), 0).values); }},
      {"logsumexp", [](const Inputs& in, const json&) { return sum(logsumexp(in.at("a") * 50.0, 1)); }},
      {"softmax", [](const Inputs& in, const json&) { return sum(softmax(in.at("a"), 1) * in.at("w")); }},
      {"log_softmax", [](const Inputs& in, const json&) { return sum(log_softmax(in.at("a"), 0) * in.at("w")); }},
      {"select_slice",
       [](const Inputs& in, const json&) {
         return sum(select(in.at("a"), 0, 1)) + sum(pow(slice(in.at("a"), 1, 1, 3), 2.0));
       }},
      {"index_select",
       [](const Inputs& in, const json& c) {
         return sum(index_select(in.at("a"), 0, idx(c.at("index").get<std::vector<std::int64_t>>())) * in.at("w"));
       }},
      {"gather",
       [](const Inputs& in, const json& c) {
         std::vector<std::int64_t> flat;
         for (const auto& row : c.at("index")) flat.push_back(row.at(0).get<std::int64_t>());
         return sum(gather(in.at("a"), 1, idx(flat, {static_cast<std::int64_t>(flat.size()), 1})));
       }},
      {"cat_stack",
       [](const Inputs& in, const json&) {
         const Tensor& a = in.at("a");
         const Tensor& b = in.at("b");
         return sum(cat({a, b}, 1) * in.at("w")) + sum(pow(stack({a, b}, 0), 2.0));
       }},
      {"mse_loss", [](const Inputs& in, const json&) { return mean(pow(in.at("a") - in.at("b"), 2.0)); }},
      {"l1_loss", [](const Inputs& in, const json&) { return mean(abs(in.at("a") - in.at("b"))); }},
      {"bce",
       [](const Inputs& in, const json& c) {
         return bce_loss(sigmoid(in.at("z")), tensor(c.at("y").get<std::vector<double>>(), {}, kFloat64));
       }},
      {"bce_with_logits_large",
       [](const Inputs& in, const json& c) {
         return bce_with_logits(in.at("z"), tensor(c.at("y").get<std::vector<double>>(), {}, kFloat64));
       }},
      {"cross_entropy",
       [](const Inputs& in, const json& c) {
         // -mean_i log_softmax(z)[i, target_i], picked with gather.
         const auto t = c.at("target").get<std::vector<std::int64_t>>();
         const Tensor picked = gather(log_softmax(in.at("z"), 1), 1, idx(t, {static_cast<std::int64_t>(t.size()), 1}));
         return neg(mean(picked));
       }},
      {"nll_loss",
       [](const Inputs& in, const json& c) {
         // -mean_i lp[i, target_i], picked with select.
         const auto t = c.at("target").get<std::vector<std::int64_t>>();
         const Tensor lp = log_softmax(in.at("z"), 1);
         Tensor total = select(select(lp, 0, 0), 0, t[0]);
         for (std::size_t i = 1; i < t.size(); ++i)
           total = total + select(select(lp, 0, static_cast<std::int64_t>(i)), 0, t[i]);
         return neg(total) / static_cast<double>(t.size());
       }},
      {"seed_xor_net",
       [](const Inputs& in, const json&) {
         const Tensor x = tensor({0, 0, 0, 1, 1, 0, 1, 1}, {4, 2}, kFloat64);
         const Tensor y = tensor({0, 1, 1, 0}, {4, 1}, kFloat64);
         const Tensor h = sigmoid(matmul(x, in.at("W1")) + in.at("b1"));
         const Tensor out = sigmoid(matmul(h, in.at("W2")) + in.at("b2"));
         return mean(pow(out - y, 2.0));
       }},
      {"elman_rnn_T4",
       [](const Inputs& in, const json&) {
         Tensor h = zeros({2, 3}, kFloat64);
         Tensor loss;
         for (std::int64_t t = 0; t < 4; ++t) {
           h = tanh(matmul(select(in.at("x"), 0, t), in.at("Wx")) + matmul(h, in.at("Wh")) + in.at("b"));
           loss = loss.defined() ? loss + sum(pow(h, 2.0)) : sum(pow(h, 2.0));
         }
         return loss;
       }},
  };
  return m;
}

}  // namespace

TEST_CASE("parity: every reference case has a C++ expression, and every expression a case") {
  agt::parity::check_coverage("cases", cases(), 37);
  CHECK(reference().at("generator").get<std::string>().find("float64") != std::string::npos);
}

TEST_CASE("parity: values and gradients of the 37 expressions match PyTorch") {
  const json& cs = reference().at("cases");
  for (std::size_t i = 0; i < cs.size(); ++i) {
    const std::string name = cs[i].at("name");
    SUBCASE(name.c_str()) { agt::parity::run_case(cs[i], cases()); }
  }
}

// ---- recurrent modules: loops of nn's reference cells (plain ops) in PyTorch's layout ----

namespace {

struct Params {
  Tensor w_ih, w_hh, b_ih, b_hh;
};

/// Runs the module over x [T, B, I] as a loop of nn::reference cells; returns the output [T, B, H]
/// and the final hidden state h.
std::pair<Tensor, Tensor> run_module(const std::string& kind, const Tensor& x, const Params& p, std::int64_t hs) {
  const std::int64_t steps = x.size(0);
  const std::int64_t batch = x.size(1);
  Tensor h = zeros({batch, hs}, kFloat64);
  Tensor c = zeros({batch, hs}, kFloat64);
  std::vector<Tensor> outs;
  for (std::int64_t t = 0; t < steps; ++t) {
    const Tensor xt = select(x, 0, t);
    if (kind == "RNN") {
      h = nn::reference::rnn_cell(xt, h, p.w_ih, p.w_hh, p.b_ih, p.b_hh);
    } else if (kind == "LSTM") {
      std::tie(h, c) = nn::reference::lstm_cell(xt, h, c, p.w_ih, p.w_hh, p.b_ih, p.b_hh);
    } else if (kind == "GRU") {
      h = nn::reference::gru_cell(xt, h, p.w_ih, p.w_hh, p.b_ih, p.b_hh);
    } else {
      FAIL("unknown module kind " << kind);
    }
    outs.push_back(h);
  }
  return {stack(outs, 0), h};
}

void run_module_case(const std::string& kind) {
  const json* found = nullptr;
  for (const auto& m : reference().at("modules"))
    if (m.at("kind") == kind) found = &m;
  REQUIRE_MESSAGE(found != nullptr, "no module case " << kind);
  const json& m = *found;
  const std::int64_t in_size = m.at("input_size");
  const std::int64_t hs = m.at("hidden_size");
  const std::int64_t steps = m.at("T");
  const std::int64_t batch = m.at("B");
  const double ps = m.at("parameter_scale");
  const std::int64_t gates = kind == "LSTM" ? 4 : (kind == "GRU" ? 3 : 1);
  Params p{make_input("weight_ih_l0", {gates * hs, in_size}, ps, 0.0),
           make_input("weight_hh_l0", {gates * hs, hs}, ps, 0.0), make_input("bias_ih_l0", {gates * hs}, ps, 0.0),
           make_input("bias_hh_l0", {gates * hs}, ps, 0.0)};
  const Tensor x = make_input("x", {steps, batch, in_size}, 1.0, 0.0);
  const auto [out, h_last] = run_module(kind, x, p, hs);
  check_close(out, m.at("output"), kind + " output");
  const Tensor loss = sum(pow(out, 2.0)) + sum(h_last);
  check_close(loss, json::array({m.at("value")}), kind + " value");
  loss.backward();  // the cases above use ag::grad; here the .grad() of each leaf is checked
  check_close(x.grad(), m.at("grad_x"), kind + " grad_x");
  const json& gs = m.at("grads");
  CHECK(gs.size() == 4);
  check_close(p.w_ih.grad(), gs.at("weight_ih_l0"), kind + " grad weight_ih_l0");
  check_close(p.w_hh.grad(), gs.at("weight_hh_l0"), kind + " grad weight_hh_l0");
  check_close(p.b_ih.grad(), gs.at("bias_ih_l0"), kind + " grad bias_ih_l0");
  check_close(p.b_hh.grad(), gs.at("bias_hh_l0"), kind + " grad bias_hh_l0");
}

}  // namespace

TEST_CASE("parity: the reference has exactly the RNN, LSTM and GRU modules") {
  std::set<std::string> kinds;
  for (const auto& m : reference().at("modules")) kinds.insert(m.at("kind").get<std::string>());
  CHECK(kinds == std::set<std::string>{"RNN", "LSTM", "GRU"});
}

TEST_CASE("parity: Elman RNN (tanh) module matches torch.nn.RNN") { run_module_case("RNN"); }
TEST_CASE("parity: LSTM (gates i, f, g, o) matches torch.nn.LSTM") { run_module_case("LSTM"); }
TEST_CASE("parity: GRU (gates r, z, n) matches torch.nn.GRU") { run_module_case("GRU"); }
