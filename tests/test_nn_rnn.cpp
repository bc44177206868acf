// Recurrent cells and layers: PyTorch parity, hand-computed steps, gradcheck, errors, learning.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "nn/nn.h"
#include "test_util.h"

using namespace ag;
using json = nlohmann::json;

namespace {

/// Fills every named parameter as the PyTorch generator does: element k of NAME is
/// cos(0.53 k + 2 len(NAME)) * scale.
void fill_like_torch(const nn::Module& m, double scale = 0.4) {
  NoGradGuard g;
  for (auto& it : m.named_parameters()) {
    Tensor p = it.value();
    p.copy_(agt::input(p.shape(), 2.0 * static_cast<double>(it.key().size()), scale, 0.0, false));
  }
}

void check_close(const Tensor& got, const json& want, const std::string& what, double rtol = 1e-10) {
  REQUIRE_MESSAGE(got.defined(), what << ": undefined");
  const auto v = got.to_vector<double>();
  REQUIRE_MESSAGE(v.size() == want.size(), what << ": " << v.size() << " elements vs " << want.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    const double w = want[i].get<double>();
    CHECK_MESSAGE(std::abs(v[i] - w) <= std::max(rtol * std::abs(w), 1e-13),
                  what << " element " << i << ": ag " << fmt::format("{:.17g}", v[i]) << " vs torch "
                       << fmt::format("{:.17g}", w));
  }
}

double sigm(double v) { return 1.0 / (1.0 + std::exp(-v)); }

Tensor t1(double v) { return tensor({v}, {1, 1}, kFloat64); }

/// Sets a cell's parameters from flat values (under NoGradGuard).
void set_param(Tensor& p, const std::vector<double>& v) {
  NoGradGuard g;
  p.copy_(tensor(v, p.shape(), kFloat64));
}

}  // namespace

TEST_CASE("nn rnn: RNN, LSTM and GRU layers match PyTorch (output, value, every gradient)") {
  std::ifstream in(std::string(AG_TEST_DATA_DIR) + "/torch_reference.json");
  REQUIRE(in.good());
  const json ref = json::parse(in);
  REQUIRE(ref.at("modules").size() == 3);
  for (const json& m : ref.at("modules")) {
    const std::string kind = m.at("kind");
    CAPTURE(kind);
    const auto in_size = m.at("input_size").get<std::int64_t>();
    const auto hidden = m.at("hidden_size").get<std::int64_t>();
    const auto T = m.at("T").get<std::int64_t>(), B = m.at("B").get<std::int64_t>();
    const auto opts = nn::RNNOptions(in_size, hidden).dtype(kFloat64);
    Tensor x = agt::input({T, B, in_size}, 2.0 * 1, 1.0);
    std::shared_ptr<nn::RNNBase> module;
    Tensor out, h;
    if (kind == "RNN") {
      nn::RNN rnn(opts);
      fill_like_torch(*rnn, m.at("parameter_scale").get<double>());
      std::tie(out, h) = rnn(x);
      module = rnn.ptr();
    } else if (kind == "LSTM") {
      nn::LSTM lstm(opts);
      fill_like_torch(*lstm, m.at("parameter_scale").get<double>());
      std::tuple<Tensor, Tensor> st;
      std::tie(out, st) = lstm(x);
      h = std::get<0>(st);
      CHECK(std::get<1>(st).shape() == Shape{1, B, hidden});
      module = lstm.ptr();
    } else {
      REQUIRE(kind == "GRU");
      nn::GRU gru(opts);
      fill_like_torch(*gru, m.at("parameter_scale").get<double>());
      std::tie(out, h) = gru(x);
      module = gru.ptr();
    }
    CHECK(out.shape() == Shape{T, B, hidden});
    CHECK(h.shape() == Shape{1, B, hidden});
    Tensor loss = sum(out * out) + sum(h);
    CHECK(loss.item<double>() == doctest::Approx(m.at("value").get<double>()).epsilon(1e-10));
    loss.backward();
    check_close(out, m.at("output"), kind + " output");
    check_close(x.grad(), m.at("grad_x"), kind + " grad x");
    const auto params = module->named_parameters();
    CHECK(params.size() == m.at("grads").size());
    for (const auto& it : m.at("grads").items()) {
      const std::string name = it.key();
      REQUIRE_MESSAGE(params.contains(name), kind << " has no parameter " << name);
      check_close(params[name].grad(), it.value(), kind + " grad " + name);
    }
  }
}

