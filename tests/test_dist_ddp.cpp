// DistributedDataParallel: N steps of SGD with momentum on each rank's shard of the batch equal
// (1e-12) one process trained on the full batch (mean-reduced losses), for an MLP and an LSTM, at
// any world size dividing the batch (CTest runs 2 and 3); every rank bit-identical; buckets
// smaller than a parameter and larger than all; unused parameters; no_sync; a mismatched model.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <thread>

#include "autograd/autograd.h"
#include "distributed/distributed.h"
#include "nn/nn.h"

using namespace ag;
namespace dist = ag::distributed;
using nn::parallel::DistributedDataParallel;
using nn::parallel::DistributedDataParallelOptions;

namespace {

constexpr std::int64_t kBatch = 6;  // divisible by 2 and 3

// Deterministic data, the same on every rank.
Tensor data(Shape shape, double seed) {
  Tensor t = zeros(shape, TensorOptions().dtype(kFloat64));
  double* d = t.data<double>();
  for (std::int64_t i = 0; i < t.numel(); ++i) d[i] = std::sin(0.37 * static_cast<double>(i) + seed);
  return t;
}

struct NetImpl : nn::Module {
  nn::Linear fc1{nullptr}, fc2{nullptr}, extra{nullptr};
  bool use_extra = true;
  explicit NetImpl(std::int64_t hidden = 5) {
    fc1 = register_module("fc1", nn::Linear(nn::LinearOptions(4, hidden).dtype(kFloat64)));
    fc2 = register_module("fc2", nn::Linear(nn::LinearOptions(hidden, 2).dtype(kFloat64)));
    extra = register_module("extra", nn::Linear(nn::LinearOptions(hidden, 2).dtype(kFloat64)));
  }
  Tensor forward(const Tensor& x) {
    Tensor h = tanh(fc1(x));
    Tensor y = fc2(h);
    return use_extra ? y + extra(h) : y;
  }
};

struct SeqImpl : nn::Module {
  nn::LSTM lstm{nullptr};
  nn::Linear head{nullptr};
  SeqImpl() {
    lstm = register_module("lstm", nn::LSTM(nn::LSTMOptions(3, 4).dtype(kFloat64)));
    head = register_module("head", nn::Linear(nn::LinearOptions(4, 1).dtype(kFloat64)));
  }
  Tensor forward(const Tensor& x) { return head(std::get<0>(lstm(x))); }
};

// The loss of step `step` on batch rows [lo, hi).
Tensor mlp_loss(const std::function<Tensor(const Tensor&)>& f, std::int64_t lo, std::int64_t hi, int step) {
  Tensor x = data({kBatch, 4}, step).narrow(0, lo, hi - lo);
  Tensor y = data({kBatch, 2}, 10.0 + step).narrow(0, lo, hi - lo);
  return nn::functional::mse_loss(f(x), y);
}
Tensor lstm_loss(const std::function<Tensor(const Tensor&)>& f, std::int64_t lo, std::int64_t hi, int step) {
  Tensor x = data({5, kBatch, 3}, step).narrow(1, lo, hi - lo);
  Tensor y = data({5, kBatch, 1}, 20.0 + step).narrow(1, lo, hi - lo);
  return nn::functional::mse_loss(f(x), y);
}

using LossFn = Tensor (*)(const std::function<Tensor(const Tensor&)>&, std::int64_t, std::int64_t, int);

double max_diff(const Tensor& a, const Tensor& b) {
  auto va = a.to_vector<double>(), vb = b.to_vector<double>();
  REQUIRE(va.size() == vb.size());
  double m = 0;
  for (std::size_t i = 0; i < va.size(); ++i) m = std::max(m, std::abs(va[i] - vb[i]));
  return m;
}

// Every rank holds bit-identical values of t.
bool same_on_all_ranks(const Tensor& t) {
  std::vector<Tensor> all;
  dist::all_gather(all, t.detach());
  for (const Tensor& o : all)
    if (o.to_vector<double>() != t.to_vector<double>()) return false;
  return true;
}

// Trains `steps` steps with DDP on the rank's shard and one model on the full batch; compares.
template <class Impl>
void check_against_full_batch(LossFn loss, const DistributedDataParallelOptions& opts, int steps) {
  const int n = dist::get_world_size(), r = dist::get_rank();
  manual_seed(100);
  auto ref = std::make_shared<Impl>();
  manual_seed(100 + static_cast<std::uint64_t>(r));  // rank 0's parameters are broadcast
  auto local = std::make_shared<Impl>();
  DistributedDataParallel ddp(local, opts);
  for (const auto& item : ref->named_parameters())
    CHECK(max_diff(item.value(), local->named_parameters()[item.key()]) == 0.0);
  optim::SGD opt_ref(ref->parameters(), optim::SGDOptions(0.1).momentum(0.9));
  optim::SGD opt(ddp.parameters(), optim::SGDOptions(0.1).momentum(0.9));
  const std::int64_t shard = kBatch / n;
  for (int s = 0; s < steps; ++s) {
    opt_ref.zero_grad();
    loss([&](const Tensor& x) { return ref->forward(x); }, 0, kBatch, s).backward();
    opt_ref.step();
    opt.zero_grad();
    loss([&](const Tensor& x) { return ddp.forward(x); }, r * shard, (r + 1) * shard, s).backward();
    opt.step();
  }
  for (const auto& item : ref->named_parameters()) {
    const Tensor p = local->named_parameters()[item.key()];
    CHECK_MESSAGE(max_diff(item.value(), p) <= 1e-12, item.key());
    CHECK_MESSAGE(same_on_all_ranks(p), item.key());
  }
}

std::vector<DistributedDataParallelOptions> option_sets() {
  return {DistributedDataParallelOptions(),
          DistributedDataParallelOptions().bucket_cap_mb(1e-6).first_bucket_mb(1e-6),  // smaller than any parameter
          DistributedDataParallelOptions().bucket_cap_mb(1000).first_bucket_mb(1000),  // larger than all
          DistributedDataParallelOptions().bucket_cap_mb(1e-4).gradient_as_bucket_view(true)};
}

}  // namespace

