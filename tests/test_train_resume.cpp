// Saving and resuming a training run's state (nn/state_serialize.h, SamplerState in data/samplers.h,
// SchedulerState in nn/lr_scheduler.h): every sampler and scheduler resumes where it was saved; a
// training run stopped mid-epoch and resumed from files into new objects (module, optimizer,
// scheduler, sampler, global generator) gives the same losses and weights, bit for bit, as a run that
// never stopped; a loader's sampler saved between epochs continues the same order; a corrupt,
// foreign or mismatched file is an ag::Error that changes nothing.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include "nn/nn.h"
#include "test_util.h"

using namespace ag;
namespace samplers = ag::data::samplers;

namespace {

/// A file name unique to this process, removed when the object goes.
struct TempFile {
  std::string path;
  explicit TempFile(const std::string& stem)
      : path((std::filesystem::temp_directory_path() /
              (stem + "_" + std::to_string(static_cast<long long>(::getpid())) + ".safetensors"))
                 .string()) {}
  ~TempFile() { std::remove(path.c_str()); }
};

/// The next `count` batches of a sampler (resetting it, and setting the epoch first for the
/// distributed ones, at each end of epoch), flattened.
template <typename S>
std::vector<std::size_t> continue_epochs(S& sampler, std::size_t batch, int epochs) {
  std::vector<std::size_t> out;
  for (int e = 0; e < epochs;) {
    if (auto b = sampler.next(batch)) {
      out.insert(out.end(), b->begin(), b->end());
      continue;
    }
    ++e;
    out.push_back(static_cast<std::size_t>(-1));  // the epoch boundary
    if constexpr (requires { sampler.set_epoch(std::size_t{}); }) sampler.set_epoch(sampler.epoch() + 1);
    sampler.reset();
  }
  return out;
}

/// Draw 2 batches, save; the rest of the epoch and 2 more from the original and from a fresh sampler
/// (`make()`) loaded with the file must be the same.
template <typename Make>
void check_sampler_resumes(const Make& make, const std::string& stem, bool global_generator = false) {
  TempFile file(stem);
  auto a = make();
  a.next(3);
  a.next(3);
  samplers::save(a, file.path);
  const std::string rng = rng_state();
  const auto straight = continue_epochs(a, 3, 3);
  manual_seed(12345);  // a fresh sampler drawn from another state of the global generator
  auto b = make();
  b.next(5);
  samplers::load(b, file.path);
  if (global_generator) set_rng_state(rng);
  const auto resumed = continue_epochs(b, 3, 3);
  CHECK(straight.size() > 20);
  CHECK(resumed == straight);
}

bool same_state(const samplers::SamplerState& a, const samplers::SamplerState& b) {
  return a.sampler == b.sampler && a.values == b.values && a.indices == b.indices && a.generator == b.generator;
}

// --- a small classifier trained with dropout, momentum, OneCycleLR and a shuffled sampler ---

struct Net : nn::Module {
  Net() : Module("Net"), fc1(4, 16), fc2(16, 3) {
    register_module("fc1", fc1);
    register_module("fc2", fc2);
  }
  Tensor forward(const Tensor& x) { return fc2(dropout(tanh(fc1(x)), 0.3, is_training())); }
  nn::Linear fc1, fc2;
};

constexpr std::size_t kSamples = 40, kBatch = 8;
constexpr int kEpochs = 3;

struct Run {
  data::datasets::TensorPairDataset data{
      agt::input({static_cast<std::int64_t>(kSamples), 4}, 0.7, 1.0, 0.0, false).to(kFloat32),
      tensor(std::vector<std::int64_t>(kSamples, 0), {kSamples}, kInt64)};
  std::shared_ptr<Net> model = std::make_shared<Net>();
  optim::SGD opt{model->parameters(), optim::SGDOptions(0.05).momentum(0.9)};
  optim::OneCycleLR sched{opt, optim::OneCycleLROptions(0.2, kEpochs* static_cast<std::int64_t>(kSamples / kBatch))};
  samplers::RandomSampler sampler{static_cast<std::int64_t>(kSamples)};  // on the global generator
  int epoch = 0;

