// kernels::gemm, its routing between libxsmm, oneDNN and OpenBLAS, and its small-GEMM path (libxsmm): every transpose
// combination, beta 0 and 1, shapes on both sides of each routing decision, against a plain triple loop; routing
// checked by the call counter.
#include <filesystem>
#include <iterator>
#include <thread>
#include <tuple>

#include "autograd/kernels/blas.h"
#include "autograd/kernels/dnnl_gemm.h"
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
// "copy A and C" vs "copy B" choice (m (k + n) against n k), the first with ragged 4x4 blocks.
const Shape3 kSmall[] = {{1, 1, 1},     {1, 32, 32}, {1, 7, 3},   {3, 1, 5},      {5, 6, 7}, {16, 128, 128},
                         {32, 10, 128}, {40, 3, 2},  {2, 40, 60}, {64, 256, 100}, {7, 9, 1}, {6, 50, 61}};

}  // namespace

TEST_CASE("gemm equals the triple loop for every transpose combination, beta 0 and 1, float32 and float64") {
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (double beta : {0.0, 1.0}) {
        for (Shape3 s : kSmall) {
          check_gemm<double>(ta, tb, s, beta, 1e-15);
          check_gemm<float>(ta, tb, s, beta, 2e-7);
        }
        check_gemm<float>(ta, tb, {300, 300, 200}, beta, 2e-7);  // above kSmallGemmMaxWork: dnnl or OpenBLAS
        check_gemm<double>(ta, tb, {4, 5, 6}, beta == 0 ? 0.5 : -2.0, 1e-15);  // other betas: OpenBLAS
      }
}

