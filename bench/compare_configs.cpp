// The configurations ag_compare searches (compare_configs.h): GEMM libraries and OpenBLAS kernel
// sets checked and timed in child processes, and libtorch's configurations built from them.
#include "bench/compare_configs.h"

#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <stdexcept>

namespace agbench {
namespace {

std::string self_exe() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) throw std::runtime_error("cannot read /proc/self/exe");
  return std::string(buf, static_cast<std::size_t>(n));
}

}  // namespace

void run_child(const std::string& env, const std::string& args,
               const std::function<void(const std::vector<std::string>&)>& on_line) {
  const std::string cmd = "env " + env + " '" + self_exe() + "' " + args;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) throw std::runtime_error("cannot start: " + cmd);
  char* line = nullptr;
  std::size_t cap = 0;
  ssize_t len;
  while ((len = getline(&line, &cap, p)) > 0) {
    std::string l(line, static_cast<std::size_t>(len));
    if (!l.empty() && l.back() == '\n') l.pop_back();
    std::vector<std::string> fields;
    std::size_t start = 0;
    for (std::size_t tab; (tab = l.find('\t', start)) != std::string::npos; start = tab + 1)
      fields.push_back(l.substr(start, tab - start));
    fields.push_back(l.substr(start));
    on_line(fields);
  }
  free(line);
  if (pclose(p) != 0) throw std::runtime_error("child failed: " + cmd);
}

std::string shape_key(const GemmShape& g) {
  return fmt::format("{}x{}x{}:{}{}", g.m, g.n, g.k, g.ta ? 'T' : 'N', g.tb ? 'T' : 'N');
}

std::string TorchConfig::label() const {
  return fmt::format("{}, torch {}, OpenBLAS {}{}", ks->core, torch_threads, ob_threads,
                     wait.empty() ? "" : ", OMP " + wait);
}

std::string TorchConfig::env() const {
  return ks->env() + fmt::format(" OPENBLAS_NUM_THREADS={}", ob_threads) +
         (wait.empty() ? "" : " OMP_WAIT_POLICY=" + wait);
}

bool GemmSurvey::valid(const KernelSet& ks) const {
  for (const GemmLibResult& r : libs)
    if (r.ks && r.ks->core == ks.core) return r.ok;
  return false;
}

