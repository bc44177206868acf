// The model and training loop of PyTorch's C++ MNIST example, written with ag:: (two convolutions with
// 2x2 max pooling and channel dropout, two linear layers, log_softmax + nll_loss, SGD with momentum),
// fed by ag::data: datasets::MNIST normalised and stacked, a shuffled RandomSampler for training and a
// sequential one for the test set, batches prepared by worker threads.
//   mnist [--data DIR] [--epochs N] [--batch B] [--test-batch B] [--lr LR] [--momentum M] [--workers W]
//         [--train-count N] [--test-count N] [--seed S] [--min-accuracy A] [--save PREFIX] [--resume PREFIX]
// The idx files (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,
// t10k-labels-idx1-ubyte, uncompressed) are read from --data DIR, else from $MNIST_DATA, else from
// ./data (the official example's kDataRoot). When they are not there, the example writes idx files of
// generated digits (seven-segment figures, shifted, of random thickness, with noise) to a temporary
// directory, trains on those and says so. --train-count / --test-count use only the first N images of
// each set (and are how many are generated: by default 6000 and 1000). Each epoch shows a progress bar
// (loss, samples/s), then the test set's average loss and accuracy. --save PREFIX writes, after the
// last epoch, the weights (PREFIX.model.safetensors, nn::save), the optimizer (PREFIX.optim.safetensors,
// optim::save), the training sampler's state (PREFIX.sampler.safetensors, data::samplers::save) and
// PREFIX.run (the epochs done and ag::rng_state(), which dropout and the sampler's next shuffle draw
// from); --resume PREFIX loads them and continues up to --epochs (the same data and options must be
// given), printing the same numbers, bit for bit, as a run that never stopped. Exit status: 0; 1 when
// the last accuracy is below --min-accuracy; 2 on bad arguments or unreadable files.
#include <fmt/core.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include <nn/nn.h>

#include "../demo/common.h"

namespace {

using namespace ag;
namespace fs = std::filesystem;

struct Args {
  std::string data, save, resume;
  std::int64_t epochs = 10, batch = 64, test_batch = 1000, workers = 2, train_count = -1, test_count = -1, seed = 1;
  double lr = 0.01, momentum = 0.5, min_accuracy = -1;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string s = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) fail("{} needs a value", s);
      return argv[++i];
    };
    auto num = [&]() {
      const std::string v = value();
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
    auto count = [&]() { return static_cast<std::int64_t>(num()); };
    if (s == "--data") a.data = value();
    else if (s == "--save") a.save = value();
    else if (s == "--resume") a.resume = value();
    else if (s == "--epochs") a.epochs = count();
    else if (s == "--batch") a.batch = count();
    else if (s == "--test-batch") a.test_batch = count();
    else if (s == "--workers") a.workers = count();
    else if (s == "--train-count") a.train_count = count();
    else if (s == "--test-count") a.test_count = count();
    else if (s == "--seed") a.seed = count();
    else if (s == "--lr") a.lr = num();
    else if (s == "--momentum") a.momentum = num();
    else if (s == "--min-accuracy") a.min_accuracy = num();
    else fail("unknown argument '{}'", s);
  }
  if (a.epochs < 0 || a.batch < 1 || a.test_batch < 1 || a.workers < 0)
    fail("--batch and --test-batch must be positive, --epochs and --workers >= 0");
  if (a.train_count == 0 || a.test_count == 0 || a.train_count < -1 || a.test_count < -1)
    fail("--train-count and --test-count must be positive");
  return a;
}

// --- generated digits, written as idx files ---

// The segments (a..g) lit for each digit.
const char* const kSegments[10] = {"abcdef", "bc",     "abdeg", "abcdg",   "bcfg",
                                   "acdfg",  "acdefg", "abc",   "abcdefg", "abcdfg"};

