#include "bench/gemm_ceiling.h"

#include <cblas.h>
#include <fmt/core.h>
#include <libxsmm.h>
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <stdexcept>

namespace agbench {

namespace {

using Clock = std::chrono::steady_clock;

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

void set_threads(GemmLib lib, int threads) {
  if (lib == GemmLib::OpenBlas) openblas_set_num_threads(threads);
  if (lib == GemmLib::Dnnl) omp_set_num_threads(threads);  // oneDNN 2.6 (Debian): the OpenMP runtime
}

// Row-major to libxsmm's column-major: C^T[n, m] = op(B)^T[n, k] op(A)^T[k, m]; B stored [k, n]
// (or [n, k] when tb) is, column-major, op(B)^T (or needs a transpose); likewise A.
libxsmm_smmfunction xsmm_kernel(const GemmShape& g, float alpha, float beta) {
  static const bool initialised = (libxsmm_init(), true);
  (void)initialised;
  const libxsmm_blasint m = g.n, n = g.m, k = g.k;
  const libxsmm_blasint lda = g.tb ? g.k : g.n, ldb = g.ta ? g.m : g.k, ldc = g.n;
  const int flags = (g.tb ? LIBXSMM_GEMM_FLAG_TRANS_A : 0) | (g.ta ? LIBXSMM_GEMM_FLAG_TRANS_B : 0);
  return libxsmm_smmdispatch(m, n, k, &lda, &ldb, &ldc, &alpha, &beta, &flags, nullptr);
}

// One call of `lib` on row-major buffers with minimal leading dimensions.
void run(GemmLib lib, const GemmShape& g, float alpha, const float* a, const float* b, float beta, float* c,
         libxsmm_smmfunction xsmm) {
  const int lda = g.ta ? g.m : g.k, ldb = g.tb ? g.k : g.n, ldc = g.n;
  switch (lib) {
    case GemmLib::OpenBlas:
      cblas_sgemm(CblasRowMajor, g.ta ? CblasTrans : CblasNoTrans, g.tb ? CblasTrans : CblasNoTrans, g.m, g.n, g.k,
                  alpha, a, lda, b, ldb, beta, c, ldc);
      break;
    case GemmLib::Dnnl:
      if (dnnl_sgemm(g.ta ? 'T' : 'N', g.tb ? 'T' : 'N', g.m, g.n, g.k, alpha, a, lda, b, ldb, beta, c, ldc) !=
          dnnl_success)
        throw std::runtime_error("dnnl_sgemm failed on " + g.name());
      break;
    case GemmLib::Libxsmm:
      xsmm(b, a, c);
      break;
  }
}

std::vector<float> random_floats(std::size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = u(rng);
  return v;
}

}  // namespace

std::string GemmShape::name() const { return fmt::format("{}x{}x{} {}{}", m, n, k, ta ? 'T' : 'N', tb ? 'T' : 'N'); }

std::vector<GemmShape> workload_gemms(const Spec& s) {
  std::vector<GemmShape> g;
  auto add = [&](bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, std::int64_t count) {
    g.push_back({ta, tb, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), static_cast<int>(count)});
  };
  const std::int64_t B = s.batch, T = s.steps;
  switch (s.kind) {
    case Kind::Mlp:
      // forward Y = X W^T per layer; backward dW = dY^T X per layer and dX = dY W except the first layer
      for (std::size_t l = 0; l + 1 < s.sizes.size(); ++l) {
        const std::int64_t in = s.sizes[l], out = s.sizes[l + 1];
        add(false, true, B, out, in, 1);
        add(true, false, out, in, B, 1);
        if (l > 0) add(false, false, B, in, out, 1);
      }
      break;
    case Kind::Rnn:
    case Kind::Lstm:
    case Kind::Lm: {
      const std::int64_t H = s.hidden, G = s.kind == Kind::Rnn ? H : 4 * H, in = s.input;
      if (s.raw) {                          // raw ops: the input projection and its dW per step
        add(false, true, B, G, in, T);      // x_t W_ih^T
        add(false, true, B, G, H, T);       // h W_hh^T
        add(false, false, B, H, G, T - 1);  // dh (the zero initial state needs none)
        add(true, false, G, H, B, T);       // dW_hh
        add(true, false, G, in, B, T);      // dW_ih
        break;
      }
      add(false, true, T * B, G, in, 1);  // input projection of all steps
      add(false, true, B, G, H, T);       // recurrent product per step
      add(false, false, B, H, G, T);      // its dh
      add(true, false, G, H, B, T);       // its dW_hh
      add(true, false, G, in, T * B, 1);  // dW_ih
      if (s.kind == Kind::Lm) {
        add(false, false, T * B, in, G, 1);       // dx of the input projection (into the embedding)
        add(false, true, T * B, s.vocab, H, 1);   // head forward
        add(true, false, s.vocab, H, T * B, 1);   // head dW
        add(false, false, T * B, H, s.vocab, 1);  // head dX
      }
      break;
    }
    case Kind::Xor:
    case Kind::Chain:
    case Kind::Conv:  // per-sample im2col products: not in the ceiling table
      break;
  }
  return g;
}

const char* gemm_lib_name(GemmLib lib) {
  switch (lib) {
    case GemmLib::OpenBlas:
      return "openblas";
    case GemmLib::Dnnl:
      return "dnnl";
    case GemmLib::Libxsmm:
      return "libxsmm";
  }
  return "?";
}

