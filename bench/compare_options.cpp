// ag_compare's command line (compare_options.h).
#include "bench/compare_options.h"

#include <algorithm>
#include <stdexcept>

#include "bench/compare.h"

namespace agbench {

CompareOptions parse_compare_options(int argc, char** argv) {
  CompareOptions o;
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

}  // namespace agbench
