// kernels::gemm and its small-GEMM path (libxsmm): every transpose combination, beta 0 and 1, shapes on
// both sides of each routing decision, against a plain triple loop; routing checked by the call counter.
#include <thread>
#include <tuple>

#include "autograd/kernels/blas.h"
#include "autograd/kernels/small_gemm.h"
#include "test_util.h"

using namespace ag;

namespace {

struct Shape3 {
  std::int64_t m, n, k;
};

// Deterministic values in [-1, 1) that are not all representable sums.
template <class T>
std::vector<T> values(std::int64_t n, std::uint64_t seed) {
  std::vector<T> v(static_cast<std::size_t>(n));
  std::uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (auto& x : v) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    x = static_cast<T>(static_cast<double>(s >> 11) / 9007199254740992.0 * 2.0 - 1.0);
  }
  return v;
}

// C = op(A) op(B) + beta C0 in double.
template <class T>
std::vector<double> naive(bool ta, bool tb, Shape3 s, const std::vector<T>& a, const std::vector<T>& b,
                          const std::vector<T>& c0, double beta) {
  std::vector<double> c(static_cast<std::size_t>(s.m * s.n));
  for (std::int64_t i = 0; i < s.m; ++i)
    for (std::int64_t j = 0; j < s.n; ++j) {
      double acc = 0;
      for (std::int64_t p = 0; p < s.k; ++p)
        acc += double(ta ? a[p * s.m + i] : a[i * s.k + p]) * double(tb ? b[j * s.k + p] : b[p * s.n + j]);
      c[i * s.n + j] = acc + beta * double(c0[i * s.n + j]);
    }
  return c;
}

template <class T>
void check_gemm(bool ta, bool tb, Shape3 s, double beta, double tol) {
  CAPTURE(ta);
  CAPTURE(tb);
  CAPTURE(s.m);
  CAPTURE(s.n);
  CAPTURE(s.k);
  CAPTURE(beta);
  const auto a = values<T>(s.m * s.k, 1), b = values<T>(s.k * s.n, 2), c0 = values<T>(s.m * s.n, 3);
  auto c = c0;
  kernels::gemm(ta, tb, s.m, s.n, s.k, a.data(), b.data(), c.data(), T(beta));
  const auto want = naive(ta, tb, s, a, b, c0, beta);
  double err = 0;
  for (std::size_t i = 0; i < c.size(); ++i) err = std::max(err, std::abs(double(c[i]) - want[i]));
  CHECK(err <= tol * static_cast<double>(s.k + 1));
}

// m n k within kSmallGemmMaxWork; m = 1, n = 1 and k = 1 edges; A B^T shapes on both sides of the
// "copy A and C" vs "copy B" choice (m (k + n) against n k).
const Shape3 kSmall[] = {{1, 1, 1},     {1, 32, 32}, {1, 7, 3},   {3, 1, 5},      {5, 6, 7}, {16, 128, 128},
                         {32, 10, 128}, {40, 3, 2},  {2, 40, 60}, {64, 256, 100}, {7, 9, 1}};

}  // namespace

TEST_CASE("gemm equals the triple loop for every transpose combination, beta 0 and 1, float32 and float64") {
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (double beta : {0.0, 1.0}) {
        for (Shape3 s : kSmall) {
          check_gemm<double>(ta, tb, s, beta, 1e-15);
          check_gemm<float>(ta, tb, s, beta, 2e-7);
        }
        check_gemm<float>(ta, tb, {300, 300, 200}, beta, 2e-7);                // above kSmallGemmMaxWork: OpenBLAS
        check_gemm<double>(ta, tb, {4, 5, 6}, beta == 0 ? 0.5 : -2.0, 1e-15);  // other betas: OpenBLAS
      }
}

TEST_CASE("small products run through libxsmm when the build has it, large ones and other betas do not") {
#ifdef AG_EXPECT_LIBXSMM
  CHECK(kernels::small_gemm_available() == static_cast<bool>(AG_EXPECT_LIBXSMM));
#endif
  const bool xsmm = kernels::small_gemm_available();
  // GEMMs of one shape through small_gemm, out of the two given (ta, tb) combinations
  auto calls_for = [](Shape3 s, float beta, bool ta, bool tb) {
    const auto a = values<float>(s.m * s.k, 4), b = values<float>(s.k * s.n, 5);
    std::vector<float> c(static_cast<std::size_t>(s.m * s.n), 1.0f);
    const auto before = kernels::small_gemm_calls();
    kernels::gemm(ta, tb, s.m, s.n, s.k, a.data(), b.data(), c.data(), beta);
    return kernels::small_gemm_calls() - before;
  };
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      CAPTURE(ta);
      CAPTURE(tb);
      CHECK(calls_for({16, 128, 128}, 0.0f, ta, tb) == (xsmm ? 1u : 0u));
      CHECK(calls_for({1, 32, 32}, 1.0f, ta, tb) == (xsmm ? 1u : 0u));
      CHECK(calls_for({16, 16, 16}, 0.5f, ta, tb) == 0u);
      // above kSmallGemmMaxWork: libxsmm only for an untransposed B of at most kSmallGemmPanelBytes
      CHECK(calls_for({300, 300, 200}, 0.0f, ta, tb) == (xsmm && !tb ? 1u : 0u));
      CHECK(calls_for({64, 1024, 1024}, 0.0f, ta, tb) == 0u);
    }
  const bool was = kernels::set_small_gemm_enabled(false);
  CHECK(was);
  CHECK(calls_for({16, 128, 128}, 0.0f, false, true) == 0u);
  check_gemm<float>(false, true, {16, 128, 128}, 1.0, 2e-7);  // OpenBLAS alone, same answer
  CHECK_FALSE(kernels::set_small_gemm_enabled(was));
  CHECK(calls_for({16, 128, 128}, 0.0f, false, true) == (xsmm ? 1u : 0u));
}

