// Section 2: feed-forward vs recurrent. An Elman RNN and an LSTM (nn modules, a Linear head, Adam)
// on the adding problem at several sequence lengths, and the per-step gradient norms ||dL/dh_t||
// that show why the plain RNN stalls: BPTT's gradient vanishes on its way back through time.
#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>

#include <nn/nn.h>

#include "common.h"

namespace demo {

namespace {

using namespace ag;

constexpr double kBaseline = 1.0 / 6.0;  // MSE of always predicting 1, the mean of the target
constexpr std::int64_t kBatch = 32, kTestSize = 512;

// Hochreiter & Schmidhuber's adding problem: at each step a value in U[0,1] and a marker; one marker
// in the first half, one in the second; the target is the sum of the two marked values.
struct AddingData {
  Tensor x;  // [T, B, 2]
  Tensor y;  // [B, 1]
};

AddingData make_adding(std::int64_t T, std::int64_t B, std::mt19937_64& rng) {
  std::uniform_real_distribution<float> value(0.0F, 1.0F);
  std::vector<float> x(static_cast<std::size_t>(T * B * 2), 0.0F), y(static_cast<std::size_t>(B));
  const std::int64_t half = std::max<std::int64_t>(T / 2, 1);
  for (std::int64_t b = 0; b < B; ++b) {
    for (std::int64_t t = 0; t < T; ++t) x[static_cast<std::size_t>((t * B + b) * 2)] = value(rng);
    const std::int64_t first = std::uniform_int_distribution<std::int64_t>(0, half - 1)(rng);
    const std::int64_t second = std::uniform_int_distribution<std::int64_t>(half, T - 1)(rng);
    float target = 0.0F;
    for (std::int64_t t : {first, second}) {
      x[static_cast<std::size_t>((t * B + b) * 2 + 1)] = 1.0F;
      target += x[static_cast<std::size_t>((t * B + b) * 2)];
    }
    y[static_cast<std::size_t>(b)] = target;
  }
  return {tensor(x, {T, B, 2}), tensor(y, {B, 1})};
}

// A recurrent layer reading the sequence and a Linear head on its last hidden state.
template <class Layer>
struct SequenceRegressor : nn::Module {
  SequenceRegressor(std::int64_t hidden, const char* kind) : Module(kind) {
    rnn = register_module("rnn", Layer(nn::RNNOptions(2, hidden)));
    head = register_module("head", nn::Linear(hidden, 1));
  }
  Tensor forward(const Tensor& x) {
    const Tensor out = std::get<0>(rnn(x));
    return head(select(out, 0, out.size(0) - 1));
  }
  Layer rnn{nullptr};
  nn::Linear head{nullptr};
};
using RnnModel = SequenceRegressor<nn::RNN>;
using LstmModel = SequenceRegressor<nn::LSTM>;

struct RunResult {
  double first_loss = 0, test_loss = 0, seconds = 0;
  std::int64_t steps = 0;
  std::vector<double> init_norms, grad_norms;  // ||dL/dh_t|| on the test batch, before and after training
};

template <class Model>
double test_loss(Model& model, const AddingData& test) {
  NoGradGuard no_grad;
  return mse_loss(model.forward(test.x), test.y).template item<double>();
}

// One forward/backward on the test batch with every h_t watched: ||dL/dh_t|| for t = 0..T-1.
template <class Model>
std::vector<double> hidden_grad_norms(Model& model, const AddingData& test) {
  nn::HiddenGradMonitor monitor;
  model.rnn->monitor = &monitor;
  model.zero_grad();
  mse_loss(model.forward(test.x), test.y).backward();
  model.rnn->monitor = nullptr;
  model.zero_grad();
  return monitor.grad_norms();
}

template <class Model>
RunResult train(Model& model, const char* label, std::int64_t T, std::int64_t steps, std::uint64_t seed,
                const AddingData& test) {
  RunResult r;
  r.steps = steps;
  std::mt19937_64 rng(seed * 1000 + static_cast<std::uint64_t>(T));
  optim::Adam opt(model.parameters(), optim::AdamOptions(1e-2));
  r.first_loss = test_loss(model, test);
  r.init_norms = hidden_grad_norms(model, test);
  ProgressBar bar(fmt::format("{} T={}", label, T), steps);
  const auto t0 = Clock::now();
  double running = r.first_loss;
  for (std::int64_t step = 1; step <= steps; ++step) {
    const AddingData batch = make_adding(T, kBatch, rng);
    opt.zero_grad();
    Tensor loss = mse_loss(model.forward(batch.x), batch.y);
    loss.backward();
    nn::utils::clip_grad_norm_(model.parameters(), 1.0);
    opt.step();
    running = 0.95 * running + 0.05 * loss.item<double>();
    bar.update(step, running);
  }
  r.seconds = seconds_since(t0);
  r.test_loss = test_loss(model, test);
  bar.finish(steps, r.test_loss);

  r.grad_norms = hidden_grad_norms(model, test);
  return r;
}

std::string verdict(double loss) {
  if (loss < 0.25 * kBaseline) return "learned (< 0.042)";
  if (loss < 0.8 * kBaseline) return "partly (< 0.13)";
  return "not learned (>= 0.13)";
}

struct Series {
  const char* name;
  const std::vector<double>* norms;
  const char* color;
  bool dashed;
};

// Decades shown: from the largest norm down to the smallest non-zero one, at most 16 decades.
std::pair<double, double> log_range(const std::vector<Series>& series) {
  double hi = 0, lo = 1e300;
  for (const auto& s : series)
    for (double g : *s.norms)
      if (g > 0) hi = std::max(hi, g), lo = std::min(lo, g);
  if (hi == 0) return {-1, 0};
  const double top = std::ceil(std::log10(hi));
  return {std::max(std::floor(std::log10(lo)), top - 16), top};
}

// A log-scale bar per sampled step, for two series side by side.
void print_grad_chart(const Series& a, const Series& b) {
  const std::size_t T = a.norms->size();
  const auto [bottom, top] = log_range({a, b});
  constexpr int kWidth = 34;
  auto bar = [&](double g) {
    const double f = g > 0 ? std::clamp((std::log10(g) - bottom) / (top - bottom), 0.0, 1.0) : 0.0;
    const int n = static_cast<int>(std::lround(f * kWidth));
    return std::string(static_cast<std::size_t>(n), '#') + std::string(static_cast<std::size_t>(kWidth - n), ' ');
  };
  auto num = [](double g) { return g > 0 ? fmt::format("{:>9.2e}", g) : std::string("        0"); };
  fmt::print("  {:>5}  {:<{}}             {:<{}}   (log scale, 1e{:.0f} to 1e{:.0f})\n", "t", a.name, kWidth, b.name,
             kWidth, bottom, top);
  const std::size_t stride = std::max<std::size_t>(1, T / 10);
  for (std::size_t t = 0;; t += stride) {
    const std::size_t s = std::min(t, T - 1);
    fmt::print("  {:>5} |{}| {}  |{}| {}\n", s, bar((*a.norms)[s]), num((*a.norms)[s]), bar((*b.norms)[s]),
               num((*b.norms)[s]));
    if (s == T - 1) break;
  }
}

void write_svg(const std::string& path, std::int64_t T, const std::vector<Series>& series) {
  constexpr double W = 760, H = 420, L = 70, R = 20, Tp = 40, B = 50;
  const auto [bottom, top] = log_range(series);
  auto px = [&](std::size_t t) {
    return L + (W - L - R) * static_cast<double>(t) / static_cast<double>(std::max<std::int64_t>(T - 1, 1));
  };
  auto py = [&](double g) {
    const double e = g > 0 ? std::clamp(std::log10(g), bottom, top) : bottom;
    return Tp + (H - Tp - B) * (top - e) / (top - bottom);
  };
  std::ofstream out(path);
  if (!out) fail("ag_demo: cannot write '{}'", path);
  out << fmt::format(
             R"(<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" font-family="sans-serif" font-size="12">)",
             W, H)
      << "\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << fmt::format(
             R"(<text x="{}" y="22" font-size="15">Adding problem, T = {}: ||dL/dh_t|| per time step (log scale; 0 drawn at the bottom)</text>)",
             L, T)
      << "\n";
  for (double e = bottom; e <= top; e += 1) {
    const double y = py(std::pow(10.0, e));
    out << fmt::format(
               R"(<line x1="{}" y1="{:.1f}" x2="{}" y2="{:.1f}" stroke="#ddd"/><text x="{}" y="{:.1f}" text-anchor="end">1e{:.0f}</text>)",
               L, y, W - R, y, L - 6, y + 4, e)
        << "\n";
  }
  for (std::int64_t t = 0; t < T; t += std::max<std::int64_t>(1, T / 10))
    out << fmt::format(R"(<text x="{:.1f}" y="{}" text-anchor="middle">{}</text>)", px(static_cast<std::size_t>(t)),
                       H - B + 18, t)
        << "\n";
  out << fmt::format(R"(<text x="{}" y="{}" text-anchor="middle">time step t (the loss reads h at t = {})</text>)",
                     (L + W - R) / 2, H - 12, T - 1)
      << "\n";
  double legend_x = L + 10;
  for (const auto& s : series) {
    std::string pts;
    for (std::size_t t = 0; t < s.norms->size(); ++t) pts += fmt::format("{:.1f},{:.1f} ", px(t), py((*s.norms)[t]));
    const char* dash = s.dashed ? R"( stroke-dasharray="6 4")" : "";
    out << fmt::format(R"(<polyline fill="none" stroke="{}" stroke-width="2"{} points="{}"/>)", s.color, dash, pts)
        << "\n";
    out << fmt::format(
               R"(<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="2"{}/><text x="{}" y="{}">{}</text>)",
               legend_x, Tp + 12, legend_x + 24, Tp + 12, s.color, dash, legend_x + 30, Tp + 16, s.name)
        << "\n";
    legend_x += 165;
  }
  out << "</svg>\n";
}

}  // namespace