TEST_CASE("nn rnn: one step of each cell equals the hand-written formula (gate order i,f,g,o and r,z,n)") {
  const double x = 0.7, h = -0.4, c = 0.9;
  SUBCASE("RNNCell tanh and relu") {
    nn::RNNCell cell(nn::RNNCellOptions(1, 1).dtype(kFloat64));
    set_param(cell->weight_ih, {0.5});
    set_param(cell->weight_hh, {-0.3});
    set_param(cell->bias_ih, {0.1});
    set_param(cell->bias_hh, {0.2});
    const double pre = 0.5 * x + 0.1 - 0.3 * h + 0.2;
    agt::check_values(cell(t1(x), t1(h)), {std::tanh(pre)});
    agt::check_values(cell(t1(x)), {std::tanh(0.5 * x + 0.3)});  // zero initial state
    cell->options.nonlinearity(nn::Nonlinearity::ReLU);
    agt::check_values(cell(t1(x), t1(h)), {pre});
    agt::check_values(cell(t1(-2.0), t1(h)), {0.0});  // pre-activation -0.58
    // unbatched input [in] gives [H]
    const Tensor u = cell(tensor({x}, {1}, kFloat64), tensor({h}, {1}, kFloat64));
    CHECK(u.shape() == Shape{1});
  }
  SUBCASE("LSTMCell") {
    nn::LSTMCell cell(nn::LSTMCellOptions(1, 1).dtype(kFloat64));
    const std::vector<double> wi{0.3, -0.2, 0.6, 0.45}, wh{-0.5, 0.25, 0.15, -0.35}, bi{0.05, 0.4, -0.1, 0.2},
        bh{0.1, -0.05, 0.3, 0.0};
    set_param(cell->weight_ih, wi);
    set_param(cell->weight_hh, wh);
    set_param(cell->bias_ih, bi);
    set_param(cell->bias_hh, bh);
    auto gate = [&](int k) { return wi[k] * x + bi[k] + wh[k] * h + bh[k]; };
    const double i = sigm(gate(0)), f = sigm(gate(1)), g = std::tanh(gate(2)), o = sigm(gate(3));
    const double c2 = f * c + i * g, h2 = o * std::tanh(c2);
    auto [hn, cn] = cell(t1(x), std::make_tuple(t1(h), t1(c)));
    agt::check_values(hn, {h2});
    agt::check_values(cn, {c2});
  }
  SUBCASE("GRUCell") {
    nn::GRUCell cell(nn::GRUCellOptions(1, 1).dtype(kFloat64));
    const std::vector<double> wi{0.3, -0.2, 0.6}, wh{-0.5, 0.25, 0.15}, bi{0.05, 0.4, -0.1}, bh{0.1, -0.05, 0.3};
    set_param(cell->weight_ih, wi);
    set_param(cell->weight_hh, wh);
    set_param(cell->bias_ih, bi);
    set_param(cell->bias_hh, bh);
    const double r = sigm(wi[0] * x + bi[0] + wh[0] * h + bh[0]);
    const double z = sigm(wi[1] * x + bi[1] + wh[1] * h + bh[1]);
    const double n = std::tanh(wi[2] * x + bi[2] + r * (wh[2] * h + bh[2]));
    agt::check_values(cell(t1(x), t1(h)), {(1 - z) * n + z * h});
  }
}