void draw_digit(std::vector<std::uint8_t>& img, int digit, int x0, int y0, int w, int h, int thick) {
  constexpr int kSide = 28;
  auto line = [&](int x1, int y1, int x2, int y2) {
    for (int y = std::min(y1, y2); y <= std::max(y1, y2) + thick - 1; ++y)
      for (int x = std::min(x1, x2); x <= std::max(x1, x2) + thick - 1; ++x)
        if (x >= 0 && x < kSide && y >= 0 && y < kSide) img[static_cast<std::size_t>(y * kSide + x)] = 255;
  };
  const int xa = x0, xb = x0 + w, ya = y0, ym = y0 + h / 2, yb = y0 + h;
  for (const char* s = kSegments[digit]; *s; ++s) switch (*s) {
      case 'a':
        line(xa, ya, xb, ya);
        break;
      case 'b':
        line(xb, ya, xb, ym);
        break;
      case 'c':
        line(xb, ym, xb, yb);
        break;
      case 'd':
        line(xa, yb, xb, yb);
        break;
      case 'e':
        line(xa, ym, xa, yb);
        break;
      case 'f':
        line(xa, ya, xa, ym);
        break;
      default:
        line(xa, ym, xb, ym);
        break;
    }
}

void write_be32(std::ofstream& out, std::uint32_t v) {
  const char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                     static_cast<char>(v)};
  out.write(b, 4);
}

/// Writes `count` generated 28 x 28 digits as <prefix>-images-idx3-ubyte and <prefix>-labels-idx1-ubyte.
void write_generated(const fs::path& dir, const std::string& prefix, std::int64_t count, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto draw = [&](int n) { return static_cast<int>(rng() % static_cast<std::uint64_t>(n)); };
  std::ofstream images(dir / (prefix + "-images-idx3-ubyte"), std::ios::binary);
  std::ofstream labels(dir / (prefix + "-labels-idx1-ubyte"), std::ios::binary);
  write_be32(images, 2051);
  write_be32(images, static_cast<std::uint32_t>(count));
  write_be32(images, 28);
  write_be32(images, 28);
  write_be32(labels, 2049);
  write_be32(labels, static_cast<std::uint32_t>(count));
  for (std::int64_t i = 0; i < count; ++i) {
    const int digit = draw(10);
    std::vector<std::uint8_t> img(28 * 28, 0);
    const int w = 8 + draw(5), h = 14 + draw(7);
    draw_digit(img, digit, 2 + draw(24 - w), 2 + draw(24 - h), w, h, 1 + draw(3));
    for (int k = 0; k < 30; ++k) img[static_cast<std::size_t>(draw(28 * 28))] = static_cast<std::uint8_t>(draw(256));
    images.write(reinterpret_cast<const char*>(img.data()), static_cast<std::streamsize>(img.size()));
    const char label = static_cast<char>(digit);
    labels.write(&label, 1);
  }
  if (!images || !labels) fail("cannot write the generated idx files in '{}'", dir.string());
}