GemmSurvey survey_gemms(const CompareOptions& o, const std::vector<Spec>& specs,
                        const std::function<void(const std::string&)>& progress) {
  GemmSurvey survey;
  std::vector<GemmShape>& shapes = survey.shapes;
  std::vector<KernelSet>& kernel_sets = survey.kernel_sets;
  std::vector<GemmLibResult>& libs = survey.libs;
  const int max_threads = *std::max_element(o.threads.begin(), o.threads.end());

  // 1. GEMM shapes: the selected workloads' and (5)'s (which rank the kernel sets)
  std::set<std::string> seen;
  std::vector<Spec> gemm_specs = specs;
  for (const Spec& s : main_specs())
    if (s.name == "mlp_large") gemm_specs.push_back(s);
  for (const Spec& s : gemm_specs)
    for (const GemmShape& g : workload_gemms(s))
      if (seen.insert(shape_key(g)).second) shapes.push_back(g);
  std::string shape_arg;
  for (const GemmShape& g : shapes) shape_arg += (shape_arg.empty() ? "" : ",") + shape_key(g);
  std::string thread_arg;
  for (int n : o.threads) thread_arg += (thread_arg.empty() ? "" : ",") + std::to_string(n);

  // 2. kernel sets: check and time each in a child of its own
  std::vector<std::optional<std::string>> settings{std::nullopt, "Haswell", "SkylakeX", "Cooperlake"};
  const char* env_core = std::getenv("OPENBLAS_CORETYPE");
  if (env_core && *env_core && std::find(settings.begin(), settings.end(), std::string(env_core)) == settings.end())
    settings.insert(settings.begin() + 1, std::string(env_core));
  kernel_sets.resize(settings.size());  // libs point into it: sized once
  libs.reserve(settings.size() + 2);
  GemmLibResult dnnl, xsmm;
  dnnl.name = "oneDNN dnnl_sgemm";
  xsmm.name = "libxsmm";
  for (std::size_t i = 0; i < settings.size(); ++i) {
    KernelSet& ks = kernel_sets[i];
    ks.coretype = settings[i];
    GemmLibResult ob;
    std::string lib_arg = i == 0 ? "openblas,dnnl,libxsmm" : "openblas";
    // A kernel set the CPU cannot run (SIGILL) or a library that crashes fails the check.
    try {
      run_child(ks.env() + fmt::format(" OPENBLAS_NUM_THREADS={} OMP_WAIT_POLICY=active", max_threads),
                fmt::format("--gemm-child --libs {} --threads {} --shapes {} --budget {} --check", lib_arg, thread_arg,
                            shape_arg, o.gemm_budget),
                [&](const std::vector<std::string>& f) {
                  if (f[0] == "core") ks.core = f.at(1);
                  GemmLibResult& r = f.size() > 1 && f[1] == "dnnl"      ? dnnl
                                     : f.size() > 1 && f[1] == "libxsmm" ? xsmm
                                                                         : ob;
                  if (f[0] == "check") {
                    r.ok = r.ok && f.at(3) == "1";
                    r.checks.push_back(fmt::format("{} thread{}: {} (worst {} at {}, {} cases{})", f.at(2),
                                                   f[2] == "1" ? "" : "s", f[3] == "1" ? "pass" : "**FAIL**", f.at(4),
                                                   f.at(7), f.at(5), f.at(6) == "0" ? "" : ", " + f[6] + " skipped"));
                  }
                  if (f[0] == "gemm") r.t[{std::stoi(f.at(2)), f.at(3)}] = std::stod(f.at(4));
                });
    } catch (const std::exception& e) {
      ob.ok = false;
      ob.checks.push_back(fmt::format("**FAIL**: {}", e.what()));
      if (ks.core.empty()) ks.core = "(" + ks.setting() + ")";
      if (i == 0) dnnl.ok = xsmm.ok = false;
    }
    for (std::size_t j = 0; j < i; ++j) ks.duplicate = ks.duplicate || kernel_sets[j].core == ks.core;
    progress(fmt::format("{}: OpenBLAS kernels {}, check {}", ks.setting(), ks.core, ob.ok ? "passed" : "FAILED"));
    if (!ks.duplicate) {
      ob.name = "OpenBLAS " + ks.core;
      ob.ks = &ks;
      libs.push_back(std::move(ob));
    }
  }
  // oneDNN's OpenMP threads at n > 1: also under the passive wait policy (active spinning starves
  // the team when another process wants the core); the faster counts.
  std::string multi;
  for (int n : o.threads)
    if (n > 1) multi += (multi.empty() ? "" : ",") + std::to_string(n);
  if (dnnl.ok && !multi.empty())
    run_child("-u OPENBLAS_CORETYPE OPENBLAS_NUM_THREADS=1 OMP_WAIT_POLICY=passive",
              fmt::format("--gemm-child --libs dnnl --threads {} --shapes {} --budget {}", multi, shape_arg,
                          o.gemm_budget),
              [&](const std::vector<std::string>& f) {
                if (f[0] != "gemm") return;
                const std::pair<int, std::string> key{std::stoi(f.at(2)), f.at(3)};
                const double t = std::stod(f.at(4));
                if (!dnnl.t.count(key) || (t > 0 && t < dnnl.t[key])) dnnl.t[key] = t;
              });
  libs.push_back(std::move(dnnl));
  libs.push_back(std::move(xsmm));
  const int n_rank = o.threads.front();
  auto large_gemm_time = [&](const GemmLibResult& r) {
    double t = 0;
    for (const Spec& s : main_specs())
      if (s.name == "mlp_large")
        for (const GemmShape& g : workload_gemms(s)) t += g.count * r.t.at({n_rank, shape_key(g)});
    return t;
  };
  const KernelSet*& best = survey.best;
  double best_t = 1e300;
  for (const GemmLibResult& r : libs)
    if (r.ks && r.ok && large_gemm_time(r) < best_t) best = r.ks, best_t = large_gemm_time(r);
  if (!best) throw std::runtime_error("no OpenBLAS kernel set passed the check");
  return survey;
}

std::map<int, std::vector<TorchConfig>> torch_configs(const CompareOptions& o, const GemmSurvey& survey) {
  const char* env_core = std::getenv("OPENBLAS_CORETYPE");
  const KernelSet* best = survey.best;
  std::vector<const KernelSet*> one_thread_sets;
  const std::string env_or_haswell = env_core && *env_core ? env_core : "Haswell";
  for (const KernelSet& ks : survey.kernel_sets) {
    const bool wanted = !ks.coretype || *ks.coretype == env_or_haswell || &ks == best;
    const bool dup = std::any_of(one_thread_sets.begin(), one_thread_sets.end(),
                                 [&](const KernelSet* k) { return k->core == ks.core; });
    if (wanted && !dup && survey.valid(ks)) one_thread_sets.push_back(&ks);
  }
  std::map<int, std::vector<TorchConfig>> configs;
  for (int n : o.threads) {
    std::vector<TorchConfig>& c = configs[n];
    if (n == 1) {
      for (const KernelSet* ks : one_thread_sets) c.push_back({ks, 1, 1, ""});
    } else {
      for (const char* wait : {"passive", "active"})
        for (int ob : {1, n}) c.push_back({best, n, ob, wait});
      c.push_back({best, 1, n, ""});
      if (std::find(o.threads.begin(), o.threads.end(), 1) == o.threads.end()) c.push_back({best, 1, 1, ""});
    }
  }
  return configs;
}

}  // namespace agbench