TEST_CASE("DDP: an MLP after 4 SGD-momentum steps equals full-batch training, every bucket size") {
  auto sets = option_sets();
  for (std::size_t k = 0; k < sets.size(); ++k) {
    CAPTURE(k);
    check_against_full_batch<NetImpl>(mlp_loss, sets[k], 4);
  }
}

TEST_CASE("DDP: an LSTM after 3 SGD-momentum steps equals full-batch training") {
  auto sets = option_sets();
  for (std::size_t k = 0; k < sets.size(); ++k) {
    CAPTURE(k);
    check_against_full_batch<SeqImpl>(lstm_loss, sets[k], 3);
  }
}

TEST_CASE("DDP: a run repeated with the same seed gives bit-identical parameters") {
  auto run = [](double bucket_mb) {
    const int n = dist::get_world_size(), r = dist::get_rank();
    manual_seed(3);
    auto net = std::make_shared<SeqImpl>();
    DistributedDataParallel ddp(net,
                                DistributedDataParallelOptions().bucket_cap_mb(bucket_mb).first_bucket_mb(bucket_mb));
    optim::SGD opt(ddp.parameters(), optim::SGDOptions(0.1).momentum(0.9));
    const std::int64_t shard = kBatch / n;
    for (int s = 0; s < 3; ++s) {
      opt.zero_grad();
      lstm_loss([&](const Tensor& x) { return ddp.forward(x); }, r * shard, (r + 1) * shard, s).backward();
      opt.step();
    }
    std::vector<std::vector<double>> out;
    for (const Tensor& p : net->parameters()) out.push_back(p.to_vector<double>());
    return out;
  };
  CHECK(run(25) == run(25));
  CHECK(run(1e-4) == run(1e-4));
}

TEST_CASE("DDP: buckets in reverse registration order, by cap") {
  auto net = std::make_shared<NetImpl>();  // 6 parameters
  DistributedDataParallel tiny(net, DistributedDataParallelOptions().bucket_cap_mb(1e-6).first_bucket_mb(1e-6));
  auto b = tiny.bucket_indices();
  REQUIRE(b.size() == 6);
  CHECK(b.front() == std::vector<std::size_t>{5});
  CHECK(b.back() == std::vector<std::size_t>{0});
  auto net2 = std::make_shared<NetImpl>();
  DistributedDataParallel huge(net2, DistributedDataParallelOptions().bucket_cap_mb(1000).first_bucket_mb(1000));
  CHECK(huge.bucket_indices() == std::vector<std::vector<std::size_t>>{{5, 4, 3, 2, 1, 0}});
  // the first bucket of 100 bytes holds extra.bias (16 bytes) and extra.weight (80 bytes) only
  auto net3 = std::make_shared<NetImpl>();
  DistributedDataParallel first(net3,
                                DistributedDataParallelOptions().bucket_cap_mb(1000).first_bucket_mb(100.0 / 1048576));
  CHECK(first.bucket_indices() == std::vector<std::vector<std::size_t>>{{5, 4}, {3, 2, 1, 0}});
}

