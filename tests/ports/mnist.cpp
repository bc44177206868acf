// A libtorch program (torch::, <torch/torch.h>) that the build renames to ag:: and runs: the model,
// data pipeline and training loop of PyTorch's C++ "MNIST" example (two convolutions with 2x2 max
// pooling, channel dropout, two linear layers, log_softmax + nll_loss, SGD with momentum, the MNIST
// dataset normalised and stacked by torch::data, a sequential data loader), in this file's own words.
// It needs no download: it first writes MNIST's test-set idx files (10000 images of 28x28, the count
// libtorch's reader insists on) holding generated digits, drawn as seven-segment figures shifted and
// thickened by a small generator of its own (libtorch's random numbers and this library's differ),
// then trains on them for one epoch (at lr 0.05, the example's 0.01 needs several) and evaluates. The weights start
// from each library's own random initialisation, so the losses differ between the two: the program prints only what
// both must agree on (sizes, shapes, and whether the accuracy passed 90%). The output must equal
// tests/ports/expected/mnist.txt (made by tests/ports/make_expected.sh with libtorch) byte for byte.
#include <torch/torch.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace {

constexpr int64_t kImages = 10000;
constexpr int64_t kSide = 28;
constexpr int64_t kBatchSize = 64;

// The seven segments (a..g) of each digit, and where each segment lies in a 5x9 grid.
const char* const kSegments[10] = {"abcdef", "bc",     "abdeg", "abcdg",   "bcfg",
                                   "acdfg",  "acdefg", "abc",   "abcdefg", "abcdfg"};

struct Lcg {
  uint64_t state = 12345;
  uint32_t next() {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<uint32_t>(state >> 33);
  }
};

void draw_segment(std::vector<uint8_t>& img, char seg, int x0, int y0, int thick) {
  // corners of the 10 x 18 figure at (x0, y0)
  int xa = x0, xb = x0 + 10, ya = y0, ym = y0 + 9, yb = y0 + 18;
  auto line = [&](int x1, int y1, int x2, int y2) {
    for (int y = std::min(y1, y2); y <= std::max(y1, y2) + thick - 1; ++y)
      for (int x = std::min(x1, x2); x <= std::max(x1, x2) + thick - 1; ++x)
        if (x >= 0 && x < kSide && y >= 0 && y < kSide) img[static_cast<size_t>(y * kSide + x)] = 255;
  };
  switch (seg) {
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
    case 'g':
      line(xa, ym, xb, ym);
      break;
  }
}

void write_be32(std::ofstream& out, uint32_t v) {
  const char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                     static_cast<char>(v)};
  out.write(b, 4);
}

void write_generated_mnist(const std::string& root) {
  Lcg rng;
  std::ofstream images(root + "/t10k-images-idx3-ubyte", std::ios::binary);
  std::ofstream labels(root + "/t10k-labels-idx1-ubyte", std::ios::binary);
  write_be32(images, 2051);
  write_be32(images, kImages);
  write_be32(images, kSide);
  write_be32(images, kSide);
  write_be32(labels, 2049);
  write_be32(labels, kImages);
  for (int64_t i = 0; i < kImages; ++i) {
    const int digit = static_cast<int>(rng.next() % 10);
    std::vector<uint8_t> img(kSide * kSide, 0);
    const int x0 = 5 + static_cast<int>(rng.next() % 8), y0 = 2 + static_cast<int>(rng.next() % 6);
    const int thick = 1 + static_cast<int>(rng.next() % 3);
    for (const char* s = kSegments[digit]; *s; ++s) draw_segment(img, *s, x0, y0, thick);
    for (int k = 0; k < 20; ++k) img[rng.next() % (kSide * kSide)] = static_cast<uint8_t>(rng.next() % 256);
    images.write(reinterpret_cast<const char*>(img.data()), static_cast<std::streamsize>(img.size()));
    const char label = static_cast<char>(digit);
    labels.write(&label, 1);
  }
}

