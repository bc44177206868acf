// libFuzzer target: bytes -> a sequence of op calls on a small pool of tensors of random shapes
// and dtypes (including 0-d, empty and size-1 dims), with out-of-range dims and indices, in-place
// ops, grad mode toggles and backward/grad calls. Every call must return a result or throw
// ag::Error: anything else (another exception, a crash, a sanitizer report, a leak) is a finding.
#include <cmath>
#include <cstdint>
#include <exception>
#include <limits>
#include <optional>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>

#include <autograd/autograd.h>
#include "nn/loss.h"

using namespace ag;

namespace {

constexpr std::size_t kPool = 8;
constexpr std::int64_t kMaxNumel = 1 << 12;  // keeps every legitimate allocation small

struct Fuzz {
  FuzzedDataProvider& in;
  std::vector<Tensor> pool;

  Dtype dtype() { return static_cast<Dtype>(in.ConsumeIntegralInRange<int>(0, 2)); }

  /// Small dims mostly; a few special values to probe validation (negative, overflowing).
  std::int64_t dim_size() {
    const auto b = in.ConsumeIntegral<std::uint8_t>();
    if (b < 240) return b % 5;
    static const std::int64_t special[] = {-1,
                                           -2,
                                           -3,
                                           std::numeric_limits<std::int64_t>::max(),
                                           std::int64_t(1) << 32,
                                           std::int64_t(1) << 62,
                                           std::numeric_limits<std::int64_t>::min(),
                                           7};
    return special[b % 8];
  }
  Shape shape(int max_rank = 4) {
    Shape s(static_cast<std::size_t>(in.ConsumeIntegralInRange<int>(0, max_rank)));
    for (auto& d : s) d = dim_size();
    return s;
  }
  /// True when this shape is legitimate but too big to try: its non-zero sizes multiply to more
  /// than kMaxNumel (an empty [0, 2^32] is bounded too, since reducing its dim 0 gives 2^32
  /// elements). Negative or overflowing shapes are not "too big": the library must refuse them.
  static bool too_big(const Shape& s) {
    __int128 n = 1;
    for (auto d : s) {
      if (d < 0) return false;
      if (d == 0) continue;
      n *= d;
      if (n > (__int128(1) << 64)) return false;
    }
    return n > kMaxNumel;
  }
  std::int64_t index() {
    const auto b = in.ConsumeIntegral<std::int8_t>();
    if (b == -128) return std::numeric_limits<std::int64_t>::min();
    if (b == 127) return std::numeric_limits<std::int64_t>::max();
    return b % 8;
  }
  double scalar() {
    switch (in.ConsumeIntegralInRange<int>(0, 9)) {
      case 0:
        return std::numeric_limits<double>::quiet_NaN();
      case 1:
        return std::numeric_limits<double>::infinity();
      case 2:
        return -std::numeric_limits<double>::infinity();
      case 3:
        return 1e300;
      case 4:
        return 0.0;
      default:
        return static_cast<double>(in.ConsumeIntegralInRange<int>(-8, 8)) * 0.5;
    }
  }
  Tensor& pick() { return pool[in.ConsumeIntegralInRange<std::size_t>(0, pool.size() - 1)]; }

  Tensor make() {
    const Shape s = shape();
    if (too_big(s)) return zeros({2}, kFloat64);
    const Dtype dt = dtype();
    switch (in.ConsumeIntegralInRange<int>(0, 5)) {
      case 0:
        return full(s, scalar(), dt);
      case 1:
        return arange(scalar(), scalar(), scalar(), dt);
      case 2:
        return randn(s, dt);
      case 3: {
        std::vector<double> v(in.ConsumeIntegralInRange<std::size_t>(0, 16));
        for (auto& x : v) x = scalar();
        return tensor(v, s, dt);
      }
      case 4:
        return randint(index(), index(), s);
      default: {
        Tensor t = randn(s, dt == kInt64 ? kFloat64 : dt);
        if (in.ConsumeBool()) t.requires_grad_();
        return t;
      }
    }
  }

