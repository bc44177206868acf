#include "nn/mlp.h"

#include "nn/activation.h"
#include "nn/linear.h"

namespace ag::nn {

MLPImpl::MLPImpl(const MLPOptions& o) : Module("MLP"), options(o) {
  const auto& s = o.sizes();
  if (s.size() < 2) fail("MLP: needs at least an input and an output size, got {} sizes", s.size());
  for (std::size_t i = 0; i + 1 < s.size(); ++i) {
    layers->push_back(Linear(LinearOptions(s[i], s[i + 1]).bias(o.bias()).dtype(o.dtype())));
    if (i + 2 == s.size()) break;
    switch (o.activation()) {
      case Activation::ReLU:
        layers->push_back(ReLU());
        break;
      case Activation::Tanh:
        layers->push_back(Tanh());
        break;
      case Activation::Sigmoid:
        layers->push_back(Sigmoid());
        break;
      case Activation::LeakyReLU:
        layers->push_back(LeakyReLU());
        break;
      case Activation::Identity:
        break;
    }
  }
  register_module("layers", layers);
}

}  // namespace ag::nn