TEST_CASE("nn rnn: gradcheck of the cells over three steps with the hidden state reused") {
  const auto dt = kFloat64;
  SUBCASE("RNNCell tanh and relu") {
    for (auto nl : {nn::Nonlinearity::Tanh, nn::Nonlinearity::ReLU}) {
      nn::RNNCell cell(nn::RNNCellOptions(3, 4).nonlinearity(nl).dtype(dt));
      fill_like_torch(*cell, 0.5);
      Tensor xs = agt::input({3, 2, 3}, 0.3), h0 = agt::input({2, 4}, 1.7, 0.5);
      if (nl == nn::Nonlinearity::ReLU) {
        // the relu kinks must stay clear of the finite-difference step
        NoGradGuard g;
        Tensor h = h0;
        for (std::int64_t t = 0; t < 3; ++t) {
          const Tensor pre = matmul(select(xs, 0, t), cell->weight_ih.t()) + cell->bias_ih +
                             matmul(h, cell->weight_hh.t()) + cell->bias_hh;
          for (double v : pre.to_vector<double>()) CHECK(std::abs(v) > 1e-3);
          h = relu(pre);
        }
      }
      auto fn = [&](const std::vector<Tensor>& in) {
        Tensor h = in[1];
        std::vector<Tensor> hs;
        for (std::int64_t t = 0; t < 3; ++t) hs.push_back(h = cell(select(in[0], 0, t), h));
        return stack(hs, 0);
      };
      const std::vector<Tensor> ins{xs, h0, cell->weight_ih, cell->weight_hh, cell->bias_ih, cell->bias_hh};
      agt::check_gradients(fn, ins);
      // gradgradcheck re-creates its inputs for the finite differences, so the parameters must reach
      // the step through the inputs list: the functional cell the module calls.
      auto fn2 = [&](const std::vector<Tensor>& in) {
        Tensor h = in[1];
        std::vector<Tensor> hs;
        for (std::int64_t t = 0; t < 3; ++t)
          hs.push_back(h = nn::functional::rnn_cell(select(in[0], 0, t), h, in[2], in[3], in[4], in[5], nl));
        return stack(hs, 0);
      };
      agt::check_second_gradients(fn2, ins);
    }
  }
  SUBCASE("LSTMCell") {
    nn::LSTMCell cell(nn::LSTMCellOptions(2, 3).dtype(dt));
    fill_like_torch(*cell, 0.6);
    Tensor xs = agt::input({3, 2, 2}, 0.3), h0 = agt::input({2, 3}, 1.7, 0.5), c0 = agt::input({2, 3}, 2.9, 0.8);
    auto fn = [&](const std::vector<Tensor>& in) {
      std::tuple<Tensor, Tensor> st{in[1], in[2]};
      std::vector<Tensor> hs;
      for (std::int64_t t = 0; t < 3; ++t) {
        st = cell(select(in[0], 0, t), st);
        hs.push_back(std::get<0>(st));
      }
      hs.push_back(std::get<1>(st));
      return stack(hs, 0);
    };
    const std::vector<Tensor> ins{xs, h0, c0, cell->weight_ih, cell->weight_hh, cell->bias_ih, cell->bias_hh};
    agt::check_gradients(fn, ins);
    auto fn2 = [&](const std::vector<Tensor>& in) {
      Tensor h = in[1], c = in[2];
      std::vector<Tensor> hs;
      for (std::int64_t t = 0; t < 3; ++t) {
        std::tie(h, c) = nn::functional::lstm_cell(select(in[0], 0, t), h, c, in[3], in[4], in[5], in[6]);
        hs.push_back(h);
      }
      hs.push_back(c);
      return stack(hs, 0);
    };
    agt::check_second_gradients(fn2, ins);
  }
  SUBCASE("GRUCell, also unbatched") {
    nn::GRUCell cell(nn::GRUCellOptions(2, 3).dtype(dt));
    fill_like_torch(*cell, 0.6);
    Tensor xs = agt::input({3, 2, 2}, 0.3), h0 = agt::input({2, 3}, 1.7, 0.5);
    auto fn = [&](const std::vector<Tensor>& in) {
      Tensor h = in[1];
      std::vector<Tensor> hs;
      for (std::int64_t t = 0; t < 3; ++t) hs.push_back(h = cell(select(in[0], 0, t), h));
      return stack(hs, 0);
    };
    const std::vector<Tensor> ins{xs, h0, cell->weight_ih, cell->weight_hh, cell->bias_ih, cell->bias_hh};
    agt::check_gradients(fn, ins);
    auto fn2 = [&](const std::vector<Tensor>& in) {
      Tensor h = in[1];
      std::vector<Tensor> hs;
      for (std::int64_t t = 0; t < 3; ++t)
        hs.push_back(h = nn::functional::gru_cell(select(in[0], 0, t), h, in[2], in[3], in[4], in[5]));
      return stack(hs, 0);
    };
    agt::check_second_gradients(fn2, ins);
    Tensor x1 = agt::input({2}, 0.8), h1 = agt::input({3}, 2.2, 0.5);
    agt::check_gradients([&](const std::vector<Tensor>& in) { return cell(in[0], cell(in[0], in[1])); },
                         {x1, h1, cell->weight_hh});
  }
}

