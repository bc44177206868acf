#pragma once
/// @file loss.h
/// Loss functions, composed from tape ops (no hand-derived gradient, except the fused
/// softmax_cross_entropy of cross_entropy's plain case), as torch::nn::functional. Also available
/// as ag::mse_loss etc. and as modules (nn::MSELoss, ...). Shapes must match exactly (libtorch
/// broadcasts some with a warning): a mismatch is an ag::Error naming the loss and both shapes.

#include <optional>

#include "nn/loss_options.h"
#include "nn/module.h"

namespace ag::nn {

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
/// -weight[t] input[n, t] with t = target[n], on log-probabilities [N, C] (or [C]) and int64 class
/// indices [N] (or 0-d) in [0, C) or equal to ignore_index (such a row gives 0). kMean divides the
/// sum by the sum of weight[t] over the rows not ignored (NaN when all are), as PyTorch. Also on
/// [N, C, d1, ..., dk] with targets [N, d1, ..., dk] (e.g. per pixel): every position is a row,
/// kNone returns [N, d1, ..., dk], kMean divides by the weights of all positions not ignored.
Tensor nll_loss(const Tensor& input, const Tensor& target, const NLLLossFuncOptions& options = {});
/// Cross-entropy on logits [N, C] (or [C], or [N, C, d1, ..., dk] with the class dim 1 and targets
/// [N, d1, ..., dk] or probabilities of the input's shape, as nll_loss). With int64 class indices [N] (or 0-d):
/// nll_loss(log_softmax(input)) with its weight, ignore_index and reduction, and with label_smoothing
/// e: (1 - e) that + e / C times the smoothing term -sum_c weight[c] log_softmax(input)[n, c] (0 on
/// ignored rows), reduced the same way (kMean: by the same denominator). The plain case (no weight,
/// no smoothing, no ignored row) is one fused op. With floating class probabilities [N, C] (same
/// dtype; ignore_index must stay negative): -sum_c weight[c] p[n, c] log_softmax(input)[n, c] with
/// p = (1 - e) target + e / C; kMean divides by N (by N d1 ... dk).
Tensor cross_entropy(const Tensor& input, const Tensor& target, const CrossEntropyFuncOptions& options = {});
/// With d = input - target: 0.5 d^2 / beta where |d| < beta, |d| - 0.5 beta elsewhere (beta = 0:
/// l1_loss). `beta`, when given, replaces options.beta() (libtorch's own overload).
Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, const SmoothL1LossFuncOptions& options = {},
                      std::optional<double> beta = std::nullopt);
/// With d = input - target: 0.5 d^2 where |d| < delta, delta (|d| - 0.5 delta) elsewhere.
Tensor huber_loss(const Tensor& input, const Tensor& target, const HuberLossFuncOptions& options = {});
/// Kullback-Leibler divergence on log-probabilities `input`: target (log target - input), 0 where
/// target = 0; with log_target, exp(target) (target - input). kBatchMean: the sum / input.size(0).
Tensor kl_div(const Tensor& input, const Tensor& target, const KLDivFuncOptions& options = {});
/// max(0, -target (input1 - input2) + margin); the three of one shape (target holds 1 or -1).
Tensor margin_ranking_loss(const Tensor& input1, const Tensor& input2, const Tensor& target,
                           const MarginRankingLossFuncOptions& options = {});
/// sum(x1 x2) / sqrt(max(|x1|^2, eps^2) max(|x2|^2, eps^2)) over dim, as PyTorch 1.13: the clamps
/// are outside the graph (the gradient is the unclamped formula's). x1 and x2 broadcast (as libtorch)
/// and share a floating dtype.
Tensor cosine_similarity(const Tensor& x1, const Tensor& x2, const CosineSimilarityFuncOptions& options = {});

}  // namespace functional

using functional::binary_cross_entropy;
using functional::binary_cross_entropy_with_logits;
using functional::cosine_similarity;
using functional::cross_entropy;
using functional::huber_loss;
using functional::kl_div;
using functional::l1_loss;
using functional::margin_ranking_loss;
using functional::mse_loss;
using functional::nll_loss;
using functional::smooth_l1_loss;

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

