// ag_compare: the workloads of bench/workloads.h in ag and in libtorch at its best configuration on
// this machine, with the same shapes, data and initial weights, float32 (float64 for the chain).
// Run through scripts/compare.sh; prints Markdown tables and writes them to --out.
//
// Method (docs/performance.md has the why):
// 1. Kernel sets and the GEMM ceiling. One child process per OPENBLAS_CORETYPE setting (unset, the
//    environment's value, Haswell, SkylakeX, Cooperlake) checks sgemm against a float64 reference
//    (gemm_ceiling.h; a kernel set that fails is excluded and reported) and times the workloads'
//    GEMM shapes; the first also checks and times oneDNN's dnnl_sgemm and libxsmm. The fastest
//    valid kernel set is the one with the least time on (5)'s GEMMs at one thread.
// 2. libtorch's configurations (its side runs in child processes: --torch-child, because
//    OPENBLAS_CORETYPE, OPENBLAS_NUM_THREADS and OMP_WAIT_POLICY are read at start-up): at 1 thread,
//    each distinct kernel set among unset / the environment's (or Haswell) / the fastest valid, with
//    OpenBLAS at 1 thread (no OpenMP team runs, so the wait policy cannot matter); at n > 1 threads,
//    the fastest valid kernel set with torch::set_num_threads(n) and OpenBLAS at 1 or n threads,
//    OMP_WAIT_POLICY active or passive, torch at 1 thread with OpenBLAS at n, and the 1-thread
//    configurations (fewer threads when faster). The chain (no GEMM, no parallel region) runs in the
//    first configuration of each thread count only.
// 3. Rounds: per round and thread count, ours (in this process, OPENBLAS_CORETYPE as the
//    environment has it, OpenBLAS at one thread) on every workload, then one child per libtorch
//    configuration on every workload; each times training steps for budget/rounds seconds, then
//    as many passes (forward under no-grad, recorded forward, backward). Figures are medians over
//    all iterations of all rounds; per workload and thread count the table shows libtorch's best
//    configuration. The first child also checks both engines against each other (loss, gradients).
// Subnormals are flushed to zero in both (FTZ/DAZ) unless --denormals is given.
//   ag_compare [--threads 1,2] [--budget 0.3] [--rounds 5] [--only xor,mlp_large,checkpoint]
//              [--gemm-budget 0.05] [--denormals] [--out FILE]
#include <cblas.h>
#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>

#include "bench/compare.h"
#include "bench/gemm_ceiling.h"

#include "autograd/parallel.h"

namespace agbench {
namespace {

struct Options {
  std::vector<int> threads{1, 2};
  double budget = 0.3, gemm_budget = 0.05;
  int rounds = 5;
  std::vector<std::string> only;
  std::string out;
  bool flush_denormal = true;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--threads" && has_value) {
      o.threads.clear();
      for (const auto& t : split(argv[++i])) o.threads.push_back(std::stoi(t));
    } else if (a == "--budget" && has_value) {
      o.budget = std::stod(argv[++i]);
    } else if (a == "--gemm-budget" && has_value) {
      o.gemm_budget = std::stod(argv[++i]);
    } else if (a == "--rounds" && has_value) {
      o.rounds = std::max(1, std::stoi(argv[++i]));
    } else if (a == "--only" && has_value) {
      o.only = split(argv[++i]);
    } else if (a == "--denormals") {
      o.flush_denormal = false;
    } else if (a == "--out" && has_value) {
      o.out = argv[++i];
    } else {
      throw std::runtime_error(
          "usage: ag_compare [--threads 1,2] [--budget SECONDS] [--rounds R] [--only a,b] [--gemm-budget SECONDS] "
          "[--denormals] [--out FILE]");
    }
  }
  if (o.threads.empty()) throw std::runtime_error("--threads: empty list");
  return o;
}

// ---------------------------------------------------------------- child processes

std::string self_exe() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) throw std::runtime_error("cannot read /proc/self/exe");
  return std::string(buf, static_cast<std::size_t>(n));
}

