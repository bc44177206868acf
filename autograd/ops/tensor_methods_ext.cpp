// The libtorch method surface of Tensor: each method forwards to the free function of the same name,
// with libtorch's argument order and defaults.
#include "autograd/ops/arith.h"
#include "autograd/ops/compare.h"
#include "autograd/ops/convert.h"
#include "autograd/ops/index.h"
#include "autograd/ops/linalg.h"
#include "autograd/ops/masked.h"
#include "autograd/ops/math.h"
#include "autograd/ops/reduce.h"
#include "autograd/ops/scan_sort.h"
#include "autograd/ops/shape_ops.h"
#include "autograd/ops/softmax.h"
#include "autograd/ops/unary.h"

namespace ag {

Scalar Tensor::item() const {
  const auto& im = checked("item");
  if (im.dtype == kBool) return Scalar(item<bool>());
  if (im.dtype == kInt64 || im.dtype == kInt32) return Scalar(item<std::int64_t>());
  return Scalar(item<double>());
}

Tensor Tensor::add(const Tensor& o, double alpha) const { return ag::add(*this, alpha == 1.0 ? o : ag::mul(o, alpha)); }
Tensor Tensor::add(double o, double alpha) const { return ag::add(*this, o * alpha); }
Tensor Tensor::sub(const Tensor& o, double alpha) const { return ag::sub(*this, alpha == 1.0 ? o : ag::mul(o, alpha)); }
Tensor Tensor::sub(double o, double alpha) const { return ag::sub(*this, o * alpha); }
Tensor Tensor::mul(const Tensor& o) const { return ag::mul(*this, o); }
Tensor Tensor::mul(double o) const { return ag::mul(*this, o); }
Tensor Tensor::div(const Tensor& o) const { return ag::div(*this, o); }
Tensor Tensor::div(double o) const { return ag::div(*this, o); }
Tensor Tensor::square() const { return ag::square(*this); }

Tensor Tensor::mm(const Tensor& m) const { return ag::mm(*this, m); }
Tensor Tensor::bmm(const Tensor& m) const { return ag::bmm(*this, m); }
Tensor Tensor::addmm(const Tensor& m1, const Tensor& m2, double beta, double alpha) const {
  return ag::addmm(*this, m1, m2, beta, alpha);
}
Tensor Tensor::dot(const Tensor& o) const { return ag::dot(*this, o); }
Tensor Tensor::outer(const Tensor& v) const { return ag::outer(*this, v); }

Tensor Tensor::max() const { return ag::max(*this); }
std::tuple<Tensor, Tensor> Tensor::max(std::int64_t dim, bool keepdim) const {
  auto r = ag::max(*this, dim, keepdim);
  return {r.values, r.indices};
}
Tensor Tensor::max(const Tensor& o) const { return ag::maximum(*this, o); }
Tensor Tensor::min() const { return ag::min(*this); }
std::tuple<Tensor, Tensor> Tensor::min(std::int64_t dim, bool keepdim) const {
  auto r = ag::min(*this, dim, keepdim);
  return {r.values, r.indices};
}
Tensor Tensor::min(const Tensor& o) const { return ag::minimum(*this, o); }
Tensor Tensor::amax(std::int64_t dim, bool keepdim) const { return ag::amax(*this, dim, keepdim); }
Tensor Tensor::amin(std::int64_t dim, bool keepdim) const { return ag::amin(*this, dim, keepdim); }

namespace {
// argmax/argmin without a dim: of the flattened tensor; keepdim keeps every dim with size 1.
Tensor arg_all(const Tensor& x, Tensor r, bool keepdim) {
  return keepdim ? ag::reshape(r, Shape(x.shape().size(), 1)) : r;
}
}  // namespace

Tensor Tensor::argmax(std::optional<std::int64_t> dim, bool keepdim) const {
  return dim ? ag::argmax(*this, *dim, keepdim) : arg_all(*this, ag::argmax(*this), keepdim);
}
Tensor Tensor::argmin(std::optional<std::int64_t> dim, bool keepdim) const {
  return dim ? ag::argmin(*this, *dim, keepdim) : arg_all(*this, ag::argmin(*this), keepdim);
}
Tensor Tensor::softmax(std::int64_t dim) const { return ag::softmax(*this, dim); }
Tensor Tensor::log_softmax(std::int64_t dim) const { return ag::log_softmax(*this, dim); }
Tensor Tensor::logsumexp(std::int64_t dim, bool keepdim) const { return ag::logsumexp(*this, dim, keepdim); }

Tensor Tensor::norm(double p) const { return ag::norm(*this, p); }
Tensor Tensor::norm(double p, std::int64_t dim, bool keepdim) const { return ag::norm(*this, p, dim, keepdim); }
Tensor Tensor::norm(double p, const std::vector<std::int64_t>& dims, bool keepdim) const {
  return ag::norm(*this, p, dims, keepdim);
}
Tensor Tensor::sum(const std::vector<std::int64_t>& dims, bool keepdim) const { return ag::sum(*this, dims, keepdim); }
Tensor Tensor::mean(const std::vector<std::int64_t>& dims, bool keepdim) const {
  return ag::mean(*this, dims, keepdim);
}
Tensor Tensor::prod() const { return ag::prod(*this); }
Tensor Tensor::prod(std::int64_t dim, bool keepdim) const { return ag::prod(*this, dim, keepdim); }
Tensor Tensor::all() const { return ag::all(*this); }
Tensor Tensor::all(std::int64_t dim, bool keepdim) const { return ag::all(*this, dim, keepdim); }
Tensor Tensor::any() const { return ag::any(*this); }
Tensor Tensor::any(std::int64_t dim, bool keepdim) const { return ag::any(*this, dim, keepdim); }

template <std::same_as<bool> B>
Tensor Tensor::var(B unbiased) const {
  return ag::var(*this, unbiased);
}
template Tensor Tensor::var<bool>(bool) const;
Tensor Tensor::var(std::int64_t dim, bool unbiased, bool keepdim) const {
  return ag::var(*this, dim, unbiased, keepdim);
}
Tensor Tensor::var(std::optional<std::int64_t> dim, std::optional<double> correction, bool keepdim) const {
  return ag::var(*this, dim, correction, keepdim);
}
template <std::same_as<bool> B>
Tensor Tensor::std(B unbiased) const {
  return ag::std(*this, unbiased);
}
template Tensor Tensor::std<bool>(bool) const;
Tensor Tensor::std(std::int64_t dim, bool unbiased, bool keepdim) const {
  return ag::std(*this, dim, unbiased, keepdim);
}
Tensor Tensor::std(std::optional<std::int64_t> dim, std::optional<double> correction, bool keepdim) const {
  return ag::std(*this, dim, correction, keepdim);
}

Tensor Tensor::cumsum(std::int64_t dim) const { return ag::cumsum(*this, dim); }
Tensor Tensor::cumprod(std::int64_t dim) const { return ag::cumprod(*this, dim); }
std::tuple<Tensor, Tensor> Tensor::sort(std::int64_t dim, bool descending) const {
  return ag::sort(*this, dim, descending);
}
Tensor Tensor::argsort(std::int64_t dim, bool descending) const { return ag::argsort(*this, dim, descending); }
std::tuple<Tensor, Tensor> Tensor::topk(std::int64_t k, std::int64_t dim, bool largest, bool sorted) const {
  return ag::topk(*this, k, dim, largest, sorted);
}

Tensor Tensor::eq(const Tensor& o) const { return ag::eq(*this, o); }
Tensor Tensor::eq(double o) const { return ag::eq(*this, o); }
Tensor Tensor::ne(const Tensor& o) const { return ag::ne(*this, o); }
Tensor Tensor::ne(double o) const { return ag::ne(*this, o); }
Tensor Tensor::lt(const Tensor& o) const { return ag::lt(*this, o); }
Tensor Tensor::lt(double o) const { return ag::lt(*this, o); }
Tensor Tensor::le(const Tensor& o) const { return ag::le(*this, o); }
Tensor Tensor::le(double o) const { return ag::le(*this, o); }
Tensor Tensor::gt(const Tensor& o) const { return ag::gt(*this, o); }
Tensor Tensor::gt(double o) const { return ag::gt(*this, o); }
Tensor Tensor::ge(const Tensor& o) const { return ag::ge(*this, o); }
Tensor Tensor::ge(double o) const { return ag::ge(*this, o); }
Tensor Tensor::masked_fill(const Tensor& mask, double v) const { return ag::masked_fill(*this, mask, v); }
Tensor Tensor::masked_fill(const Tensor& mask, const Tensor& v) const { return ag::masked_fill(*this, mask, v); }
Tensor Tensor::where(const Tensor& c, const Tensor& o) const { return ag::where(c, *this, o); }
Tensor Tensor::where(const Tensor& c, double o) const { return ag::where(c, *this, o); }
Tensor Tensor::clamp_min(double lo) const { return ag::clamp_min(*this, lo); }
Tensor Tensor::clamp_max(double hi) const { return ag::clamp_max(*this, hi); }

Tensor Tensor::sin() const { return ag::sin(*this); }
Tensor Tensor::cos() const { return ag::cos(*this); }
Tensor Tensor::tan() const { return ag::tan(*this); }
Tensor Tensor::asin() const { return ag::asin(*this); }
Tensor Tensor::acos() const { return ag::acos(*this); }
Tensor Tensor::atan() const { return ag::atan(*this); }
Tensor Tensor::atan2(const Tensor& o) const { return ag::atan2(*this, o); }
Tensor Tensor::sinh() const { return ag::sinh(*this); }
Tensor Tensor::cosh() const { return ag::cosh(*this); }
Tensor Tensor::erf() const { return ag::erf(*this); }
Tensor Tensor::log1p() const { return ag::log1p(*this); }
Tensor Tensor::expm1() const { return ag::expm1(*this); }
Tensor Tensor::log2() const { return ag::log2(*this); }
Tensor Tensor::log10() const { return ag::log10(*this); }
Tensor Tensor::rsqrt() const { return ag::rsqrt(*this); }
Tensor Tensor::reciprocal() const { return ag::reciprocal(*this); }
Tensor Tensor::sign() const { return ag::sign(*this); }
Tensor Tensor::floor() const { return ag::floor(*this); }
Tensor Tensor::ceil() const { return ag::ceil(*this); }
Tensor Tensor::round() const { return ag::round(*this); }
Tensor Tensor::round(std::int64_t decimals) const { return ag::round(*this, decimals); }
Tensor Tensor::trunc() const { return ag::trunc(*this); }
Tensor Tensor::frac() const { return ag::frac(*this); }
Tensor Tensor::fmod(const Tensor& o) const { return ag::fmod(*this, o); }
Tensor Tensor::fmod(double o) const { return ag::fmod(*this, o); }
Tensor Tensor::remainder(const Tensor& o) const { return ag::remainder(*this, o); }
Tensor Tensor::remainder(double o) const { return ag::remainder(*this, o); }
Tensor Tensor::minimum(const Tensor& o) const { return ag::minimum(*this, o); }
Tensor Tensor::maximum(const Tensor& o) const { return ag::maximum(*this, o); }
Tensor Tensor::lerp(const Tensor& end, const Tensor& w) const { return ag::lerp(*this, end, w); }
Tensor Tensor::lerp(const Tensor& end, double w) const { return ag::lerp(*this, end, w); }
Tensor Tensor::addcmul(const Tensor& t1, const Tensor& t2, double v) const { return ag::addcmul(*this, t1, t2, v); }
Tensor Tensor::addcdiv(const Tensor& t1, const Tensor& t2, double v) const { return ag::addcdiv(*this, t1, t2, v); }
Tensor Tensor::index_select(std::int64_t dim, const Tensor& index) const { return ag::index_select(*this, dim, index); }
Tensor Tensor::gather(std::int64_t dim, const Tensor& index) const { return ag::gather(*this, dim, index); }
Tensor Tensor::type_as(const Tensor& other) const { return ag::to(*this, other.dtype()); }

Device Tensor::device() const {
  checked("device");
  return Device(kCPU);
}
Tensor Tensor::to(Device device) const {
  checked("to");
  check_cpu_device(device, "to");
  return *this;
}
Tensor Tensor::to(Device device, Dtype dtype) const {
  checked("to");
  check_cpu_device(device, "to");
  return ag::to(*this, dtype);
}
Tensor Tensor::cpu() const { return to(Device(kCPU)); }
Tensor Tensor::cuda() const { return to(Device(kCUDA)); }

}  // namespace ag
