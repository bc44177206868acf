#include "nn/rnn.h"

#include <algorithm>
#include <cmath>

#include "autograd/ops/fused.h"
#include "nn/dropout.h"
#include "nn/init.h"

namespace ag::nn {

RNNBase::RNNBase(const RNNOptions& o, std::int64_t gates, const char* name) : Module(name), options(o) {
  if (o.input_size() <= 0 || o.hidden_size() <= 0 || o.num_layers() <= 0)
    fail("{}: input_size, hidden_size and num_layers must be positive, got {}, {}, {}", name, o.input_size(),
         o.hidden_size(), o.num_layers());
  if (o.dropout() < 0 || o.dropout() > 1) fail("{}: dropout must be in [0, 1], got {}", name, o.dropout());
  if (o.checkpoint_every() < 0 && o.checkpoint_every() != kCheckpointAuto)
    fail("{}: checkpoint_every must be 0 (off), positive or kCheckpointAuto, got {}", name, o.checkpoint_every());
  const auto g = gates * o.hidden_size();
  for (std::int64_t k = 0; k < o.num_layers(); ++k) {
    const auto in = k == 0 ? o.input_size() : o.hidden_size();
    Layer l;
    l.w_ih = register_parameter(fmt::format("weight_ih_l{}", k), empty({g, in}, o.dtype()));
    l.w_hh = register_parameter(fmt::format("weight_hh_l{}", k), empty({g, o.hidden_size()}, o.dtype()));
    if (o.bias()) {
      l.b_ih = register_parameter(fmt::format("bias_ih_l{}", k), empty({g}, o.dtype()));
      l.b_hh = register_parameter(fmt::format("bias_hh_l{}", k), empty({g}, o.dtype()));
    }
    layers.push_back(l);
  }
  reset_parameters();
}

void RNNBase::reset_parameters() {
  const double k = 1.0 / std::sqrt(static_cast<double>(options.hidden_size()));
  for (auto& p : parameters(false)) init::uniform_(p, -k, k);
}

Tensor RNNBase::time_major(const Tensor& input) const {
  if (input.dim() != 3 || input.size(2) != options.input_size())
    fail("{}: expected input {} with {} features, got {}", name(), options.batch_first() ? "[B, T, F]" : "[T, B, F]",
         options.input_size(), describe(input));
  if (input.size(options.batch_first() ? 1 : 0) == 0)
    fail("{}: expected a sequence of at least one step, got {}", name(), describe(input));
  return options.batch_first() ? transpose(input, 0, 1) : input;
}

Tensor RNNBase::initial_state(const Tensor& state, std::int64_t batch, Dtype dtype, const char* what) const {
  const Shape s{options.num_layers(), batch, options.hidden_size()};
  if (!state.defined()) return zeros(s, dtype);
  if (state.shape() != s) fail("{}: expected {} {}, got {}", name(), what, shape_str(s), describe(state));
  return state;
}

Tensor RNNBase::output_layout(const Tensor& out) const { return options.batch_first() ? transpose(out, 0, 1) : out; }

void RNNBase::watch(const Tensor& h, std::size_t layer) const {
  if (!monitor || layer + 1 != layers.size() || !h.requires_grad()) return;
  monitor->watch(h);
}

void RNNBase::start_forward() const {
  if (monitor) monitor->clear();
}

Tensor RNNBase::between_layers(const Tensor& x, std::size_t layer) const {
  const bool last = layer + 1 == layers.size();
  return last ? x : dropout(x, options.dropout(), is_training());
}

std::int64_t RNNBase::checkpoint_segment(std::int64_t T) const {
  const auto k = options.checkpoint_every();
  if (k == 0 || !GradMode::is_enabled() || monitor) return 0;
  return k == kCheckpointAuto ? std::max<std::int64_t>(1, std::llround(std::sqrt(static_cast<double>(T)))) : k;
}

namespace {
// x_t W_ih^T + b_ih for every step of xs [len, B, in]: one gemm for all steps (as libtorch), one slice per step.
std::vector<Tensor> input_gates(const Tensor& xs, const RNNBase::Layer& l) {
  return unbind(linear(xs, l.w_ih, l.b_ih), 0);
}
}  // namespace

template <class Step>
std::tuple<Tensor, std::vector<Tensor>> RNNBase::unroll(const Tensor& input, const std::vector<Tensor>& states,
                                                        bool hoist, Step step) const {
  Tensor x = input;
  const auto T = x.size(0);
  const auto every = checkpoint_segment(T);
  std::vector<std::vector<Tensor>> finals(states.size());
  for (std::size_t k = 0; k < layers.size(); ++k) {
    const Layer& layer = layers[k];
    std::vector<Tensor> st;
    for (const auto& s : states) st.push_back(select(s, 0, static_cast<std::int64_t>(k)));
    std::vector<Tensor> outs;
    auto emit = [&](const Tensor& h) {
      watch(h, k);
      outs.push_back(h);
    };
    if (every == 0) {
      const std::vector<Tensor> in = hoist ? input_gates(x, layer) : unbind(x, 0);
      // W_hh transposed once for all steps (a view of the row-major [H, G*H] copy): the cells read it
      // as an A B product, no packing of W_hh per step (the LM's 20x1024x256: 202 against 149 GFLOP/s)
      Layer steps = layer;
      if (hoist) steps.w_hh = layer.w_hh.t().contiguous().t();
      for (std::int64_t t = 0; t < T; ++t) {
        st = step(in[static_cast<std::size_t>(t)], st, steps, hoist);
        emit(st[0]);
      }
    } else {
      // The steps of x (aliases, no copy) are the segments' inputs: each segment projects its own steps
      // (one gemm), so the tape keeps no input gates. The last `every` steps are recorded as they run
      // (backward would re-run them at once) with the cell taking x_t (the same values as projecting
      // first); the steps before them go through checkpoint in segments of `every`, the first one shorter.
      const std::vector<Tensor> xs = unbind(x, 0);
      const std::int64_t last = std::max<std::int64_t>(0, T - every);
      for (std::int64_t t0 = 0, len = 0; t0 < last; t0 += len) {
        len = t0 == 0 && last % every ? last % every : every;
        std::vector<Tensor> in(xs.begin() + t0, xs.begin() + t0 + len);
        in.insert(in.end(), st.begin(), st.end());
        auto segment = [step, layer, len, hoist](const std::vector<Tensor>& in) {
          const std::vector<Tensor> xg =
              hoist ? input_gates(stack(std::vector<Tensor>(in.begin(), in.begin() + len), 0), layer) : in;
          std::vector<Tensor> s(in.begin() + len, in.end()), out;
          for (std::int64_t t = 0; t < len; ++t) {
            s = step(xg[static_cast<std::size_t>(t)], s, layer, hoist);
            out.push_back(s[0]);
          }
          out.insert(out.end(), s.begin() + 1, s.end());
          return out;
        };
        const std::vector<Tensor> res = checkpoint(segment, in);
        for (std::int64_t t = 0; t < len; ++t) emit(res[static_cast<std::size_t>(t)]);
        st.assign(res.begin() + len - 1, res.end());
      }
      for (std::int64_t t = last; t < T; ++t) {
        st = step(xs[static_cast<std::size_t>(t)], st, layer, false);
        emit(st[0]);
      }
    }
    for (std::size_t i = 0; i < st.size(); ++i) finals[i].push_back(st[i]);
    x = between_layers(stack(outs, 0), k);
  }
  std::vector<Tensor> final_states;
  for (const auto& f : finals) final_states.push_back(stack(f, 0));
  return {output_layout(x), final_states};
}

std::tuple<Tensor, Tensor> RNNImpl::forward(const Tensor& input, const Tensor& h0) const {
  start_forward();
  const Tensor x = time_major(input);
  const bool tanh = options.nonlinearity() == Nonlinearity::Tanh;
  auto [out, last] =
      unroll(x, {initial_state(h0, x.size(1), x.dtype())}, true,
             [tanh](const Tensor& in, const std::vector<Tensor>& s, const Layer& l, bool gates) {
               if (gates)
                 return std::vector<Tensor>{tanh ? rnn_tanh_cell_gates(in, s[0], l.w_hh, l.b_hh)
                                                 : rnn_relu_cell_gates(in, s[0], l.w_hh, l.b_hh)};
               return std::vector<Tensor>{tanh ? rnn_tanh_cell(in, s[0], l.w_ih, l.w_hh, l.b_ih, l.b_hh)
                                               : rnn_relu_cell(in, s[0], l.w_ih, l.w_hh, l.b_ih, l.b_hh)};
             });
  return {out, last[0]};
}

std::tuple<Tensor, std::tuple<Tensor, Tensor>> LSTMImpl::forward(const Tensor& input,
                                                                 const std::tuple<Tensor, Tensor>& st) const {
  start_forward();
  const Tensor x = time_major(input);
  const Tensor h0 = initial_state(std::get<0>(st), x.size(1), x.dtype(), "initial hidden state h0");
  const Tensor c0 = initial_state(std::get<1>(st), x.size(1), x.dtype(), "initial cell state c0");
  // The input projection is hoisted (one gemm for all steps, as libtorch) from 64 input features on:
  // the LM's LSTM 128-256 step took 0.95x the time with it, the LSTM 32-128's 1.00x, and the gates cell
  // keeps each step's [B, 4H] input gates for double backward (tape +9% and +53%), docs/design.md 12.
  const bool hoist = options.input_size() >= 64;
  auto [out, last] =
      unroll(x, {h0, c0}, hoist, [](const Tensor& in, const std::vector<Tensor>& s, const Layer& l, bool gates) {
        auto [h, c] = gates ? fused_lstm_cell_gates(in, s[0], s[1], l.w_hh, l.b_hh)
                            : fused_lstm_cell(in, s[0], s[1], l.w_ih, l.w_hh, l.b_ih, l.b_hh);
        return std::vector<Tensor>{h, c};
      });
  return {out, {last[0], last[1]}};
}

std::tuple<Tensor, Tensor> GRUImpl::forward(const Tensor& input, const Tensor& h0) const {
  start_forward();
  const Tensor x = time_major(input);
  auto [out, last] =
      unroll(x, {initial_state(h0, x.size(1), x.dtype())}, true,
             [](const Tensor& in, const std::vector<Tensor>& s, const Layer& l, bool gates) {
               return std::vector<Tensor>{gates ? fused_gru_cell_gates(in, s[0], l.w_hh, l.b_hh)
                                                : fused_gru_cell(in, s[0], l.w_ih, l.w_hh, l.b_ih, l.b_hh)};
             });
  return {out, last[0]};
}

}  // namespace ag::nn