/// Runs `env <env> ag_compare <args>` and passes each output line, split at tabs, to `on_line`.
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

/// One OPENBLAS_CORETYPE setting, as checked and timed by a gemm child.
struct KernelSet {
  std::optional<std::string> coretype;  // nullopt: unset
  std::string core;                     // what OpenBLAS selected (openblas_get_corename)
  bool duplicate = false;               // the same core as an earlier setting
  std::string setting() const { return coretype ? "OPENBLAS_CORETYPE=" + *coretype : "OPENBLAS_CORETYPE unset"; }
  std::string env() const { return coretype ? "OPENBLAS_CORETYPE=" + *coretype : "-u OPENBLAS_CORETYPE"; }
};

/// One GEMM library (OpenBLAS under one kernel set, oneDNN, libxsmm): its check and per-shape times.
struct GemmLibResult {
  std::string name;
  const KernelSet* ks = nullptr;  // OpenBLAS only
  bool ok = true;
  std::vector<std::string> checks;                  // "1 thread: worst 0.05 over 1000 cases"
  std::map<std::pair<int, std::string>, double> t;  // (threads, shape key) -> seconds per call, < 0: unsupported
};

std::string shape_key(const GemmShape& g) {
  return fmt::format("{}x{}x{}:{}{}", g.m, g.n, g.k, g.ta ? 'T' : 'N', g.tb ? 'T' : 'N');
}

struct TorchConfig {
  const KernelSet* ks = nullptr;
  int torch_threads = 1, ob_threads = 1;
  std::string wait;  // OMP_WAIT_POLICY; empty: as the environment has it
  std::string label() const {
    return fmt::format("{}, torch {}, OpenBLAS {}{}", ks->core, torch_threads, ob_threads,
                       wait.empty() ? "" : ", OMP " + wait);
  }
  std::string env() const {
    return ks->env() + fmt::format(" OPENBLAS_NUM_THREADS={}", ob_threads) +
           (wait.empty() ? "" : " OMP_WAIT_POLICY=" + wait);
  }
};

// ---------------------------------------------------------------- report helpers

std::string fmt_time(double s) {
  if (s < 1e-3) return fmt::format("{:.1f} µs", s * 1e6);
  if (s < 1) return fmt::format("{:.3f} ms", s * 1e3);
  return fmt::format("{:.3f} s", s);
}

std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}

std::string met(bool ok) { return ok ? "yes" : "**no**"; }

struct Result {
  Times ours, torch;
  std::string torch_config;  // the best configuration's label
  double ours_tape = 0, torch_tape = 0;
  std::size_t ours_nodes = 0;
  Check chk;
};

void write_report(const Options& o, const std::vector<Spec>& specs, const std::vector<KernelSet>& kernel_sets,
                  const std::vector<GemmLibResult>& libs, const std::vector<GemmShape>& shapes,
                  const std::map<int, std::vector<TorchConfig>>& configs,
                  const std::map<std::tuple<std::string, int, std::size_t>, double>& config_step,
                  std::map<std::pair<std::string, int>, Result>& res);

// ---------------------------------------------------------------- the driver

