#pragma once
/// @file loss.h
/// Loss functions, composed from tape ops (no hand-derived gradient), as torch::nn::functional.
/// Also available as ag::mse_loss etc. and as modules (nn::MSELoss, ...).

#include "nn/module.h"

namespace ag::nn {

/// How a loss reduces over elements (libtorch's kMean, kSum, kNone).
enum class Reduction { Mean, Sum, None };

namespace functional {

/// mean((input - target)^2). Shapes must be equal (libtorch broadcasts with a warning; here a
/// mismatch such as [N,1] vs [N] is an ag::Error rather than a silent [N,N] loss).
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);
/// mean(|input - target|) (MAE).
Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);
/// -(y log p + (1-y) log(1-p)) on probabilities p in [0, 1]; each log is clamped at -100 as libtorch.
/// The gradient is that of the clamped function: finite (0 from the clamped term) at p = 0 or 1.
Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);
/// The same on logits z, stable for any |z|: (1-y) z + softplus(-z).
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        Reduction reduction = Reduction::Mean);
/// -log_softmax(input)[target] on logits [N, C] (or [C]) with int64 class indices [N] (or 0-d).
Tensor nll_loss(const Tensor& log_probs, const Tensor& target, Reduction reduction = Reduction::Mean);
/// Cross-entropy on logits [N, C] (or [C]): with int64 class indices [N], nll_loss(log_softmax);
/// with floating class probabilities [N, C], -sum(target * log_softmax(input), 1).
Tensor cross_entropy(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);

}  // namespace functional

using functional::binary_cross_entropy;
using functional::binary_cross_entropy_with_logits;
using functional::cross_entropy;
using functional::l1_loss;
using functional::mse_loss;
using functional::nll_loss;

/// A loss as a module: forward(input, target).
template <Tensor (*F)(const Tensor&, const Tensor&, Reduction)>
class LossImpl : public Module {
 public:
  explicit LossImpl(Reduction reduction = Reduction::Mean) : Module("Loss"), reduction(reduction) {}
  Tensor forward(const Tensor& input, const Tensor& target) const { return F(input, target, reduction); }
  Reduction reduction;
};

using MSELossImpl = LossImpl<functional::mse_loss>;
using L1LossImpl = LossImpl<functional::l1_loss>;
using BCELossImpl = LossImpl<functional::binary_cross_entropy>;
using BCEWithLogitsLossImpl = LossImpl<functional::binary_cross_entropy_with_logits>;
using NLLLossImpl = LossImpl<functional::nll_loss>;
using CrossEntropyLossImpl = LossImpl<functional::cross_entropy>;

class MSELoss : public ModuleHolder<MSELossImpl> {
 public:
  using ModuleHolder::ModuleHolder;
  MSELoss() : ModuleHolder(std::make_shared<MSELossImpl>()) {}
};
class L1Loss : public ModuleHolder<L1LossImpl> {
 public:
  using ModuleHolder::ModuleHolder;
  L1Loss() : ModuleHolder(std::make_shared<L1LossImpl>()) {}
};
class BCELoss : public ModuleHolder<BCELossImpl> {
 public:
  using ModuleHolder::ModuleHolder;
  BCELoss() : ModuleHolder(std::make_shared<BCELossImpl>()) {}
};
class BCEWithLogitsLoss : public ModuleHolder<BCEWithLogitsLossImpl> {
 public:
  using ModuleHolder::ModuleHolder;
  BCEWithLogitsLoss() : ModuleHolder(std::make_shared<BCEWithLogitsLossImpl>()) {}
};
class NLLLoss : public ModuleHolder<NLLLossImpl> {
 public:
  using ModuleHolder::ModuleHolder;
  NLLLoss() : ModuleHolder(std::make_shared<NLLLossImpl>()) {}
};
class CrossEntropyLoss : public ModuleHolder<CrossEntropyLossImpl> {
 public:
  using ModuleHolder::ModuleHolder;
  CrossEntropyLoss() : ModuleHolder(std::make_shared<CrossEntropyLossImpl>()) {}
};

}  // namespace ag::nn

namespace ag {
using nn::functional::binary_cross_entropy;
using nn::functional::binary_cross_entropy_with_logits;
using nn::functional::cross_entropy;
using nn::functional::l1_loss;
using nn::functional::mse_loss;
using nn::functional::nll_loss;
}  // namespace ag
