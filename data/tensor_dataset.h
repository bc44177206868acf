#pragma once
/// @file tensor_dataset.h
/// In-memory datasets over tensors whose first dimension indexes the examples:
///  - datasets::TensorDataset(tensor), as libtorch's: example i is `tensor[i]`, with no target
///    (a TensorExample);
///  - datasets::TensorPairDataset(data, targets) (not in libtorch; PyTorch's Python
///    TensorDataset(x, y)): example i is {data[i], targets[i]}, an Example<>.
/// The examples are views of the tensors (no copy); transforms::Stack copies them into a batch.

#include <cstddef>
#include <optional>
#include <vector>

#include <autograd/tensor.h>

#include "data/dataset.h"

namespace ag::data::datasets {

/// Example i is `tensor[i]`; the size is tensor.size(0).
struct TensorDataset : public Dataset<TensorDataset, TensorExample> {
  /// The tensors stacked along a new first dimension.
  explicit TensorDataset(const std::vector<Tensor>& tensors);
  /// `tensor`'s first dimension indexes the examples (a 0-d tensor is an ag::Error).
  explicit TensorDataset(Tensor tensor);

  TensorExample get(std::size_t index) override;
  std::optional<std::size_t> size() const override;

  Tensor tensor;
};

/// Example i is {data[i], targets[i]}; data and targets have the same size in their first dimension.
struct TensorPairDataset : public Dataset<TensorPairDataset> {
  /// An ag::Error when either is 0-d or their first sizes differ.
  TensorPairDataset(Tensor data, Tensor targets);

  Example<> get(std::size_t index) override;
  std::optional<std::size_t> size() const override;

  Tensor data;
  Tensor targets;
};

}  // namespace ag::data::datasets
