// ag::data's loader with worker threads: the same batches in the same order as without workers, an
// exception of a worker rethrown in the iterating thread, a loader destroyed or restarted mid-epoch
// joining its workers. (Named *threads* so that the TSan preset runs it.)
#include <atomic>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "nn/nn.h"
#include "test_util.h"

namespace data = ag::data;

namespace {

/// Example i: data [3] = {i, i + 0.5, i * i} (float64), target i. Optionally slow (to make workers
/// finish out of order), optionally throws at one index; counts the examples made.
struct Numbers : data::datasets::Dataset<Numbers> {
  explicit Numbers(std::size_t n, std::int64_t throw_at = -1, bool jitter = false,
                   std::shared_ptr<std::atomic<int>> made = std::make_shared<std::atomic<int>>(0))
      : n_(n), throw_at_(throw_at), jitter_(jitter), made_(std::move(made)) {}
  data::Example<> get(std::size_t i) override {
    if (static_cast<std::int64_t>(i) == throw_at_) throw std::runtime_error("bad example " + std::to_string(i));
    if (jitter_ && i % 3 == 0) std::this_thread::sleep_for(std::chrono::microseconds(300));
    ++*made_;
    const auto x = static_cast<double>(i);
    return {ag::tensor({x, x + 0.5, x * x}, {3}, ag::kFloat64), ag::tensor(static_cast<std::int64_t>(i))};
  }
  std::optional<std::size_t> size() const override { return n_; }
  std::size_t n_;
  std::int64_t throw_at_;
  bool jitter_;
  std::shared_ptr<std::atomic<int>> made_;
};

/// The batches of one epoch as (targets, data values).
template <typename Loader>
std::vector<std::pair<std::vector<std::int64_t>, std::vector<double>>> epoch(Loader& loader) {
  std::vector<std::pair<std::vector<std::int64_t>, std::vector<double>>> out;
  for (auto& batch : loader)
    out.emplace_back(batch.target.template to_vector<std::int64_t>(), batch.data.template to_vector<double>());
  return out;
}

}  // namespace

TEST_CASE("data threads: workers give the same batches in the same order as no workers") {
  for (const std::size_t workers : {1u, 2u, 3u})
    for (const bool drop_last : {false, true}) {
      INFO("workers " << workers << " drop_last " << drop_last);
      auto make = [&](std::size_t w) {
        return data::make_data_loader(
            Numbers(23, -1, true).map(data::transforms::Normalize<>(1.0, 2.0)).map(data::transforms::Stack<>()),
            data::samplers::RandomSampler(23, ag::kInt64, 99),
            data::DataLoaderOptions().batch_size(4).workers(w).drop_last(drop_last).enforce_ordering(true));
      };
      auto reference = make(0);
      auto threaded = make(workers);
      CHECK(threaded->options().max_jobs == 2 * workers);
      for (int e = 0; e < 3; ++e) {
        const auto want = epoch(*reference);
        const auto got = epoch(*threaded);
        CHECK(want.size() == (drop_last ? 5u : 6u));
        CHECK(got == want);
      }
    }
}

TEST_CASE("data threads: without ordering every example still comes exactly once") {
  auto loader = data::make_data_loader<data::samplers::SequentialSampler>(
      Numbers(40, -1, true).map(data::transforms::Stack<>()),
      data::DataLoaderOptions().batch_size(3).workers(3).max_jobs(5).enforce_ordering(false));
  CHECK(loader->options().max_jobs == 5);
  for (int e = 0; e < 2; ++e) {
    std::vector<int> seen(40, 0);
    for (auto& batch : *loader)
      for (auto t : batch.target.to_vector<std::int64_t>()) ++seen[static_cast<std::size_t>(t)];
    CHECK(std::all_of(seen.begin(), seen.end(), [](int c) { return c == 1; }));
  }
}

