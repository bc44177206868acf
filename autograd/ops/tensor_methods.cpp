// Tensor's op methods: each forwards to the free function of the same name.
#include "autograd/ops/arith.h"
#include "autograd/ops/convert.h"
#include "autograd/ops/index.h"
#include "autograd/ops/linalg.h"
#include "autograd/ops/reduce.h"
#include "autograd/ops/shape_ops.h"
#include "autograd/ops/unary.h"

namespace ag {

Tensor Tensor::exp() const { return ag::exp(*this); }
Tensor Tensor::log() const { return ag::log(*this); }
Tensor Tensor::sqrt() const { return ag::sqrt(*this); }
Tensor Tensor::abs() const { return ag::abs(*this); }
Tensor Tensor::neg() const { return ag::neg(*this); }
Tensor Tensor::tanh() const { return ag::tanh(*this); }
Tensor Tensor::sigmoid() const { return ag::sigmoid(*this); }
Tensor Tensor::relu() const { return ag::relu(*this); }
Tensor Tensor::pow(double e) const { return ag::pow(*this, e); }
Tensor Tensor::sum() const { return ag::sum(*this); }
Tensor Tensor::sum(std::int64_t d, bool k) const { return ag::sum(*this, d, k); }
Tensor Tensor::mean() const { return ag::mean(*this); }
Tensor Tensor::mean(std::int64_t d, bool k) const { return ag::mean(*this, d, k); }
Tensor Tensor::matmul(const Tensor& o) const { return ag::matmul(*this, o); }
Tensor Tensor::mm(const Tensor& o) const { return ag::mm(*this, o); }
Tensor Tensor::t() const { return ag::t(*this); }
Tensor Tensor::transpose(std::int64_t a, std::int64_t b) const { return ag::transpose(*this, a, b); }
Tensor Tensor::reshape(const Shape& s) const { return ag::reshape(*this, s); }
Tensor Tensor::view(const Shape& s) const { return ag::view(*this, s); }
Tensor Tensor::flatten(std::int64_t s, std::int64_t e) const { return ag::flatten(*this, s, e); }
Tensor Tensor::squeeze() const { return ag::squeeze(*this); }
Tensor Tensor::squeeze(std::int64_t d) const { return ag::squeeze(*this, d); }
Tensor Tensor::unsqueeze(std::int64_t d) const { return ag::unsqueeze(*this, d); }
Tensor Tensor::expand(const Shape& s) const { return ag::expand(*this, s); }
Tensor Tensor::expand_as(const Tensor& o) const { return ag::expand(*this, o.shape()); }
Tensor Tensor::select(std::int64_t d, std::int64_t i) const { return ag::select(*this, d, i); }
Tensor Tensor::clamp(double lo, double hi) const { return ag::clamp(*this, lo, hi); }
Tensor Tensor::clone() const { return ag::clone(*this); }
Tensor Tensor::to(Dtype d) const { return ag::to(*this, d); }

}  // namespace ag
