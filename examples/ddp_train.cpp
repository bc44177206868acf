// Data-parallel training with nn::parallel::DistributedDataParallel over MPI: the adding problem
// (sum the two marked values of a sequence) with an LSTM, each process (rank) training on its
// shard of every global batch. Run it with mpirun (README "Distributed training"):
//   mpirun -np 2 ./build/release/examples/ddp_train [--steps N] [--batch B] [--hidden H] [--seq T]
//          [--lr LR] [--bucket-mb M] [--first-bucket-mb M] [--seed S] [--mlp 1] [--after-backward 1]
// --batch is the per-rank batch (the global batch is world size times it). Rank 0 prints the loss
// (averaged over the ranks) every 10 steps; every rank's throughput is printed at the end.
// --mlp 1: an MLP with three hidden layers of --hidden units on 64 inputs instead of the LSTM.
// --after-backward 1: no DDP; after backward, one blocking all_reduce(Avg) of all the gradients
// (libtorch's MPI example reduces them one by one), to compare with DDP's overlap. DDP with bucket caps larger than
// the model (--bucket-mb 1e4 --first-bucket-mb 1e4) reduces everything after backward too, in one
// all-reduce.
#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <optional>
#include <random>
#include <string>

#include <distributed/distributed.h>
#include <nn/nn.h>

namespace {

using namespace ag;
namespace dist = ag::distributed;

struct Args {
  std::int64_t steps = 100, batch = 32, hidden = 128, seq = 50, seed = 0;
  double lr = 0.01, bucket_mb = 25, first_bucket_mb = 1;
  bool mlp = false, after_backward = false;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string s = argv[i];
    if (i + 1 >= argc) fail("{} needs a value", s);
    const double v = std::stod(argv[++i]);
    if (s == "--steps") a.steps = static_cast<std::int64_t>(v);
    else if (s == "--batch") a.batch = static_cast<std::int64_t>(v);
    else if (s == "--hidden") a.hidden = static_cast<std::int64_t>(v);
    else if (s == "--seq") a.seq = static_cast<std::int64_t>(v);
    else if (s == "--seed") a.seed = static_cast<std::int64_t>(v);
    else if (s == "--lr") a.lr = v;
    else if (s == "--bucket-mb") a.bucket_mb = v;
    else if (s == "--first-bucket-mb") a.first_bucket_mb = v;
    else if (s == "--mlp") a.mlp = v != 0;
    else if (s == "--after-backward") a.after_backward = v != 0;
    else fail("unknown option {}", s);
  }
  if (a.steps < 1 || a.batch < 1 || a.hidden < 1 || a.seq < 2) fail("steps, batch, hidden must be >= 1, seq >= 2");
  return a;
}

struct AddingNetImpl : nn::Module {
  nn::LSTM lstm{nullptr};
  nn::Linear head{nullptr};
  explicit AddingNetImpl(std::int64_t hidden) {
    lstm = register_module("lstm", nn::LSTM(nn::LSTMOptions(2, hidden)));
    head = register_module("head", nn::Linear(hidden, 1));
  }
  // x [T, B, 2] -> the prediction from the last step, [B, 1]
  Tensor forward(const Tensor& x) {
    Tensor out = std::get<0>(lstm(x));
    return head(out.select(0, out.size(0) - 1));
  }
};

struct MlpNetImpl : nn::Module {
  nn::Sequential layers{nullptr};
  explicit MlpNetImpl(std::int64_t hidden) {
    layers = register_module("layers",
                             nn::Sequential(nn::Linear(64, hidden), nn::ReLU(), nn::Linear(hidden, hidden), nn::ReLU(),
                                            nn::Linear(hidden, hidden), nn::ReLU(), nn::Linear(hidden, 1)));
  }
  Tensor forward(const Tensor& x) { return layers->forward(x); }
};

// The MLP's shard: x ~ U(-1, 1)^64, y = sin(sum of the first 8 inputs).
std::pair<Tensor, Tensor> mlp_shard(const Args& a, std::int64_t step, int rank) {
  std::mt19937_64 gen(static_cast<std::uint64_t>(a.seed * 1000003 + step));
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> xs(static_cast<std::size_t>(a.batch * 64)), ys(static_cast<std::size_t>(a.batch));
  for (std::int64_t g = 0; g < (rank + 1) * a.batch; ++g) {
    std::vector<float> row(64);
    for (auto& v : row) v = u(gen);
    if (g < rank * a.batch) continue;
    const std::int64_t b = g - rank * a.batch;
    float s = 0;
    for (int k = 0; k < 64; ++k) {
      xs[static_cast<std::size_t>(b * 64 + k)] = row[static_cast<std::size_t>(k)];
      if (k < 8) s += row[static_cast<std::size_t>(k)];
    }
    ys[static_cast<std::size_t>(b)] = std::sin(s);
  }
  return {tensor(xs, {a.batch, 64}), tensor(ys, {a.batch, 1})};
}

