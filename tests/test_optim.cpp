// RMSprop, Adagrad and LBFGS beyond PyTorch parity (tests/test_optim_parity.cpp): defaults, hand
// checks, errors; scheduler errors; optimizer state save/load (resumed in a new process bit for bit;
// bad files refused with the optimizer unchanged).
#include <unistd.h>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "nn/nn.h"
#include "optim_problems.h"
#include "test_util.h"

using namespace ag;
namespace op = optim_problems;
namespace fs = std::filesystem;

namespace {

fs::path temp_dir() {
  fs::path d = fs::temp_directory_path() / ("ag_test_optim_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}

std::vector<unsigned char> bytes_of(const Tensor& t) {
  const Tensor c = t.contiguous();
  const auto* p = static_cast<const unsigned char*>(c.raw_data());
  return {p, p + static_cast<std::size_t>(c.numel()) * itemsize(c.dtype())};
}

bool bit_equal(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].shape() != b[i].shape() || a[i].dtype() != b[i].dtype() || bytes_of(a[i]) != bytes_of(b[i])) return false;
  return true;
}

// Options, learning rates, and every state number and tensor, bit for bit.
bool same_state(const optim::OptimizerState& a, const optim::OptimizerState& b) {
  if (a.options != b.options || a.lrs != b.lrs || a.params.size() != b.params.size()) return false;
  for (const auto& [i, pa] : a.params) {
    auto it = b.params.find(i);
    if (it == b.params.end() || pa.scalars != it->second.scalars || pa.tensors.size() != it->second.tensors.size())
      return false;
    for (const auto& [k, t] : pa.tensors) {
      auto jt = it->second.tensors.find(k);
      if (jt == it->second.tensors.end() || !bit_equal({t}, {jt->second})) return false;
    }
  }
  return true;
}

std::vector<Tensor> detached(const std::vector<Tensor>& ps) {
  std::vector<Tensor> out;
  for (const auto& p : ps) out.push_back(p.detach().clone());
  return out;
}

void save_params(const std::vector<Tensor>& ps, const fs::path& path) {
  OrderedDict<Tensor> d;
  for (std::size_t i = 0; i < ps.size(); ++i) d.insert("p" + std::to_string(i), ps[i].detach());
  nn::save_safetensors(d, path.string());
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const fs::path& p, const std::string& s) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(s.data(), static_cast<std::streamsize>(s.size()));
}

}  // namespace

TEST_CASE("RMSprop, Adagrad, LBFGS: libtorch's defaults; the setters chain and keep their type") {
  optim::RMSpropOptions r;
  CHECK(r.lr() == 0.01);
  CHECK(r.alpha() == 0.99);
  CHECK(r.eps() == 1e-8);
  CHECK(r.weight_decay() == 0);
  CHECK(r.momentum() == 0);
  CHECK_FALSE(r.centered());
  static_assert(std::is_same_v<decltype(optim::RMSpropOptions().alpha(0.9).centered(true)), optim::RMSpropOptions&>);
  optim::AdagradOptions a;
  CHECK(a.lr() == 0.01);
  CHECK(a.lr_decay() == 0);
  CHECK(a.initial_accumulator_value() == 0);
  CHECK(a.eps() == 1e-10);
  static_assert(std::is_same_v<decltype(optim::AdagradOptions().lr_decay(0.1).eps(1)), optim::AdagradOptions&>);
  optim::LBFGSOptions l;
  CHECK(l.lr() == 1);
  CHECK(l.max_iter() == 20);
  CHECK(l.max_eval() == 25);
  CHECK(l.max_iter(9).max_eval() == 11);
  CHECK(l.max_eval(7).max_eval() == 7);
  CHECK(l.tolerance_grad() == 1e-7);
  CHECK(l.tolerance_change() == 1e-9);
  CHECK(l.history_size() == 100);
  CHECK_FALSE(l.line_search_fn().has_value());
  static_assert(std::is_same_v<decltype(optim::LBFGSOptions().history_size(3).line_search_fn("strong_wolfe")),
                               optim::LBFGSOptions&>);
}

