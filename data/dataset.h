#pragma once
/// @file dataset.h
/// The dataset bases, as libtorch's torch::data::datasets:
///  - `BatchDataset<Self, Batch, BatchRequest>`: yields a batch for a request (a list of indices);
///    `size()` (empty for an unsized dataset) and `map(transform)`;
///  - `Dataset<Self, Example>`: random access, `get(index)` and `size()` to override; its
///    `get_batch(indices)` calls `get` for each index.
/// A user's dataset derives with itself as `Self` (CRTP), so that `map` returns a MapDataset of the
/// derived type: `struct Mine : ag::data::datasets::Dataset<Mine> { ... };`.
/// A data loader with workers copies the dataset into each worker, so a dataset is copyable, and
/// its `get` may run on several threads at once (each on its own copy).

#include <cstddef>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "data/example.h"

namespace ag::data::datasets {

template <typename Source, typename Transform>
class MapDataset;
template <typename D, typename T>
MapDataset<D, T> map(D dataset, T transform);

/// A dataset that yields data in batches only.
template <typename Self, typename Batch = std::vector<Example<>>, typename BatchRequest = std::span<const std::size_t>>
class BatchDataset {
 public:
  using SelfType = Self;
  using BatchType = Batch;
  using BatchRequestType = BatchRequest;

  virtual ~BatchDataset() = default;

  /// The batch for a request (the examples at the given indices).
  virtual Batch get_batch(BatchRequest request) = 0;
  /// The number of examples, or empty for an unsized dataset.
  virtual std::optional<std::size_t> size() const = 0;

  /// A MapDataset applying `transform` to the batches of (a copy of) this dataset.
  template <typename TransformType>
  MapDataset<Self, TransformType> map(TransformType transform) & {
    return datasets::map(static_cast<Self&>(*this), std::move(transform));
  }
  /// A MapDataset applying `transform` to the batches of this dataset, moved into it.
  template <typename TransformType>
  MapDataset<Self, TransformType> map(TransformType transform) && {
    return datasets::map(std::move(static_cast<Self&>(*this)), std::move(transform));
  }
};

/// A dataset with random access: `get(index)` one example, `get_batch(indices)` several.
template <typename Self, typename SingleExample = Example<>>
class Dataset : public BatchDataset<Self, std::vector<SingleExample>> {
 public:
  using ExampleType = SingleExample;

  /// The example at `index` (0 <= index < size()).
  virtual ExampleType get(std::size_t index) = 0;

  /// The examples at `indices`, in their order: `get` for each.
  std::vector<ExampleType> get_batch(std::span<const std::size_t> indices) override {
    std::vector<ExampleType> batch;
    batch.reserve(indices.size());
    for (const auto i : indices) batch.push_back(get(i));
    return batch;
  }
};

}  // namespace ag::data::datasets