TEST_CASE("nn rnn: gradcheck of 2-layer batch_first RNN, LSTM and GRU without bias, state and parameters as inputs") {
  const auto opts = nn::RNNOptions(2, 2).num_layers(2).batch_first(true).bias(false).dtype(kFloat64);
  Tensor x = agt::input({2, 3, 2}, 0.3);  // [B, T, F]
  Tensor h0 = agt::input({2, 2, 2}, 1.3, 0.5), c0 = agt::input({2, 2, 2}, 2.1, 0.7);
  auto with_params = [](std::vector<Tensor> ins, const nn::Module& m) {
    for (const auto& p : m.parameters()) ins.push_back(p);
    return ins;
  };
  SUBCASE("RNN") {
    nn::RNN rnn(opts);
    fill_like_torch(*rnn, 0.7);
    CHECK(rnn->parameters().size() == 4);
    auto fn = [&](const std::vector<Tensor>& in) {
      auto [out, hn] = rnn(in[0], in[1]);
      return cat({flatten(out), flatten(hn)});
    };
    agt::check_gradients(fn, with_params({x, h0}, *rnn));
  }
  SUBCASE("LSTM") {
    nn::LSTM lstm(opts);
    fill_like_torch(*lstm, 0.7);
    auto fn = [&](const std::vector<Tensor>& in) {
      auto [out, st] = lstm(in[0], std::make_tuple(in[1], in[2]));
      return cat({flatten(out), flatten(std::get<0>(st)), flatten(std::get<1>(st))});
    };
    agt::check_gradients(fn, with_params({x, h0, c0}, *lstm));
  }
  SUBCASE("GRU") {
    nn::GRU gru(opts);
    fill_like_torch(*gru, 0.7);
    auto fn = [&](const std::vector<Tensor>& in) {
      auto [out, hn] = gru(in[0], in[1]);
      return cat({flatten(out), flatten(hn)});
    };
    agt::check_gradients(fn, with_params({x, h0}, *gru));
  }
}