/// A loss with an options class as a module: forward(input, target) = F(input, target, options).
template <class Options, Tensor (*F)(const Tensor&, const Tensor&, const Options&)>
class OptionsLossImpl : public Module {
 public:
  explicit OptionsLossImpl(const Options& options = {}) : Module("Loss"), options(options) {}
  Tensor forward(const Tensor& input, const Tensor& target) const { return F(input, target, options); }
  Options options;
};

/// nll_loss as a module. As libtorch's, a defined options.weight() is registered as the buffer "weight"
/// (the member `weight`, converted by to()), which forward uses.
class NLLLossImpl : public Module {
 public:
  explicit NLLLossImpl(const NLLLossOptions& options = {});
  Tensor forward(const Tensor& input, const Tensor& target) const;
  NLLLossOptions options;
  Tensor weight;
};

/// cross_entropy as a module; its weight as NLLLossImpl's.
class CrossEntropyLossImpl : public Module {
 public:
  explicit CrossEntropyLossImpl(const CrossEntropyLossOptions& options = {});
  Tensor forward(const Tensor& input, const Tensor& target) const;
  CrossEntropyLossOptions options;
  Tensor weight;
};
using HuberLossImpl = OptionsLossImpl<HuberLossOptions, functional::huber_loss>;
using KLDivLossImpl = OptionsLossImpl<KLDivLossOptions, functional::kl_div>;

class SmoothL1LossImpl : public Module {
 public:
  explicit SmoothL1LossImpl(const SmoothL1LossOptions& options = {}) : Module("SmoothL1Loss"), options(options) {}
  Tensor forward(const Tensor& input, const Tensor& target) const {
    return functional::smooth_l1_loss(input, target, options);
  }
  SmoothL1LossOptions options;
};

/// forward(input1, input2, target).
class MarginRankingLossImpl : public Module {
 public:
  explicit MarginRankingLossImpl(const MarginRankingLossOptions& options = {})
      : Module("MarginRankingLoss"), options(options) {}
  Tensor forward(const Tensor& input1, const Tensor& input2, const Tensor& target) const {
    return functional::margin_ranking_loss(input1, input2, target, options);
  }
  MarginRankingLossOptions options;
};

/// forward(x1, x2) = cosine_similarity(x1, x2, options).
class CosineSimilarityImpl : public Module {
 public:
  explicit CosineSimilarityImpl(const CosineSimilarityOptions& options = {})
      : Module("CosineSimilarity"), options(options) {}
  Tensor forward(const Tensor& x1, const Tensor& x2) const { return functional::cosine_similarity(x1, x2, options); }
  CosineSimilarityOptions options;
};

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
#define AG_LOSS_HOLDER(Name)                                 \
  class Name : public ModuleHolder<Name##Impl> {             \
   public:                                                   \
    using ModuleHolder::ModuleHolder;                        \
    Name() : ModuleHolder(std::make_shared<Name##Impl>()) {} \
  };
AG_LOSS_HOLDER(SmoothL1Loss)
AG_LOSS_HOLDER(HuberLoss)
AG_LOSS_HOLDER(KLDivLoss)
AG_LOSS_HOLDER(MarginRankingLoss)
AG_LOSS_HOLDER(CosineSimilarity)
#undef AG_LOSS_HOLDER
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
using nn::functional::huber_loss;
using nn::functional::kl_div;
using nn::functional::l1_loss;
using nn::functional::margin_ranking_loss;
using nn::functional::mse_loss;
using nn::functional::nll_loss;
using nn::functional::smooth_l1_loss;
/// torch::Reduction::Sum etc. (ATen's reduction codes) name the same values here.
using Reduction = nn::Reduction;
/// ATen's form, as `torch::nll_loss(output, targets, /*weight=*/{}, torch::Reduction::Sum)` calls it:
/// weight undefined for all ones, targets equal to ignore_index skipped.
Tensor nll_loss(const Tensor& input, const Tensor& target, const Tensor& weight, Reduction reduction,
                std::int64_t ignore_index = -100);
/// libtorch's torch::cosine_similarity(x1, x2, dim, eps).
Tensor cosine_similarity(const Tensor& x1, const Tensor& x2, std::int64_t dim = 1, double eps = 1e-8);
}  // namespace ag