int run(int argc, char** argv) {
  const Options o = parse(argc, argv);
  const std::vector<Spec> specs = compare_specs(o.only);
  const int max_threads = *std::max_element(o.threads.begin(), o.threads.end());
  openblas_set_num_threads(1);  // ours: OpenBLAS at one thread, large products split over ag's pool
  const auto t_start = Clock::now();
  auto progress = [&](const std::string& what) { std::cerr << fmt::format("[{:6.1f} s] {}\n", since(t_start), what); };

  // 1. GEMM shapes: the selected workloads' and (5)'s (which rank the kernel sets)
  std::vector<GemmShape> shapes;
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
  std::vector<KernelSet> kernel_sets(settings.size());
  std::vector<GemmLibResult> libs;
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
    for (const GemmShape& g : workload_gemms(main_specs()[4])) t += g.count * r.t.at({n_rank, shape_key(g)});
    return t;
  };
  const KernelSet* best = nullptr;
  double best_t = 1e300;
  for (const GemmLibResult& r : libs)
    if (r.ks && r.ok && large_gemm_time(r) < best_t) best = r.ks, best_t = large_gemm_time(r);
  if (!best) throw std::runtime_error("no OpenBLAS kernel set passed the check");
  auto valid = [&](const KernelSet& ks) {
    for (const GemmLibResult& r : libs)
      if (r.ks && r.ks->core == ks.core) return r.ok;
    return false;
  };

  // 3. libtorch's configurations per thread count
  std::vector<const KernelSet*> one_thread_sets;
  const std::string env_or_haswell = env_core && *env_core ? env_core : "Haswell";
  for (const KernelSet& ks : kernel_sets) {
    const bool wanted = !ks.coretype || *ks.coretype == env_or_haswell || &ks == best;
    const bool dup = std::any_of(one_thread_sets.begin(), one_thread_sets.end(),
                                 [&](const KernelSet* k) { return k->core == ks.core; });
    if (wanted && !dup && valid(ks)) one_thread_sets.push_back(&ks);
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

  // 4. rounds
  std::vector<std::unique_ptr<OursRunner>> ours;
  std::map<std::pair<std::string, int>, Result> res;
  for (const Spec& s : specs) {
    ours.push_back(std::make_unique<OursRunner>(s));
    ag::set_num_threads(o.threads.front());
    const double tape = ours.back()->tape_bytes();
    for (int n : o.threads) {
      res[{s.name, n}].ours_tape = tape;
      res[{s.name, n}].ours_nodes = ours.back()->nodes;
    }
  }
  std::map<std::pair<std::string, int>, Samples> so;
  std::map<std::tuple<std::string, int, std::size_t>, Samples> st;  // (workload, threads, config)
  std::map<std::string, std::pair<Check, double>> checks;           // workload -> check, libtorch's tape
  const double round_budget = o.budget / o.rounds;
  for (int round = 0; round < o.rounds; ++round)
    for (int n : o.threads) {  // thread counts interleaved too: a change of load hits all of them
      ag::set_num_threads(n);
      ag::set_flush_denormal(o.flush_denormal);
      for (std::size_t i = 0; i < specs.size(); ++i) {
        if (round == 0) {
          Samples warm_up;
          time_round(*ours[i], 0.02, warm_up);
        }
        time_round(*ours[i], round_budget, so[{specs[i].name, n}]);
      }
      const std::vector<TorchConfig>& cs = configs[n];
      for (std::size_t ci = 0; ci < cs.size(); ++ci) {
        std::string names;
        for (const Spec& s : specs)
          if (ci == 0 || s.kind != Kind::Chain) names += (names.empty() ? "" : ",") + s.name;
        if (names.empty()) continue;
        const bool with_check = round == 0 && n == o.threads.front() && ci == 0;
        run_child(cs[ci].env(),
                  fmt::format("--torch-child --workloads {} --threads {} --round-budget {}{}{}", names,
                              cs[ci].torch_threads, round_budget, with_check ? " --check" : "",
                              o.flush_denormal ? "" : " --denormals"),
                  [&](const std::vector<std::string>& f) {
                    if (f[0] == "info" && std::stoi(f.at(2)) != cs[ci].ob_threads)
                      std::cerr << fmt::format("warning: {}: OpenBLAS runs {} threads\n", cs[ci].label(), f[2]);
                    if (f[0] == "check")
                      checks[f.at(1)] = {{std::stod(f.at(2)), std::stod(f.at(3)), std::stod(f.at(4)),
                                          std::stod(f.at(5))},
                                         std::stod(f.at(6))};
                    if (f[0] == "samples") {
                      Samples& s = st[{f.at(1), n, ci}];
                      std::vector<double>& v = f.at(2) == "step"  ? s.step
                                               : f[2] == "nograd" ? s.nograd
                                               : f[2] == "fwd"    ? s.fwd
                                                                  : s.bwd;
                      for (std::size_t j = 3; j < f.size(); ++j) v.push_back(std::stod(f[j]));
                    }
                  });
      }
      progress(fmt::format("round {}/{}, {} thread{}: ours and {} libtorch configuration{}", round + 1, o.rounds, n,
                           n > 1 ? "s" : "", cs.size(), cs.size() > 1 ? "s" : ""));
    }

  // 5. per workload and thread count: ours, and libtorch's best configuration (fewer threads included)
  std::map<std::tuple<std::string, int, std::size_t>, double> config_step;
  for (const auto& [key, samples] : st) config_step[key] = median(samples.step);
  for (const Spec& s : specs)
    for (int n : o.threads) {
      Result& r = res[{s.name, n}];
      r.ours = so[{s.name, n}].medians();
      std::tie(r.chk, r.torch_tape) = checks[s.name];
      double best_step = 1e300;
      for (int m : o.threads) {
        if (m > n) continue;
        for (std::size_t ci = 0; ci < configs[m].size(); ++ci) {
          const auto it = st.find({s.name, m, ci});
          if (it == st.end()) continue;
          const Times t = it->second.medians();
          if (t.step < best_step) best_step = t.step, r.torch = t, r.torch_config = configs[m][ci].label();
        }
      }
      std::cerr << fmt::format("{} thread{}, {:<10} ours {:>10}  libtorch {:>10} ({})  ratio {:.3f}\n", n,
                               n > 1 ? "s" : "", s.name, fmt_time(r.ours.step), fmt_time(r.torch.step), r.torch_config,
                               r.ours.step / r.torch.step);
    }
  write_report(o, specs, kernel_sets, libs, shapes, configs, config_step, res);
  return 0;
}

