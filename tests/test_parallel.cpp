// Intra-op threads: set/get_num_threads, parallel_for, results identical for any thread count,
// flush-to-zero, and the accuracy of the vectorized exp / tanh / sigmoid kernels.
#include <atomic>
#include <bit>
#include <chrono>
#include <cmath>
#include <limits>
#include <thread>

#include "test_util.h"

#include "autograd/kernels/add_into.h"
#include "autograd/kernels/reduce.h"
#include "autograd/kernels/transcend.h"

using namespace ag;

namespace {

/// Restores the thread count when the test ends.
struct ThreadsGuard {
  int saved = get_num_threads();
  ~ThreadsGuard() { set_num_threads(saved); }
};

struct FtzGuard {
  bool saved = get_flush_denormal();
  ~FtzGuard() { set_flush_denormal(saved); }
};

/// Runs fn with 1 and with 2 threads; its results must match bit for bit.
template <class T>
void check_same_with_1_and_2_threads(const std::function<Tensor()>& fn) {
  ThreadsGuard g;
  set_num_threads(1);
  const std::vector<T> one = fn().to_vector<T>();
  set_num_threads(2);
  const std::vector<T> two = fn().to_vector<T>();
  REQUIRE(one.size() == two.size());
  std::size_t diff = 0;
  for (std::size_t i = 0; i < one.size(); ++i)
    diff += std::bit_cast<std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>>(one[i]) !=
            std::bit_cast<std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>>(two[i]);
  CHECK(diff == 0);
}

/// Distance in units in the last place (0 for two NaNs).
template <class T>
std::int64_t ulp_distance(T a, T b) {
  if (std::isnan(a) || std::isnan(b))
    return std::isnan(a) && std::isnan(b) ? 0 : std::numeric_limits<std::int64_t>::max();
  using I = std::conditional_t<sizeof(T) == 4, std::int32_t, std::int64_t>;
  auto ord = [](T v) {
    const I i = std::bit_cast<I>(v);
    return i < 0 ? static_cast<std::int64_t>(std::numeric_limits<I>::min()) - i : static_cast<std::int64_t>(i);
  };
  const std::int64_t d = ord(a) - ord(b);
  return d < 0 ? -d : d;
}

/// Every 4099th float bit pattern (about a million values over the whole range), plus the edges.
std::vector<float> float_samples() {
  std::vector<float> v;
  for (std::uint64_t b = 0; b < (std::uint64_t{1} << 32); b += 4099)
    v.push_back(std::bit_cast<float>(static_cast<std::uint32_t>(b)));
  const float inf = std::numeric_limits<float>::infinity();
  for (float x : {0.f,    -0.f,    inf,        -inf,    std::numeric_limits<float>::quiet_NaN(),
                  1e-45f, -1e-45f, 1e-39f,     -1e-39f, 88.72f,
                  88.73f, -87.3f,  -103.9f,    -104.f,  9.01f,
                  0.55f,  -0.55f,  0.5499999f, 20.f,    -20.f,
                  3e38f,  -3e38f})
    v.push_back(x);
  return v;
}

/// Random doubles over many magnitudes (xorshift), plus the edges.
std::vector<double> double_samples() {
  std::vector<double> v;
  std::uint64_t s = 88172645463325252ULL;
  for (int i = 0; i < 300000; ++i) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    const double m = static_cast<double>(s >> 11) / 9007199254740992.0;
    v.push_back(std::ldexp(m, static_cast<int>(s % 44) - 34) * ((s >> 5) & 1 ? -1 : 1));
  }
  const double inf = std::numeric_limits<double>::infinity();
  for (double x : {0.0,    -0.0,    inf,    -inf,   std::numeric_limits<double>::quiet_NaN(),
                   5e-324, -5e-324, 1e-310, 709.78, 709.79,
                   -708.4, -745.1,  -745.2, 0.55,   -0.55,
                   19.0,   22.0,    -740.0, 1e300,  -1e300})
    v.push_back(x);
  return v;
}

enum class Fn { Exp, Tanh, Sigmoid };

Tensor apply(Fn f, const Tensor& x) { return f == Fn::Exp ? ag::exp(x) : f == Fn::Tanh ? ag::tanh(x) : ag::sigmoid(x); }

long double reference(Fn f, long double x) {
  if (f == Fn::Exp) return std::exp(x);
  if (f == Fn::Tanh) return std::tanh(x);
  return 1.0L / (1.0L + std::exp(-x));
}

}  // namespace

