#pragma once
/// @file compare_report.h
/// ag_compare's report: the Markdown tables written from the measured results (printed, and
/// written to --out).
#include <cstddef>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "bench/compare.h"
#include "bench/compare_configs.h"
#include "bench/compare_options.h"

namespace agbench {

/// One workload at one thread count: ours, and libtorch at its best configuration.
struct Result {
  Times ours, torch;
  std::string torch_config;  // the best configuration's label
  double ours_tape = 0, torch_tape = 0;
  std::size_t ours_nodes = 0;
  Check chk;
};

/// "12.3 µs", "1.234 ms", "1.234 s"
std::string fmt_time(double s);

/// Writes the tables (to stdout, and to o.out when given). `config_step`: the median step of each
/// (workload, threads, configuration index). The checkpointing table times ours here (interleaved
/// rounds of plain and checkpointed BPTT).
void write_report(const CompareOptions& o, const std::vector<Spec>& specs, const GemmSurvey& survey,
                  const std::map<int, std::vector<TorchConfig>>& configs,
                  const std::map<std::tuple<std::string, int, std::size_t>, double>& config_step,
                  std::map<std::pair<std::string, int>, Result>& res);

}  // namespace agbench