TEST_CASE("RMSprop and Adagrad: first steps by hand; frozen parameters untouched; float32") {
  for (Dtype dt : {kFloat64, kFloat32}) {
    INFO(dtype_name(dt));
    const double tol = dt == kFloat64 ? 1e-15 : 1e-6;
    // RMSprop, plain: v = (1 - alpha) g^2, p -= lr g / (sqrt(v) + eps)
    Tensor w = tensor({1.0, -2.0}, {2}, dt).requires_grad_();
    Tensor frozen = tensor({3.0}, {1}, dt).requires_grad_();
    optim::RMSprop rms({w, frozen}, optim::RMSpropOptions(0.1).alpha(0.9));
    w.set_grad(tensor({0.5, -4.0}, {2}, dt));
    rms.step();
    const double s1 = std::sqrt(0.1 * 0.25), s2 = std::sqrt(0.1 * 16.0);
    agt::check_values(w, {1.0 - 0.1 * 0.5 / (s1 + 1e-8), -2.0 + 0.1 * 4.0 / (s2 + 1e-8)}, tol);
    CHECK(frozen.item<double>() == 3.0);
    // Adagrad: s = g^2, p -= lr g / (sqrt(s) + eps); second step with lr_decay
    Tensor u = tensor({1.0}, {1}, dt).requires_grad_();
    optim::Adagrad ada({u}, optim::AdagradOptions(0.5).lr_decay(1.0).initial_accumulator_value(1.0));
    u.set_grad(tensor({2.0}, {1}, dt));
    ada.step();
    const double u1 = 1.0 - 0.5 * 2.0 / (std::sqrt(5.0) + 1e-10);
    agt::check_values(u, {u1}, tol);
    u.set_grad(tensor({1.0}, {1}, dt));
    ada.step();
    agt::check_values(u, {u1 - 0.25 * 1.0 / (std::sqrt(6.0) + 1e-10)}, tol);
  }
  CHECK_THROWS_AS(optim::RMSprop({tensor({1.0}, {1}).requires_grad_()}, optim::RMSpropOptions(-1.0)), Error);
  CHECK_THROWS_AS(optim::Adagrad({tensor({1.0}, {1}).requires_grad_()}, optim::AdagradOptions(0.1).eps(-1)), Error);
}

TEST_CASE("LBFGS: needs a closure; minimises Rosenbrock with strong Wolfe (float64 and float32)") {
  auto ps = op::rosenbrock_params();
  optim::LBFGS bad(ps);
  CHECK_THROWS_AS(bad.step(), Error);
  CHECK_THROWS_AS(bad.step(optim::LossClosure{}), Error);
  CHECK_THROWS_AS(optim::LBFGS(ps, optim::LBFGSOptions().line_search_fn("backtracking")), Error);
  CHECK_THROWS_AS(optim::LBFGS(ps, optim::LBFGSOptions().history_size(0)), Error);
  for (Dtype dt : {kFloat64, kFloat32}) {
    INFO(dtype_name(dt));
    auto p = op::rosenbrock_params(dt);
    optim::LBFGS opt(p, optim::LBFGSOptions().line_search_fn("strong_wolfe").max_iter(100));
    auto closure = [&] {
      opt.zero_grad();
      Tensor l = op::rosenbrock_loss(p);
      l.backward();
      return l;
    };
    const double first = opt.step(closure).item<double>();
    CHECK(first == doctest::Approx(12.5));  // the loss at the start, as PyTorch returns it
    for (int k = 0; k < 3; ++k) opt.step(closure);
    const double tol = dt == kFloat64 ? 1e-4 : 1e-2;
    CHECK(std::abs(p[0].item<double>() - 1.0) < tol);
    CHECK(std::abs(p[1].item<double>() - 1.0) < tol);
  }
  // at an optimum (gradient below tolerance_grad) it returns at once and leaves the parameters
  Tensor x = tensor({1.0}, {1}, kFloat64).requires_grad_();
  Tensor y = tensor({1.0}, {1}, kFloat64).requires_grad_();
  optim::LBFGS at_min({x, y});
  int evals = 0;
  at_min.step([&] {
    ++evals;
    at_min.zero_grad();
    Tensor l = op::rosenbrock_loss({x, y});
    l.backward();
    return l;
  });
  CHECK(evals == 1);
  CHECK(x.item<double>() == 1.0);
  // one group only
  optim::LBFGS two({x});
  two.add_param_group({y}, 1.0);
  CHECK_THROWS_AS(two.step([&] { return sum(x); }), Error);
}