  Run() {
    auto* y = data.targets.data<std::int64_t>();
    for (std::size_t i = 0; i < kSamples; ++i) y[i] = static_cast<std::int64_t>((i * 7) % 3);
  }
  /// Steps until `steps` more batches are done or the last epoch ends; the losses.
  std::vector<double> train(int steps) {
    std::vector<double> losses;
    while (epoch < kEpochs && steps-- > 0) {
      auto request = sampler.next(kBatch);
      if (!request) {
        ++epoch;
        sampler.reset();
        ++steps;
        continue;
      }
      auto batch = data::transforms::Stack<>().apply_batch(data.get_batch(*request));
      opt.zero_grad();
      Tensor loss = cross_entropy(model->forward(batch.data), batch.target);
      loss.backward();
      opt.step();
      sched.step();
      losses.push_back(loss.item<double>());
    }
    return losses;
  }
  void save(const std::string& prefix) const {
    nn::save(*model, prefix + ".model");
    optim::save(opt, prefix + ".optim");
    optim::save(sched, prefix + ".sched");
    samplers::save(sampler, prefix + ".sampler");
    std::ofstream(prefix + ".rng", std::ios::binary) << rng_state() << epoch << ' ';
  }
  void load(const std::string& prefix) {
    nn::load(*model, prefix + ".model");
    optim::load(opt, prefix + ".optim");
    optim::load(sched, prefix + ".sched");
    samplers::load(sampler, prefix + ".sampler");
    std::ifstream in(prefix + ".rng", std::ios::binary);
    std::string rng(rng_state().size(), '\0');
    in.read(rng.data(), static_cast<std::streamsize>(rng.size()));
    in >> epoch;
    set_rng_state(rng);
  }
};

}  // namespace

TEST_CASE("samplers: saved mid-epoch and loaded into a new sampler, the rest of the epoch and the next are the same") {
  check_sampler_resumes([] { return samplers::SequentialSampler(13); }, "seq");
  check_sampler_resumes([] { return samplers::RandomSampler(13, kInt64, 42); }, "rand_seeded");
  manual_seed(3);
  check_sampler_resumes([] { return samplers::RandomSampler(13); }, "rand_global", /*global_generator=*/true);
  check_sampler_resumes([] { return samplers::DistributedRandomSampler(27, 2, 1); }, "drand");
  check_sampler_resumes([] { return samplers::DistributedSequentialSampler(27, 3, 2, false); }, "dseq");

  // state() / load_state() in memory, without a file.
  samplers::RandomSampler a(10, kInt64, 7), b(10, kInt64, 8);
  a.next(4);
  b.load_state(a.state());
  CHECK(same_state(a.state(), b.state()));
  CHECK(b.index() == 4);
  CHECK(*b.next(6) == *a.next(6));
}

TEST_CASE("schedulers: state() / load_state() and save / load resume every scheduler where it was") {
  auto check = [](auto make, auto step, const std::string& stem) {
    TempFile file(stem);
    std::vector<Tensor> p1 = {zeros({2}).requires_grad_(true)}, p2 = {zeros({2}).requires_grad_(true)};
    optim::SGD o1(p1, optim::SGDOptions(0.1).momentum(0.9)), o2(p2, optim::SGDOptions(0.1).momentum(0.9));
    auto s1 = make(o1);
    for (int i = 0; i < 4; ++i) step(*s1, i);
    optim::save(*s1, file.path);
    optim::save(o1, file.path + ".optim");
    auto s2 = make(o2);
    step(*s2, 0);
    optim::load(*s2, file.path);
    optim::load(o2, file.path + ".optim");
    std::remove((file.path + ".optim").c_str());
    CHECK(s2->get_last_lr() == s1->get_last_lr());
    CHECK(s2->last_epoch() == s1->last_epoch());
    for (int i = 4; i < 9; ++i) {
      step(*s1, i);
      step(*s2, i);
      CHECK(s2->get_last_lr() == s1->get_last_lr());
      CHECK(o2.param_groups()[0].lr == o1.param_groups()[0].lr);
      CHECK(o2.options().momentum() == o1.options().momentum());
    }
  };
  const auto plain = [](auto& s, int) { s.step(); };
  check([](optim::Optimizer& o) { return std::make_unique<optim::StepLR>(o, 3, 0.5); }, plain, "steplr");
  check(
      [](optim::Optimizer& o) {
        return std::make_unique<optim::MultiStepLR>(o, std::vector<std::int64_t>{2, 5, 5});
      },
      plain, "multisteplr");
  check([](optim::Optimizer& o) { return std::make_unique<optim::ExponentialLR>(o, 0.9); }, plain, "explr");
  check([](optim::Optimizer& o) { return std::make_unique<optim::CosineAnnealingLR>(o, 4, 0.01); }, plain, "cos");
  check([](optim::Optimizer& o) { return std::make_unique<optim::OneCycleLR>(o, optim::OneCycleLROptions(1.0, 12)); },
        plain, "onecycle");
  // ReduceLROnPlateau, with its best = +inf before the first step kept exactly.
  const double metrics[] = {1.0, 0.9, 0.95, 0.97, 0.99, 0.96, 0.98, 0.5, 0.7};
  check(
      [](optim::Optimizer& o) {
        return std::make_unique<optim::ReduceLROnPlateauScheduler>(o, optim::ReduceLROnPlateauScheduler::min, 0.5, 1);
      },
      [&](auto& s, int i) { s.step(metrics[i]); }, "plateau");
  std::vector<Tensor> p = {zeros({1}).requires_grad_(true)};
  optim::SGD o(p, optim::SGDOptions(0.1));
  optim::ReduceLROnPlateauScheduler fresh(o), loaded(o);
  loaded.load_state(fresh.state());
  CHECK(std::isinf(loaded.best()));
}