TEST_CASE("parallel: set_num_threads / get_num_threads round trip; bad counts throw") {
  ThreadsGuard g;
  CHECK(get_num_threads() >= 1);
  set_num_threads(2);
  CHECK(get_num_threads() == 2);
  set_num_threads(1);
  CHECK(get_num_threads() == 1);
  CHECK_THROWS_AS(set_num_threads(0), Error);
  CHECK_THROWS_AS(set_num_threads(-3), Error);
  CHECK(agt::error_message([] { set_num_threads(0); }).find("set_num_threads") != std::string::npos);
  CHECK(get_num_threads() == 1);
}

TEST_CASE("parallel: parallel_for covers the range once, runs small ranges inline, nests and rethrows") {
  ThreadsGuard g;
  for (int threads : {1, 2, 3}) {
    set_num_threads(threads);
    std::vector<std::atomic<int>> hits(100000);
    std::atomic<int> calls{0};
    parallel_for(0, 100000, 1000, [&](std::int64_t b, std::int64_t e) {
      ++calls;
      for (std::int64_t i = b; i < e; ++i) ++hits[static_cast<std::size_t>(i)];
    });
    int wrong = 0;
    for (auto& h : hits) wrong += h.load() != 1;
    CHECK(wrong == 0);
    CHECK(calls.load() >= 1);
    if (threads == 1) CHECK(calls.load() == 1);

    int inline_calls = 0;
    parallel_for(5, 5 + 1000, 1000, [&](std::int64_t b, std::int64_t e) {
      ++inline_calls;
      CHECK(b == 5);
      CHECK(e == 1005);
    });
    CHECK(inline_calls == 1);
    parallel_for(7, 7, 0, [&](std::int64_t, std::int64_t) { ++inline_calls; });
    CHECK(inline_calls == 1);

    // A parallel_for inside a chunk runs inline on that thread (no deadlock).
    std::atomic<std::int64_t> total{0};
    parallel_for(0, 64, 1, [&](std::int64_t b, std::int64_t e) {
      for (std::int64_t i = b; i < e; ++i)
        parallel_for(0, 1000, 10, [&](std::int64_t b2, std::int64_t e2) {
          if (threads > 1) CHECK(in_parallel_region());
          total += e2 - b2;
        });
    });
    CHECK(total.load() == 64 * 1000);
    CHECK_FALSE(in_parallel_region());

    CHECK_THROWS_AS(parallel_for(0, 100, 1,
                                 [](std::int64_t, std::int64_t e) {
                                   if (e > 50) fail("chunk ending at {}", e);
                                 }),
                    Error);
  }
}

TEST_CASE("parallel: elementwise results are bitwise identical with 1 and 2 threads") {
  for (std::int64_t n : {1000, 300001}) {
    INFO("n = " << n);
    manual_seed(5);
    const Tensor a = randn({n}), b = randn({n}), c = randn({n}, kFloat64);
    check_same_with_1_and_2_threads<float>([&] { return add(a, b); });
    check_same_with_1_and_2_threads<float>([&] { return mul(a, b); });
    check_same_with_1_and_2_threads<float>([&] { return div(a, 3.0); });
    check_same_with_1_and_2_threads<float>([&] { return sub(2.0, a); });
    check_same_with_1_and_2_threads<float>([&] { return ag::tanh(mul(a, 4.0)); });
    check_same_with_1_and_2_threads<float>([&] { return ag::sigmoid(mul(a, 4.0)); });
    check_same_with_1_and_2_threads<float>([&] { return ag::exp(mul(a, 4.0)); });
    check_same_with_1_and_2_threads<double>([&] { return ag::tanh(c); });
    check_same_with_1_and_2_threads<double>([&] { return ag::exp(c); });
    check_same_with_1_and_2_threads<double>([&] { return ag::sigmoid(c); });
    check_same_with_1_and_2_threads<float>([&] { return relu(a); });
    check_same_with_1_and_2_threads<float>([&] { return gt(a, b).to(kFloat32); });
  }
  // Broadcasting (bias rows, outer products, scalars) and strided copies (transpose), small and large.
  for (std::int64_t rows : {8, 700}) {
    INFO("rows = " << rows);
    manual_seed(6);
    const Tensor m = randn({rows, 513}), row = randn({513}), col = randn({rows, 1}), one = randn({1});
    check_same_with_1_and_2_threads<float>([&] { return add(m, row); });
    check_same_with_1_and_2_threads<float>([&] { return mul(col, row); });
    check_same_with_1_and_2_threads<float>([&] { return sub(one, m); });
    check_same_with_1_and_2_threads<float>([&] { return m.transpose(0, 1); });
    check_same_with_1_and_2_threads<float>([&] { return expand(col, {rows, 513}); });
  }
}