  void add(const Tensor& t) {
    if (!t.defined() || too_big(t.shape())) return;
    if (pool.size() < kPool) pool.push_back(t);
    else pool[in.ConsumeIntegralInRange<std::size_t>(0, kPool - 1)] = t;
  }

  void step() {
    Tensor& a = pick();
    const Tensor& b = pick();
    const int op = in.ConsumeIntegralInRange<int>(0, 79);
    switch (op) {
      case 0:
        add(make());
        break;
      case 1:
        add(a + b);
        break;
      case 2:
        add(a - b);
        break;
      case 3:
        add(a * b);
        break;
      case 4:
        add(a / b);
        break;
      case 5:
        add(a * scalar());
        break;
      case 6:
        add(scalar() - a);
        break;
      case 7:
        add(pow(a, scalar()));
        break;
      case 8:
        add(exp(a));
        break;
      case 9:
        add(log(a));
        break;
      case 10:
        add(sqrt(a));
        break;
      case 11:
        add(abs(a));
        break;
      case 12:
        add(sigmoid(a));
        break;
      case 13:
        add(tanh(a));
        break;
      case 14:
        add(relu(a));
        break;
      case 15:
        add(softplus(a, scalar(), scalar()));
        break;
      case 16:
        add(clamp(a, scalar(), scalar()));
        break;
      case 17:
        add(sum(a));
        break;
      case 18:
        add(sum(a, index(), in.ConsumeBool()));
        break;
      case 19:
        add(mean(a, index(), in.ConsumeBool()));
        break;
      case 20: {
        auto r = max(a, index(), in.ConsumeBool());
        add(r.values);
        add(r.indices);
        break;
      }
      case 21:
        add(max(a));
        break;
      case 22:
        add(amin(a, index(), in.ConsumeBool()));
        break;
      case 23:
        add(argmax(a, index(), in.ConsumeBool()));
        break;
      case 24:
        add(logsumexp(a, index(), in.ConsumeBool()));
        break;
      case 25:
        add(softmax(a, index()));
        break;
      case 26:
        add(log_softmax(a, index()));
        break;
      case 27:
        add(matmul(a, b));
        break;
      case 28:
        add(mm(a, b));
        break;
      case 29:
        add(matmul_transposed(a, b, in.ConsumeBool(), in.ConsumeBool()));
        break;
      case 30: {
        const Shape s = shape();
        if (!too_big(s)) add(reshape(a, s));
        break;
      }
      case 31:
        add(flatten(a, index(), index()));
        break;
      case 32:
        add(squeeze(a, index()));
        break;
      case 33:
        add(unsqueeze(a, index()));
        break;
      case 34:
        add(transpose(a, index(), index()));
        break;
      case 35:
        add(permute(a, shape()));
        break;
      case 36: {
        const Shape s = shape();
        if (!too_big(s)) add(expand(a, s));
        break;
      }
      case 37: {
        const Shape s = shape();
        if (!too_big(s)) add(broadcast_to(a, s));
        break;
      }
      case 38:
        add(sum_to(a, shape()));
        break;
      case 39:
        add(select(a, index(), index()));
        break;
      case 40:
        add(slice(a, index(), index(), index(), index()));
        break;
      case 41:
        add(narrow(a, index(), index(), index()));
        break;
      case 42:
        add(index_select(a, index(), b));
        break;
      case 43:
        add(gather(a, index(), b));
        break;
      case 44:
        add(cat({a, b}, index()));
        break;
      case 45:
        add(stack({a, b}, index()));
        break;
      case 46:
        add(where(a, b, pick()));
        break;
      case 47:
        add(lt(a, b));
        break;
      case 48:
        add(a.to(dtype()));
        break;
      case 49:
        add(a.clone());
        break;
      case 50:
        add(a.detach());
        break;
      case 51:
        a.requires_grad_(in.ConsumeBool());
        break;
      case 52:
        a.add_(b, scalar());
        break;
      case 53:
        a.mul_(b);
        break;
      case 54:
        a.copy_(b);
        break;
      case 55:
        a.zero_();
        break;
      case 56:
        GradMode::set_enabled(!GradMode::is_enabled());
        break;
      case 57:
        a.backward(in.ConsumeBool() ? Tensor() : b, in.ConsumeBool(), in.ConsumeBool());
        break;
      case 58: {
        auto gs = grad({a}, {b}, {}, std::nullopt, in.ConsumeBool(), in.ConsumeBool());
        for (const auto& g : gs) add(g);
        break;
      }
      case 59:
        add(a.grad());
        break;
      case 60:
        add(nn::cross_entropy(a, b));
        break;
      case 61:
        add(nn::binary_cross_entropy_with_logits(a, b, nn::Reduction::None));
        break;
      case 62:
        add(nn::mse_loss(a, b, nn::Reduction::Sum));
        break;
      // strided views (Note: views) and in-place writes through them
      case 64:
        add(diagonal(a, index(), index(), index()));
        break;
      case 65:
        add(unfold(a, index(), index(), index()));
        break;
      case 66:
        add(as_strided(a, shape(3), shape(3), in.ConsumeBool() ? std::optional<std::int64_t>(index()) : std::nullopt));
        break;
      case 67:
        add(slice(a, index(), index(), index(), index()));
        break;
      case 68:
        add(a.contiguous());
        break;
      case 69:
        transpose(a, index(), index()).fill_(static_cast<double>(index()));
        break;
      case 70:
        select(a, index(), index()).copy_(b);
        break;
      case 71:
        narrow(a, index(), index(), index()).add_(b);
        break;
      // convolution and pooling: kernel, stride, padding and dilation from index() (negative, huge)
      case 72:
        add(conv2d(a, b, in.ConsumeBool() ? Tensor() : pick(), {index(), index()}, {index(), index()},
                   {index(), index()}, index()));
        break;
      case 73:
        add(conv1d(a, b, Tensor(), index(), index(), index(), index()));
        break;
      case 74: {
        auto [y, i] = max_pool2d_with_indices(a, {index(), index()}, {index(), index()}, {index(), index()},
                                              {index(), index()}, in.ConsumeBool());
        add(y);
        add(i);
        break;
      }
      case 75:
        add(max_pool1d(a, index(), index(), index(), index(), in.ConsumeBool()));
        break;
      case 76:
        add(avg_pool2d(a, {index(), index()}, {index(), index()}, {index(), index()}, in.ConsumeBool(),
                       in.ConsumeBool()));
        break;
      case 77:
        add(adaptive_avg_pool2d(a, {index(), index()}));
        break;
      case 78:
        add(in.ConsumeBool() ? im2col(a, {index(), index()}, {index(), index()}, {index(), index()}, {index(), index()})
                             : col2im(a, {index(), index()}, {index(), index()}, {index(), index()}, {index(), index()},
                                      {index(), index()}));
        break;
      default:
        a.retain_grad();
        break;
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  manual_seed(in.ConsumeIntegral<std::uint8_t>());
  {
    Fuzz f{in, {}};
    for (int i = 0; i < 2; ++i) {
      try {
        f.add(f.make());
      } catch (const Error&) {
      }
    }
    if (f.pool.empty()) f.add(zeros({2, 3}, kFloat64).requires_grad_());
    for (int i = 0; i < 64 && in.remaining_bytes() > 0; ++i) {
      try {
        f.step();
      } catch (const Error&) {
        // misuse is reported as ag::Error: fine; anything else escapes and libFuzzer reports it
      }
    }
    GradMode::set_enabled(true);
  }
  Tape::current().reset();
  return 0;
}
