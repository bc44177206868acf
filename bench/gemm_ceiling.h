#pragma once
/// @file gemm_ceiling.h
/// ag_compare's GEMM ceiling: the single-precision products of the workloads' training steps, run
/// alone through each GEMM library on the machine (OpenBLAS under the kernel set its environment
/// selects, oneDNN's dnnl_sgemm, libxsmm's JIT kernels), each library first checked against a
/// float64 reference. Runs inside ag_compare's child processes (OPENBLAS_CORETYPE is read when
/// OpenBLAS loads, so each kernel set needs a process of its own).
#include <string>
#include <vector>

#include "bench/workloads.h"

namespace agbench {

/// Row-major C[m, n] = alpha op(A) op(B) + beta C, op = transpose when ta / tb.
struct GemmShape {
  bool ta = false, tb = false;
  int m = 0, n = 0, k = 0;
  int count = 1;  ///< calls per training step
  double flops() const { return 2.0 * m * n * k; }
  /// "256x1024x1024 NT"
  std::string name() const;
};

/// The main products of one training step of `s` (MLPs: exactly those of Spec::forward_flops and
/// backward_flops; RNN/LSTM: input projection over all steps, the recurrent product per step and
/// their backward products; raw-op RNN: the input projection and its dW per step instead; XOR and the
/// chain: none).
std::vector<GemmShape> workload_gemms(const Spec& s);

enum class GemmLib { OpenBlas, Dnnl, Libxsmm };
inline constexpr GemmLib kGemmLibs[] = {GemmLib::OpenBlas, GemmLib::Dnnl, GemmLib::Libxsmm};
const char* gemm_lib_name(GemmLib lib);
GemmLib gemm_lib_from_name(const std::string& name);

/// Whether `lib` runs `g` at `threads` (libxsmm: one thread, and only shapes it has a JIT kernel for).
bool gemm_supported(GemmLib lib, const GemmShape& g, int threads);

struct GemmCheck {
  bool ok = true;
  int cases = 0, skipped = 0;
  /// Largest |C - C_ref| / ((k + 2) u (|alpha| |A| |B| + |beta| |C0|)) over all elements, u = 2^-24:
  /// the worst-case rounding bound of any float32 summation order is 1.
  double worst = 0;
  std::string worst_case;
};

/// sgemm of `lib` against a float64 reference product on shapes from 1x1x1 to 513x509x511 (odd
/// sizes, all four transposes, beta 0 and 1), at `threads`.
GemmCheck check_gemm(GemmLib lib, int threads);

/// Median seconds per call of `g` through `lib` at `threads` (at least 3 calls after a warm-up,
/// then until `budget` seconds); negative when unsupported.
double time_gemm(GemmLib lib, const GemmShape& g, int threads, double budget);

/// OpenBLAS's kernel set (openblas_get_corename) and build (openblas_get_config).
std::string openblas_core();
std::string openblas_build();

}  // namespace agbench