TEST_CASE("parallel: reductions are bitwise identical with 1 and 2 threads and add in a fixed order") {
  for (std::int64_t rows : {3, 1200}) {
    INFO("rows = " << rows);
    manual_seed(7);
    const Tensor x = randn({rows, 301}), x3 = randn({rows, 4, 77}), d = randn({rows, 301}, kFloat64);
    check_same_with_1_and_2_threads<float>([&] { return sum(x); });
    check_same_with_1_and_2_threads<double>([&] { return sum(d); });
    check_same_with_1_and_2_threads<float>([&] { return sum(x, 0); });
    check_same_with_1_and_2_threads<float>([&] { return sum(x, 1); });
    check_same_with_1_and_2_threads<float>([&] { return sum(x3, 1); });
    check_same_with_1_and_2_threads<float>([&] { return sum(x3, 0); });
    check_same_with_1_and_2_threads<float>([&] { return mean(x); });
    check_same_with_1_and_2_threads<float>([&] { return sum_to(x, {301}); });
    check_same_with_1_and_2_threads<float>([&] { return sum_to(x, {rows, 1}); });
    check_same_with_1_and_2_threads<float>([&] { return sum_to(x3, {4, 1}); });
    check_same_with_1_and_2_threads<float>([&] { return sum_to(x3, {rows, 1, 77}); });
  }
  // The order is the pairwise one of sum_pairwise, whatever the thread count.
  ThreadsGuard g;
  set_num_threads(2);
  manual_seed(8);
  const Tensor big = randn({1000003});
  const std::vector<float> v = big.to_vector<float>();
  const float pairwise = kernels::sum_pairwise(v.data(), static_cast<std::int64_t>(v.size()));
  CHECK(std::bit_cast<std::uint32_t>(sum(big).item<float>()) == std::bit_cast<std::uint32_t>(pairwise));
  double exact = 0;
  for (float f : v) exact += f;
  CHECK(sum(big).item<float>() == doctest::Approx(exact).epsilon(1e-5));
  // Column sums (sum over dim 0) and sum_to against plain double sums.
  const Tensor m = randn({2000, 300});
  const std::vector<float> mv = m.to_vector<float>();
  const std::vector<float> s0 = sum(m, 0).to_vector<float>(), st = sum_to(m, {1, 300}).to_vector<float>();
  for (std::size_t j = 0; j < 300; j += 37) {
    double e = 0;
    for (std::size_t i = 0; i < 2000; ++i) e += mv[i * 300 + j];
    CHECK(s0[j] == doctest::Approx(e).epsilon(1e-4));
    CHECK(st[j] == s0[j]);
  }
}

TEST_CASE("parallel: user threads running big ops at the same time get the single-thread results") {
  ThreadsGuard g;
  manual_seed(9);
  const Tensor a = randn({200000}), b = randn({512, 400});
  set_num_threads(1);
  const std::vector<float> ra = ag::tanh(add(a, 1.0)).to_vector<float>();
  const std::vector<float> rb = sum(b, 0).to_vector<float>();
  set_num_threads(2);
  std::vector<float> oa, ob;
  std::thread t1([&] {
    NoGradGuard ng;
    for (int i = 0; i < 20; ++i) oa = ag::tanh(add(a, 1.0)).to_vector<float>();
  });
  std::thread t2([&] {
    NoGradGuard ng;
    for (int i = 0; i < 20; ++i) ob = sum(b, 0).to_vector<float>();
  });
  t1.join();
  t2.join();
  CHECK(oa == ra);
  CHECK(ob == rb);
}

