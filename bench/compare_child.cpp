// ag_compare's child modes (see compare.h): libtorch's side of the workloads, and the GEMM
// libraries' check and timings, each in a process whose environment the driver chose.
#include <cblas.h>
#include <fmt/core.h>

#include <cstdlib>
#include <iostream>
#include <stdexcept>

#include "bench/compare.h"
#include "bench/gemm_ceiling.h"

#include "autograd/parallel.h"

namespace agbench {

namespace {

std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v ? v : fallback;
}

void print_samples(const std::string& name, const char* what, const std::vector<double>& v) {
  std::string line = fmt::format("samples\t{}\t{}", name, what);
  for (double x : v) line += fmt::format("\t{:.9g}", x);
  std::cout << line << "\n";
}

}  // namespace

int torch_child(int argc, char** argv) {
  std::vector<std::string> workloads;
  int threads = 1;
  double round_budget = 0.06;
  bool do_check = false, flush_denormal = true;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--workloads" && has_value) workloads = split(argv[++i]);
    else if (a == "--threads" && has_value) threads = std::stoi(argv[++i]);
    else if (a == "--round-budget" && has_value) round_budget = std::stod(argv[++i]);
    else if (a == "--check") do_check = true;
    else if (a == "--denormals") flush_denormal = false;
    else throw std::runtime_error("--torch-child: unknown argument " + a);
  }
  ag::set_num_threads(1);  // ours runs here only for the check
  ag::set_flush_denormal(flush_denormal);
  torch_set_num_threads(threads);
  torch_set_flush_denormal(flush_denormal);
  std::cout << fmt::format("info\t{}\t{}\t{}\t{}\n", openblas_get_corename(), openblas_get_num_threads(), threads,
                           env_or("OMP_WAIT_POLICY", "unset"));
  for (const Spec& s : compare_specs(workloads)) {
    OursRunner ours(s);
    std::unique_ptr<Runner> torch = make_torch_runner(ours.workload());
    if (do_check) {
      const Check c = check(ours, *torch);
      std::cout << fmt::format("check\t{}\t{:.9g}\t{:.9g}\t{:.3g}\t{:.3g}\t{:.0f}\n", s.name, c.loss_ours, c.loss_torch,
                               c.loss_rel, c.grad_rel, torch->tape_bytes());
    }
    Samples warm_up, t;
    time_round(*torch, 0.02, warm_up);
    time_round(*torch, round_budget, t);
    print_samples(s.name, "step", t.step);
    print_samples(s.name, "nograd", t.nograd);
    print_samples(s.name, "fwd", t.fwd);
    print_samples(s.name, "bwd", t.bwd);
    std::cout.flush();
  }
  return 0;
}

int gemm_child(int argc, char** argv) {
  std::vector<GemmLib> libs;
  std::vector<int> threads{1};
  std::vector<GemmShape> shapes;
  double budget = 0.05;
  bool do_check = false;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--libs" && has_value) {
      for (const auto& l : split(argv[++i])) libs.push_back(gemm_lib_from_name(l));
    } else if (a == "--threads" && has_value) {
      threads.clear();
      for (const auto& t : split(argv[++i])) threads.push_back(std::stoi(t));
    } else if (a == "--shapes" && has_value) {
      for (const auto& item : split(argv[++i])) {  // MxNxK:TT
        const auto parts = split(item, ':');
        const auto dims = split(parts.at(0), 'x');
        GemmShape g;
        g.m = std::stoi(dims.at(0)), g.n = std::stoi(dims.at(1)), g.k = std::stoi(dims.at(2));
        g.ta = parts.at(1).at(0) == 'T', g.tb = parts.at(1).at(1) == 'T';
        shapes.push_back(g);
      }
    } else if (a == "--budget" && has_value) {
      budget = std::stod(argv[++i]);
    } else if (a == "--check") {
      do_check = true;
    } else {
      throw std::runtime_error("--gemm-child: unknown argument " + a);
    }
  }
  std::cout << fmt::format("core\t{}\n", openblas_core());
  for (GemmLib lib : libs) {
    if (do_check)
      for (int n : threads) {
        if (lib == GemmLib::Libxsmm && n != 1) continue;
        const GemmCheck c = check_gemm(lib, n);
        std::cout << fmt::format("check\t{}\t{}\t{}\t{:.3g}\t{}\t{}\t{}\n", gemm_lib_name(lib), n, c.ok ? 1 : 0,
                                 c.worst, c.cases, c.skipped, c.worst_case);
        std::cout.flush();
      }
    for (int n : threads)
      for (const GemmShape& g : shapes) {
        const double t = time_gemm(lib, g, n, budget);
        std::cout << fmt::format("gemm\t{}\t{}\t{}x{}x{}:{}{}\t{:.9g}\n", gemm_lib_name(lib), n, g.m, g.n, g.k,
                                 g.ta ? 'T' : 'N', g.tb ? 'T' : 'N', t);
      }
    std::cout.flush();
  }
  return 0;
}

}  // namespace agbench