// ---------------------------------------------------------------- report

void write_report(const Options& o, const std::vector<Spec>& specs, const std::vector<KernelSet>& kernel_sets,
                  const std::vector<GemmLibResult>& libs, const std::vector<GemmShape>& shapes,
                  const std::map<int, std::vector<TorchConfig>>& configs,
                  const std::map<std::tuple<std::string, int, std::size_t>, double>& config_step,
                  std::map<std::pair<std::string, int>, Result>& res) {
  std::string md;
  auto out = [&](const std::string& line) { md += line + "\n"; };
  // A "### title" section opening a Markdown table: columns separated by '|', the first left-aligned.
  auto table = [&](const std::string& title, const std::string& intro, const std::vector<std::string>& columns) {
    out("");
    out("### " + title);
    out("");
    if (!intro.empty()) {
      out(intro);
      out("");
    }
    std::string head = "|", rule = "|";
    for (std::size_t i = 0; i < columns.size(); ++i) {
      head += " " + columns[i] + " |";
      rule += i == 0 ? "---|" : "---:|";
    }
    out(head);
    out(rule);
  };
  auto plural = [](int n) { return fmt::format("{} thread{}", n, n > 1 ? "s" : ""); };
  char date[64];
  const std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof date, "%Y-%m-%d %H:%M", std::localtime(&now));
  std::string thread_list;
  for (int n : o.threads) thread_list += (thread_list.empty() ? "" : ", ") + std::to_string(n);
  const char* env_core = std::getenv("OPENBLAS_CORETYPE");
  out("## ag vs libtorch at its best");
  out("");
  out(
      fmt::format("{}; CPU: {}; threads: {}; libtorch {} ({}); ours: OpenBLAS kernels {} ({}), one OpenBLAS thread; "
                  "float32 (chain: float64); subnormals {}; median of {} rounds x {:.2f} s per engine, configuration "
                  "and measurement.",
                  date, cpu_model(), thread_list, torch_version(), openblas_build(), openblas_core(),
                  env_core ? fmt::format("OPENBLAS_CORETYPE={}", env_core) : "OPENBLAS_CORETYPE unset",
                  o.flush_denormal ? "flushed to zero" : "not flushed", o.rounds, o.budget));

  table("GEMM libraries: correctness on this CPU",
        "sgemm against a float64 reference on 1x1x1 to 513x509x511, odd sizes, all transposes, beta 0 and 1; worst = "
        "max |C - C_ref| / ((k + 2) u (|alpha| |A||B| + |beta| |C0|)), u = 2^-24 (the worst-case rounding bound of any "
        "summation order is 1). A library or kernel set that fails is excluded from the ceiling and from libtorch's "
        "configurations.",
        {"library", "setting", "check"});
  for (const KernelSet& ks : kernel_sets) {
    std::string check;
    for (const GemmLibResult& r : libs)
      if (r.ks && r.ks->core == ks.core)
        for (const std::string& c : r.checks) check += (check.empty() ? "" : "; ") + c;
    out(fmt::format("| OpenBLAS {} | {} | {} |", ks.core, ks.setting(),
                    ks.duplicate ? "(same kernels as above)" : check));
  }
  for (const GemmLibResult& r : libs) {
    if (r.ks) continue;
    std::string check;
    for (const std::string& c : r.checks) check += (check.empty() ? "" : "; ") + c;
    out(fmt::format("| {} | | {} |", r.name, check));
  }

  for (int n : o.threads) {
    table("Training step (zero_grad, forward, loss, backward, SGD), " + plural(n),
          "libtorch: the fastest of its configurations below (at most this many threads).",
          {"workload", "ours step", "libtorch best step", "ours / libtorch", "target", "met?",
           "libtorch's best configuration"});
    for (const Spec& s : specs) {
      const Result& r = res[{s.name, n}];
      const double ratio = r.ours.step / r.torch.step;
      std::string ours_t = fmt_time(r.ours.step), torch_t = fmt_time(r.torch.step);
      if (s.kind == Kind::Chain) {
        ours_t += fmt::format(" ({:.0f} ns/op)", 1e9 * r.ours.step / static_cast<double>(s.steps));
        torch_t += fmt::format(" ({:.0f} ns/op)", 1e9 * r.torch.step / static_cast<double>(s.steps));
      }
      out(fmt::format("| {} | {} | {} | {:.3f} | {} | {} | {} |", s.label, ours_t, torch_t, ratio,
                      s.target > 0 ? fmt::format("≤ {}", s.target) : "", s.target > 0 ? met(ratio <= s.target) : "",
                      r.torch_config));
    }
  }

  for (const auto& [n, cs] : configs) {
    std::vector<std::string> cols{"workload"};
    std::string legend;
    for (std::size_t ci = 0; ci < cs.size(); ++ci) {
      cols.push_back(fmt::format("C{}", ci + 1));
      legend += fmt::format("{}C{}: {}", ci ? "; " : "", ci + 1, cs[ci].label());
    }
    table("libtorch's configurations, " + plural(n),
          "Training step per configuration (the chain runs in C1 only); " + legend + ".", cols);
    for (const Spec& s : specs) {
      std::string row = "| " + s.label + " |";
      double best_t = 1e300;
      for (std::size_t ci = 0; ci < cs.size(); ++ci)
        if (config_step.count({s.name, n, ci})) best_t = std::min(best_t, config_step.at({s.name, n, ci}));
      for (std::size_t ci = 0; ci < cs.size(); ++ci) {
        const auto it = config_step.find({s.name, n, ci});
        row += it == config_step.end() ? " |"
               : it->second == best_t  ? " **" + fmt_time(it->second) + "** |"
                                       : " " + fmt_time(it->second) + " |";
      }
      out(row);
    }
  }

  const int n0 = o.threads.front();
  table("Forward, backward and tape memory, " + plural(n0),
        "libtorch: its best configuration. fwd no-grad: the loss under NoGradGuard; fwd: recorded; bwd: backward "
        "alone; rec/no-grad = fwd / fwd no-grad; tape: heap bytes allocated by the recorded forward and still held at "
        "its end (ours: plus the arena's nodes).",
        {"workload", "engine", "fwd no-grad", "fwd", "bwd", "bwd/fwd", "rec/no-grad", "tape", "tape nodes"});
  for (const Spec& s : specs) {
    const Result& r = res[{s.name, n0}];
    for (int e = 0; e < 2; ++e) {
      const Times& t = e == 0 ? r.ours : r.torch;
      out(fmt::format("| {} | {} | {} | {} | {} | {:.2f} | {:.2f} | {} | {} |", e == 0 ? s.label : "",
                      e == 0 ? "ours" : "libtorch", fmt_time(t.nograd), fmt_time(t.fwd), fmt_time(t.bwd), t.bwd / t.fwd,
                      t.fwd / t.nograd, human_bytes(e == 0 ? r.ours_tape : r.torch_tape),
                      e == 0 ? std::to_string(r.ours_nodes) : ""));
    }
  }

  table("Same weights, same data: ours vs libtorch before any update", "",
        {"workload", "loss (ours)", "loss (libtorch)", "rel. diff. of loss", "max rel. diff. of gradients"});
  for (const Spec& s : specs) {
    const Check& c = res[{s.name, n0}].chk;
    out(fmt::format("| {} | {:.7g} | {:.7g} | {:.1e} | {:.1e} |", s.label, c.loss_ours, c.loss_torch, c.loss_rel,
                    c.grad_rel));
  }
  out("");
  out("max rel. diff. of gradients: over parameters, max |g_ours - g_torch| / max |g_torch|.");

  const std::vector<Spec> lengths = rnn_length_specs();
  if (std::any_of(specs.begin(), specs.end(), [](const Spec& s) { return s.name.rfind("rnn_T", 0) == 0; })) {
    table("(9) RNN 32-128, B 16: cost per time step, " + plural(n0), "",
          {"T", "ours step", "ours step / T", "ours tape / T", "libtorch step", "libtorch step / T",
           "libtorch tape / T", "ours / libtorch"});
    for (const Spec& s : lengths) {
      if (!res.count({s.name, n0})) continue;
      const Result& r = res[{s.name, n0}];
      const double T = static_cast<double>(s.steps);
      out(fmt::format("| {} | {} | {} | {} | {} | {} | {} | {:.3f} |", s.steps, fmt_time(r.ours.step),
                      fmt_time(r.ours.step / T), human_bytes(r.ours_tape / T), fmt_time(r.torch.step),
                      fmt_time(r.torch.step / T), human_bytes(r.torch_tape / T), r.ours.step / r.torch.step));
    }
  }

  if (o.only.empty() || std::find(o.only.begin(), o.only.end(), "checkpoint") != o.only.end()) {
    // Gradient checkpointing along time (ours only): plain BPTT vs RNNOptions::checkpoint_every(auto)
    // on the RNN of (9), same weights; step times interleaved in the same rounds.
    ag::set_num_threads(n0);
    ag::set_flush_denormal(o.flush_denormal);
    table("(9) with gradient checkpointing along time (ours), " + plural(n0),
          "k = round(sqrt(T)) steps per segment; tape as above; grad diff = max |g_plain - g_checkpointed| "
          "over all parameters after one backward from the same weights.",
          {"T", "k", "plain step", "checkpointed step", "time ratio", "plain tape", "checkpointed tape", "memory ratio",
           "grad diff"});
    for (const Spec& plain : lengths) {
      if (plain.steps < 100) continue;
      Spec ck = plain;
      ck.checkpoint_every = ag::nn::kCheckpointAuto;
      OursRunner a(plain), b(ck);
      double diff = 0;
      a.forward(), a.backward(), b.forward(), b.backward();
      const auto ga = a.gradients(), gb = b.gradients();
      for (std::size_t i = 0; i < ga.size(); ++i)
        for (std::size_t j = 0; j < ga[i].size(); ++j) diff = std::max(diff, std::abs(ga[i][j] - gb[i][j]));
      a.zero_grad(), b.zero_grad();
      const double ta = a.tape_bytes(), tb = b.tape_bytes();
      Samples sa, sb;
      for (int round = 0; round < o.rounds; ++round) {
        time_round(a, o.budget / o.rounds, sa);
        time_round(b, o.budget / o.rounds, sb);
      }
      const double step_a = sa.medians().step, step_b = sb.medians().step;
      out(fmt::format("| {} | {} | {} | {} | {:.2f} | {} | {} | {:.3f} | {:.1e} |", plain.steps,
                      static_cast<std::int64_t>(std::lround(std::sqrt(static_cast<double>(plain.steps)))),
                      fmt_time(step_a), fmt_time(step_b), step_b / step_a, human_bytes(ta), human_bytes(tb), tb / ta,
                      diff));
    }
  }

  // The GEMM ceiling: per shape, the fastest correct library; per workload, the step's GEMMs at that speed.
  auto best_lib = [&](int n, const GemmShape& g) -> std::pair<double, std::string> {
    double t = 1e300;
    std::string who;
    for (const GemmLibResult& r : libs) {
      const auto it = r.t.find({n, shape_key(g)});
      if (!r.ok || it == r.t.end() || it->second <= 0) continue;
      if (it->second < t) t = it->second, who = r.name;
    }
    return {t, who};
  };
  for (int n : o.threads) {
    std::vector<std::string> cols{"shape (row-major M x N x K, op(A) op(B))", "workloads"};
    for (const GemmLibResult& r : libs)
      if (r.ok) cols.push_back(r.name + " GFLOP/s");
    cols.push_back("fastest");
    table("GEMM ceiling per shape, " + plural(n),
          "Each correct library alone on the workloads' products (buffers preallocated, median seconds per call); "
          "OpenBLAS's and oneDNN's threads at this count (oneDNN: the faster of OMP_WAIT_POLICY active and "
          "passive); libxsmm: JIT kernels at one thread only.",
          cols);
    for (const GemmShape& g : shapes) {
      std::string users;
      for (const Spec& s : main_specs())
        for (const GemmShape& h : workload_gemms(s))
          if (shape_key(h) == shape_key(g) && users.find(s.name) == std::string::npos)
            users += (users.empty() ? "" : ", ") + s.name;
      std::string row = "| " + g.name() + " | " + users + " |";
      for (const GemmLibResult& r : libs) {
        if (!r.ok) continue;
        const auto it = r.t.find({n, shape_key(g)});
        row += it == r.t.end() || it->second <= 0 ? " n/a |" : fmt::format(" {:.1f} |", g.flops() / it->second * 1e-9);
      }
      out(row + " " + best_lib(n, g).second + " |");
    }
  }
  std::vector<const Spec*> gemm_workloads;
  for (const Spec& s : specs)
    if (!workload_gemms(s).empty() && s.name.rfind("rnn_T", 0) != 0) gemm_workloads.push_back(&s);
  if (!gemm_workloads.empty()) {
    table("Training step against the GEMM ceiling",
          "ceiling: the step's main products (gemm_ceiling.h: MLPs exactly; RNN/LSTM: the input projection over all "
          "steps, the recurrent product and its two backward products per step) each through the fastest correct "
          "library for its shape. % of ceiling = ceiling time / step time (the rest of the step, elementwise work, is "
          "not in the ceiling).",
          {"workload", "threads", "ceiling time", "ceiling GFLOP/s", "fastest per shape", "ours step",
           "ours % of ceiling", "libtorch best step", "libtorch % of ceiling"});
    for (const Spec* s : gemm_workloads)
      for (int n : o.threads) {
        double t = 0, flops = 0;
        std::set<std::string> winners;
        for (const GemmShape& g : workload_gemms(*s)) {
          const auto [bt, who] = best_lib(n, g);
          t += g.count * bt;
          flops += g.count * g.flops();
          winners.insert(who);
        }
        std::string who;
        for (const std::string& w : winners) who += (who.empty() ? "" : ", ") + w;
        const Result& r = res[{s->name, n}];
        out(fmt::format("| {} | {} | {} | {:.1f} | {} | {} | {:.0f}% | {} | {:.0f}% |", s->label, n, fmt_time(t),
                        flops / t * 1e-9, who, fmt_time(r.ours.step), 100 * t / r.ours.step, fmt_time(r.torch.step),
                        100 * t / r.torch.step));
      }
  }

  if (o.threads.size() >= 2) {
    const int n1 = o.threads[0], n2 = o.threads[1];
    table(fmt::format("Threads: training step with {} vs {} threads (speedup = time at {} / time at {})", n1, n2, n1,
                      n2),
          "libtorch: its best configuration at each thread count.", {"workload", "ours", "libtorch"});
    for (const Spec& s : specs)
      out(fmt::format("| {} | {:.2f}x | {:.2f}x |", s.label, res[{s.name, n1}].ours.step / res[{s.name, n2}].ours.step,
                      res[{s.name, n1}].torch.step / res[{s.name, n2}].torch.step));
  }

  // The other targets (issue #15; training-step ratio targets are in the tables above).
  table("Other targets", "", {"target", "measured", "met?"});
  const Spec* large = nullptr;
  for (const Spec& s : specs)
    if (s.name == "mlp_large") large = &s;
  if (large && res.count({"mlp_large", 1})) {
    const Result& r = res[{"mlp_large", 1}];
    double t = 0;
    for (const GemmShape& g : workload_gemms(*large)) t += g.count * best_lib(1, g).first;
    const double pct = 100 * t / r.ours.step;
    out(fmt::format("| (5) ≥ 85% of the GEMM ceiling (1 thread) | {:.0f}% | {} |", pct, met(pct >= 85)));
    out(fmt::format("| (5) bwd / fwd ≤ 2.1 | {:.2f} | {} |", r.ours.bwd / r.ours.fwd,
                    met(r.ours.bwd / r.ours.fwd <= 2.1)));
    out(fmt::format("| (5) fwd recorded / no-grad ≤ 1.05 | {:.3f} | {} |", r.ours.fwd / r.ours.nograd,
                    met(r.ours.fwd / r.ours.nograd <= 1.05)));
  }
  if (res.count({"chain", n0})) {
    const Result& r = res[{"chain", n0}];
    out(fmt::format("| (2) fwd recorded / no-grad ≤ 2.5 | {:.2f} | {} |", r.ours.fwd / r.ours.nograd,
                    met(r.ours.fwd / r.ours.nograd <= 2.5)));
  }
  if (o.threads.size() >= 2 && o.threads[0] == 1 && o.threads[1] == 2) {
    if (large) {
      const double sp = res[{"mlp_large", 1}].ours.step / res[{"mlp_large", 2}].ours.step;
      out(fmt::format("| (5) 2 threads ≥ 1.8x faster than 1 | {:.2f}x | {} |", sp, met(sp >= 1.8)));
    }
    std::string slower;
    double worst = 1e300;
    for (const Spec& s : specs) {
      const double sp = res[{s.name, 1}].ours.step / res[{s.name, 2}].ours.step;
      worst = std::min(worst, sp);
      if (sp < 1) slower += (slower.empty() ? "" : ", ") + s.name;
    }
    out(fmt::format("| no workload slower with 2 threads than with 1 | worst {:.2f}x{} | {} |", worst,
                    slower.empty() ? "" : " (" + slower + ")", met(slower.empty())));
  }

  std::cout << md;
  if (!o.out.empty()) {
    std::ofstream f(o.out);
    f << md;
  }
}

}  // namespace
}  // namespace agbench

int main(int argc, char** argv) {
  try {
    const std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "--torch-child") return agbench::torch_child(argc, argv);
    if (mode == "--gemm-child") return agbench::gemm_child(argc, argv);
    return agbench::run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "ag_compare: " << e.what() << "\n";
    return 1;
  }
}