TEST_CASE("large libxsmm products split between threads equal the triple loop") {
  const int threads = get_num_threads();
  // A B and A^T B above kSmallGemmMaxWork (B within the panel limit); A B^T both ways it is computed.
  // Not bitwise across thread counts: libxsmm's kernel for a block of rows may order its sums differently.
  const std::tuple<bool, bool, Shape3> cases[] = {{false, false, {301, 300, 200}},
                                                  {true, false, {301, 300, 200}},
                                                  {false, true, {65, 256, 300}},
                                                  {false, true, {601, 64, 120}}};
  for (const auto& [ta, tb, s] : cases)
    for (int t : {1, 2}) {
      set_num_threads(t);
      const auto before = kernels::small_gemm_calls();
      check_gemm<float>(ta, tb, s, 1.0, 2e-7);
      CHECK(kernels::small_gemm_calls() - before == (kernels::small_gemm_available() ? 1u : 0u));
    }
  set_num_threads(threads);
}

TEST_CASE("gemm with k = 0 scales C by beta; empty outputs are left alone") {
  std::vector<float> c = {1, 2, 3, 4};
  const float none = 0;
  kernels::gemm(false, false, 2, 2, 0, &none, &none, c.data(), 1.0f);
  CHECK(c == std::vector<float>{1, 2, 3, 4});
  kernels::gemm(false, true, 2, 2, 0, &none, &none, c.data(), 0.0f);
  CHECK(c == std::vector<float>{0, 0, 0, 0});
  kernels::gemm(true, true, 0, 2, 3, &none, &none, c.data(), 0.0f);
}

TEST_CASE_TEMPLATE("transpose kernel, blocked, ragged and degenerate shapes", T, float, double) {
  for (auto [r, c] :
       {std::pair<std::int64_t, std::int64_t>{1, 9}, {9, 1}, {3, 70}, {70, 3}, {4, 4}, {33, 65}, {64, 64}, {6, 7}}) {
    CAPTURE(r);
    CAPTURE(c);
    const auto src = values<T>(r * c, 6);
    std::vector<T> dst(static_cast<std::size_t>(r * c));
    kernels::transpose(src.data(), dst.data(), r, c);
    bool same = true;
    for (std::int64_t i = 0; i < r; ++i)
      for (std::int64_t j = 0; j < c; ++j) same = same && dst[j * r + i] == src[i * c + j];
    CHECK(same);
  }
}

TEST_CASE("small GEMMs from two threads at once (per-thread kernel caches and scratch)") {
  const Shape3 shapes[] = {{16, 128, 128}, {3, 5, 7}, {1, 32, 32}, {32, 10, 128}};
  std::vector<float> results[2];
  auto work = [&](int t) {
    for (int rep = 0; rep < 50; ++rep)
      for (Shape3 s : shapes) {
        const auto a = values<float>(s.m * s.k, 7), b = values<float>(s.k * s.n, 8);
        std::vector<float> c(static_cast<std::size_t>(s.m * s.n));
        kernels::gemm(false, true, s.m, s.n, s.k, a.data(), b.data(), c.data());
        if (rep == 49) results[t].insert(results[t].end(), c.begin(), c.end());
      }
  };
  std::thread t0(work, 0), t1(work, 1);
  t0.join();
  t1.join();
  REQUIRE(!results[0].empty());
  CHECK(results[0] == results[1]);
  std::vector<float> serial;
  for (Shape3 s : shapes) {
    const auto a = values<float>(s.m * s.k, 7), b = values<float>(s.k * s.n, 8);
    std::vector<float> c(static_cast<std::size_t>(s.m * s.n));
    kernels::gemm(false, true, s.m, s.n, s.k, a.data(), b.data(), c.data());
    serial.insert(serial.end(), c.begin(), c.end());
  }
  CHECK(serial == results[0]);
}
