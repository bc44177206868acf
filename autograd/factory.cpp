#include "autograd/factory.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <numeric>
#include <random>
#include <type_traits>
#include <vector>

#include "autograd/grad_mode.h"
#include "autograd/kernels/elementwise.h"

namespace ag {

namespace {

// The dtype a factory makes: the options' when set, else `fallback`. Asking for a gradient on an
// integer result is refused before anything is allocated or drawn, and so is a device other than the CPU.
Dtype resolve(const TensorOptions& options, Dtype fallback, const char* op, const Shape& shape) {
  if (options.has_device()) check_cpu_device(options.device(), op);
  const Dtype d = options.dtype_opt().value_or(fallback);
  if (options.requires_grad() && !is_floating(d))
    fail("{}: Only Tensors of floating point dtype can require gradients (asked for {}{} with requires_grad(true))", op,
         dtype_name(d), shape_str(shape));
  return d;
}

// Makes a fresh (unrecorded) tensor the leaf the options ask for.
Tensor finish(Tensor t, const TensorOptions& options) {
  if (options.requires_grad()) t.requires_grad_(true);
  return t;
}

// [-2^31, 2^31): the doubles whose truncation fits an int32 (NaN does not).
bool fits_int32(double v) { return v >= -2147483648.0 && v < 2147483648.0; }

template <class S>
void write_values(const S* src, std::size_t n, Dtype dtype, void* out, std::size_t at, const Shape& shape,
                  const char* op) {
  dispatch_every(dtype, [&]<class T>() {
    T* d = static_cast<T*>(out) + at;
    for (std::size_t k = 0; k < n; ++k) {
      const S v = src[k];
      if constexpr (std::is_same_v<T, std::int64_t> && std::is_floating_point_v<S>) {
        if (!kernels::fits_int64(static_cast<double>(v)))
          fail("{}: value {} (element {}) cannot be represented as int64 for shape {}", op, v, at + k,
               shape_str(shape));
      } else if constexpr (std::is_same_v<T, std::int64_t> && std::is_unsigned_v<S> && sizeof(S) == 8) {
        if (v > static_cast<S>(std::numeric_limits<std::int64_t>::max()))
          fail("{}: value {} (element {}) cannot be represented as int64 for shape {}", op, v, at + k,
               shape_str(shape));
      } else if constexpr (std::is_same_v<T, std::int32_t>) {
        if (!fits_int32(static_cast<double>(v)))
          fail("{}: value {} (element {}) cannot be represented as int32 for shape {}", op, v, at + k,
               shape_str(shape));
      }
      d[k] = static_cast<T>(v);  // to bool: nonzero is true
    }
  });
}

}  // namespace

namespace detail {

TensorDataContainer::TensorDataContainer(std::initializer_list<TensorDataContainer> list)
    : kind_(Kind::List), list_(list) {
  if (list.size() == 0) {
    floating_ = true;
    sizes_ = Shape{0};
    return;
  }
  const TensorDataContainer& first = *list.begin();
  std::size_t i = 0;
  for (const auto& e : list) {
    if (e.sizes_ != first.sizes_)
      fail("tensor: expected all sub-lists to have sizes {} (as element 0), but element {} has sizes {}",
           shape_str(first.sizes_), i, shape_str(e.sizes_));
    floating_ = floating_ || e.floating_;
    ++i;
  }
  sizes_.reserve(first.sizes_.size() + 1);
  sizes_.push_back(static_cast<std::int64_t>(list.size()));
  for (auto s : first.sizes_) sizes_.push_back(s);
}

void TensorDataContainer::write(void* out, Dtype dtype, const Shape& shape, const char* op) const {
  write_at(out, dtype, 0, shape, op);
}

std::size_t TensorDataContainer::write_at(void* out, Dtype dtype, std::size_t at, const Shape& shape,
                                          const char* op) const {
  if (kind_ == Kind::List) {
    for (const auto& e : list_) at = e.write_at(out, dtype, at, shape, op);
    return at;
  }
  const void* src = kind_ == Kind::Scalar ? static_cast<const void*>(scalar_) : data_;
  const std::size_t n = kind_ == Kind::Scalar ? 1 : static_cast<std::size_t>(sizes_[0]);
  switch (elem_) {
    case Elem::F32:
      write_values(static_cast<const float*>(src), n, dtype, out, at, shape, op);
      break;
    case Elem::F64:
      write_values(static_cast<const double*>(src), n, dtype, out, at, shape, op);
      break;
    case Elem::I8:
      write_values(static_cast<const std::int8_t*>(src), n, dtype, out, at, shape, op);
      break;
    case Elem::I16:
      write_values(static_cast<const std::int16_t*>(src), n, dtype, out, at, shape, op);
      break;
    case Elem::I32:
      write_values(static_cast<const std::int32_t*>(src), n, dtype, out, at, shape, op);
      break;
    case Elem::I64:
      write_values(static_cast<const std::int64_t*>(src), n, dtype, out, at, shape, op);
      break;
    case Elem::U8:
      write_values(static_cast<const std::uint8_t*>(src), n, dtype, out, at, shape, op);
      break;
    case Elem::U16:
      write_values(static_cast<const std::uint16_t*>(src), n, dtype, out, at, shape, op);
      break;
    case Elem::U32:
      write_values(static_cast<const std::uint32_t*>(src), n, dtype, out, at, shape, op);
      break;
    case Elem::U64:
      write_values(static_cast<const std::uint64_t*>(src), n, dtype, out, at, shape, op);
      break;
  }
  return at + n;
}

}  // namespace detail

Tensor tensor(detail::TensorDataContainer values) { return detail::tensor_with_options(values, {}); }

Tensor detail::tensor_with_options(TensorDataContainer values, const TensorOptions& options) {
  const Shape& shape = values.sizes();
  const Dtype dtype = resolve(options, values.is_floating() ? kFloat32 : kInt64, "tensor", shape);
  Tensor t = empty(shape, dtype, "tensor");
  values.write(t.raw_data(), dtype, shape, "tensor");
  return finish(t, options);
}

Tensor tensor(detail::TensorDataContainer values, const Shape& shape_in, const TensorOptions& options) {
  const Shape shape = shape_in.empty() ? Shape{values.numel()} : shape_in;
  const Dtype dtype =
      resolve(options, values.is_vector() && !values.is_floating() ? kInt64 : kFloat32, "tensor", shape);
  if (shape_numel(shape) != values.numel())
    fail("tensor: {} values do not fill shape {} ({} elements), dtype {}", values.numel(), shape_str(shape),
         shape_numel(shape), dtype_name(dtype));
  Tensor t = empty(shape, dtype, "tensor");
  values.write(t.raw_data(), dtype, shape, "tensor");
  return finish(t, options);
}

Tensor from_buffer(const void* data, const Shape& shape, Dtype dtype) {
  if (!data && shape_numel(shape) > 0)
    fail("from_buffer: null data pointer for shape {} {}", shape_str(shape), dtype_name(dtype));
  Tensor t = empty(shape, dtype, "from_buffer");
  if (t.numel() > 0) std::memcpy(t.raw_data(), data, static_cast<std::size_t>(t.numel()) * itemsize(dtype));
  return t;
}

namespace {
Tensor full_named(const Shape& shape, double value, Dtype dtype, const char* op) {
  if (dtype == kInt64 && !kernels::fits_int64(value))
    fail("{}: value {} cannot be represented as int64 (shape {})", op, value, shape_str(shape));
  if (dtype == kInt32 && !fits_int32(value))
    fail("{}: value {} cannot be represented as int32 (shape {})", op, value, shape_str(shape));
  Tensor t = empty(shape, dtype, op);
  dispatch_every(dtype, [&]<class T>() {
    T* p = t.data<T>();
    const T v = static_cast<T>(value);
    for (std::int64_t i = 0; i < t.numel(); ++i) p[i] = v;
  });
  return t;
}

Tensor full_options(const Shape& shape, double value, const TensorOptions& options, Dtype fallback, const char* op) {
  return finish(full_named(shape, value, resolve(options, fallback, op, shape), op), options);
}
}  // namespace

Tensor scalar_tensor(double value, const TensorOptions& options) {
  return full_options({}, value, options, kFloat32, "scalar_tensor");
}
Tensor empty(const Shape& shape, const TensorOptions& options) {
  return finish(empty(shape, resolve(options, kFloat32, "empty", shape), "empty"), options);
}
Tensor full(const Shape& shape, double value, const TensorOptions& options) {
  return full_options(shape, value, options, kFloat32, "full");
}
Tensor zeros(const Shape& shape, const TensorOptions& options) {
  return full_options(shape, 0.0, options, kFloat32, "zeros");
}
Tensor ones(const Shape& shape, const TensorOptions& options) {
  return full_options(shape, 1.0, options, kFloat32, "ones");
}

Tensor empty_like(const Tensor& t, const TensorOptions& options) {
  const Shape& shape = t.checked("empty_like").shape;
  return finish(empty(shape, resolve(options, t.dtype(), "empty_like", shape), "empty_like"), options);
}
Tensor zeros_like(const Tensor& t, const TensorOptions& options) {
  return full_options(t.checked("zeros_like").shape, 0.0, options, t.dtype(), "zeros_like");
}
Tensor ones_like(const Tensor& t, const TensorOptions& options) {
  return full_options(t.checked("ones_like").shape, 1.0, options, t.dtype(), "ones_like");
}
Tensor full_like(const Tensor& t, double value, const TensorOptions& options) {
  return full_options(t.checked("full_like").shape, value, options, t.dtype(), "full_like");
}

namespace {
Tensor arange_named(double start, double end, double step, const TensorOptions& options) {
  const Dtype dtype = resolve(options, kFloat32, "arange", {});
  if (step == 0 || !std::isfinite(start) || !std::isfinite(end) || !std::isfinite(step))
    fail("arange: invalid range start={} end={} step={} ({})", start, end, step, dtype_name(dtype));
  const double count = std::ceil((end - start) / step);
  if (!(count < 9007199254740992.0))  // 2^53: beyond it the values repeat (and int64 may not hold the count)
    fail("arange: start={} end={} step={} gives {} elements, too many ({})", start, end, step, count,
         dtype_name(dtype));
  const auto n = static_cast<std::int64_t>(count > 0 ? count : 0);
  Tensor t = empty({n}, dtype, "arange");
  dispatch_all(dtype, "arange", [&]<class T>() {
    T* p = t.data<T>();
    for (std::int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(start + static_cast<double>(i) * step);
  });
  return finish(t, options);
}
}  // namespace

Tensor arange(double start, double end, double step, const TensorOptions& options) {
  return arange_named(start, end, step, options);
}
Tensor arange(double start, double end, const TensorOptions& options) { return arange_named(start, end, 1.0, options); }
Tensor arange(double end, const TensorOptions& options) { return arange_named(0.0, end, 1.0, options); }

namespace {
// start/end as an int64 result takes them (truncated, as libtorch's Scalar::to<int64_t>); NaN, infinities
// and values out of range are an error.
std::int64_t int64_bound(const char* op, const char* name, double v, double start, double end, std::int64_t steps) {
  if (!kernels::fits_int64(v))
    fail("{}: {}={} cannot be represented as int64 (start={}, end={}, steps={}, dtype int64)", op, name, v, start, end,
         steps);
  return static_cast<std::int64_t>(v);
}

void check_steps(const char* op, double start, double end, std::int64_t steps) {
  if (steps < 0)
    fail("{}: number of steps must be non-negative, got steps={} (start={}, end={})", op, steps, start, end);
}
}  // namespace

Tensor linspace(double start, double end, std::int64_t steps, const TensorOptions& options) {
  check_steps("linspace", start, end, steps);
  const Dtype dtype = resolve(options, kFloat32, "linspace", {steps});
  Tensor t = empty({steps}, dtype, "linspace");
  dispatch_all(dtype, "linspace", [&]<class T>() {
    if (steps == 0) return;
    T* p = t.data<T>();
    T s, e;
    if constexpr (std::is_integral_v<T>) {
      s = int64_bound("linspace", "start", start, start, end, steps);
      e = int64_bound("linspace", "end", end, start, end, steps);
    } else {
      s = static_cast<T>(start);
      e = static_cast<T>(end);
    }
    if (steps == 1) {
      p[0] = s;
      return;
    }
    // As PyTorch's CPU kernel: the step in T (in double for integers), the first half counted from start and
    // the second half back from end, so that both ends are exact and the values are symmetric.
    using step_t = std::conditional_t<std::is_integral_v<T>, double, T>;
    const step_t step = (static_cast<step_t>(e) - static_cast<step_t>(s)) / static_cast<step_t>(steps - 1);
    const std::int64_t halfway = steps / 2;
    for (std::int64_t i = 0; i < steps; ++i)
      p[i] = i < halfway ? static_cast<T>(s + step * static_cast<step_t>(i))
                         : static_cast<T>(e - step * static_cast<step_t>(steps - i - 1));
  });
  return finish(t, options);
}

Tensor logspace(double start, double end, std::int64_t steps, double base, const TensorOptions& options) {
  check_steps("logspace", start, end, steps);
  const Dtype dtype = resolve(options, kFloat32, "logspace", {steps});
  Tensor t = empty({steps}, dtype, "logspace");
  dispatch_all(dtype, "logspace", [&]<class T>() {
    if (steps == 0) return;
    T* p = t.data<T>();
    auto put = [&](std::int64_t i, double v) {
      if constexpr (std::is_integral_v<T>)
        if (!kernels::fits_int64(v))
          fail("logspace: value {} (element {}) cannot be represented as int64 (start={}, end={}, steps={}, base={})",
               v, i, start, end, steps, base);
      p[i] = static_cast<T>(v);
    };
    if (steps == 1) {
      put(0, std::pow(base, start));
      return;
    }
    T s, e;
    if constexpr (std::is_integral_v<T>) {
      s = int64_bound("logspace", "start", start, start, end, steps);
      e = int64_bound("logspace", "end", end, start, end, steps);
    } else {
      s = static_cast<T>(start);
      e = static_cast<T>(end);
    }
    // As PyTorch: exponents in double from start and end as T, the second half counted back from end.
    const double step = static_cast<double>(e - s) / static_cast<double>(steps - 1);
    const std::int64_t halfway = steps / 2;
    for (std::int64_t i = 0; i < steps; ++i)
      put(i, i < halfway ? std::pow(base, static_cast<double>(s) + step * static_cast<double>(i))
                         : std::pow(base, static_cast<double>(e) - step * static_cast<double>(steps - i - 1)));
  });
  return finish(t, options);
}

namespace detail {
Tensor eye_impl(std::int64_t n, std::int64_t m, const TensorOptions& options) {
  if (n < 0) fail("eye: n must be greater or equal to 0, got n={} (m={})", n, m);
  if (m < 0) fail("eye: m must be greater or equal to 0, got m={} (n={})", m, n);
  const Dtype dtype = resolve(options, kFloat32, "eye", {n, m});
  Tensor t = full_named({n, m}, 0.0, dtype, "eye");
  dispatch_all(dtype, "eye", [&]<class T>() {
    T* p = t.data<T>();
    for (std::int64_t i = 0; i < std::min(n, m); ++i) p[i * m + i] = T(1);
  });
  return finish(t, options);
}
}  // namespace detail

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

Tensor rand(const Shape& shape, const TensorOptions& options) {
  const Dtype dtype = resolve(options, kFloat32, "rand", shape);
  return finish(random_fill(shape, dtype, "rand", uniform01_locked), options);
}
Tensor randn(const Shape& shape, const TensorOptions& options) {
  const Dtype dtype = resolve(options, kFloat32, "randn", shape);
  return finish(random_fill(shape, dtype, "randn", normal_locked), options);
}

namespace {
Tensor randint_named(std::int64_t low, std::int64_t high, const Shape& shape, Dtype dtype, const TensorOptions& options,
                     const char* op) {
  if (high <= low) fail("{}: empty range [{}, {}) for shape {}", op, low, high, shape_str(shape));
  Tensor t = empty(shape, dtype, op);
  std::lock_guard<std::mutex> lock(g_rng_mutex);
  const auto span = static_cast<std::uint64_t>(high) - static_cast<std::uint64_t>(low);
  dispatch_all(dtype, op, [&]<class T>() {
    T* p = t.data<T>();
    for (std::int64_t i = 0; i < t.numel(); ++i)
      p[i] = static_cast<T>(static_cast<std::int64_t>(static_cast<std::uint64_t>(low) + g_rng() % span));
  });
  return finish(t, options);
}
}  // namespace

// As libtorch: the default argument is kInt64, but options given without a dtype mean the default dtype.
Tensor randint(std::int64_t low, std::int64_t high, const Shape& shape, const TensorOptions& options) {
  return randint_named(low, high, shape, resolve(options, kFloat32, "randint", shape), options, "randint");
}
Tensor randint(std::int64_t high, const Shape& shape, const TensorOptions& options) {
  return randint_named(0, high, shape, resolve(options, kFloat32, "randint", shape), options, "randint");
}

Tensor rand_like(const Tensor& t, const TensorOptions& options) {
  const Shape& shape = t.checked("rand_like").shape;
  return finish(random_fill(shape, resolve(options, t.dtype(), "rand_like", shape), "rand_like", uniform01_locked),
                options);
}
Tensor randn_like(const Tensor& t, const TensorOptions& options) {
  const Shape& shape = t.checked("randn_like").shape;
  return finish(random_fill(shape, resolve(options, t.dtype(), "randn_like", shape), "randn_like", normal_locked),
                options);
}
Tensor randint_like(const Tensor& t, std::int64_t low, std::int64_t high, const TensorOptions& options) {
  const Shape& shape = t.checked("randint_like").shape;
  return randint_named(low, high, shape, resolve(options, t.dtype(), "randint_like", shape), options, "randint_like");
}
Tensor randint_like(const Tensor& t, std::int64_t high, const TensorOptions& options) {
  return randint_like(t, 0, high, options);
}

Tensor randperm(std::int64_t n, const TensorOptions& options) {
  if (n < 0) fail("randperm: n must be non-negative, got n={}", n);
  // randperm makes int64 also when the options name no dtype (as libtorch).
  const Dtype dtype = resolve(options, kInt64, "randperm", {n});
  if ((dtype == kFloat32 && n > (std::int64_t(1) << 24)) || (dtype == kFloat64 && n > (std::int64_t(1) << 53)))
    fail("randperm: n={} is too large for result dtype {} (its integers are not all exact)", n, dtype_name(dtype));
  std::vector<std::int64_t> perm(static_cast<std::size_t>(n));
  std::iota(perm.begin(), perm.end(), std::int64_t(0));
  {
    // Fisher-Yates, as PyTorch's CPU randperm: position i takes one of the n - i values not placed yet.
    std::lock_guard<std::mutex> lock(g_rng_mutex);
    for (std::int64_t i = 0; i + 1 < n; ++i) {
      const auto z = static_cast<std::int64_t>(g_rng() % static_cast<std::uint64_t>(n - i));
      std::swap(perm[static_cast<std::size_t>(i)], perm[static_cast<std::size_t>(i + z)]);
    }
  }
  Tensor t = empty({n}, dtype, "randperm");
  dispatch_all(dtype, "randperm", [&]<class T>() {
    T* p = t.data<T>();
    for (std::int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(perm[static_cast<std::size_t>(i)]);
  });
  return finish(t, options);
}

Tensor multinomial(const Tensor& probs, std::int64_t num_samples, bool replacement) {
  probs.checked("multinomial");
  const char* how = replacement ? "with replacement" : "without replacement";
  if (probs.dim() != 1 && probs.dim() != 2)
    fail("multinomial: probs must be 1-d or 2-d, got {} (num_samples={}, {})", describe(probs), num_samples, how);
  if (!is_floating(probs.dtype()))
    fail("multinomial: probs must be floating (float32 or float64), got {} (num_samples={}, {})", describe(probs),
         num_samples, how);
  if (num_samples <= 0)
    fail("multinomial: cannot sample num_samples={} <= 0 samples from probs {} ({})", num_samples, describe(probs),
         how);
  const std::int64_t cats = probs.size(-1);
  const std::int64_t rows = probs.dim() == 2 ? probs.size(0) : 1;
  if (!replacement && num_samples > cats)
    fail("multinomial: cannot sample num_samples={} > {} categories without replacement from probs {}", num_samples,
         cats, describe(probs));
  // Every row is checked before anything is drawn; weights are scaled by the row's largest, so that their sum
  // cannot overflow.
  std::vector<double> w = probs.to_vector<double>();
  for (std::int64_t r = 0; r < rows; ++r) {
    double* row = w.data() + r * cats;
    double top = 0.0;
    std::int64_t positive = 0;
    for (std::int64_t c = 0; c < cats; ++c) {
      if (!std::isfinite(row[c]) || row[c] < 0)
        fail(
            "multinomial: probs {} holds {} at row {}, category {}: weights must be finite and >= 0 (num_samples={}, "
            "{})",
            describe(probs), row[c], r, c, num_samples, how);
      top = std::max(top, row[c]);
      positive += row[c] > 0;
    }
    if (top <= 0)
      fail("multinomial: row {} of probs {} sums to 0; each row needs a positive weight (num_samples={}, {})", r,
           describe(probs), num_samples, how);
    if (!replacement && num_samples > positive)
      fail(
          "multinomial: cannot sample num_samples={} without replacement from row {} of probs {}: only {} categories "
          "have a non-zero weight",
          num_samples, r, describe(probs), positive);
    for (std::int64_t c = 0; c < cats; ++c) row[c] /= top;
  }
  Tensor out = empty(probs.dim() == 2 ? Shape{rows, num_samples} : Shape{num_samples}, kInt64, "multinomial");
  std::int64_t* o = out.data<std::int64_t>();
  std::vector<double> cdf(static_cast<std::size_t>(cats));
  std::vector<std::pair<double, std::int64_t>> keys;
  std::lock_guard<std::mutex> lock(g_rng_mutex);
  for (std::int64_t r = 0; r < rows; ++r) {
    const double* row = w.data() + r * cats;
    std::int64_t* dst = o + r * num_samples;
    if (replacement) {
      // Inverse CDF: the first category whose running sum exceeds u * total (never one of weight 0).
      std::partial_sum(row, row + cats, cdf.begin());
      const double total = cdf.back();
      std::int64_t last = cats - 1;
      while (row[last] <= 0) --last;
      for (std::int64_t k = 0; k < num_samples; ++k) {
        const double x = uniform01_locked() * total;
        const auto c = static_cast<std::int64_t>(std::upper_bound(cdf.begin(), cdf.end(), x) - cdf.begin());
        dst[k] = std::min(c, last);
      }
    } else {
      // As PyTorch: the categories with the largest w / E, E ~ Exp(1), in decreasing order, which draws them
      // one after the other with probabilities proportional to the weights left.
      keys.clear();
      for (std::int64_t c = 0; c < cats; ++c) {
        if (row[c] <= 0) continue;
        const double e = -std::log1p(-uniform01_locked());  // in [0, inf): u in [0, 1)
        keys.emplace_back(row[c] / e, c);
      }
      std::partial_sort(keys.begin(), keys.begin() + num_samples, keys.end(), [](const auto& a, const auto& b) {
        return a.first > b.first || (a.first == b.first && a.second < b.second);
      });
      for (std::int64_t k = 0; k < num_samples; ++k) dst[k] = keys[static_cast<std::size_t>(k)].second;
    }
  }
  return out;
}

namespace detail {

namespace {
// The checks of the in-place ops (autograd/ops/inplace.cpp): a tensor the tape tracks is not changed in place
// while grad mode is on.
void check_fill_inplace(const Tensor& t, const char* op) {
  const auto& im = t.checked(op);
  if (!GradMode::is_enabled()) return;
  if (im.slot >= 0)
    fail("{}: in-place change of {}, a result recorded on the tape, is not supported; use the out-of-place op", op,
         describe(t));
  if (im.requires_grad)
    fail("{}: a leaf {} that requires grad is being used in an in-place operation; wrap it in ag::NoGradGuard", op,
         describe(t));
  if (im.grad_base_view)
    fail(
        "{}: {} is a view, made while grad mode was off, of a tensor that requires grad; change it under "
        "ag::NoGradGuard",
        op, describe(t));
}
// A non-contiguous view is filled through a contiguous buffer, copied in with copy_ (see Note: views).
template <class Fill>
Tensor fill_through(const Tensor& t, Fill fill) {
  Tensor tmp = empty(t.shape(), t.dtype());
  fill(tmp);
  Tensor target = t;
  target.copy_(tmp);
  return t;
}
}  // namespace

Tensor normal_impl(const Tensor& t, double mean, double std) {
  check_fill_inplace(t, "normal_");
  if (!(std >= 0.0) || !std::isfinite(std) || !std::isfinite(mean))
    fail("normal_: expects a finite mean and std >= 0, got mean={} std={} for {}", mean, std, describe(t));
  if (!t.is_contiguous()) return fill_through(t, [&](const Tensor& tmp) { normal_impl(tmp, mean, std); });
  std::lock_guard<std::mutex> lock(g_rng_mutex);
  dispatch_floating(t.dtype(), "normal_", [&]<class T>() {
    T* p = t.data<T>();
    for (std::int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<T>(mean + std * normal_locked());
  });
  t.bump_version();
  return t;
}

Tensor uniform_impl(const Tensor& t, double from, double to) {
  check_fill_inplace(t, "uniform_");
  if (!std::isfinite(from) || !std::isfinite(to) || from > to)
    fail("uniform_: expects a finite range [from, to) with from <= to, got from={} to={} for {}", from, to,
         describe(t));
  if (!std::isfinite(to - from))
    fail("uniform_: the range [from, to) = [{}, {}) is too wide for {}", from, to, describe(t));
  if (!t.is_contiguous()) return fill_through(t, [&](const Tensor& tmp) { uniform_impl(tmp, from, to); });
  std::lock_guard<std::mutex> lock(g_rng_mutex);
  dispatch_floating(t.dtype(), "uniform_", [&]<class T>() {
    T* p = t.data<T>();
    const T lo = static_cast<T>(from);
    const T hi = static_cast<T>(to);
    for (std::int64_t i = 0; i < t.numel(); ++i) {
      T v = static_cast<T>(from + (to - from) * uniform01_locked());
      if (v >= hi && hi > lo) v = std::nextafter(hi, lo);  // rounding to T may reach `to`: [from, to) stays half-open
      p[i] = v;
    }
  });
  t.bump_version();
  return t;
}

}  // namespace detail

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
    fail("set_rng_state: expected a state of {} bytes (from rng_state()), got {}", sizeof(std::mt19937_64),
         state.size());
  std::lock_guard<std::mutex> lock(g_rng_mutex);
  std::memcpy(static_cast<void*>(&g_rng), state.data(), sizeof(g_rng));
}

}  // namespace ag
