#include "nn/sequential.h"

namespace ag::nn {

Tensor SequentialImpl::forward(const Tensor& x) const {
  Tensor h = x;
  for (const auto& step : steps_) h = step(h);
  return h;
}

std::shared_ptr<Module> SequentialImpl::operator[](std::size_t i) const {
  if (i >= modules_.size()) fail("Sequential: index {} is out of range for {} modules", i, modules_.size());
  return modules_[i];
}

}  // namespace ag::nn