TEST_CASE("each product runs through the backend gemm_route names; libxsmm declining falls to dnnl or OpenBLAS") {
#ifdef AG_EXPECT_LIBXSMM
  CHECK(kernels::small_gemm_available() == static_cast<bool>(AG_EXPECT_LIBXSMM));
#endif
#ifdef AG_EXPECT_DNNL
  CHECK(kernels::dnnl_gemm_available() == static_cast<bool>(AG_EXPECT_DNNL));
#endif
  const bool xsmm = kernels::small_gemm_available(), dnnl = kernels::dnnl_gemm_available();
  using B = kernels::GemmBackend;
  // (libxsmm calls, dnnl calls) of one product of the given form
  auto calls_for = [](Shape3 s, float beta, bool ta, bool tb) {
    const auto a = values<float>(s.m * s.k, 4), b = values<float>(s.k * s.n, 5);
    std::vector<float> c(static_cast<std::size_t>(s.m * s.n), 1.0f);
    const auto x0 = kernels::small_gemm_calls(), d0 = kernels::dnnl_gemm_calls();
    kernels::gemm(ta, tb, s.m, s.n, s.k, a.data(), b.data(), c.data(), beta);
    return std::pair{kernels::small_gemm_calls() - x0, kernels::dnnl_gemm_calls() - d0};
  };
  auto expected = [](B route) {
    return std::pair<std::uint64_t, std::uint64_t>{route == B::libxsmm, route == B::dnnl};
  };
  const int threads = get_num_threads();
  set_num_threads(1);
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      CAPTURE(ta);
      CAPTURE(tb);
      for (auto [s, beta] : {std::pair<Shape3, float>{{16, 128, 128}, 0.0f},
                             {{1, 32, 32}, 1.0f},
                             {{1, 128, 128}, 0.0f},
                             {{64, 128, 128}, 0.0f},
                             {{256, 10, 1024}, 0.0f},
                             {{16, 16, 16}, 0.5f},
                             {{300, 300, 200}, 0.0f},
                             {{64, 1024, 1024}, 0.0f}}) {
        CAPTURE(s.m);
        CAPTURE(s.n);
        CAPTURE(s.k);
        const B route = kernels::gemm_route(ta, tb, s.m, s.n, s.k, false, beta);
        CHECK(calls_for(s, beta, ta, tb) == expected(route));
        CHECK(kernels::gemm_backend_available(route));
      }
      // the table of docs/benchmarks/2026-12-06-gemm.md
      CHECK(kernels::gemm_route(ta, tb, 16, 128, 128, false, 0) == (xsmm ? B::libxsmm : dnnl ? B::dnnl : B::openblas));
      CHECK(kernels::gemm_route(ta, tb, 16, 16, 16, false, 0.5) == (dnnl ? B::dnnl : B::openblas));
      CHECK(kernels::gemm_route(ta, tb, 64, 1024, 1024, false, 0) == (dnnl ? B::dnnl : B::openblas));
      CHECK(kernels::gemm_route(ta, tb, 64, 1024, 1024, true, 0) == B::openblas);  // float64: no dnnl
      CHECK(kernels::gemm_route(ta, tb, 16, 128, 128, true, 1) == (xsmm ? B::libxsmm : B::openblas));
    }
  if (xsmm && dnnl) {
    CHECK(kernels::gemm_route(false, true, 64, 128, 128, false, 0) == B::dnnl);
    CHECK(kernels::gemm_route(false, true, 1, 128, 128, false, 0) == B::dnnl);
    CHECK(kernels::gemm_route(false, true, 1, 32, 8, false, 0) == B::libxsmm);
    CHECK(kernels::gemm_route(false, true, 800, 128, 32, false, 0) == B::libxsmm);
    CHECK(kernels::gemm_route(true, false, 128, 128, 16, false, 0) == B::libxsmm);
    // a language model head's weight gradient (tall A^T B): dnnl (libxsmm only measured faster under
    // load), OpenBLAS when it runs AVX-512 kernels
    const B head = kernels::openblas_avx512_kernels() ? B::openblas : B::dnnl;
    CHECK(kernels::gemm_route(true, false, 10000, 256, 700, false, 0) == head);
    CHECK(kernels::gemm_route(true, false, 10000, 256, 700, false, 1) == head);
    CHECK(kernels::gemm_route(false, true, 700, 10000, 256, false, 1) ==
          (kernels::openblas_avx512_kernels() ? B::openblas : B::dnnl));
    CHECK(kernels::gemm_route(false, false, 700, 256, 10000, false, 0) == B::dnnl);
    CHECK(kernels::gemm_route(true, false, 10000, 1024, 700, false, 0) ==
          (kernels::openblas_avx512_kernels() ? B::openblas : B::dnnl));
    CHECK(kernels::gemm_route(true, false, 1024, 256, 700, false, 0) == B::dnnl);
    // an LSTM 128-256 step with batch 20: B of 1 MiB; a batch of 8 stays with libxsmm
    CHECK(kernels::gemm_route(false, true, 20, 1024, 256, false, 1) == B::dnnl);
    CHECK(kernels::gemm_route(false, false, 20, 256, 1024, false, 0) == B::dnnl);
    CHECK(kernels::gemm_route(true, false, 1024, 256, 20, false, 0) == B::libxsmm);
    CHECK(kernels::gemm_route(false, true, 8, 1024, 256, false, 1) == B::libxsmm);
  }
  // libxsmm switched off: its products fall to dnnl (float32) or OpenBLAS
  const bool was = kernels::set_small_gemm_enabled(false);
  CHECK(was);
  CHECK(calls_for({16, 128, 128}, 0.0f, false, true) == std::pair<std::uint64_t, std::uint64_t>{0, dnnl});
  check_gemm<float>(false, true, {16, 128, 128}, 1.0, 2e-7);
  CHECK_FALSE(kernels::set_small_gemm_enabled(was));
  CHECK(calls_for({16, 128, 128}, 0.0f, false, true) ==
        expected(kernels::gemm_route(false, true, 16, 128, 128, false, 0)));
  // a forced backend takes every product it can
  for (B forced : {B::openblas, B::libxsmm, B::dnnl}) {
    CAPTURE(static_cast<int>(forced));
    CHECK(kernels::set_gemm_backend(forced) == B::automatic);
    const auto got = calls_for({16, 128, 128}, 0.0f, false, true);
    CHECK(got.first == (forced == B::libxsmm && xsmm ? 1u : 0u));
    CHECK(got.second == (forced == B::dnnl && dnnl ? 1u : 0u));
    CHECK(kernels::set_gemm_backend(B::automatic) == forced);
  }
  set_num_threads(threads);
}

