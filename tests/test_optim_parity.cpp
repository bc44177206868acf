// RMSprop, Adagrad, LBFGS and the learning-rate schedulers against PyTorch 1.13 float64: the
// "optim" entry of tests/data/torch_reference.json (made by tests/data/make_reference.py).
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "nn/nn.h"
#include "optim_problems.h"
#include "test_util.h"

using namespace ag;
using json = nlohmann::json;
namespace op = optim_problems;

namespace {

const json& optim_reference() {
  static const json data = [] {
    std::ifstream in(std::string(AG_TEST_DATA_DIR) + "/torch_reference.json");
    if (!in) throw std::runtime_error("cannot open torch_reference.json");
    return json::parse(in).at("optim");
  }();
  return data;
}

// The largest difference relative to max(1, |want|) (absolute near zero).
double max_diff(const std::vector<double>& got, const json& want) {
  REQUIRE(got.size() == want.size());
  double d = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double w = want[i].get<double>();
    d = std::max(d, std::abs(got[i] - w) / std::max(1.0, std::abs(w)));
  }
  return d;
}

std::vector<double> flat(const std::vector<Tensor>& ps) {
  std::vector<double> out;
  for (const auto& p : ps)
    for (double v : p.to_vector<double>()) out.push_back(v);
  return out;
}

std::vector<Tensor> problem_params(const std::string& name) {
  return name == "lsq" ? op::lsq_params() : op::rosenbrock_params();
}
Tensor problem_loss(const std::string& name, const std::vector<Tensor>& p) {
  return name == "lsq" ? op::lsq_loss(p) : op::rosenbrock_loss(p);
}

std::unique_ptr<optim::Optimizer> make_from_json(const std::string& kind, const json& o,
                                                 const std::vector<Tensor>& params) {
  if (kind == "RMSprop") {
    optim::RMSpropOptions r(o.value("lr", 0.01));
    r.alpha(o.value("alpha", 0.99))
        .eps(o.value("eps", 1e-8))
        .weight_decay(o.value("weight_decay", 0.0))
        .momentum(o.value("momentum", 0.0))
        .centered(o.value("centered", false));
    return std::make_unique<optim::RMSprop>(params, r);
  }
  if (kind == "Adagrad") {
    optim::AdagradOptions a(o.value("lr", 0.01));
    a.lr_decay(o.value("lr_decay", 0.0))
        .weight_decay(o.value("weight_decay", 0.0))
        .initial_accumulator_value(o.value("initial_accumulator_value", 0.0))
        .eps(o.value("eps", 1e-10));
    return std::make_unique<optim::Adagrad>(params, a);
  }
  FAIL("no optimizer " << kind);
  return nullptr;
}

}  // namespace

TEST_CASE("RMSprop and Adagrad: parameter trajectories equal PyTorch's (float64)") {
  double worst = 0;
  int runs = 0;
  for (const json& r : optim_reference().at("optimizers")) {
    const std::string name = r.at("name");
    INFO(name);
    const std::string problem = r.at("problem");
    std::vector<Tensor> params = problem_params(problem);
    auto opt = make_from_json(r.at("optimizer"), r.at("options"), params);
    const json& traj = r.at("params");
    for (std::size_t s = 0; s < traj.size(); ++s) {
      opt->zero_grad();
      problem_loss(problem, params).backward();
      opt->step();
      const double d = max_diff(flat(params), traj[s]);
      INFO("step " << s + 1);
      CHECK(d <= 1e-12);
      worst = std::max(worst, d);
    }
    ++runs;
  }
  CHECK(runs == 6);
  MESSAGE("RMSprop/Adagrad: " << runs << " runs, largest relative difference to PyTorch " << worst);
}

TEST_CASE("LBFGS: parameters, losses and evaluation counts equal PyTorch's (float64, with and without strong Wolfe)") {
  double worst = 0;
  int runs = 0;
  for (const json& r : optim_reference().at("lbfgs")) {
    const std::string name = r.at("name");
    INFO(name);
    const std::string problem = r.at("problem");
    std::vector<Tensor> params = problem_params(problem);
    const json& o = r.at("options");
    optim::LBFGSOptions lo(o.value("lr", 1.0));
    lo.max_iter(o.value("max_iter", 20)).history_size(o.value("history_size", 100));
    if (o.contains("line_search_fn")) lo.line_search_fn(o.at("line_search_fn").get<std::string>());
    optim::LBFGS opt(params, lo);
    auto closure = [&] {
      opt.zero_grad();
      Tensor loss = problem_loss(problem, params);
      loss.backward();
      return loss;
    };
    const json& traj = r.at("params");
    for (std::size_t s = 0; s < traj.size(); ++s) {
      INFO("step " << s + 1);
      const double loss = opt.step(closure).item<double>();
      const double want = r.at("losses")[s].get<double>();
      CHECK(std::abs(loss - want) <= 1e-10 * std::max(1.0, std::abs(want)));
      const double d = max_diff(flat(params), traj[s]);
      CHECK(d <= 1e-10);
      worst = std::max(worst, d);
    }
    const optim::OptimizerState st = opt.state();
    CHECK(st.params.at(0).scalars.at("func_evals") == r.at("func_evals").get<double>());
    CHECK(st.params.at(0).scalars.at("n_iter") == r.at("n_iter").get<double>());
    ++runs;
  }
  CHECK(runs == 4);
  MESSAGE("LBFGS: " << runs << " runs, largest relative difference to PyTorch " << worst);
}

