#pragma once
/// @file map.h
/// datasets::MapDataset: a dataset whose batches are another dataset's passed through a transform's
/// `apply_batch` (made by `dataset.map(transform)`), as libtorch's.

#include <cstddef>
#include <optional>
#include <utility>

#include "data/dataset.h"

namespace ag::data::datasets {

/// `source.get_batch(request)` transformed by `transform.apply_batch`.
template <typename SourceDataset, typename AppliedTransform>
class MapDataset
    : public BatchDataset<MapDataset<SourceDataset, AppliedTransform>, typename AppliedTransform::OutputBatchType,
                          typename SourceDataset::BatchRequestType> {
 public:
  using DatasetType = SourceDataset;
  using TransformType = AppliedTransform;
  using BatchRequestType = typename SourceDataset::BatchRequestType;
  using OutputBatchType = typename AppliedTransform::OutputBatchType;

  MapDataset(DatasetType dataset, TransformType transform)
      : dataset_(std::move(dataset)), transform_(std::move(transform)) {}

  /// The source's batch for `request`, transformed.
  OutputBatchType get_batch(BatchRequestType request) override {
    return transform_.apply_batch(dataset_.get_batch(std::move(request)));
  }
  /// The source's size.
  std::optional<std::size_t> size() const override { return dataset_.size(); }

  /// The source dataset.
  const SourceDataset& dataset() noexcept { return dataset_; }
  /// The transform.
  const AppliedTransform& transform() noexcept { return transform_; }

 private:
  SourceDataset dataset_;
  AppliedTransform transform_;
};

/// A MapDataset of `dataset` and `transform` (what `dataset.map(transform)` returns).
template <typename D, typename T>
MapDataset<D, T> map(D dataset, T transform) {
  return MapDataset<D, T>(std::move(dataset), std::move(transform));
}

}  // namespace ag::data::datasets
