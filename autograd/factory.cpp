#include "autograd/factory.h"

#include <cmath>
#include <cstring>
#include <mutex>
#include <random>
#include <type_traits>

#include "autograd/kernels/elementwise.h"

namespace ag {

namespace {

template <class V>
Tensor from_values(const V& values, const Shape& shape_in, Dtype dtype) {
  const Shape shape = shape_in.empty() ? Shape{static_cast<std::int64_t>(values.size())} : shape_in;
  if (shape_numel(shape) != static_cast<std::int64_t>(values.size()))
    fail("tensor: {} values do not fill shape {} ({} elements), dtype {}", values.size(), shape_str(shape),
         shape_numel(shape), dtype_name(dtype));
  Tensor t = empty(shape, dtype);
  dispatch_all(dtype, [&]<class T>() {
    T* p = t.data<T>();
    std::size_t i = 0;
    for (auto v : values) {
      if constexpr (std::is_same_v<T, std::int64_t> && std::is_floating_point_v<decltype(v)>)
        if (!kernels::fits_int64(static_cast<double>(v)))
          fail("tensor: value {} (element {}) cannot be represented as int64 for shape {}", v, i, shape_str(shape));
      p[i++] = static_cast<T>(v);
    }
  });
  return t;
}

}  // namespace

Tensor tensor(std::initializer_list<double> v, const Shape& s, Dtype d) { return from_values(v, s, d); }
Tensor tensor(const std::vector<double>& v, const Shape& s, Dtype d) { return from_values(v, s, d); }
Tensor tensor(const std::vector<float>& v, const Shape& s, Dtype d) { return from_values(v, s, d); }
Tensor tensor(const std::vector<std::int64_t>& v, const Shape& s, Dtype d) { return from_values(v, s, d); }

Tensor scalar_tensor(double value, Dtype dtype) { return full({}, value, dtype); }

Tensor from_buffer(const void* data, const Shape& shape, Dtype dtype) {
  if (!data && shape_numel(shape) > 0) fail("from_buffer: null data pointer for shape {} {}", shape_str(shape), dtype_name(dtype));
  Tensor t = empty(shape, dtype, "from_buffer");
  if (t.numel() > 0) std::memcpy(t.raw_data(), data, static_cast<std::size_t>(t.numel()) * itemsize(dtype));
  return t;
}

namespace {
Tensor full_named(const Shape& shape, double value, Dtype dtype, const char* op) {
  if (dtype == kInt64 && !kernels::fits_int64(value))
    fail("{}: value {} cannot be represented as int64 (shape {})", op, value, shape_str(shape));
  Tensor t = empty(shape, dtype, op);
  dispatch_all(dtype, [&]<class T>() {
    T* p = t.data<T>();
    const T v = static_cast<T>(value);
    for (std::int64_t i = 0; i < t.numel(); ++i) p[i] = v;
  });
  return t;
}
}  // namespace

Tensor full(const Shape& shape, double value, Dtype dtype) { return full_named(shape, value, dtype, "full"); }
Tensor zeros(const Shape& shape, Dtype dtype) { return full_named(shape, 0.0, dtype, "zeros"); }
Tensor ones(const Shape& shape, Dtype dtype) { return full_named(shape, 1.0, dtype, "ones"); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.dtype()); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), t.dtype()); }
Tensor full_like(const Tensor& t, double value) { return full(t.shape(), value, t.dtype()); }

Tensor arange(double start, double end, double step, Dtype dtype) {
  if (step == 0 || !std::isfinite(start) || !std::isfinite(end) || !std::isfinite(step))
    fail("arange: invalid range start={} end={} step={} ({})", start, end, step, dtype_name(dtype));
  const double count = std::ceil((end - start) / step);
  if (!(count < 9007199254740992.0))  // 2^53: beyond it the values repeat (and int64 may not hold the count)
    fail("arange: start={} end={} step={} gives {} elements, too many ({})", start, end, step, count, dtype_name(dtype));
  const auto n = static_cast<std::int64_t>(count > 0 ? count : 0);
  Tensor t = empty({n}, dtype);
  dispatch_all(dtype, [&]<class T>() {
    T* p = t.data<T>();
    for (std::int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(start + static_cast<double>(i) * step);
  });
  return t;
}

Tensor arange(double end, Dtype dtype) { return arange(0.0, end, 1.0, dtype); }

namespace {
std::mutex g_rng_mutex;
std::mt19937_64 g_rng(5489u);

double uniform01_locked() { return static_cast<double>(g_rng() >> 11) * (1.0 / 9007199254740992.0); }

// Box-Muller written out, so that the numbers do not depend on the standard library's distributions.
double normal_locked() {
  double u1 = uniform01_locked();
  while (u1 <= 0.0) u1 = uniform01_locked();
  const double u2 = uniform01_locked();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * 3.14159265358979323846 * u2);
}

template <class Gen>
Tensor random_fill(const Shape& shape, Dtype dtype, const char* op, Gen gen) {
  Tensor t = empty(shape, dtype, op);
  std::lock_guard<std::mutex> lock(g_rng_mutex);
  dispatch_floating(dtype, op, [&]<class T>() {
    T* p = t.data<T>();
    for (std::int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<T>(gen());
  });
  return t;
}
}  // namespace

void manual_seed(std::uint64_t seed) {
  std::lock_guard<std::mutex> lock(g_rng_mutex);
  g_rng.seed(seed);
}

Tensor rand(const Shape& shape, Dtype dtype) { return random_fill(shape, dtype, "rand", uniform01_locked); }
Tensor randn(const Shape& shape, Dtype dtype) { return random_fill(shape, dtype, "randn", normal_locked); }

Tensor randint(std::int64_t low, std::int64_t high, const Shape& shape, Dtype dtype) {
  if (high <= low) fail("randint: empty range [{}, {}) for shape {}", low, high, shape_str(shape));
  Tensor t = empty(shape, dtype, "randint");
  std::lock_guard<std::mutex> lock(g_rng_mutex);
  const auto span = static_cast<std::uint64_t>(high) - static_cast<std::uint64_t>(low);
  dispatch_all(dtype, [&]<class T>() {
    T* p = t.data<T>();
    for (std::int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<T>(static_cast<std::int64_t>(static_cast<std::uint64_t>(low) + g_rng() % span));
  });
  return t;
}

double random_uniform(double lo, double hi) {
  std::lock_guard<std::mutex> lock(g_rng_mutex);
  return lo + (hi - lo) * uniform01_locked();
}

double random_normal(double mean, double std) {
  std::lock_guard<std::mutex> lock(g_rng_mutex);
  return mean + std * normal_locked();
}

static_assert(std::is_trivially_copyable_v<std::mt19937_64>);

std::string rng_state() {
  std::lock_guard<std::mutex> lock(g_rng_mutex);
  std::string s(sizeof(g_rng), '\0');
  std::memcpy(s.data(), &g_rng, sizeof(g_rng));
  return s;
}

void set_rng_state(const std::string& state) {
  if (state.size() != sizeof(std::mt19937_64))
    fail("set_rng_state: expected a state of {} bytes (from rng_state()), got {}", sizeof(std::mt19937_64), state.size());
  std::lock_guard<std::mutex> lock(g_rng_mutex);
  std::memcpy(static_cast<void*>(&g_rng), state.data(), sizeof(g_rng));
}

}  // namespace ag