bool has_mnist(const fs::path& dir) {
  for (const char* f :
       {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"})
    if (!fs::is_regular_file(dir / f)) return false;
  return true;
}

// --- the model, as the official example's ---

struct Net : nn::Module {
  Net()
      : Module("Net"),
        conv1(nn::Conv2dOptions(1, 10, /*kernel_size=*/5)),
        conv2(nn::Conv2dOptions(10, 20, /*kernel_size=*/5)),
        fc1(320, 50),
        fc2(50, 10) {
    register_module("conv1", conv1);
    register_module("conv2", conv2);
    register_module("conv2_drop", conv2_drop);
    register_module("fc1", fc1);
    register_module("fc2", fc2);
  }

  Tensor forward(Tensor x) {
    x = relu(max_pool2d(conv1->forward(x), 2));
    x = relu(max_pool2d(conv2_drop->forward(conv2->forward(x)), 2));
    x = x.view({-1, 320});
    x = relu(fc1->forward(x));
    x = dropout(x, /*p=*/0.5, /*train=*/is_training());
    x = fc2->forward(x);
    return log_softmax(x, /*dim=*/1);
  }

  nn::Conv2d conv1;
  nn::Conv2d conv2;
  nn::Dropout2d conv2_drop;
  nn::Linear fc1;
  nn::Linear fc2;
};

template <typename Loader>
void train(std::int64_t epoch, Net& model, optim::Optimizer& optimizer, Loader& loader, std::int64_t samples) {
  model.train();
  demo::ProgressBar bar(fmt::format("epoch {}", epoch), samples, "samples");
  std::int64_t done = 0, batches = 0;
  double total = 0;
  for (auto& batch : loader) {
    optimizer.zero_grad();
    Tensor output = model.forward(batch.data);
    Tensor loss = nll_loss(output, batch.target);
    const double value = loss.item<double>();
    if (!std::isfinite(value)) fail("the loss is {} at epoch {}, batch {}", value, epoch, batches + 1);
    loss.backward();
    optimizer.step();
    total += value;
    ++batches;
    done += batch.data.size(0);
    bar.update(done, total / static_cast<double>(batches));
  }
  bar.finish(done, total / static_cast<double>(std::max<std::int64_t>(batches, 1)));
}

/// The test set's average loss and accuracy.
template <typename Loader>
std::pair<double, double> test(Net& model, Loader& loader) {
  NoGradGuard no_grad;
  model.eval();
  double loss = 0;
  std::int64_t correct = 0, count = 0;
  for (const auto& batch : loader) {
    Tensor output = model.forward(batch.data);
    loss += nll_loss(output, batch.target, /*weight=*/{}, Reduction::Sum).template item<double>();
    correct += output.argmax(1).eq(batch.target).sum().template item<std::int64_t>();
    count += batch.data.size(0);
  }
  return {loss / static_cast<double>(count), static_cast<double>(correct) / static_cast<double>(count)};
}

/// --save: everything the next epochs depend on, after `epochs_done` epochs.
void save_run(const std::string& prefix, const Net& model, const optim::SGD& optimizer,
              const data::samplers::RandomSampler& sampler, std::int64_t epochs_done) {
  nn::save(model, prefix + ".model.safetensors");
  optim::save(optimizer, prefix + ".optim.safetensors");
  data::samplers::save(sampler, prefix + ".sampler.safetensors");
  const std::string rng = rng_state();
  std::ofstream out(prefix + ".run", std::ios::binary);
  out << epochs_done << ' ' << rng.size() << '\n';
  out.write(rng.data(), static_cast<std::streamsize>(rng.size()));
  if (!out) fail("cannot write '{}.run'", prefix);
}

/// --resume: loads what save_run wrote; returns the epochs done.
std::int64_t load_run(const std::string& prefix, Net& model, optim::SGD& optimizer,
                      data::samplers::RandomSampler& sampler) {
  std::ifstream in(prefix + ".run", std::ios::binary);
  std::int64_t epochs_done = -1;
  std::size_t size = 0;
  in >> epochs_done >> size;
  in.get();
  std::string rng(size, '\0');
  in.read(rng.data(), static_cast<std::streamsize>(size));
  if (!in || epochs_done < 0) fail("'{}.run' is missing or malformed (written by --save)", prefix);
  nn::load(model, prefix + ".model.safetensors");
  optim::load(optimizer, prefix + ".optim.safetensors");
  data::samplers::load(sampler, prefix + ".sampler.safetensors");
  set_rng_state(rng);
  return epochs_done;
}

/// Removes the directory of generated files when the run ends, however it ends.
struct RemoveOnExit {
  fs::path dir;
  ~RemoveOnExit() {
    std::error_code ignored;
    if (!dir.empty()) fs::remove_all(dir, ignored);
  }
};

int run(const Args& args) {
  fs::path root = args.data;
  std::string from = "--data";
  if (root.empty()) {
    const char* env = std::getenv("MNIST_DATA");
    root = env ? env : "./data";
    from = env ? "$MNIST_DATA" : "the default ./data";
  }
  RemoveOnExit generated_dir;
  std::int64_t train_count = args.train_count, test_count = args.test_count;
  if (has_mnist(root)) {
    fmt::print("data: the MNIST idx files in '{}' ({})\n", root.string(), from);
  } else {
    if (train_count < 0) train_count = 6000;
    if (test_count < 0) test_count = 1000;
    const fs::path generated =
        fs::temp_directory_path() / fmt::format("ag_mnist_{}", static_cast<long long>(::getpid()));
    generated_dir.dir = generated;
    fs::create_directories(generated);
    write_generated(generated, "train", train_count, static_cast<std::uint64_t>(args.seed));
    write_generated(generated, "t10k", test_count, static_cast<std::uint64_t>(args.seed) + 1);
    fmt::print(
        "data: GENERATED digits ({} train, {} test: seven-segment figures, not MNIST), written to '{}'; no MNIST idx "
        "files in '{}' ({}; pass --data DIR or set MNIST_DATA)\n",
        train_count, test_count, generated.string(), root.string(), from);
    root = generated;
  }
  const auto normalize = data::transforms::Normalize<>(0.1307, 0.3081);
  auto train_set = data::datasets::MNIST(root.string(), data::datasets::MNIST::Mode::kTrain)
                       .map(normalize)
                       .map(data::transforms::Stack<>());
  auto test_set = data::datasets::MNIST(root.string(), data::datasets::MNIST::Mode::kTest)
                      .map(normalize)
                      .map(data::transforms::Stack<>());
  const auto train_size = static_cast<std::int64_t>(*train_set.size());
  const auto test_size = static_cast<std::int64_t>(*test_set.size());
  train_count = train_count < 0 ? train_size : std::min(train_count, train_size);
  test_count = test_count < 0 ? test_size : std::min(test_count, test_size);
  fmt::print("{} training images (of {}), {} test images (of {}); batch {}, {} worker threads\n", train_count,
             train_size, test_count, test_size, args.batch, args.workers);

  manual_seed(static_cast<std::uint64_t>(args.seed));
  const auto workers = static_cast<std::size_t>(args.workers);
  auto train_loader = data::make_data_loader(
      std::move(train_set), data::samplers::RandomSampler(train_count),
      data::DataLoaderOptions().batch_size(static_cast<std::size_t>(args.batch)).workers(workers));
  auto test_loader = data::make_data_loader(
      std::move(test_set), data::samplers::SequentialSampler(static_cast<std::size_t>(test_count)),
      data::DataLoaderOptions().batch_size(static_cast<std::size_t>(args.test_batch)).workers(workers));

  Net model;
  optim::SGD optimizer(model.parameters(), optim::SGDOptions(args.lr).momentum(args.momentum));
  fmt::print(
      "model: Conv2d(1, 10, 5) -> max_pool2d, relu -> Conv2d(10, 20, 5) -> Dropout2d -> max_pool2d, relu ->\n"
      "       Linear(320, 50), relu, dropout -> Linear(50, 10) -> log_softmax; nll_loss, SGD lr {} momentum {}\n",
      args.lr, args.momentum);
  std::int64_t epochs_done = 0;
  if (!args.resume.empty()) {
    epochs_done = load_run(args.resume, model, optimizer, train_loader->sampler());
    fmt::print("resumed from {}.* after epoch {}\n", args.resume, epochs_done);
  }
  double accuracy = NAN, test_loss = NAN;
  for (std::int64_t epoch = epochs_done + 1; epoch <= args.epochs; ++epoch) {
    train(epoch, model, optimizer, *train_loader, train_count);
    std::tie(test_loss, accuracy) = test(model, *test_loader);
    fmt::print("Test set: average loss {:.4f}, accuracy {:.4f} ({:.2f}%)\n", test_loss, accuracy, 100 * accuracy);
    epochs_done = epoch;
  }
  train_loader->join();
  test_loader->join();
  if (std::isfinite(test_loss))
    fmt::print("final test loss after epoch {}: {:.17g}, accuracy {:.17g}\n", epochs_done, test_loss, accuracy);
  if (!args.save.empty()) {
    save_run(args.save, model, optimizer, train_loader->sampler(), epochs_done);
    fmt::print("saved {0}.model.safetensors, {0}.optim.safetensors, {0}.sampler.safetensors, {0}.run\n", args.save);
  }
  if (args.min_accuracy >= 0) {
    const bool ok = std::isfinite(accuracy) && accuracy >= args.min_accuracy;
    fmt::print("{}: test accuracy {:.4f}, required {}\n", ok ? "OK" : "FAILED", accuracy, args.min_accuracy);
    return ok ? 0 : 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  try {
    args = parse(argc, argv);
  } catch (const Error& e) {
    fmt::print(stderr, "mnist: {}\n", e.what());
    fmt::print(stderr,
               "usage: mnist [--data DIR] [--epochs N] [--batch B] [--test-batch B] [--lr LR] [--momentum M]\n"
               "             [--workers W] [--train-count N] [--test-count N] [--seed S] [--min-accuracy A]\n"
               "             [--save PREFIX] [--resume PREFIX]\n");
    return 2;
  }
  try {
    return run(args);
  } catch (const Error& e) {
    fmt::print(stderr, "mnist: {}\n", e.what());
    return 2;
  } catch (const fs::filesystem_error& e) {
    fmt::print(stderr, "mnist: {}\n", e.what());
    return 2;
  }
}
