#pragma once
/// @file compare_options.h
/// ag_compare's command line, as the driver (compare.cpp) reads it; the child modes parse their own
/// (compare_child.cpp).
#include <string>
#include <vector>

namespace agbench {

/// ag_compare [--threads 1,2] [--budget 0.3] [--rounds 5] [--only xor,mlp_large,checkpoint]
///            [--gemm-budget 0.05] [--denormals] [--out FILE]
struct CompareOptions {
  std::vector<int> threads{1, 2};
  double budget = 0.3, gemm_budget = 0.05;
  int rounds = 5;
  std::vector<std::string> only;
  std::string out;
  bool flush_denormal = true;
};

/// Throws std::runtime_error with the usage line on an unknown or incomplete argument.
CompareOptions parse_compare_options(int argc, char** argv);

}  // namespace agbench