TEST_CASE("every backend, forced, equals the float64 product: 1x1x1, odd sizes, transposes, beta 0, 1 and 0.5") {
  using B = kernels::GemmBackend;
  const Shape3 shapes[] = {{1, 1, 1},      {1, 128, 128},  {3, 5, 7},     {17, 33, 65},
                           {64, 128, 128}, {256, 10, 301}, {129, 257, 70}};
  for (B forced : {B::automatic, B::openblas, B::libxsmm, B::dnnl}) {
    if (!kernels::gemm_backend_available(forced)) continue;
    CAPTURE(static_cast<int>(forced));
    kernels::set_gemm_backend(forced);
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (double beta : {0.0, 1.0, 0.5})
          for (Shape3 s : shapes) {
            check_gemm<float>(ta, tb, s, beta, 2e-7);
            check_gemm<double>(ta, tb, s, beta, 1e-15);
          }
    kernels::set_gemm_backend(B::automatic);
  }
}

TEST_CASE("dnnl products split between the pool's threads equal the float64 product") {
  const int threads = get_num_threads();
  for (int t : {1, 2}) {
    set_num_threads(t);
    const auto before = kernels::dnnl_gemm_calls();
    check_gemm<float>(false, true, {256, 300, 256}, 1.0, 2e-7);
    check_gemm<float>(true, false, {300, 256, 256}, 0.0, 2e-7);
    // with two threads the pool's workers run the blocks (and count them on their own threads)
    if (t == 1) CHECK(kernels::dnnl_gemm_calls() - before == (kernels::dnnl_gemm_available() ? 2u : 0u));
  }
  set_num_threads(threads);
}

TEST_CASE("a dnnl product starts no OpenMP team (Debian's oneDNN runs on OpenMP)") {
  auto thread_count = [] {
    return std::distance(std::filesystem::directory_iterator("/proc/self/task"), std::filesystem::directory_iterator{});
  };
  // on a new thread (no OpenMP state yet), whose OpenMP thread count would be the core count:
  // without the one-thread guard dnnl_sgemm starts a team there on machines with 2+ cores
  std::ptrdiff_t before = 0, after = 0;
  std::thread worker([&] {
    set_num_threads(1);
    before = thread_count();
    const auto calls = kernels::dnnl_gemm_calls();
    check_gemm<float>(false, false, {300, 256, 256}, 0.0, 2e-7);
    CHECK(kernels::dnnl_gemm_calls() - calls == (kernels::dnnl_gemm_available() ? 1u : 0u));
    after = thread_count();
  });
  worker.join();
  CHECK(after == before);
}

TEST_CASE("large libxsmm products split between threads equal the triple loop") {
  const int threads = get_num_threads();
  // A B and A^T B above kSmallGemmMaxWork (B within the panel limit); A B^T both ways it is computed.
  // Not bitwise across thread counts: libxsmm's kernel for a block of rows may order its sums differently.
  const std::tuple<bool, bool, Shape3> cases[] = {{false, false, {301, 300, 200}},
                                                  {true, false, {301, 300, 200}},
                                                  {false, true, {65, 256, 300}},
                                                  {false, true, {601, 64, 120}}};
  const auto routing = kernels::set_gemm_backend(kernels::GemmBackend::libxsmm);  // float32: dnnl's otherwise
  for (const auto& [ta, tb, s] : cases)
    for (int t : {1, 2}) {
      set_num_threads(t);
      const auto before = kernels::small_gemm_calls();
      check_gemm<float>(ta, tb, s, 1.0, 2e-7);
      CHECK(kernels::small_gemm_calls() - before == (kernels::small_gemm_available() ? 1u : 0u));
    }
  kernels::set_gemm_backend(routing);
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
