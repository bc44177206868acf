#include "nn/rnn.h"

#include <cmath>

#include "nn/dropout.h"
#include "nn/init.h"

namespace ag::nn {

RNNBase::RNNBase(const RNNOptions& o, std::int64_t gates, const char* name) : Module(name), options(o) {
  if (o.input_size() <= 0 || o.hidden_size() <= 0 || o.num_layers() <= 0)
    fail("{}: input_size, hidden_size and num_layers must be positive, got {}, {}, {}", name, o.input_size(),
         o.hidden_size(), o.num_layers());
  if (o.dropout() < 0 || o.dropout() > 1) fail("{}: dropout must be in [0, 1], got {}", name, o.dropout());
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

template <class Step>
std::tuple<Tensor, Tensor> RNNBase::unroll(const Tensor& input, const Tensor& h0, Step step) const {
  start_forward();
  Tensor x = time_major(input);
  const auto T = x.size(0);
  const Tensor state = initial_state(h0, x.size(1), x.dtype());
  std::vector<Tensor> finals;
  for (std::size_t k = 0; k < layers.size(); ++k) {
    Tensor h = select(state, 0, static_cast<std::int64_t>(k));
    std::vector<Tensor> outs;
    for (std::int64_t t = 0; t < T; ++t) {
      h = step(select(x, 0, t), h, layers[k]);
      watch(h, k);
      outs.push_back(h);
    }
    finals.push_back(h);
    x = between_layers(stack(outs, 0), k);
  }
  return {output_layout(x), stack(finals, 0)};
}

std::tuple<Tensor, Tensor> RNNImpl::forward(const Tensor& input, const Tensor& h0) const {
  return unroll(input, h0, [this](const Tensor& x, const Tensor& h, const Layer& l) {
    return functional::rnn_cell(x, h, l.w_ih, l.w_hh, l.b_ih, l.b_hh, options.nonlinearity());
  });
}

std::tuple<Tensor, std::tuple<Tensor, Tensor>> LSTMImpl::forward(const Tensor& input,
                                                                 const std::tuple<Tensor, Tensor>& st) const {
  start_forward();
  Tensor x = time_major(input);
  const auto T = x.size(0);
  const Tensor h0 = initial_state(std::get<0>(st), x.size(1), x.dtype(), "initial hidden state h0");
  const Tensor c0 = initial_state(std::get<1>(st), x.size(1), x.dtype(), "initial cell state c0");
  std::vector<Tensor> hs, cs;
  for (std::size_t k = 0; k < layers.size(); ++k) {
    const Layer& l = layers[k];
    Tensor h = select(h0, 0, static_cast<std::int64_t>(k));
    Tensor c = select(c0, 0, static_cast<std::int64_t>(k));
    std::vector<Tensor> outs;
    for (std::int64_t t = 0; t < T; ++t) {
      std::tie(h, c) = functional::lstm_cell(select(x, 0, t), h, c, l.w_ih, l.w_hh, l.b_ih, l.b_hh);
      watch(h, k);
      outs.push_back(h);
    }
    hs.push_back(h);
    cs.push_back(c);
    x = between_layers(stack(outs, 0), k);
  }
  return {output_layout(x), {stack(hs, 0), stack(cs, 0)}};
}

std::tuple<Tensor, Tensor> GRUImpl::forward(const Tensor& input, const Tensor& h0) const {
  return unroll(input, h0, [](const Tensor& x, const Tensor& h, const Layer& l) {
    return functional::gru_cell(x, h, l.w_ih, l.w_hh, l.b_ih, l.b_hh);
  });
}

}  // namespace ag::nn