TEST_CASE("Schedulers: bad arguments and OneCycleLR past total_steps are ag::Error") {
  Tensor w = zeros({1}, kFloat64).requires_grad_();
  optim::SGD sgd({w}, optim::SGDOptions(0.1).momentum(0.9));
  CHECK_THROWS_AS(optim::StepLR(sgd, 0), Error);
  CHECK_THROWS_AS(optim::CosineAnnealingLR(sgd, 0), Error);
  CHECK_THROWS_AS(optim::OneCycleLR(sgd, optim::OneCycleLROptions(1.0, 0)), Error);
  CHECK_THROWS_AS(optim::OneCycleLR(sgd, optim::OneCycleLROptions(1.0, 10).anneal_strategy("exp")), Error);
  CHECK_THROWS_AS(optim::OneCycleLR(sgd, optim::OneCycleLROptions(1.0, 10).pct_start(1.5)), Error);
  CHECK_THROWS_AS(optim::OneCycleLR(sgd, optim::OneCycleLROptions({1.0, 2.0}, 10)), Error);
  optim::Adagrad ada({w});
  CHECK_THROWS_AS(optim::OneCycleLR(ada, optim::OneCycleLROptions(1.0, 10)), Error);
  optim::OneCycleLR no_momentum(ada, optim::OneCycleLROptions(1.0, 10).cycle_momentum(false));
  optim::OneCycleLR oc(sgd, optim::OneCycleLROptions(1.0, 10));
  CHECK(sgd.options().momentum() == doctest::Approx(0.95).epsilon(1e-15));
  CHECK(sgd.param_groups()[0].lr == doctest::Approx(1.0 / 25).epsilon(1e-15));
  for (int s = 0; s < 10; ++s) oc.step();  // up to last_epoch == total_steps: allowed, as PyTorch
  CHECK_THROWS_AS(oc.step(), Error);
  using P = optim::ReduceLROnPlateauScheduler;
  CHECK_THROWS_AS(P(sgd, P::min, 1.0), Error);
  CHECK_THROWS_AS(P(sgd, P::min, 0.1, 10, 1e-4, P::rel, 0, {0.1, 0.2}), Error);
  // the schedulers write every group's lr; get_last_lr after construction is the starting lr
  optim::SGD two({w}, optim::SGDOptions(0.2));
  two.add_param_group({zeros({1}, kFloat64).requires_grad_()}, 0.4);
  optim::ExponentialLR ex(two, 0.5);
  CHECK(ex.get_last_lr() == std::vector<double>{0.2, 0.4});
  ex.step();
  CHECK(two.param_groups()[1].lr == 0.2);
  CHECK(ex.get_last_lr() == std::vector<double>{0.1, 0.2});
}

