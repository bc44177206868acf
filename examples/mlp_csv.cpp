// Trains an MLP on your own data: a CSV of features and labels (format: nn/csv.h, README "Examples").
//   mlp_csv FILE.csv [--regression] [--hidden H] [--epochs N] [--lr LR] [--test-fraction F] [--seed S]
//                    [--min-accuracy A] [--max-loss L]
// Classification (default): the last column holds class indices 0..C-1; cross-entropy loss.
// --regression: the last column is a real target; MSE loss. Features are standardised with the
// training split's mean and standard deviation. Exit status: 0, 1 if --min-accuracy / --max-loss is
// not reached on the test split, 2 on bad arguments or a malformed file (the error names the line).
#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <string>

#include <nn/csv.h>
#include <nn/nn.h>

namespace {

using namespace ag;

struct Args {
  std::string path;
  bool regression = false;
  std::int64_t hidden = 32, epochs = 300, seed = 0;
  double lr = 0.01, test_fraction = 0.25, min_accuracy = -1, max_loss = -1;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string s = argv[i];
    auto num = [&]() {
      if (i + 1 >= argc) fail("{} needs a value", s);
      const std::string v = argv[++i];
      std::size_t used = 0;
      double d = 0;
      try {
        d = std::stod(v, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != v.size() || !std::isfinite(d)) fail("{}: expected a number, got '{}'", s, v);
      return d;
    };
    if (s == "--regression") a.regression = true;
    else if (s == "--hidden") a.hidden = static_cast<std::int64_t>(num());
    else if (s == "--epochs") a.epochs = static_cast<std::int64_t>(num());
    else if (s == "--seed") a.seed = static_cast<std::int64_t>(num());
    else if (s == "--lr") a.lr = num();
    else if (s == "--test-fraction") a.test_fraction = num();
    else if (s == "--min-accuracy") a.min_accuracy = num();
    else if (s == "--max-loss") a.max_loss = num();
    else if (!s.empty() && s[0] == '-') fail("unknown option '{}'", s);
    else if (a.path.empty()) a.path = s;
    else fail("only one CSV file is accepted, got '{}' and '{}'", a.path, s);
  }
  if (a.path.empty()) fail("no CSV file given");
  if (a.hidden < 1 || a.epochs < 1) fail("--hidden and --epochs must be positive");
  if (a.test_fraction < 0 || a.test_fraction >= 1) fail("--test-fraction must be in [0, 1), got {}", a.test_fraction);
  return a;
}

double accuracy(const Tensor& logits, const Tensor& labels) {
  const auto pred = argmax(logits, 1).to_vector<std::int64_t>(), y = labels.to_vector<std::int64_t>();
  std::int64_t right = 0;
  for (std::size_t i = 0; i < y.size(); ++i) right += pred[i] == y[i];
  return y.empty() ? 0.0 : static_cast<double>(right) / static_cast<double>(y.size());
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  nn::CsvData data;
  try {
    args = parse(argc, argv);
    data =
        nn::read_csv(args.path, nn::CsvOptions().labels(args.regression ? nn::CsvLabels::Float : nn::CsvLabels::Class));
  } catch (const Error& e) {
    fmt::print(stderr, "mlp_csv: {}\n", e.what());
    fmt::print(stderr,
               "usage: mlp_csv FILE.csv [--regression] [--hidden H] [--epochs N] [--lr LR] [--test-fraction F]\n"
               "               [--seed S] [--min-accuracy A] [--max-loss L]\n");
    return 2;
  }
  const std::int64_t n = data.size(), features = data.features.size(1);
  const std::int64_t outputs = args.regression ? data.labels.size(1) : data.num_classes;
  fmt::print("{}: {} rows, {} features, {}\n", args.path, n, features,
             args.regression ? fmt::format("{} float target(s)", outputs) : fmt::format("{} classes", outputs));
  if (!args.regression && outputs < 2) {
    fmt::print(stderr, "mlp_csv: {}: classification needs at least two classes\n", args.path);
    return 2;
  }

  // A shuffled train/test split, then standardisation with the training split's statistics.
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(static_cast<std::uint64_t>(args.seed));
  std::shuffle(order.begin(), order.end(), rng);
  const auto n_test = static_cast<std::int64_t>(std::floor(args.test_fraction * static_cast<double>(n)));
  const Tensor test_idx = tensor(std::vector<std::int64_t>(order.begin(), order.begin() + n_test), {n_test});
  const Tensor train_idx = tensor(std::vector<std::int64_t>(order.begin() + n_test, order.end()), {n - n_test});
  Tensor x_train = index_select(data.features, 0, train_idx), y_train = index_select(data.labels, 0, train_idx);
  Tensor x_test = index_select(data.features, 0, test_idx), y_test = index_select(data.labels, 0, test_idx);
  const Tensor mu = mean(x_train, 0, true);
  const Tensor sd = sqrt(mean(square(x_train - mu), 0, true)) + 1e-6;
  x_train = (x_train - mu) / sd;
  x_test = (x_test - mu) / sd;
  fmt::print("split: {} training rows, {} test rows; model: MLP {}-{}-{}-{} (tanh), Adam lr {}\n", n - n_test, n_test,
             features, args.hidden, args.hidden, outputs, args.lr);

  manual_seed(static_cast<std::uint64_t>(args.seed));
  nn::MLP model(nn::MLPOptions({features, args.hidden, args.hidden, outputs}).activation(nn::Activation::Tanh));
  optim::Adam opt(model->parameters(), optim::AdamOptions(args.lr));
  auto loss_of = [&](const Tensor& out, const Tensor& y) {
    return args.regression ? mse_loss(out, y) : cross_entropy(out, y);
  };
  auto report = [&](std::int64_t epoch) {
    NoGradGuard no_grad;
    const Tensor out_train = model(x_train);
    fmt::print("  epoch {:>5}  train loss {:>9.5f}", epoch, loss_of(out_train, y_train).item<double>());
    if (!args.regression) fmt::print("  train accuracy {:>6.2f}%", 100 * accuracy(out_train, y_train));
    fmt::print("\n");
  };
  for (std::int64_t epoch = 1; epoch <= args.epochs; ++epoch) {  // full-batch: the samples are few
    opt.zero_grad();
    loss_of(model(x_train), y_train).backward();
    opt.step();
    if (epoch == 1 || epoch % std::max<std::int64_t>(1, args.epochs / 6) == 0 || epoch == args.epochs) report(epoch);
  }

  if (n_test == 0) {
    fmt::print("no test split (--test-fraction 0): nothing to evaluate\n");
    return 0;
  }
  NoGradGuard no_grad;
  const Tensor out = model(x_test);
  const double test_loss = loss_of(out, y_test).item<double>();
  bool ok = args.max_loss < 0 || test_loss <= args.max_loss;
  fmt::print("test: loss {:.5f}", test_loss);
  if (!args.regression) {
    const double acc = accuracy(out, y_test);
    fmt::print(", accuracy {:.2f}%", 100 * acc);
    ok = ok && (args.min_accuracy < 0 || acc >= args.min_accuracy);
  } else {
    const double var = mean(square(y_test - mean(y_test))).item<double>();
    fmt::print(" (the targets' variance, the loss of predicting their mean: {:.5f})", var);
  }
  fmt::print("\n{}\n", ok ? "OK" : "FAILED: below the requested --min-accuracy / above --max-loss");
  return ok ? 0 : 1;
}