TEST_CASE("nn rnn: a 2-layer batch_first LSTM equals the cells stacked by hand, and h_n holds each layer's last h") {
  nn::LSTM lstm(nn::LSTMOptions(2, 3).num_layers(2).batch_first(true).dtype(kFloat64));
  fill_like_torch(*lstm, 0.5);
  Tensor x = agt::input({2, 4, 2}, 0.9, 1.0, 0.0, false);  // [B, T, F]
  Tensor h0 = agt::input({2, 2, 3}, 1.3, 0.5, 0.0, false), c0 = agt::input({2, 2, 3}, 2.1, 0.7, 0.0, false);
  auto [out, st] = lstm(x, std::make_tuple(h0, c0));
  REQUIRE(out.shape() == Shape{2, 4, 3});
  Tensor layer_in = transpose(x, 0, 1);
  for (std::int64_t k = 0; k < 2; ++k) {
    const auto& l = lstm->layers[static_cast<std::size_t>(k)];
    Tensor h = select(h0, 0, k), c = select(c0, 0, k);
    std::vector<Tensor> hs;
    for (std::int64_t t = 0; t < 4; ++t) {
      std::tie(h, c) = nn::functional::lstm_cell(select(layer_in, 0, t), h, c, l.w_ih, l.w_hh, l.b_ih, l.b_hh);
      hs.push_back(h);
    }
    agt::check_values(select(std::get<0>(st), 0, k), h.to_vector<double>(), 1e-14);
    agt::check_values(select(std::get<1>(st), 0, k), c.to_vector<double>(), 1e-14);
    layer_in = stack(hs, 0);
  }
  agt::check_values(out, transpose(layer_in, 0, 1).to_vector<double>(), 1e-14);
  // batch_first only changes the layout
  nn::LSTM tm(nn::LSTMOptions(2, 3).num_layers(2).dtype(kFloat64));
  fill_like_torch(*tm, 0.5);
  auto [out2, st2] = tm(transpose(x, 0, 1), std::make_tuple(h0, c0));
  agt::check_values(out2, transpose(out, 0, 1).to_vector<double>(), 1e-15);
  agt::check_values(std::get<1>(st2), std::get<1>(st).to_vector<double>(), 1e-15);
}

