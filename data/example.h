#pragma once
/// @file example.h
/// ag::data::Example: one sample of a dataset, its data and its target, as libtorch's
/// torch::data::Example. `Example<Tensor, example::NoTarget>` (TensorExample) has data only and
/// converts to its tensor.

#include <utility>

#include <autograd/tensor.h>

namespace ag::data {

/// A sample: `data` and its `target` (label).
template <typename Data = Tensor, typename Target = Tensor>
struct Example {
  using DataType = Data;
  using TargetType = Target;

  Example() = default;
  Example(Data data, Target target) : data(std::move(data)), target(std::move(target)) {}

  Data data;
  Target target;
};

namespace example {
/// The target type of an example without a target.
using NoTarget = void;
}  // namespace example

/// An example without a target (a TensorDataset's), implicitly made from and converted to its data.
template <typename Data>
struct Example<Data, example::NoTarget> {
  using DataType = Data;
  using TargetType = example::NoTarget;

  Example() = default;
  /* implicit */ Example(Data data) : data(std::move(data)) {}

  operator Data&() { return data; }
  operator const Data&() const { return data; }

  Data data;
};

/// An example of one tensor and no target.
using TensorExample = Example<Tensor, example::NoTarget>;

}  // namespace ag::data