TEST_CASE(
    "a run stopped mid-epoch and resumed from files into new objects is bit-identical to one that never stopped") {
  manual_seed(2024);
  std::vector<double> straight;
  std::vector<double> straight_weights;
  {
    Run run;
    straight = run.train(1000);
    straight_weights = run.model->fc2->weight.to_vector<double>();
  }
  REQUIRE(straight.size() == kEpochs * kSamples / kBatch);
  const std::string prefix =
      (std::filesystem::temp_directory_path() / ("resume_" + std::to_string(static_cast<long long>(::getpid()))))
          .string();
  std::vector<double> resumed;
  manual_seed(2024);
  {
    Run run;
    resumed = run.train(7);  // epoch 1, batch 2 of 5
    run.save(prefix);
  }
  manual_seed(99);  // the new objects start elsewhere: load must bring back everything
  {
    Run run;
    run.train(3);  // and move on before loading
    run.load(prefix);
    CHECK(run.epoch == 1);
    CHECK(run.sampler.index() == 2 * kBatch);
    const auto rest = run.train(1000);
    resumed.insert(resumed.end(), rest.begin(), rest.end());
    CHECK(run.model->fc2->weight.to_vector<double>() == straight_weights);
  }
  for (const char* ext : {".model", ".optim", ".sched", ".sampler", ".rng"}) std::remove((prefix + ext).c_str());
  REQUIRE(resumed.size() == straight.size());
  for (std::size_t i = 0; i < straight.size(); ++i) CHECK_MESSAGE(resumed[i] == straight[i], "step " << i);
  CHECK(straight.back() < straight.front());
}

TEST_CASE("a data loader's sampler saved between epochs continues the same order in a new loader (2 workers)") {
  const auto n = static_cast<std::int64_t>(23);
  std::vector<double> id(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < id.size(); ++i) id[i] = static_cast<double>(i);
  auto make = [&] {
    return data::make_data_loader(data::datasets::TensorDataset(tensor(id, {n})), samplers::RandomSampler(n, kInt64, 5),
                                  data::DataLoaderOptions().batch_size(4).workers(2));
  };
  auto epoch_ids = [](auto& loader) {
    std::vector<double> out;
    for (auto& batch : *loader)
      for (const auto& example : batch) out.push_back(example.data.template item<double>());
    return out;
  };
  TempFile file("loader_sampler");
  std::vector<std::vector<double>> straight, resumed;
  {
    auto loader = make();
    for (int e = 0; e < 3; ++e) straight.push_back(epoch_ids(loader));
  }
  {
    auto loader = make();
    resumed.push_back(epoch_ids(loader));
    samplers::save(loader->sampler(), file.path);
  }
  {
    auto loader = make();
    samplers::load(loader->sampler(), file.path);
    for (int e = 1; e < 3; ++e) resumed.push_back(epoch_ids(loader));
  }
  CHECK(resumed == straight);
  CHECK(straight[1] != straight[0]);
}

