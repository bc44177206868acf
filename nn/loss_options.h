#pragma once
/// @file loss_options.h
/// The reduction of a loss and the options of the losses that take more than a reduction, with
/// libtorch's names, defaults and chainable setters: `CrossEntropyLossOptions().ignore_index(0)
/// .label_smoothing(0.1)`, `F::SmoothL1LossFuncOptions().beta(0.5)`. Each options class with a
/// reduction also converts from one (`nn::NLLLoss(torch::kSum)`).

#include <cstdint>

#include "nn/module.h"

namespace ag::nn {

/// How a loss reduces over elements (libtorch's kMean, kSum, kNone; kBatchMean, the sum divided by
/// the batch size input.size(0), is kl_div's only).
enum class Reduction { Mean, Sum, None, BatchMean };

/// The name of a reduction as PyTorch spells it ("mean", "sum", "none", "batchmean").
const char* reduction_name(Reduction r);

// AG_LOSS_ARG(T, name, init): a member `name_` with the setter `name(v)` (returns the options, for
// chaining) and the getter `name()`, as libtorch's TORCH_ARG. Undefined at the end of this header.
#define AG_LOSS_ARG(T, name, init)          \
 public:                                    \
  auto& name(const T& v) {                  \
    name##_ = v;                            \
    return *this;                           \
  }                                         \
  const T& name() const { return name##_; } \
                                            \
 private:                                   \
  T name##_ = init;

/// nll_loss: per-class `weight` [C] (undefined: all 1), `ignore_index` (targets equal to it add
/// nothing, and nothing to the mean's denominator), `reduction`.
struct NLLLossOptions {
  NLLLossOptions(Reduction r = Reduction::Mean) : reduction_(r) {}  // NOLINT: implicit
  AG_LOSS_ARG(Tensor, weight, Tensor())
  AG_LOSS_ARG(std::int64_t, ignore_index, -100)
  AG_LOSS_ARG(Reduction, reduction, Reduction::Mean)
};

/// cross_entropy: as NLLLossOptions, plus `label_smoothing` in [0, 1]: the target becomes
/// (1 - label_smoothing) onehot + label_smoothing / C.
struct CrossEntropyLossOptions {
  CrossEntropyLossOptions(Reduction r = Reduction::Mean) : reduction_(r) {}  // NOLINT: implicit
  AG_LOSS_ARG(Tensor, weight, Tensor())
  AG_LOSS_ARG(std::int64_t, ignore_index, -100)
  AG_LOSS_ARG(Reduction, reduction, Reduction::Mean)
  AG_LOSS_ARG(double, label_smoothing, 0.0)
};

/// smooth_l1_loss: `beta` >= 0, where the loss turns from quadratic to linear (0: l1_loss).
struct SmoothL1LossOptions {
  SmoothL1LossOptions(Reduction r = Reduction::Mean) : reduction_(r) {}  // NOLINT: implicit
  AG_LOSS_ARG(Reduction, reduction, Reduction::Mean)
  AG_LOSS_ARG(double, beta, 1.0)
};

/// huber_loss: `delta` > 0, where the loss turns from quadratic to linear.
struct HuberLossOptions {
  HuberLossOptions(Reduction r = Reduction::Mean) : reduction_(r) {}  // NOLINT: implicit
  AG_LOSS_ARG(Reduction, reduction, Reduction::Mean)
  AG_LOSS_ARG(double, delta, 1.0)
};

/// kl_div: `reduction` (kBatchMean is the mathematical KL divergence of a batch), `log_target`
/// (the target holds log-probabilities).
struct KLDivLossOptions {
  KLDivLossOptions(Reduction r = Reduction::Mean) : reduction_(r) {}  // NOLINT: implicit
  AG_LOSS_ARG(Reduction, reduction, Reduction::Mean)
  AG_LOSS_ARG(bool, log_target, false)
};

/// margin_ranking_loss: `margin`, `reduction`.
struct MarginRankingLossOptions {
  MarginRankingLossOptions(Reduction r = Reduction::Mean) : reduction_(r) {}  // NOLINT: implicit
  AG_LOSS_ARG(double, margin, 0.0)
  AG_LOSS_ARG(Reduction, reduction, Reduction::Mean)
};

/// cosine_similarity: the `dim` reduced (default 1) and `eps`, the least norm divided by.
struct CosineSimilarityOptions {
  AG_LOSS_ARG(std::int64_t, dim, 1)
  AG_LOSS_ARG(double, eps, 1e-8)
};

#undef AG_LOSS_ARG

namespace functional {
using NLLLossFuncOptions = NLLLossOptions;
using CrossEntropyFuncOptions = CrossEntropyLossOptions;
using SmoothL1LossFuncOptions = SmoothL1LossOptions;
using HuberLossFuncOptions = HuberLossOptions;
using KLDivFuncOptions = KLDivLossOptions;
using MarginRankingLossFuncOptions = MarginRankingLossOptions;
using CosineSimilarityFuncOptions = CosineSimilarityOptions;
}  // namespace functional

}  // namespace ag::nn

namespace ag {
/// libtorch's reduction constants (torch::kMean, ...).
inline constexpr nn::Reduction kMean = nn::Reduction::Mean;
inline constexpr nn::Reduction kSum = nn::Reduction::Sum;
inline constexpr nn::Reduction kNone = nn::Reduction::None;
inline constexpr nn::Reduction kBatchMean = nn::Reduction::BatchMean;
}  // namespace ag