TEST_CASE("parallel: set_flush_denormal flushes subnormals in this thread and in the pool") {
  FtzGuard f;
  ThreadsGuard g;
  volatile float sub = 1e-40f;  // subnormal
  volatile float one = 1.0f;
  REQUIRE(std::fpclassify(static_cast<float>(sub)) == FP_SUBNORMAL);
  const Tensor t = full({200000}, 1e-40, kFloat32);  // before FTZ: the conversion would flush it
  if (!set_flush_denormal(true)) {
    MESSAGE("flush-to-zero is not supported here");
    return;
  }
  CHECK(get_flush_denormal());
  CHECK(sub * one == 0.0f);
  set_num_threads(2);
  const std::vector<float> flushed = mul(t, 1.0).to_vector<float>();
  CHECK(std::count(flushed.begin(), flushed.end(), 0.0f) == 200000);
  std::atomic<int> chunks_off{0}, chunks_elsewhere{0};
  const auto caller = std::this_thread::get_id();
  parallel_for(0, 8, 1, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t i = b; i < e; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      chunks_off += !get_flush_denormal();
      chunks_elsewhere += std::this_thread::get_id() != caller;
    }
  });
  CHECK(chunks_off.load() == 0);
  if (chunks_elsewhere.load() == 0) MESSAGE("no chunk ran on a pool thread (busy machine)");

  CHECK(set_flush_denormal(false));
  CHECK_FALSE(get_flush_denormal());
  CHECK(sub * one == 1e-40f);
  const std::vector<float> kept = mul(t, 1.0).to_vector<float>();
  CHECK(std::count(kept.begin(), kept.end(), 1e-40f) == 200000);
}

TEST_CASE("parallel: float32 exp / tanh / sigmoid within 1 ulp of the exact value, 2 ulp of std::") {
  const std::vector<float> xs = float_samples();
  const Tensor x = tensor(xs, {static_cast<std::int64_t>(xs.size())});
  for (Fn f : {Fn::Exp, Fn::Tanh, Fn::Sigmoid}) {
    const std::vector<float> y = apply(f, x).to_vector<float>();
    std::int64_t worst_exact = 0, worst_std = 0;
    float at = 0;
    for (std::size_t i = 0; i < xs.size(); ++i) {
      const float exact = static_cast<float>(reference(f, xs[i]));
      const float viastd = f == Fn::Exp ? std::exp(xs[i]) : f == Fn::Tanh ? std::tanh(xs[i]) : exact;
      const std::int64_t d = ulp_distance(y[i], exact);
      if (d > worst_exact) {
        worst_exact = d;
        at = xs[i];
      }
      worst_std = std::max(worst_std, ulp_distance(y[i], viastd));
    }
    INFO("fn " << static_cast<int>(f) << " worst at x = " << at);
    CHECK(worst_exact <= 1);
    CHECK(worst_std <= 2);
  }
  // Exact values at the edges.
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> e =
      ag::exp(tensor(std::vector<float>{0.f, -0.f, inf, -inf, 89.f, -104.f})).to_vector<float>();
  CHECK(e == std::vector<float>{1.f, 1.f, inf, 0.f, inf, 0.f});
  const std::vector<float> t =
      ag::tanh(tensor(std::vector<float>{0.f, -0.f, inf, -inf, 10.f, -10.f, 1e-40f})).to_vector<float>();
  CHECK(t == std::vector<float>{0.f, -0.f, 1.f, -1.f, 1.f, -1.f, 1e-40f});
  CHECK(std::signbit(t[1]));
  const std::vector<float> s = ag::sigmoid(tensor(std::vector<float>{0.f, inf, -inf, 20.f})).to_vector<float>();
  CHECK(s == std::vector<float>{0.5f, 1.f, 0.f, 1.f});
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (Fn f : {Fn::Exp, Fn::Tanh, Fn::Sigmoid})
    CHECK(std::isnan(apply(f, tensor(std::vector<float>{nan})).item<float>()));
}

TEST_CASE("parallel: float64 exp / tanh / sigmoid within 4 ulp of the exact value") {
  const std::vector<double> xs = double_samples();
  const Tensor x = tensor(xs, {static_cast<std::int64_t>(xs.size())}, kFloat64);
  for (Fn f : {Fn::Exp, Fn::Tanh, Fn::Sigmoid}) {
    const std::vector<double> y = apply(f, x).to_vector<double>();
    std::int64_t worst = 0;
    double at = 0;
    for (std::size_t i = 0; i < xs.size(); ++i) {
      const std::int64_t d = ulp_distance(y[i], static_cast<double>(reference(f, xs[i])));
      if (d > worst) {
        worst = d;
        at = xs[i];
      }
    }
    INFO("fn " << static_cast<int>(f) << " worst at x = " << at);
    CHECK(worst <= 4);
  }
  const double inf = std::numeric_limits<double>::infinity();
  CHECK(ag::exp(tensor(std::vector<double>{0.0, inf, -inf, 710.0, -746.0}, {5}, kFloat64)).to_vector<double>() ==
        std::vector<double>{1.0, inf, 0.0, inf, 0.0});
  CHECK(ag::tanh(tensor(std::vector<double>{-0.0, inf, -inf, 5e-324}, {4}, kFloat64)).to_vector<double>() ==
        std::vector<double>{-0.0, 1.0, -1.0, 5e-324});
}

