// Bad input, nothing lost: after each kind of misuse throws ag::Error, the tape is empty again, the
// parameters, their gradients and the optimizer state are untouched, and the next training step
// gives bit-identically the result of a run in which the bad call never happened.
#include <unistd.h>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>

#include "test_util.h"

#include "nn/nn.h"

using namespace ag;
namespace fs = std::filesystem;

namespace {

struct Trainer {
  nn::MLP model{nn::MLPOptions({3, 4, 2}).activation(nn::Activation::Tanh).dtype(kFloat64)};
  Tensor x, y;
  std::unique_ptr<optim::Adam> opt;

  explicit Trainer(std::uint64_t seed) {
    manual_seed(seed);
    model = nn::MLP(nn::MLPOptions({3, 4, 2}).activation(nn::Activation::Tanh).dtype(kFloat64));
    x = randn({5, 3}, kFloat64);
    y = randn({5, 2}, kFloat64);
    opt = std::make_unique<optim::Adam>(model->parameters(), optim::AdamOptions(0.05));
  }

  double step() {
    opt->zero_grad();
    Tensor loss = nn::mse_loss(model->forward(x), y);
    loss.backward();
    opt->step();
    return loss.item<double>();
  }

  /// Parameters and their gradients, bit for bit.
  std::vector<std::vector<double>> snapshot() const {
    std::vector<std::vector<double>> s;
    for (const Tensor& p : model->parameters()) {
      s.push_back(p.to_vector<double>());
      s.push_back(p.grad().defined() ? p.grad().to_vector<double>() : std::vector<double>{});
    }
    return s;
  }
};

struct TempPath {
  std::string path;
  TempPath() {
    static std::atomic<int> counter{0};
    path = (fs::temp_directory_path() /
            ("ag_recovery_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + ".safetensors"))
               .string();
  }
  ~TempPath() {
    std::error_code ec;
    fs::remove(path, ec);
  }
};

/// One case: `bad` must throw ag::Error after a first step; then two more steps must match a
/// trainer that never saw the bad call.
void check_recovers(const char* what, const std::function<void(Trainer&)>& bad) {
  INFO(std::string(what));
  Trainer a(11), b(11);
  CHECK(a.step() == b.step());
  const auto before = a.snapshot();
  CHECK_THROWS_AS(bad(a), Error);
  CHECK(a.snapshot() == before);            // parameters and gradients untouched
  CHECK(Tape::current().num_nodes() == 0);  // what the bad call recorded is gone
  CHECK(GradMode::is_enabled());
  for (int i = 0; i < 2; ++i) {
    const double la = a.step(), lb = b.step();
    CHECK(la == lb);
  }
  CHECK(a.snapshot() == b.snapshot());
  CHECK(Tape::current().num_nodes() == 0);
}

}  // namespace

TEST_CASE("recovery: shape, dtype, dim and index errors mid-forward leave training unchanged") {
  check_recovers("input with the wrong number of features", [](Trainer& t) {
    t.model->forward(ones({5, 4}, kFloat64));
  });
  check_recovers("shapes that do not broadcast after a recorded forward", [](Trainer& t) {
    Tensor out = t.model->forward(t.x);
    nn::mse_loss(out + ones({3, 3}, kFloat64), t.y);
  });
  check_recovers("float32 input to a float64 model", [](Trainer& t) { t.model->forward(ones({5, 3})); });
  check_recovers("loss of mismatched shapes", [](Trainer& t) {
    nn::mse_loss(t.model->forward(t.x), ones({5, 1}, kFloat64));
  });
  check_recovers("a dim out of range", [](Trainer& t) { softmax(t.model->forward(t.x), 2); });
  check_recovers("an index out of range", [](Trainer& t) { select(t.model->forward(t.x), 0, 5); });
  check_recovers("index_select with a bad index", [](Trainer& t) {
    index_select(t.model->forward(t.x), 0, tensor(std::vector<std::int64_t>{0, 7}, {2}));
  });
  check_recovers("gather with a negative index", [](Trainer& t) {
    gather(t.model->forward(t.x), 1, tensor(std::vector<std::int64_t>{0, -1, 0, 0, 0, 0, 0, 0, 0, 0}, {5, 2}));
  });
  check_recovers("cross_entropy with a class out of range", [](Trainer& t) {
    nn::cross_entropy(t.model->forward(t.x), tensor(std::vector<std::int64_t>{0, 1, 2, 0, 1}, {5}));
  });
  check_recovers("matmul inner-dimension mismatch", [](Trainer& t) { matmul(t.model->forward(t.x), t.x); });
  check_recovers("an undefined tensor", [](Trainer& t) { t.model->forward(Tensor()); });
  check_recovers("a wrong value count", [](Trainer&) { tensor({1.0, 2.0, 3.0}, {2, 2}, kFloat64); });
}

TEST_CASE("recovery: backward misuse does not half-accumulate gradients") {
  check_recovers("backward of a non-scalar without a gradient", [](Trainer& t) { t.model->forward(t.x).backward(); });
  check_recovers("backward with a gradient of the wrong shape", [](Trainer& t) {
    t.model->forward(t.x).backward(ones({2, 5}, kFloat64));
  });
  check_recovers("backward of a tensor that does not require grad", [](Trainer& t) { sum(t.x).backward(); });
  check_recovers("ag::grad with an input the output does not use", [](Trainer& t) {
    Tensor loss = nn::mse_loss(t.model->forward(t.x), t.y);
    Tensor unused = ones({2}, kFloat64).requires_grad_();
    grad({loss}, {t.model->parameters()[0], unused});
  });
  check_recovers("backward through a graph freed by ag::grad", [](Trainer& t) {
    Tensor loss = nn::mse_loss(t.model->forward(t.x), t.y);
    grad({loss}, t.model->parameters());  // does not touch .grad(), frees the graph
    loss.backward();
  });
  check_recovers("a saved tensor modified in place: backward fails after reaching later leaves", [](Trainer& t) {
    // recorded first (so backward reaches it last): tanh saves its output, which is then modified
    const Tensor w0 = t.model->parameters()[0];
    Tensor saved = tanh(w0 * 1.0);
    Tensor loss = nn::mse_loss(t.model->forward(t.x), t.y) + sum(saved);
    {
      NoGradGuard ng;
      saved.mul_(2.0);
    }
    loss.backward();
  });
  check_recovers("in-place op on a parameter while grad mode is on",
                 [](Trainer& t) { t.model->parameters()[0].add_(1.0); });
}

namespace {
struct BadGrads : Function<BadGrads> {
  static Tensor forward(AutogradContext*, const Tensor& a, const Tensor& b) { return a * b; }
  // one too many (a defined gradient past the last argument; a shorter list means undefined ones)
  static std::vector<Tensor> backward(AutogradContext*, const std::vector<Tensor>& g) { return {g[0], g[0], g[0]}; }
};
}  // namespace

TEST_CASE("recovery: a custom function returning the wrong number of gradients") {
  check_recovers("custom function backward", [](Trainer& t) {
    Tensor out = t.model->forward(t.x);
    Tensor loss = sum(BadGrads::apply(out, out * 2.0)) + nn::mse_loss(out, t.y);
    loss.backward();
  });
}

TEST_CASE("recovery: a failed nn::load leaves the weights and the next steps as if it never happened") {
  Trainer ref(11);
  TempPath good;
  nn::save(*ref.model, good.path);
  std::ifstream in(good.path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto write = [](const std::string& path, const std::string& data) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
  };
  const std::vector<std::pair<const char*, std::string>> corrupt = {
      {"truncated data", bytes.substr(0, bytes.size() - 4)},
      {"truncated header", bytes.substr(0, 20)},
      {"empty file", ""},
      {"header not JSON", std::string(8, '\0') + "{"},
      {"one flipped byte in the header length", std::string(1, static_cast<char>(bytes[0] ^ 0x40)) + bytes.substr(1)},
  };
  for (const auto& [what, data] : corrupt) {
    TempPath p;
    write(p.path, data);
    check_recovers(what, [&](Trainer& t) { nn::load(*t.model, p.path); });
  }
  check_recovers("a file that does not exist",
                 [](Trainer& t) { nn::load(*t.model, "/nonexistent/dir/w.safetensors"); });
  // in memory, too
  CHECK_THROWS_AS(nn::load_safetensors_from_bytes(bytes.substr(0, bytes.size() - 1)), Error);
  CHECK(nn::load_safetensors_from_bytes(bytes).size() == ref.model->parameters().size());
}