TEST_CASE("state files: corrupt, foreign or mismatched files are ag::Errors and change nothing") {
  TempFile sampler_file("bad_sampler"), sched_file("bad_sched"), optim_file("bad_optim");
  samplers::RandomSampler seeded(10, kInt64, 1);
  seeded.next(3);
  samplers::save(seeded, sampler_file.path);

  // Another size, another kind, the global generator instead of a seeded one.
  samplers::RandomSampler other_size(11, kInt64, 1), global(10);
  samplers::SequentialSampler seq(10);
  const auto before_size = other_size.state(), before_global = global.state(), before_seq = seq.state();
  CHECK(agt::error_message([&] {
          samplers::load(other_size, sampler_file.path);
        }).find("RandomSampler::load_state: the state was saved with size 10, this sampler has 11") !=
        std::string::npos);
  CHECK(agt::error_message([&] {
          samplers::load(global, sampler_file.path);
        }).find("with its own seeded generator, this one draws from the global generator") != std::string::npos);
  CHECK(agt::error_message([&] {
          samplers::load(seq, sampler_file.path);
        }).find("SequentialSampler::load_state: the state is a RandomSampler's") != std::string::npos);
  CHECK(same_state(other_size.state(), before_size));
  CHECK(same_state(global.state(), before_global));
  CHECK(same_state(seq.state(), before_seq));
  samplers::DistributedRandomSampler d(10, 2, 0);
  CHECK(agt::error_message([&] {
          d.load_state(samplers::DistributedRandomSampler(10, 2, 1).state());
        }).find("the state was saved with rank 1, this sampler has 0") != std::string::npos);
  // An order that is not a permutation.
  auto bad = seeded.state();
  bad.indices[0] = bad.indices[1];
  samplers::RandomSampler target(10, kInt64, 2);
  const auto before_target = target.state();
  CHECK(agt::error_message([&] { target.load_state(bad); }).find("not a permutation of 0 .. 9") != std::string::npos);
  CHECK(same_state(target.state(), before_target));

  // A truncated file.
  {
    std::ifstream in(sampler_file.path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(sampler_file.path, std::ios::binary) << bytes.substr(0, bytes.size() - 5);
  }
  CHECK_FALSE(agt::error_message([&] { samplers::load(target, sampler_file.path); }).empty());
  CHECK(same_state(target.state(), before_target));

  // Schedulers: another class, other hyper-parameters, an optimizer's file.
  std::vector<Tensor> p = {zeros({2}).requires_grad_(true)};
  optim::SGD opt(p, optim::SGDOptions(0.1));
  optim::StepLR step(opt, 2, 0.5);
  step.step();
  step.step();
  optim::save(step, sched_file.path);
  optim::save(opt, optim_file.path);
  optim::StepLR other_gamma(opt, 2, 0.25);
  optim::ExponentialLR expo(opt, 0.5);
  CHECK(agt::error_message([&] {
          optim::load(other_gamma, sched_file.path);
        }).find("StepLR::load_state: the state was saved with gamma = [0.5], this scheduler has [0.25]") !=
        std::string::npos);
  CHECK(agt::error_message([&] {
          optim::load(expo, sched_file.path);
        }).find("ExponentialLR::load_state: the state is a StepLR's, not a ExponentialLR's") != std::string::npos);
  CHECK(agt::error_message([&] {
          optim::load(expo, optim_file.path);
        }).find("has format 'ag.optim.v1', expected 'ag.lr_scheduler.v1'") != std::string::npos);
  CHECK(agt::error_message([&] {
          samplers::load(target, sched_file.path);
        }).find("has format 'ag.lr_scheduler.v1', expected 'ag.sampler.v1'") != std::string::npos);
  CHECK(other_gamma.last_epoch() == 0);
  CHECK(expo.last_epoch() == 0);
  CHECK(expo.get_last_lr() == std::vector<double>{opt.param_groups()[0].lr});
  optim::StepLR same(opt, 2, 0.5);
  optim::load(same, sched_file.path);
  CHECK(same.last_epoch() == 2);
  CHECK(same.get_last_lr() == step.get_last_lr());
}