TEST_CASE("DDP: find_unused_parameters marks parameters outside the graph ready") {
  const int n = dist::get_world_size(), r = dist::get_rank();
  auto net = std::make_shared<NetImpl>();
  DistributedDataParallel ddp(net, DistributedDataParallelOptions().find_unused_parameters(true));
  // no rank uses `extra`: its .grad() stays undefined; the step completes
  net->use_extra = false;
  mlp_loss([&](const Tensor& x) { return ddp.forward(x); }, 0, kBatch, 0).backward();
  CHECK_FALSE(net->extra->weight.grad().defined());
  CHECK(net->fc2->weight.grad().defined());
  // only rank 0 uses it: the others count as zeros in the average
  for (auto& p : net->parameters()) p.set_grad(Tensor());
  net->use_extra = r == 0;
  mlp_loss([&](const Tensor& x) { return ddp.forward(x); }, 0, kBatch, 0).backward();
  REQUIRE(net->extra->weight.grad().defined());
  net->use_extra = true;
  Tensor g0 =
      ag::grad({mlp_loss([&](const Tensor& x) { return net->forward(x); }, 0, kBatch, 0)}, {net->extra->bias})[0];
  CHECK(max_diff(net->extra->bias.grad(), g0 / static_cast<double>(n)) <= 1e-15);
}

TEST_CASE("DDP: a parameter unused without find_unused_parameters is an ag::Error on every rank, no hang") {
  auto net = std::make_shared<NetImpl>();
  DistributedDataParallel ddp(net);
  net->use_extra = false;
  CHECK_THROWS_AS(mlp_loss([&](const Tensor& x) { return ddp.forward(x); }, 0, kBatch, 0).backward(), Error);
  // the next step works
  net->use_extra = true;
  mlp_loss([&](const Tensor& x) { return ddp.forward(x); }, 0, kBatch, 1).backward();
  CHECK(same_on_all_ranks(net->fc1->weight.grad()));
}

TEST_CASE("DDP: no_sync accumulates locally, the next backward reduces the sum") {
  const int n = dist::get_world_size(), r = dist::get_rank();
  const std::int64_t shard = kBatch / n;
  manual_seed(7);
  auto ref = std::make_shared<NetImpl>();
  manual_seed(7);
  auto net = std::make_shared<NetImpl>();
  DistributedDataParallel ddp(net);
  Tensor local_first;
  {
    auto guard = ddp.no_sync();
    mlp_loss([&](const Tensor& x) { return ddp.forward(x); }, r * shard, (r + 1) * shard, 0).backward();
    local_first = net->fc1->weight.grad().clone();
  }
  // under no_sync: this rank's own gradient, not reduced (the ranks differ)
  Tensor own = ag::grad({mlp_loss([&](const Tensor& x) { return ref->forward(x); }, r * shard, (r + 1) * shard, 0)},
                        {ref->fc1->weight})[0];
  CHECK(max_diff(local_first, own) == 0.0);
  mlp_loss([&](const Tensor& x) { return ddp.forward(x); }, r * shard, (r + 1) * shard, 1).backward();
  // full-batch gradients of both micro-batches, summed
  mlp_loss([&](const Tensor& x) { return ref->forward(x); }, 0, kBatch, 0).backward();
  mlp_loss([&](const Tensor& x) { return ref->forward(x); }, 0, kBatch, 1).backward();
  for (const auto& item : ref->named_parameters())
    CHECK_MESSAGE(max_diff(item.value().grad(), net->named_parameters()[item.key()].grad()) <= 1e-12, item.key());
}

TEST_CASE("DDP: a rank with a different model is an ag::Error on every rank, never a hang") {
  const int r = dist::get_rank();
  auto net = std::make_shared<NetImpl>(r == dist::get_world_size() - 1 ? 6 : 5);
  try {
    DistributedDataParallel ddp(net);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("same model") != std::string::npos);
  }
  // the same model again works
  auto ok = std::make_shared<NetImpl>();
  DistributedDataParallel ddp(ok);
  CHECK(same_on_all_ranks(ok->fc1->weight));
}

// Run only by the CTest test dist_timeout_np2 (--no-skip, AG_TEST_DIST_TIMEOUT_MS=3000), which
// expects the job to end with the message within its TIMEOUT.
TEST_CASE("DDP: a rank failing mid-step ends the job within the timeout, with a message" * doctest::skip()) {
  auto net = std::make_shared<NetImpl>();
  DistributedDataParallel ddp(net);
  if (dist::get_rank() == 1) {
    // its loss throws: it never reaches backward, and does not come back
    CHECK_THROWS_AS(fail("loss: on purpose"), Error);
    std::this_thread::sleep_for(std::chrono::seconds(100));
  }
  // the other ranks wait in the gradient reduction until the timeout aborts the job
  mlp_loss([&](const Tensor& x) { return ddp.forward(x); }, 0, kBatch, 0).backward();
  FAIL("not reached");
}