TEST_CASE_TEMPLATE("kernels::sum_exp and exp_affine (the softmax's loops) equal exp elementwise", T, float, double) {
  std::vector<T> x(1003);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<T>(std::sin(0.37 * static_cast<double>(i)) * 9.0);
  x[5] = -std::numeric_limits<T>::infinity();
  const auto n = static_cast<std::int64_t>(x.size());
  const T a = 1.25, b = 0.5, c = 0.75;
  std::vector<T> shifted(x.size()), e(x.size()), y(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) shifted[i] = (x[i] - a) - b;
  kernels::exp(shifted.data(), e.data(), n);
  kernels::exp_affine(x.data(), a, b, c, y.data(), n);
  for (std::size_t i = 0; i < x.size(); ++i) CHECK(y[i] == e[i] * c);  // the same exp, bitwise
  CHECK(y[5] == T(0));
  for (std::size_t i = 0; i < x.size(); ++i) shifted[i] = x[i] - a;
  kernels::exp(shifted.data(), e.data(), n);
  double want = 0;
  for (T v : e) want += static_cast<double>(v);
  const T got = kernels::sum_exp(x.data(), a, n);
  CHECK(std::abs(static_cast<double>(got) - want) <= want * (std::is_same_v<T, float> ? 1e-6 : 1e-14));
  double head = 0;  // 7 elements: the tail loop only
  for (int i = 0; i < 7; ++i) head += static_cast<double>(e[static_cast<std::size_t>(i)]);
  CHECK(std::abs(static_cast<double>(kernels::sum_exp(x.data(), a, 7)) - head) <= head * 1e-6);
  CHECK(kernels::sum_exp(x.data(), a, 0) == T(0));
  // prefetching another row changes nothing
  CHECK(kernels::sum_exp(x.data(), a, n, x.data() + 17) == got);
}

TEST_CASE_TEMPLATE("kernels::row_max: every length, NaN skipped, -inf when empty", T, float, double) {
  const T inf = std::numeric_limits<T>::infinity(), nan = std::numeric_limits<T>::quiet_NaN();
  std::vector<T> x(70);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<T>(std::cos(0.7 * static_cast<double>(i)) * 5.0);
  for (std::int64_t n = 0; n <= static_cast<std::int64_t>(x.size()); ++n) {  // the 16-lane loop and its tail
    T want = -inf;
    for (std::int64_t i = 0; i < n; ++i) want = std::max(want, x[static_cast<std::size_t>(i)]);
    CHECK(kernels::row_max(x.data(), n) == want);
  }
  x[3] = nan;
  x[40] = nan;
  x[66] = T(100);  // in the tail of 70
  CHECK(kernels::row_max(x.data(), 70) == T(100));
  std::vector<T> lows(33, -inf);
  CHECK(kernels::row_max(lows.data(), 33) == -inf);
  lows[32] = nan;
  CHECK(kernels::row_max(lows.data(), 33) == -inf);
}

TEST_CASE_TEMPLATE("kernels::add_into adds elementwise at every length", T, float, double) {
  for (std::int64_t n : {0, 1, 7, 16, 63, 64, 65, 1000}) {
    std::vector<T> y(static_cast<std::size_t>(n) + 1, T(-7)), x(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
      y[static_cast<std::size_t>(i)] = static_cast<T>(0.25 * static_cast<double>(i));
      x[static_cast<std::size_t>(i)] = static_cast<T>(1.5 - 0.5 * static_cast<double>(i));
    }
    kernels::add_into(y.data(), x.data(), n);
    for (std::int64_t i = 0; i < n; ++i)
      CHECK(y[static_cast<std::size_t>(i)] == static_cast<T>(1.5 - 0.25 * static_cast<double>(i)));
    CHECK(y[static_cast<std::size_t>(n)] == T(-7));  // nothing past the end
  }
}
