#pragma once
/// @file compare_configs.h
/// The configurations ag_compare searches (see the method at the top of compare.cpp): the OpenBLAS
/// kernel sets and GEMM libraries, checked and timed in child processes, and libtorch's
/// configurations per thread count built from them.
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bench/compare_options.h"
#include "bench/gemm_ceiling.h"
#include "bench/workloads.h"

namespace agbench {

/// Runs `env <env> ag_compare <args>` and passes each output line, split at tabs, to `on_line`.
void run_child(const std::string& env, const std::string& args,
               const std::function<void(const std::vector<std::string>&)>& on_line);

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

/// "MxNxK:TN", the key of a shape in GemmLibResult::t and on a gemm child's command line.
std::string shape_key(const GemmShape& g);

/// One libtorch configuration, run in a torch child.
struct TorchConfig {
  const KernelSet* ks = nullptr;
  int torch_threads = 1, ob_threads = 1;
  std::string wait;  // OMP_WAIT_POLICY; empty: as the environment has it
  std::string label() const;
  std::string env() const;
};

/// What the gemm children found. `libs` point into `kernel_sets` (a move of the survey keeps them valid).
struct GemmSurvey {
  std::vector<GemmShape> shapes;       ///< the selected workloads' and (5)'s, each once
  std::vector<KernelSet> kernel_sets;  ///< every OPENBLAS_CORETYPE setting tried
  std::vector<GemmLibResult> libs;     ///< OpenBLAS per distinct kernel set, then oneDNN, then libxsmm
  const KernelSet* best = nullptr;     ///< the fastest valid kernel set on (5)'s GEMMs at the first thread count
  /// Whether the OpenBLAS kernel set passed the check.
  bool valid(const KernelSet& ks) const;
};

/// Steps 1 and 2 of the method: checks and times every kernel set and library in child processes;
/// `progress` gets one line per kernel set. Throws when no OpenBLAS kernel set passes the check.
GemmSurvey survey_gemms(const CompareOptions& o, const std::vector<Spec>& specs,
                        const std::function<void(const std::string&)>& progress);

/// Step 3: libtorch's configurations per thread count of `o`.
std::map<int, std::vector<TorchConfig>> torch_configs(const CompareOptions& o, const GemmSurvey& survey);

}  // namespace agbench