TEST_CASE("optim::save / load: 10 steps == 5 steps, save, a new process loads and does 5 more (bit for bit)") {
  const fs::path dir = temp_dir();
  int resumed = 0;
  for (const std::string& kind : op::resume_kinds()) {
    for (const char* dts : {"f64", "f32"}) {
      INFO(kind << " " << dts);
      const Dtype dt = std::string(dts) == "f32" ? kFloat32 : kFloat64;
      // the uninterrupted run
      auto ref = op::lsq_params(dt);
      auto ref_opt = op::make_optimizer(kind, ref);
      for (int s = 0; s < 10; ++s) op::train_step(*ref_opt, ref);
      // the first half, saved
      auto half = op::lsq_params(dt);
      auto half_opt = op::make_optimizer(kind, half);
      for (int s = 0; s < 5; ++s) op::train_step(*half_opt, half);
      const fs::path params_in = dir / (kind + dts + "_params.safetensors");
      const fs::path state = dir / (kind + dts + "_optim.safetensors");
      const fs::path params_out = dir / (kind + dts + "_out.safetensors");
      save_params(half, params_in);
      optim::save(*half_opt, state.string());
      // loading into a fresh optimizer in this process gives the same state
      auto fresh = op::make_optimizer(kind, op::lsq_params(dt));
      optim::load(*fresh, state.string());
      CHECK(same_state(fresh->state(), half_opt->state()));
      // the second half in a new process
      const std::string cmd = std::string("\"") + AG_OPTIM_RESUME_HELPER + "\" " + kind + " " + dts + " \"" +
                              params_in.string() + "\" \"" + state.string() + "\" 5 \"" + params_out.string() + "\"";
      REQUIRE(std::system(cmd.c_str()) == 0);
      const auto out = nn::load_safetensors(params_out.string());
      REQUIRE(out.size() == ref.size());
      for (std::size_t i = 0; i < ref.size(); ++i) {
        CHECK(bytes_of(out["p" + std::to_string(i)]) == bytes_of(ref[i]));
      }
      // and in this process too, continuing the saved optimizer itself
      for (int s = 0; s < 5; ++s) op::train_step(*half_opt, half);
      CHECK(bit_equal(detached(half), detached(ref)));
      // while a run that did not resume its state differs (the test can fail)
      auto cold = op::lsq_params(dt);
      {
        NoGradGuard ng;
        const auto saved = nn::load_safetensors(params_in.string());
        for (std::size_t i = 0; i < cold.size(); ++i) cold[i].copy_(saved["p" + std::to_string(i)]);
      }
      auto cold_opt = op::make_optimizer(kind, cold);
      for (int s = 0; s < 5; ++s) op::train_step(*cold_opt, cold);
      CHECK_FALSE(bit_equal(detached(cold), detached(ref)));
      ++resumed;
    }
  }
  CHECK(resumed == 14);
  fs::remove_all(dir);
}

TEST_CASE("optim::save / load: the file's layout (safetensors, names, JSON metadata)") {
  const fs::path dir = temp_dir();
  auto ps = op::lsq_params();
  optim::Adam adam({ps[0]}, optim::AdamOptions(0.05).betas(0.8, 0.9));
  adam.add_param_group({ps[1]}, 0.02);
  op::train_step(adam, ps);
  op::train_step(adam, ps);
  const fs::path f = dir / "adam.safetensors";
  optim::save(adam, f.string());
  std::map<std::string, std::string> meta;
  const auto t = nn::load_safetensors(f.string(), &meta);
  CHECK(t.size() == 4);
  CHECK(t.contains("state.0.exp_avg"));
  CHECK(t.contains("state.1.exp_avg_sq"));
  CHECK(t["state.0.exp_avg"].shape() == Shape{3, 2});
  CHECK(meta.at("optimizer") == "Adam");
  const auto groups = nlohmann::json::parse(meta.at("param_groups"));
  REQUIRE(groups.size() == 2);
  CHECK(groups[0].at("lr") == 0.05);
  CHECK(groups[1].at("lr") == 0.02);
  CHECK(groups[1].at("beta1") == 0.8);
  CHECK(groups[1].at("params") == nlohmann::json::array({1}));
  CHECK(nlohmann::json::parse(meta.at("state")).at("1").at("step") == 2);
  // loading restores the hyper-parameters and the group learning rates too
  auto qs = op::lsq_params();
  optim::Adam other({qs[0]}, optim::AdamOptions(0.5));
  other.add_param_group({qs[1]}, 0.5);
  optim::load(other, f.string());
  CHECK(other.options().beta1() == 0.8);
  CHECK(other.param_groups()[1].lr == 0.02);
  fs::remove_all(dir);
}