namespace {

std::vector<Tensor> one_param_groups(std::unique_ptr<optim::Optimizer>& opt, const std::string& kind, const json& lrs) {
  std::vector<Tensor> ps;
  for (std::size_t i = 0; i < lrs.size(); ++i) ps.push_back(zeros({1}, kFloat64).requires_grad_());
  const double lr0 = lrs[0];
  if (kind == "SGD")
    opt = std::make_unique<optim::SGD>(std::vector<Tensor>{ps[0]}, optim::SGDOptions(lr0).momentum(0.9));
  else opt = std::make_unique<optim::Adam>(std::vector<Tensor>{ps[0]}, optim::AdamOptions(lr0));
  for (std::size_t i = 1; i < lrs.size(); ++i) opt->add_param_group({ps[i]}, lrs[i].get<double>());
  return ps;
}

double momentum_of(const optim::Optimizer& opt) {
  if (auto* s = dynamic_cast<const optim::SGD*>(&opt)) return s->options().momentum();
  return dynamic_cast<const optim::Adam&>(opt).options().beta1();
}

std::unique_ptr<optim::LRScheduler> make_scheduler(optim::Optimizer& opt, const std::string& kind, const json& a) {
  if (kind == "StepLR") return std::make_unique<optim::StepLR>(opt, a.at("step_size"), a.value("gamma", 0.1));
  if (kind == "MultiStepLR")
    return std::make_unique<optim::MultiStepLR>(opt, a.at("milestones").get<std::vector<std::int64_t>>(),
                                                a.value("gamma", 0.1));
  if (kind == "ExponentialLR") return std::make_unique<optim::ExponentialLR>(opt, a.at("gamma"));
  if (kind == "CosineAnnealingLR")
    return std::make_unique<optim::CosineAnnealingLR>(opt, a.at("T_max"), a.value("eta_min", 0.0));
  if (kind == "OneCycleLR") {
    const json& m = a.at("max_lr");
    optim::OneCycleLROptions o = m.is_array()
                                     ? optim::OneCycleLROptions(m.get<std::vector<double>>(), a.at("total_steps"))
                                     : optim::OneCycleLROptions(m.get<double>(), a.at("total_steps"));
    o.pct_start(a.value("pct_start", 0.3))
        .anneal_strategy(a.value("anneal_strategy", "cos"))
        .cycle_momentum(a.value("cycle_momentum", true))
        .base_momentum(a.value("base_momentum", 0.85))
        .max_momentum(a.value("max_momentum", 0.95))
        .div_factor(a.value("div_factor", 25.0))
        .final_div_factor(a.value("final_div_factor", 1e4))
        .three_phase(a.value("three_phase", false));
    return std::make_unique<optim::OneCycleLR>(opt, o);
  }
  FAIL("no scheduler " << kind);
  return nullptr;
}

}  // namespace

TEST_CASE("Schedulers: learning rates (and OneCycleLR's momentum) equal PyTorch's epoch by epoch") {
  double worst = 0;
  int runs = 0, exact = 0, values = 0;
  for (const json& r : optim_reference().at("schedulers")) {
    const std::string name = r.at("name");
    INFO(name);
    std::unique_ptr<optim::Optimizer> opt;
    const auto ps = one_param_groups(opt, r.at("optimizer"), r.at("group_lrs"));
    auto sched = make_scheduler(*opt, r.at("scheduler"), r.at("args"));
    const json& lrs = r.at("lrs");
    const json& mom = r.at("momentum");
    for (std::size_t e = 0; e < lrs.size(); ++e) {
      INFO("epoch " << e);
      if (e > 0) sched->step();
      CHECK(sched->last_epoch() == static_cast<std::int64_t>(e));
      const std::vector<double>& got = sched->get_last_lr();
      const double d = max_diff(got, lrs[e]);
      CHECK(d <= 1e-15);  // bit for bit here (same formulas, same order, glibc); a tolerance for other libms
      for (std::size_t g = 0; g < got.size(); ++g) {
        CHECK(opt->param_groups()[g].lr == got[g]);
        exact += got[g] == lrs[e][g].get<double>();
        ++values;
      }
      const double m = momentum_of(*opt);
      CHECK(std::abs(m - mom[e].get<double>()) <= 1e-15);
      worst = std::max(worst, d);
    }
    ++runs;
  }
  CHECK(runs == 13);
  MESSAGE("schedulers: " << runs << " runs, " << exact << " of " << values
                         << " learning rates bit-equal to PyTorch's, largest difference " << worst);
}

TEST_CASE("ReduceLROnPlateauScheduler: learning rates equal PyTorch's epoch by epoch") {
  int runs = 0;
  for (const json& r : optim_reference().at("plateau")) {
    const std::string name = r.at("name");
    INFO(name);
    std::unique_ptr<optim::Optimizer> opt;
    const auto ps = one_param_groups(opt, "SGD", r.at("group_lrs"));
    const json& a = r.at("args");
    using P = optim::ReduceLROnPlateauScheduler;
    std::vector<double> min_lr;
    if (a.contains("min_lr")) min_lr = a.at("min_lr").get<std::vector<double>>();
    P sched(*opt, a.value("mode", "min") == "min" ? P::min : P::max, a.value("factor", 0.1), a.value("patience", 10),
            a.value("threshold", 1e-4), a.value("threshold_mode", "rel") == "rel" ? P::rel : P::abs,
            a.value("cooldown", 0), min_lr, a.value("eps", 1e-8));
    const json& metrics = r.at("metrics");
    for (std::size_t e = 0; e < metrics.size(); ++e) {
      INFO("epoch " << e + 1);
      sched.step(metrics[e].get<double>());
      const auto& got = sched.get_last_lr();
      REQUIRE(got.size() == r.at("lrs")[e].size());
      for (std::size_t g = 0; g < got.size(); ++g) CHECK(got[g] == r.at("lrs")[e][g].get<double>());
    }
    ++runs;
  }
  CHECK(runs == 4);
}