int run_bptt(const Options& o) {
  heading(2, "Feed-forward vs recurrent: BPTT on the adding problem");
  say("An MLP maps one input to one output; a recurrent net carries a hidden state h_t from step to step, "
      "and its backward pass (backpropagation through time) is backward() through the unrolled tape: "
      "one copy of the cell per step. Task (Hochreiter & Schmidhuber 1997): a sequence of T steps, each a "
      "value in U[0,1] and a marker; two steps are marked (one in each half) and the target is the sum of "
      "their values. Always predicting 1 gives MSE 1/6 = 0.167, the baseline to beat. Both models: one "
      "recurrent layer, a Linear head on the last h_T, Adam (lr 0.01), gradient norm clipped to 1, batches "
      "of 32 fresh sequences per step; the loss is measured on 512 held-out sequences (fixed seed).");

  const std::int64_t hidden = o.hidden > 0 ? o.hidden : 32;
  std::vector<std::int64_t> lengths = o.lengths;
  const bool defaults = o.lengths.empty() && o.steps == 0 && o.hidden == 0;
  if (lengths.empty()) lengths = o.quick ? std::vector<std::int64_t>{10, 50} : std::vector<std::int64_t>{10, 50, 100};
  auto steps_for = [&](std::int64_t T) -> std::int64_t {
    if (o.steps > 0) return o.steps;
    return T <= 10 ? 600 : T <= 50 ? 900 : 1500;
  };
  fmt::print("\n  hidden size {}, lengths", hidden);
  for (auto T : lengths) fmt::print(" {} ({} steps)", T, steps_for(T));
  fmt::print("\n\n");

  struct Row {
    std::int64_t T;
    RunResult rnn, lstm;
  };
  std::vector<Row> rows;
  for (std::int64_t T : lengths) {
    std::mt19937_64 test_rng(o.seed * 7919 + static_cast<std::uint64_t>(T));
    const AddingData test = make_adding(T, kTestSize, test_rng);
    Row row{T, {}, {}};
    manual_seed(o.seed);
    RnnModel rnn(hidden, "RNN");
    row.rnn = train(rnn, "RNN", T, steps_for(T), o.seed, test);
    manual_seed(o.seed);
    LstmModel lstm(hidden, "LSTM");
    row.lstm = train(lstm, "LSTM", T, steps_for(T), o.seed, test);
    rows.push_back(row);
  }

  fmt::print("\n  Test MSE after training (baseline 0.167 = always predict 1)\n");
  fmt::print("  {:>5} {:>6} | {:>9} {:>9} {:<21} {:>6} | {:>9} {:>9} {:<21} {:>6}\n", "T", "steps", "RNN start",
             "RNN end", "", "time", "LSTM start", "LSTM end", "", "time");
  for (const auto& r : rows)
    fmt::print("  {:>5} {:>6} | {:>9.4f} {:>9.4f} {:<21} {:>5.1f}s | {:>9.4f} {:>9.4f} {:<21} {:>5.1f}s\n", r.T,
               r.rnn.steps, r.rnn.first_loss, r.rnn.test_loss, verdict(r.rnn.test_loss), r.rnn.seconds,
               r.lstm.first_loss, r.lstm.test_loss, verdict(r.lstm.test_loss), r.lstm.seconds);

  const Row& longest = rows.back();
  const Series rnn_init{"RNN, initial weights", &longest.rnn.init_norms, "#d62728", true};
  const Series rnn_end{"RNN, trained", &longest.rnn.grad_norms, "#d62728", false};
  const Series lstm_init{"LSTM, initial weights", &longest.lstm.init_norms, "#1f77b4", true};
  const Series lstm_end{"LSTM, trained", &longest.lstm.grad_norms, "#1f77b4", false};
  fmt::print("\n  ||dL/dh_t||, the gradient of the loss with respect to each hidden state, T = {} (test batch)\n\n",
             longest.T);
  print_grad_chart(rnn_init, lstm_init);
  fmt::print("\n");
  print_grad_chart(rnn_end, lstm_end);
  auto ratio = [](const std::vector<double>& g) {
    return g.front() > 0 ? fmt::format("{:.1e}", g.front() / g.back()) : std::string("0 (underflow)");
  };
  auto zeros = [](const std::vector<double>& g) { return std::count(g.begin(), g.end(), 0.0); };
  fmt::print("\n  ||dL/dh_0|| / ||dL/dh_{}||:  initial weights: RNN {}, LSTM {};  trained: RNN {}, LSTM {}\n",
             longest.T - 1, ratio(*rnn_init.norms), ratio(*lstm_init.norms), ratio(*rnn_end.norms),
             ratio(*lstm_end.norms));
  fmt::print("  steps whose gradient underflowed to exactly 0 in float32 (trained): RNN {}, LSTM {}\n",
             zeros(*rnn_end.norms), zeros(*lstm_end.norms));
  say("The loss reads only the last state, so dL/dh_t for earlier t arrives purely through the recurrence, "
      "multiplied at each step by the Jacobian dh_(t+1)/dh_t. With the initial weights both models' gradients "
      "fall geometrically (the LSTM's forget gate starts near 0.5). Training changes that for the LSTM only: "
      "its cell state is additive, c_t = f * c_(t-1) + i * g, so once it learns to hold the forget gate open "
      "the gradient reaches the early marker nearly intact. The RNN's Jacobian is diag(tanh') W_hh, step "
      "after step, with no such path: the early marker sends it almost no learning signal, and at the longer "
      "lengths its loss does not get clearly below the 0.167 of predicting the mean. That is the vanishing "
      "gradient problem, measured.");
  write_svg(o.svg, longest.T, {rnn_init, rnn_end, lstm_init, lstm_end});
  fmt::print("\n  Chart written to {}\n", o.svg);
  if (!defaults) return 0;
  bool ok = true;  // with the default settings (fixed seeds) the LSTM learns every length
  for (const auto& r : rows) ok = ok && r.lstm.test_loss < 0.25 * kBaseline;
  fmt::print("  check: the LSTM {} at every length\n", ok ? "learned the task" : "FAILED to learn the task");
  return ok ? 0 : 1;
}

}  // namespace demo