TEST_CASE("optim::load: a corrupt, truncated or mismatched file is an ag::Error and changes nothing") {
  const fs::path dir = temp_dir();
  // a trained optimizer whose state must survive every bad load
  auto ps = op::lsq_params();
  auto opt = op::make_optimizer("rmsprop", ps);
  for (int s = 0; s < 3; ++s) op::train_step(*opt, ps);
  const optim::OptimizerState before = opt->state();
  auto twin_ps = op::lsq_params();
  auto twin = op::make_optimizer("rmsprop", twin_ps);
  for (int s = 0; s < 3; ++s) op::train_step(*twin, twin_ps);

  // files to refuse
  std::vector<std::pair<std::string, fs::path>> bad;
  const auto file = [&](const std::string& what) {
    bad.emplace_back(what, dir / (std::to_string(bad.size()) + ".safetensors"));
    return bad.back().second;
  };
  {  // another optimizer's state for the same parameters
    auto q = op::lsq_params();
    auto adam = op::make_optimizer("adam", q);
    op::train_step(*adam, q);
    optim::save(*adam, file("an Adam file").string());
  }
  {  // an RMSprop with other parameters: count, shape, dtype, groups
    auto q = op::lsq_params();
    optim::RMSprop one({q[0]});
    op::train_step(one, q);
    optim::save(one, file("fewer parameters").string());
    std::vector<Tensor> shaped{op::det({2, 3}, 2, 0.5).requires_grad_(), op::det({2}, 2).requires_grad_()};
    auto r = op::make_optimizer("rmsprop", shaped);
    for (auto& p : shaped) p.set_grad(ones_like(p));
    r->step();
    optim::save(*r, file("other shapes").string());
    auto f32 = op::lsq_params(kFloat32);
    auto r32 = op::make_optimizer("rmsprop", f32);
    op::train_step(*r32, f32);
    optim::save(*r32, file("float32 parameters").string());
    auto q2 = op::lsq_params();
    optim::RMSprop together(q2, optim::RMSpropOptions(0.01).centered(true).momentum(0.5).weight_decay(0.1));
    op::train_step(together, q2);
    optim::save(together, file("one group instead of two").string());
  }
  const fs::path good = dir / "good.safetensors";
  {
    auto q = op::lsq_params();
    auto r = op::make_optimizer("rmsprop", q);
    for (int s = 0; s < 7; ++s) op::train_step(*r, q);
    optim::save(*r, good.string());
  }
  const std::string bytes = read_file(good);
  write_file(file("truncated in the data"), bytes.substr(0, bytes.size() - 5));
  write_file(file("truncated in the header"), bytes.substr(0, 40));
  write_file(file("empty"), "");
  {
    std::string s = bytes;
    s[12] = '#';  // inside the JSON header
    write_file(file("corrupt header"), s);
  }
  {  // valid safetensors, malformed metadata: a state tensor of the wrong shape, a missing hyper-parameter
    std::map<std::string, std::string> meta;
    auto t = nn::load_safetensors(good.string(), &meta);
    OrderedDict<Tensor> wrong;
    for (const auto& it : t)
      wrong.insert(it.key(), it.key() == "state.0.square_avg" ? zeros({6}, kFloat64) : it.value());
    nn::save_safetensors(wrong, file("a state tensor of another shape").string(), meta);
    OrderedDict<Tensor> missing;
    for (const auto& it : t)
      if (it.key() != "state.1.grad_avg") missing.insert(it.key(), it.value());
    nn::save_safetensors(missing, file("a missing state tensor").string(), meta);
    auto m2 = meta;
    auto groups = nlohmann::json::parse(m2["param_groups"]);
    groups[0].erase("alpha");
    m2["param_groups"] = groups.dump();
    nn::save_safetensors(t, file("a missing hyper-parameter").string(), m2);
    auto m3 = meta;
    m3["state"] = "{\"0\": {\"step\": ";
    nn::save_safetensors(t, file("state JSON cut short").string(), m3);
    auto m4 = meta;
    m4.erase("optimizer");
    nn::save_safetensors(t, file("no optimizer name").string(), m4);
    OrderedDict<Tensor> extra = t;
    extra.insert("state.9.square_avg", zeros({2}, kFloat64));
    nn::save_safetensors(extra, file("state for a parameter that does not exist").string(), meta);
    nn::save_safetensors(t, file("no metadata").string());
  }
  bad.emplace_back("a missing file", dir / "does_not_exist.safetensors");

  for (const auto& [what, path] : bad) {
    INFO(what);
    CHECK_THROWS_AS(optim::load(*opt, path.string()), Error);
    CHECK(same_state(opt->state(), before));
  }
  CHECK(bad.size() == 17);
  // still the same optimizer: it steps exactly as its twin that never saw a bad file
  for (int s = 0; s < 3; ++s) {
    op::train_step(*opt, ps);
    op::train_step(*twin, twin_ps);
  }
  CHECK(bit_equal(detached(ps), detached(twin_ps)));
  // and the good file loads
  optim::load(*opt, good.string());
  CHECK_FALSE(same_state(opt->state(), before));
  fs::remove_all(dir);
}