// This rank's shard of global batch `step`: the same global batch on every rank (seeded by the
// step), rows [rank * batch, (rank + 1) * batch).
std::pair<Tensor, Tensor> shard(const Args& a, std::int64_t step, int rank) {
  std::mt19937_64 gen(static_cast<std::uint64_t>(a.seed * 1000003 + step));
  std::uniform_real_distribution<float> u(0.f, 1.f);
  std::uniform_int_distribution<std::int64_t> pos(0, a.seq - 1);
  std::vector<float> xs(static_cast<std::size_t>(a.seq * a.batch * 2), 0.f), ys(static_cast<std::size_t>(a.batch));
  for (std::int64_t g = 0; g < (rank + 1) * a.batch; ++g) {
    std::vector<float> vals(static_cast<std::size_t>(a.seq));
    for (auto& v : vals) v = u(gen);
    const std::int64_t i = pos(gen);
    std::int64_t j = pos(gen);
    if (j == i) j = (i + 1) % a.seq;
    if (g < rank * a.batch) continue;
    const std::int64_t b = g - rank * a.batch;
    for (std::int64_t t = 0; t < a.seq; ++t) {
      xs[static_cast<std::size_t>((t * a.batch + b) * 2)] = vals[static_cast<std::size_t>(t)];
      xs[static_cast<std::size_t>((t * a.batch + b) * 2 + 1)] = (t == i || t == j) ? 1.f : 0.f;
    }
    ys[static_cast<std::size_t>(b)] = vals[static_cast<std::size_t>(i)] + vals[static_cast<std::size_t>(j)];
  }
  return {tensor(xs, {a.seq, a.batch, 2}), tensor(ys, {a.batch, 1})};
}

}  // namespace

int main(int argc, char** argv) {
  dist::init_process_group("mpi");
  int status = 0;
  try {
    const Args a = parse(argc, argv);
    const int rank = dist::get_rank(), world = dist::get_world_size();
    manual_seed(static_cast<std::uint64_t>(a.seed));
    std::shared_ptr<nn::Module> model;
    std::function<Tensor(const Tensor&)> forward;
    std::optional<nn::parallel::DistributedDataParallel<std::shared_ptr<AddingNetImpl>>> ddp_lstm;
    std::optional<nn::parallel::DistributedDataParallel<std::shared_ptr<MlpNetImpl>>> ddp_mlp;
    const auto options =
        nn::parallel::DistributedDataParallelOptions().bucket_cap_mb(a.bucket_mb).first_bucket_mb(a.first_bucket_mb);
    if (a.mlp) {
      auto net = std::make_shared<MlpNetImpl>(a.hidden);
      model = net;
      if (a.after_backward) forward = [net](const Tensor& x) { return net->forward(x); };
      else forward = [&ddp = ddp_mlp.emplace(net, options)](const Tensor& x) { return ddp.forward(x); };
    } else {
      auto net = std::make_shared<AddingNetImpl>(a.hidden);
      model = net;
      if (a.after_backward) forward = [net](const Tensor& x) { return net->forward(x); };
      else forward = [&ddp = ddp_lstm.emplace(net, options)](const Tensor& x) { return ddp.forward(x); };
    }
    std::vector<Tensor> params = model->parameters();
    if (a.after_backward)  // what DDP does at construction
      for (Tensor& p : params) {
        Tensor d = p.detach();
        dist::broadcast(d, 0);
      }
    optim::Adam opt(params, optim::AdamOptions(a.lr));
    if (rank == 0)
      fmt::print("ddp_train: {} ranks, {} {}, per-rank batch {} (global {}), {} steps, {}\n", world,
                 a.mlp ? "MLP 64-" : "LSTM 2-",
                 a.mlp ? fmt::format("{}x3", a.hidden) : fmt::format("{} T{}", a.hidden, a.seq), a.batch,
                 a.batch * world, a.steps,
                 a.after_backward ? "all_reduce after backward"
                                  : fmt::format("DDP, buckets {} MB (first {} MB)", a.bucket_mb, a.first_bucket_mb));
    const auto t0 = std::chrono::steady_clock::now();
    for (std::int64_t step = 0; step < a.steps; ++step) {
      auto [x, y] = a.mlp ? mlp_shard(a, step, rank) : shard(a, step, rank);
      opt.zero_grad();
      Tensor loss = nn::functional::mse_loss(forward(x), y);
      loss.backward();
      if (a.after_backward) {  // every gradient in one buffer, one blocking all-reduce
        std::int64_t n = 0;
        for (const Tensor& p : params) n += p.numel();
        Tensor flat = empty({n}, kFloat32);
        float* f = flat.data<float>();
        for (const Tensor& p : params) f = std::copy_n(p.grad().data<float>(), p.numel(), f);
        dist::all_reduce(flat, dist::ReduceOp::Avg);
        f = flat.data<float>();
        for (const Tensor& p : params) {
          std::copy_n(f, p.numel(), p.grad().data<float>());
          f += p.numel();
        }
      }
      opt.step();
      if (step % 10 == 0 || step == a.steps - 1) {
        Tensor l = loss.detach().to(kFloat64).reshape({1});
        dist::all_reduce(l, dist::ReduceOp::Avg);
        if (rank == 0) fmt::print("step {:5d}  loss {:.5f}\n", step, l.item<double>());
      }
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::vector<Tensor> rates;
    dist::all_gather(rates, tensor({static_cast<double>(a.steps * a.batch) / secs}, kFloat64));
    if (rank == 0) {
      double total = 0;
      for (int r = 0; r < world; ++r) {
        const double v = rates[static_cast<std::size_t>(r)].item<double>();
        total += v;
        fmt::print("rank {}: {:.1f} samples/s\n", r, v);
      }
      fmt::print("total: {:.1f} samples/s, {:.2f} ms/step\n", total, 1000.0 * secs / static_cast<double>(a.steps));
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "ddp_train (rank {}): {}\n", dist::get_rank(), e.what());
    status = 1;
  }
  dist::destroy_process_group();
  return status;
}
