#include "autograd/kernels/dnnl_gemm.h"

#include <stdexcept>
#include <string>

#ifdef AG_HAVE_DNNL
#include <oneapi/dnnl/dnnl.h>
#endif

#ifdef AG_DNNL_OMP
// The two OpenMP API calls used, declared here (as the OpenMP standard gives them) rather than
// through <omp.h>, which clang ships only with its own runtime: they resolve to the libgomp that
// libdnnl uses.
extern "C" {
int omp_get_max_threads(void);
void omp_set_num_threads(int num_threads);
}
#endif

namespace ag::kernels {

namespace {
thread_local std::uint64_t t_calls = 0;
}  // namespace

std::uint64_t dnnl_gemm_calls() { return t_calls; }

#ifndef AG_HAVE_DNNL

bool dnnl_gemm_available() { return false; }
bool dnnl_gemm(bool, bool, std::int64_t, std::int64_t, std::int64_t, const float*, std::int64_t, const float*,
               std::int64_t, float*, std::int64_t, float) {
  return false;
}

#else

bool dnnl_gemm_available() { return true; }

namespace {
/// Debian's oneDNN runs on OpenMP: a dnnl_sgemm would start a team of omp_get_max_threads() (the
/// core count) from every thread that calls it, pool threads included, and its idle workers spin.
/// The caller's OpenMP thread count (a per-thread setting) is set to one for the call.
struct OneOpenMPThread {
#ifdef AG_DNNL_OMP
  int previous = omp_get_max_threads();
  OneOpenMPThread() {
    if (previous != 1) omp_set_num_threads(1);
  }
  ~OneOpenMPThread() {
    if (previous != 1) omp_set_num_threads(previous);
  }
  OneOpenMPThread(const OneOpenMPThread&) = delete;
  OneOpenMPThread& operator=(const OneOpenMPThread&) = delete;
#endif
};
}  // namespace

bool dnnl_gemm(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, const float* a, std::int64_t lda,
               const float* b, std::int64_t ldb, float* c, std::int64_t ldc, float beta) {
  const OneOpenMPThread one;
  const dnnl_status_t s = dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, 1.0f, a, lda, b, ldb, beta, c, ldc);
  if (s != dnnl_success)  // only invalid arguments, which kernels::gemm never passes
    throw std::logic_error("dnnl_sgemm failed with status " + std::to_string(static_cast<int>(s)));
  ++t_calls;
  return true;
}

#endif

}  // namespace ag::kernels