TEST_CASE("Schedulers: a refused step leaves the scheduler where it was; verbose plateau reductions") {
  Tensor w = zeros({1}, kFloat64).requires_grad_();
  optim::SGD sgd({w}, optim::SGDOptions(0.1).momentum(0.9));
  optim::OneCycleLR oc(sgd, optim::OneCycleLROptions(1.0, 2));
  oc.step();
  oc.step();
  const auto lr = oc.get_last_lr();
  CHECK_THROWS_AS(oc.step(), Error);
  CHECK(oc.last_epoch() == 2);
  CHECK(oc.get_last_lr() == lr);
  CHECK(sgd.param_groups()[0].lr == lr[0]);
  // a group added after the scheduler was made is refused, not silently skipped
  optim::StepLR st(sgd, 2);
  sgd.add_param_group({zeros({1}, kFloat64).requires_grad_()}, 0.5);
  CHECK_THROWS_AS(st.step(), Error);
  CHECK(st.last_epoch() == 0);
  using P = optim::ReduceLROnPlateauScheduler;
  Tensor v = zeros({1}, kFloat64).requires_grad_();
  optim::SGD one({v}, optim::SGDOptions(1.0));
  P plateau(one, P::min, 0.5, 0, 1e-4, P::rel, 0, {}, 1e-8, true);
  plateau.step(1.0);
  plateau.step(2.0);  // worse: halves, and says so
  CHECK(plateau.get_last_lr() == std::vector<double>{0.5});
  CHECK(plateau.best() == 1.0);
  CHECK(plateau.num_bad_epochs() == 0);
}

TEST_CASE("Optimizer::step(closure), as libtorch's: one evaluation then a step, the loss returned") {
  Tensor w = tensor({1.0, -2.0}, {2}, kFloat64).requires_grad_();
  optim::SGD sgd({w}, optim::SGDOptions(0.1));
  int calls = 0;
  auto closure = [&] {
    ++calls;
    sgd.zero_grad();
    Tensor l = sum(w * w);
    l.backward();
    return l;
  };
  Tensor loss;
  {
    NoGradGuard ng;  // the closure still records: step(closure) turns grad mode on for it
    loss = sgd.step(closure);
  }
  CHECK(calls == 1);
  CHECK(loss.item<double>() == 5.0);
  agt::check_values(w, {1.0 - 0.1 * 2.0, -2.0 + 0.1 * 4.0}, 1e-15);
  optim::Optimizer& base = sgd;
  CHECK_FALSE(base.step(optim::LossClosure{}).defined());            // a plain step
  agt::check_values(w, {0.8 - 0.1 * 2.0, -1.6 + 0.1 * 4.0}, 1e-15);  // the gradient of the closure
}