struct Net : torch::nn::Module {
  Net()
      : conv1(torch::nn::Conv2dOptions(1, 10, /*kernel_size=*/5)),
        conv2(torch::nn::Conv2dOptions(10, 20, 5)),
        fc1(320, 50),
        fc2(50, 10) {
    register_module("conv1", conv1);
    register_module("conv2", conv2);
    register_module("conv2_drop", conv2_drop);
    register_module("fc1", fc1);
    register_module("fc2", fc2);
  }

  torch::Tensor forward(torch::Tensor x) {
    x = torch::relu(torch::max_pool2d(conv1->forward(x), 2));
    x = torch::relu(torch::max_pool2d(conv2_drop->forward(conv2->forward(x)), 2));
    x = x.view({-1, 320});
    x = torch::relu(fc1->forward(x));
    x = torch::dropout(x, /*p=*/0.5, /*train=*/is_training());
    x = fc2->forward(x);
    return torch::log_softmax(x, /*dim=*/1);
  }

  torch::nn::Conv2d conv1;
  torch::nn::Conv2d conv2;
  torch::nn::Dropout2d conv2_drop;
  torch::nn::Linear fc1;
  torch::nn::Linear fc2;
};

}  // namespace

int main() {
  const std::string root = ".";
  write_generated_mnist(root);
  torch::manual_seed(1);
  torch::Device device(torch::cuda::is_available() ? torch::kCUDA : torch::kCPU);
  Net model;
  model.to(device);

  auto dataset = torch::data::datasets::MNIST(root, torch::data::datasets::MNIST::Mode::kTest)
                     .map(torch::data::transforms::Normalize<>(0.1307, 0.3081))
                     .map(torch::data::transforms::Stack<>());
  const size_t dataset_size = dataset.size().value();
  std::printf("dataset: %zu generated images\n", dataset_size);
  auto loader = torch::data::make_data_loader<torch::data::samplers::SequentialSampler>(std::move(dataset), kBatchSize);

  torch::optim::SGD optimizer(model.parameters(), torch::optim::SGDOptions(0.05).momentum(0.5));
  model.train();
  size_t batches = 0;
  double first_loss = 0, last_loss = 0;
  for (auto& batch : *loader) {
    auto data = batch.data.to(device), targets = batch.target.to(device);
    if (batches == 0)
      std::printf("first batch: data %s, targets %s\n", torch::str(data.sizes()).c_str(),
                  torch::str(targets.sizes()).c_str());
    optimizer.zero_grad();
    auto output = model.forward(data);
    auto loss = torch::nll_loss(output, targets);
    AT_ASSERT(!std::isnan(loss.template item<float>()));
    loss.backward();
    optimizer.step();
    last_loss = loss.template item<float>();
    if (batches == 0) first_loss = last_loss;
    ++batches;
  }
  std::printf("trained on %zu batches; the loss fell by more than half: %s\n", batches,
              last_loss < 0.5 * first_loss ? "yes" : "no");

  torch::NoGradGuard no_grad;
  model.eval();
  double test_loss = 0;
  int64_t correct = 0;
  auto test_dataset = torch::data::datasets::MNIST(root, torch::data::datasets::MNIST::Mode::kTest)
                          .map(torch::data::transforms::Normalize<>(0.1307, 0.3081))
                          .map(torch::data::transforms::Stack<>());
  auto test_loader = torch::data::make_data_loader(std::move(test_dataset), 1000);
  for (const auto& batch : *test_loader) {
    auto data = batch.data.to(device), targets = batch.target.to(device);
    auto output = model.forward(data);
    test_loss += torch::nll_loss(output, targets, /*weight=*/{}, torch::Reduction::Sum).template item<float>();
    auto pred = output.argmax(1);
    correct += pred.eq(targets).sum().template item<int64_t>();
  }
  std::printf("test: average loss below 0.5: %s, accuracy above 90%%: %s\n", test_loss / kImages < 0.5 ? "yes" : "no",
              correct > 9000 ? "yes" : "no");
  return 0;
}
