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
//
// Files: compare_options (the command line), compare_configs (steps 1-2: the GEMM survey, and
// libtorch's configurations), this file (step 3: the rounds, and the best configuration per
// workload), compare_report (the tables), compare_common / compare_child / compare_torch (the
// runners and the child modes).
#include <cblas.h>
#include <fmt/core.h>

#include <algorithm>
#include <iostream>
#include <map>

#include "bench/compare.h"
#include "bench/compare_configs.h"
#include "bench/compare_options.h"
#include "bench/compare_report.h"

#include "autograd/parallel.h"

namespace agbench {
namespace {

int run(int argc, char** argv) {
  const CompareOptions o = parse_compare_options(argc, argv);
  const std::vector<Spec> specs = compare_specs(o.only);
  openblas_set_num_threads(1);  // ours: OpenBLAS at one thread, large products split over ag's pool
  const auto t_start = Clock::now();
  auto progress = [&](const std::string& what) { std::cerr << fmt::format("[{:6.1f} s] {}\n", since(t_start), what); };

  // 1-2. GEMM shapes, kernel sets and libraries; 3. libtorch's configurations per thread count
  const GemmSurvey survey = survey_gemms(o, specs, progress);
  const std::map<int, std::vector<TorchConfig>> configs = torch_configs(o, survey);

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
      const std::vector<TorchConfig>& cs = configs.at(n);
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
        for (std::size_t ci = 0; ci < configs.at(m).size(); ++ci) {
          const auto it = st.find({s.name, m, ci});
          if (it == st.end()) continue;
          const Times t = it->second.medians();
          if (t.step < best_step) best_step = t.step, r.torch = t, r.torch_config = configs.at(m)[ci].label();
        }
      }
      std::cerr << fmt::format("{} thread{}, {:<10} ours {:>10}  libtorch {:>10} ({})  ratio {:.3f}\n", n,
                               n > 1 ? "s" : "", s.name, fmt_time(r.ours.step), fmt_time(r.torch.step), r.torch_config,
                               r.ours.step / r.torch.step);
    }
  write_report(o, specs, survey, configs, config_step, res);
  return 0;
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
