#pragma once
/// @file data.h
/// Umbrella header of ag::data, the data pipeline, as libtorch's torch::data: datasets, transforms,
/// samplers and the data loader. Built only on the public headers of autograd/; <nn/nn.h> includes
/// it. The CSV dataset (datasets::CSV, built on nn::read_csv) is in <nn/csv_dataset.h>, since nn is
/// the layer above data.
///
///     auto dataset = ag::data::datasets::MNIST("mnist")
///                        .map(ag::data::transforms::Normalize<>(0.1307, 0.3081))
///                        .map(ag::data::transforms::Stack<>());
///     auto loader = ag::data::make_data_loader(std::move(dataset),
///                                              ag::data::DataLoaderOptions().batch_size(64).workers(2));
///     for (auto& batch : *loader) { /* batch.data [64, 1, 28, 28], batch.target [64] */ }

#include "data/dataloader.h"          // IWYU pragma: export
#include "data/dataloader_options.h"  // IWYU pragma: export
#include "data/dataset.h"             // IWYU pragma: export
#include "data/example.h"             // IWYU pragma: export
#include "data/iterator.h"            // IWYU pragma: export
#include "data/map.h"                 // IWYU pragma: export
#include "data/mnist.h"               // IWYU pragma: export
#include "data/samplers.h"            // IWYU pragma: export
#include "data/tensor_dataset.h"      // IWYU pragma: export
#include "data/transforms.h"          // IWYU pragma: export