GemmLib gemm_lib_from_name(const std::string& name) {
  for (GemmLib lib : kGemmLibs)
    if (name == gemm_lib_name(lib)) return lib;
  throw std::runtime_error("unknown GEMM library " + name);
}

bool gemm_supported(GemmLib lib, const GemmShape& g, int threads) {
  if (lib != GemmLib::Libxsmm) return true;
  return threads == 1 && xsmm_kernel(g, 1.0f, 0.0f) != nullptr;
}

GemmCheck check_gemm(GemmLib lib, int threads) {
  set_threads(lib, threads);
  std::vector<GemmShape> shapes;
  const int small[] = {1, 2, 3, 5, 8, 17};
  for (int m : small)
    for (int n : small)
      for (int k : small) shapes.push_back({false, false, m, n, k, 1});
  const int large[][3] = {{31, 33, 65},   {64, 64, 64},    {100, 127, 129}, {128, 128, 128}, {255, 257, 3},
                          {257, 1, 255},  {1, 511, 257},   {33, 300, 1},    {256, 256, 256}, {16, 1024, 48},
                          {513, 64, 300}, {512, 512, 512}, {513, 509, 511}};
  for (const auto& s : large) shapes.push_back({false, false, s[0], s[1], s[2], 1});
  std::mt19937 rng(7);
  GemmCheck res;
  for (const GemmShape& base : shapes)
    for (int t = 0; t < 4; ++t) {
      GemmShape g = base;
      g.ta = t & 1;
      g.tb = t & 2;
      const float alpha = t % 3 == 0 || lib == GemmLib::Libxsmm ? 1.0f : 0.75f, beta = t % 2 == 0 ? 0.0f : 1.0f;
      libxsmm_smmfunction xsmm = nullptr;
      if (lib == GemmLib::Libxsmm) {
        if (threads != 1 || !(xsmm = xsmm_kernel(g, alpha, beta))) {
          ++res.skipped;
          continue;
        }
      }
      const auto M = static_cast<std::size_t>(g.m), N = static_cast<std::size_t>(g.n),
                 K = static_cast<std::size_t>(g.k);
      const std::vector<float> a = random_floats(M * K, rng), b = random_floats(K * N, rng);
      std::vector<float> c = random_floats(M * N, rng);
      const std::vector<float> c0 = c;
      run(lib, g, alpha, a.data(), b.data(), beta, c.data(), xsmm);
      // float64 reference, and the absolute product for the bound
      std::vector<double> ref(M * N, 0.0), abs_ref(M * N, 0.0);
      for (std::size_t i = 0; i < M; ++i)
        for (std::size_t p = 0; p < K; ++p) {
          const double aip = g.ta ? a[p * M + i] : a[i * K + p];
          for (std::size_t j = 0; j < N; ++j) {
            const double bpj = g.tb ? b[j * K + p] : b[p * N + j];
            ref[i * N + j] += aip * bpj;
            abs_ref[i * N + j] += std::abs(aip * bpj);
          }
        }
      const double u = std::ldexp(1.0, -24);
      for (std::size_t e = 0; e < M * N; ++e) {
        const double want = alpha * ref[e] + beta * static_cast<double>(c0[e]);
        const double scale = (static_cast<double>(K) + 2) * u *
                             (std::abs(alpha) * abs_ref[e] + std::abs(beta) * std::abs(static_cast<double>(c0[e])));
        const double err = std::abs(static_cast<double>(c[e]) - want);
        const double ratio = std::isfinite(c[e]) ? err / std::max(scale, 1e-300) : 1e300;
        if (ratio > res.worst) {
          res.worst = ratio;
          res.worst_case = fmt::format("{} alpha {} beta {}", g.name(), alpha, beta);
        }
      }
      ++res.cases;
    }
  res.ok = res.worst <= 1.0;
  return res;
}

double time_gemm(GemmLib lib, const GemmShape& g, int threads, double budget) {
  if (!gemm_supported(lib, g, threads)) return -1;
  set_threads(lib, threads);
  std::mt19937 rng(1);
  const auto M = static_cast<std::size_t>(g.m), N = static_cast<std::size_t>(g.n), K = static_cast<std::size_t>(g.k);
  const std::vector<float> a = random_floats(M * K, rng), b = random_floats(K * N, rng);
  std::vector<float> c(M * N);
  const libxsmm_smmfunction xsmm = lib == GemmLib::Libxsmm ? xsmm_kernel(g, 1.0f, 0.0f) : nullptr;
  // Calls are batched so that one timed sample lasts at least ~20 µs (clock resolution, loop cost).
  const int batch = std::max(1, static_cast<int>(2e5 / std::max(g.flops(), 1.0)));
  for (int i = 0; i < 3 * batch; ++i) run(lib, g, 1.0f, a.data(), b.data(), 0.0f, c.data(), xsmm);
  std::vector<double> t;
  const auto start = Clock::now();
  while (t.size() < 3 || (std::chrono::duration<double>(Clock::now() - start).count() < budget && t.size() < 2000)) {
    const auto t0 = Clock::now();
    for (int i = 0; i < batch; ++i) run(lib, g, 1.0f, a.data(), b.data(), 0.0f, c.data(), xsmm);
    t.push_back(std::chrono::duration<double>(Clock::now() - t0).count() / batch);
  }
  return median_of(t);
}

std::string openblas_core() { return openblas_get_corename(); }
std::string openblas_build() { return openblas_get_config(); }

}  // namespace agbench