TEST_CASE("data threads: an exception in a worker is rethrown in the iterating thread") {
  auto loader =
      data::make_data_loader<data::samplers::SequentialSampler>(Numbers(20, 9).map(data::transforms::Stack<>()),
                                                                data::DataLoaderOptions().batch_size(4).workers(2));
  std::vector<std::int64_t> firsts;
  std::string message;
  try {
    for (auto& batch : *loader) firsts.push_back(batch.target.to_vector<std::int64_t>()[0]);
  } catch (const std::runtime_error& e) {
    message = e.what();
  }
  CHECK(message == "bad example 9");
  CHECK(firsts == std::vector<std::int64_t>{0, 4});  // the batches before the failing one, in order
  // a new epoch after the failure: the same again (the loader still works)
  firsts.clear();
  message.clear();
  try {
    for (auto& batch : *loader) firsts.push_back(batch.target.to_vector<std::int64_t>()[0]);
  } catch (const std::runtime_error& e) {
    message = e.what();
  }
  CHECK(message == "bad example 9");
  CHECK(firsts == std::vector<std::int64_t>{0, 4});

  // thrown on a worker (the training thread is slow, so the workers have made the batches ahead)
  struct Thrower : data::datasets::Dataset<Thrower> {
    std::shared_ptr<std::thread::id> thrower = std::make_shared<std::thread::id>();
    data::Example<> get(std::size_t i) override {
      if (i == 9) {
        *thrower = std::this_thread::get_id();  // read after the loader's hand-over (its mutex)
        throw std::runtime_error("bad example 9");
      }
      return {ag::ones({2}), ag::tensor(static_cast<std::int64_t>(i))};
    }
    std::optional<std::size_t> size() const override { return 20; }
  };
  Thrower thrower;
  auto slow =
      data::make_data_loader<data::samplers::SequentialSampler>(thrower,
                                                                data::DataLoaderOptions().batch_size(4).workers(2));
  message.clear();
  try {
    for (auto& batch : *slow) {
      (void)batch;
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
    }
  } catch (const std::runtime_error& e) {
    message = e.what();
  }
  CHECK(message == "bad example 9");
  CHECK(*thrower.thrower != std::thread::id());
  CHECK(*thrower.thrower != std::this_thread::get_id());

  // an ag::Error keeps its type: an index past a TensorDataset
  auto bad = data::make_data_loader(data::datasets::TensorDataset(ag::ones({4, 2})),
                                    data::samplers::SequentialSampler(6), data::DataLoaderOptions(2).workers(2));
  const std::string msg = agt::error_message([&] {
    for (auto& batch : *bad) (void)batch;
  });
  CHECK(msg.find("index 4 out of range") != std::string::npos);
}

TEST_CASE("data threads: a loader destroyed or restarted mid-epoch joins its workers cleanly") {
  auto made = std::make_shared<std::atomic<int>>(0);
  {
    auto loader = data::make_data_loader<data::samplers::SequentialSampler>(
        Numbers(1000, -1, true, made).map(data::transforms::Stack<>()),
        data::DataLoaderOptions().batch_size(5).workers(2));
    int n = 0;
    for (auto& batch : *loader) {
      CHECK(batch.data.size(0) == 5);
      if (++n == 3) break;
    }
  }  // destroyed with batches requested and being made
  // at most the batches taken plus max_jobs (4) requested ahead were made
  CHECK(made->load() <= (3 + 4) * 5);
  CHECK(made->load() >= 3 * 5);

  auto loader =
      data::make_data_loader<data::samplers::SequentialSampler>(Numbers(30, -1, true).map(data::transforms::Stack<>()),
                                                                data::DataLoaderOptions().batch_size(4).workers(2));
  int n = 0;
  for (auto& batch : *loader) {
    (void)batch;
    if (++n == 2) break;
  }
  // a new epoch discards what was requested and starts from the sampler's beginning
  const auto full = epoch(*loader);
  REQUIRE(full.size() == 8);
  CHECK(full[0].first == std::vector<std::int64_t>{0, 1, 2, 3});
  CHECK(full[7].first == std::vector<std::int64_t>{28, 29});
  loader->join();
  CHECK(agt::error_message([&] { loader->begin(); }).find("join") != std::string::npos);
}

TEST_CASE("data threads: training from a threaded loader (tensors made on workers, used and freed here)") {
  ag::manual_seed(5);
  data::datasets::TensorPairDataset ds(ag::randn({64, 8}), ag::randint(0, 3, {64}));
  auto loader =
      data::make_data_loader(ds.map(data::transforms::Stack<>()), data::samplers::RandomSampler(64, ag::kInt64, 1),
                             data::DataLoaderOptions().batch_size(16).workers(2));
  ag::nn::Linear model(8, 3);
  ag::optim::SGD opt(model->parameters(), ag::optim::SGDOptions(0.1));
  double first = 0, last = 0;
  for (int e = 0; e < 15; ++e) {
    double total = 0;
    for (auto& batch : *loader) {
      opt.zero_grad();
      auto loss = ag::nn::functional::cross_entropy(model->forward(batch.data), batch.target);
      loss.backward();
      opt.step();
      total += loss.item<double>();
    }
    if (e == 0) first = total;
    last = total;
  }
  CHECK(last < first);
}