TEST_CASE("nn rnn: parameters keep PyTorch's names and shapes; to() keeps the layers' handles valid") {
  nn::GRU gru(nn::GRUOptions(5, 4).num_layers(2));
  const auto ps = gru->named_parameters();
  CHECK(ps.keys() == std::vector<std::string>{"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                                              "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1"});
  CHECK(ps["weight_ih_l0"].shape() == Shape{12, 5});
  CHECK(ps["weight_ih_l1"].shape() == Shape{12, 4});
  CHECK(ps["weight_hh_l1"].shape() == Shape{12, 4});
  CHECK(ps["bias_hh_l1"].shape() == Shape{12});
  for (const auto& p : gru->parameters()) {
    CHECK(p.dtype() == kFloat32);
    for (float v : p.to_vector<float>()) CHECK(std::abs(v) <= 0.5f);  // U(-1/sqrt(4), 1/sqrt(4))
  }
  gru->to(kFloat64);
  auto [out, hn] = gru(agt::input({3, 2, 5}, 0.2));
  CHECK(out.dtype() == kFloat64);
  sum(hn).backward();
  for (const auto& p : gru->parameters()) CHECK(p.grad().defined());
  nn::LSTMCell cell(3, 2);
  CHECK(cell->named_parameters().keys() == std::vector<std::string>{"weight_ih", "weight_hh", "bias_ih", "bias_hh"});
  CHECK(cell->weight_hh.shape() == Shape{8, 2});
}

TEST_CASE("nn rnn: dropout acts between layers in training mode only, never on the recurrent state") {
  manual_seed(3);
  const auto opts = nn::GRUOptions(2, 8).num_layers(2).dtype(kFloat64);
  nn::GRU drop(nn::GRUOptions(opts).dropout(0.5)), plain(opts);
  nn::GRU single(nn::GRUOptions(2, 8).dropout(0.5).dtype(kFloat64)), single_plain(nn::GRUOptions(2, 8).dtype(kFloat64));
  for (const nn::Module* m : {&*drop, &*plain, &*single, &*single_plain}) fill_like_torch(*m, 0.5);
  const Tensor x = agt::input({4, 3, 2}, 0.3, 1.0, 0.0, false);
  auto [ref_out, ref_h] = plain(x);
  drop->eval();
  auto [eval_out, eval_h] = drop(x);
  agt::check_values(eval_out, ref_out.to_vector<double>(), 1e-15);
  drop->train();
  auto [train_out, train_h] = drop(x);
  // layer 0 runs undisturbed; layer 1 sees dropped inputs
  agt::check_values(select(train_h, 0, 0), select(ref_h, 0, 0).to_vector<double>(), 1e-15);
  const auto a = train_out.to_vector<double>(), b = ref_out.to_vector<double>();
  double diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff = std::max(diff, std::abs(a[i] - b[i]));
  CHECK(diff > 1e-3);
  // a single layer has nothing to drop between
  agt::check_values(std::get<0>(single(x)), std::get<0>(single_plain(x)).to_vector<double>(), 1e-15);
}

TEST_CASE("nn rnn: an LSTM's weights saved and loaded into a fresh LSTM give the same outputs") {
  const auto opts = nn::LSTMOptions(2, 3).num_layers(2).dtype(kFloat64);
  manual_seed(11);
  nn::LSTM a(opts);
  manual_seed(12);
  nn::LSTM b(opts);
  const Tensor x = agt::input({3, 2, 2}, 0.3, 1.0, 0.0, false);
  const std::string path = "/tmp/ag_test_nn_rnn_lstm.safetensors";
  nn::save(*a, path);
  const auto before = std::get<0>(b(x)).to_vector<double>();
  nn::load(*b, path);
  std::remove(path.c_str());
  const auto want = std::get<0>(a(x)).to_vector<double>();
  CHECK(before != want);
  agt::check_values(std::get<0>(b(x)), want, 1e-15);
}

TEST_CASE("nn rnn: misuse throws ag::Error") {
  nn::RNN rnn(nn::RNNOptions(3, 4).num_layers(2).dtype(kFloat64));
  nn::LSTM lstm(nn::LSTMOptions(3, 4).dtype(kFloat64));
  nn::GRU gru(nn::GRUOptions(3, 4).batch_first(true).dtype(kFloat64));
  const Tensor x = zeros({5, 2, 3}, kFloat64);
  // input rank and feature size
  CHECK_THROWS_AS(rnn(zeros({5, 3}, kFloat64)), Error);
  CHECK_THROWS_AS(rnn(zeros({5, 2, 2, 3}, kFloat64)), Error);
  CHECK_THROWS_AS(rnn(zeros({5, 2, 4}, kFloat64)), Error);
  CHECK_THROWS_AS(lstm(zeros({5, 2, 2}, kFloat64)), Error);
  CHECK_THROWS_AS(gru(zeros({2, 5}, kFloat64)), Error);
  CHECK_THROWS_AS(rnn(zeros({0, 2, 3}, kFloat64)), Error);  // empty sequence
  // dtype mismatch between input and parameters
  CHECK_THROWS_AS(rnn(zeros({5, 2, 3}, kFloat32)), Error);
  // initial state shape
  CHECK_THROWS_AS(rnn(x, zeros({1, 2, 4}, kFloat64)), Error);  // num_layers is 2
  CHECK_THROWS_AS(rnn(x, zeros({2, 3, 4}, kFloat64)), Error);
  CHECK_THROWS_AS(rnn(x, zeros({2, 2, 3}, kFloat64)), Error);
  CHECK_THROWS_AS(lstm(x, std::make_tuple(zeros({1, 2, 4}, kFloat64), zeros({1, 2, 5}, kFloat64))), Error);
  CHECK_THROWS_AS(lstm(x, std::make_tuple(zeros({2, 4}, kFloat64), zeros({1, 2, 4}, kFloat64))), Error);
  CHECK_THROWS_AS(gru(zeros({2, 5, 3}, kFloat64), zeros({1, 5, 4}, kFloat64)), Error);  // batch is dim 0
  try {
    rnn(x, zeros({1, 2, 4}, kFloat64));
  } catch (const Error& e) {
    const std::string msg = e.what();
    CHECK(msg.find("RNN") != std::string::npos);
    CHECK(msg.find("[2, 2, 4]") != std::string::npos);
  }
  try {
    lstm(x, std::make_tuple(zeros({1, 2, 4}, kFloat64), zeros({1, 2, 5}, kFloat64)));
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("cell state") != std::string::npos);
  }
  // bad options
  CHECK_THROWS_AS(nn::RNN(nn::RNNOptions(0, 4)), Error);
  CHECK_THROWS_AS(nn::LSTM(nn::LSTMOptions(3, 0)), Error);
  CHECK_THROWS_AS(nn::GRU(nn::GRUOptions(3, 4).num_layers(0)), Error);
  CHECK_THROWS_AS(nn::RNN(nn::RNNOptions(3, -2)), Error);
  CHECK_THROWS_AS(nn::LSTM(nn::LSTMOptions(3, 4).num_layers(2).dropout(1.5)), Error);
  CHECK_THROWS_AS(nn::GRU(nn::GRUOptions(3, 4).dropout(-0.1)), Error);
  CHECK_THROWS_AS(nn::RNNCell(0, 3), Error);
  CHECK_THROWS_AS(nn::LSTMCell(nn::LSTMCellOptions(2, 0)), Error);
  // cells
  nn::RNNCell cell(nn::RNNCellOptions(3, 4).dtype(kFloat64));
  nn::LSTMCell lcell(nn::LSTMCellOptions(3, 4).dtype(kFloat64));
  CHECK_THROWS_AS(cell(zeros({2, 2}, kFloat64)), Error);
  CHECK_THROWS_AS(cell(zeros({1, 2, 3}, kFloat64)), Error);
  CHECK_THROWS_AS(cell(scalar_tensor(1.0, kFloat64)), Error);
  CHECK_THROWS_AS(cell(zeros({2, 3}, kFloat64), zeros({3, 4}, kFloat64)), Error);
  CHECK_THROWS_AS(cell(zeros({3}, kFloat64), zeros({1, 4}, kFloat64)), Error);
  CHECK_THROWS_AS(lcell(zeros({2, 3}, kFloat64), std::make_tuple(zeros({2, 4}, kFloat64), zeros({2, 5}, kFloat64))),
                  Error);
  nn::GRUCell gcell(nn::GRUCellOptions(3, 4).dtype(kFloat64));
  CHECK_THROWS_AS(gcell(zeros({2, 4}, kFloat64)), Error);
  CHECK_THROWS_AS(gcell(zeros({2, 3}, kFloat64), zeros({2, 3}, kFloat64)), Error);
}

TEST_CASE("nn rnn: an LSTM with a Linear head learns to echo the input seen 3 steps earlier") {
  // x_t = +-1 at random; target y_t = x_{t-3} for t >= 3. Predicting 0 (the best constant) gives MSE 1.
  manual_seed(1234);
  const std::int64_t T = 10, B = 32, lag = 3;
  nn::LSTM lstm(nn::LSTMOptions(1, 16));
  nn::Linear head(16, 1);
  std::vector<Tensor> params = lstm->parameters();
  for (const auto& p : head->parameters()) params.push_back(p);
  optim::Adam opt(params, optim::AdamOptions(0.02));
  auto batch = [&] { return lt(rand({T, B, 1}), 0.5) * 2.0 - 1.0; };
  auto loss_of = [&](const Tensor& x) {
    auto [out, st] = lstm(x);
    const Tensor pred = head(narrow(out, 0, lag, T - lag));
    return mse_loss(pred, narrow(x, 0, 0, T - lag));
  };
  double first = 0, last = 0;
  for (int step = 0; step < 300; ++step) {
    opt.zero_grad();
    Tensor loss = loss_of(batch());
    if (step == 0) first = loss.item<double>();
    loss.backward();
    opt.step();
  }
  {
    NoGradGuard g;
    last = loss_of(batch()).item<double>();
  }
  MESSAGE("echo task: baseline MSE 1, first loss " << first << ", held-out loss after 300 steps " << last);
  CHECK(first > 0.8);
  CHECK(last < 0.05);
}
