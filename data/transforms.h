#pragma once
/// @file transforms.h
/// ag::data::transforms, as libtorch's, applied with `dataset.map(transform)`:
///  - BatchTransform<In, Out>: `apply_batch(In) -> Out` on whole batches; Collation<Batch> turns a
///    vector of examples into one Batch;
///  - Transform<In, Out>: `apply(In) -> Out` on each example of a batch;
///  - Lambda<In, Out> / BatchLambda<Batch>: a function as a Transform / BatchTransform;
///  - TensorTransform<Target>: `operator()(Tensor) -> Tensor` on each example's data;
///    TensorLambda<Target> a function as one;
///  - Normalize<Target>(mean, stddev): (data - mean) / stddev;
///  - Stack<Example<>>, Stack<TensorExample>: the examples' data (and targets) stacked along a new
///    first dimension into one Example.

#include <functional>
#include <utility>
#include <vector>

#include <autograd/factory.h>
#include <autograd/ops/index.h>
#include <autograd/ops/shape_ops.h>
#include <autograd/tensor.h>

#include "data/example.h"

namespace ag::data::transforms {

/// Transforms a whole batch.
template <typename InputBatch, typename OutputBatch>
class BatchTransform {
 public:
  using InputBatchType = InputBatch;
  using OutputBatchType = OutputBatch;

  virtual ~BatchTransform() = default;
  /// The transformed batch.
  virtual OutputBatch apply_batch(InputBatch input_batch) = 0;
};

/// Transforms each example of a batch (a vector) with `apply`.
template <typename Input, typename Output>
class Transform : public BatchTransform<std::vector<Input>, std::vector<Output>> {
 public:
  using InputType = Input;
  using OutputType = Output;

  /// One transformed example.
  virtual OutputType apply(InputType input) = 0;

  /// `apply` on each example, in order.
  std::vector<Output> apply_batch(std::vector<Input> input_batch) override {
    std::vector<Output> output_batch;
    output_batch.reserve(input_batch.size());
    for (auto&& input : input_batch) output_batch.push_back(apply(std::move(input)));
    return output_batch;
  }
};

/// A BatchTransform from a vector of examples to one batch.
template <typename BatchType, typename T = std::vector<BatchType>>
using Collation = BatchTransform<T, BatchType>;

/// A function applied to whole batches.
template <typename Input, typename Output = Input>
class BatchLambda : public BatchTransform<Input, Output> {
 public:
  using FunctionType = std::function<Output(Input)>;
  explicit BatchLambda(FunctionType function) : function_(std::move(function)) {}
  Output apply_batch(Input input_batch) override { return function_(std::move(input_batch)); }

 private:
  FunctionType function_;
};

/// A function applied to each example.
template <typename Input, typename Output = Input>
class Lambda : public Transform<Input, Output> {
 public:
  using FunctionType = std::function<Output(Input)>;
  explicit Lambda(FunctionType function) : function_(std::move(function)) {}
  Output apply(Input input) override { return function_(std::move(input)); }

 private:
  FunctionType function_;
};

/// Transforms each example's data tensor (the target is passed through).
template <typename Target = Tensor>
class TensorTransform : public Transform<Example<Tensor, Target>, Example<Tensor, Target>> {
 public:
  using E = Example<Tensor, Target>;
  using typename Transform<E, E>::InputType;
  using typename Transform<E, E>::OutputType;

  /// The transformed data.
  virtual Tensor operator()(Tensor input) = 0;

  OutputType apply(InputType input) override {
    input.data = (*this)(std::move(input.data));
    return input;
  }
};

/// A function applied to each example's data tensor.
template <typename Target = Tensor>
class TensorLambda : public TensorTransform<Target> {
 public:
  using FunctionType = std::function<Tensor(Tensor)>;
  explicit TensorLambda(FunctionType function) : function_(std::move(function)) {}
  Tensor operator()(Tensor input) override { return function_(std::move(input)); }

 private:
  FunctionType function_;
};

/// (data - mean) / stddev. As libtorch's, mean and stddev are kept as float32 [C, 1, 1], one value
/// per channel of a [C, H, W] example (a single value broadcasts over any example of at most 3
/// dimensions). A float64 example is normalised with float64 copies (there is no type promotion).
template <typename Target = Tensor>
struct Normalize : public TensorTransform<Target> {
  /// One mean and standard deviation for all channels: `Normalize<>(0.1307, 0.3081)`.
  Normalize(double mean, double stddev) : Normalize(std::vector<double>{mean}, std::vector<double>{stddev}) {}
  /// One per channel: `Normalize<>({0.5, 0.5, 0.5}, {0.2, 0.2, 0.2})`.
  Normalize(const std::vector<double>& mean, const std::vector<double>& stddev)
      : mean(as_channels(mean, kFloat32)),
        stddev(as_channels(stddev, kFloat32)),
        mean64_(as_channels(mean, kFloat64)),
        stddev64_(as_channels(stddev, kFloat64)) {}

  Tensor operator()(Tensor input) override {
    if (input.dtype() == kFloat64) return input.sub(mean64_).div(stddev64_);
    return input.sub(mean).div(stddev);
  }

  Tensor mean, stddev;  ///< float32 [C, 1, 1]

 private:
  static Tensor as_channels(const std::vector<double>& v, Dtype dtype) {
    return ag::tensor(v, {static_cast<std::int64_t>(v.size()), 1, 1}, dtype);
  }
  Tensor mean64_, stddev64_;
};

template <typename T = Example<>>
struct Stack;

/// Stacks the data and the targets of a vector of examples: {stack(data), stack(targets)}.
template <>
struct Stack<Example<>> : public Collation<Example<>> {
  Example<> apply_batch(std::vector<Example<>> examples) override {
    std::vector<Tensor> data, targets;
    data.reserve(examples.size());
    targets.reserve(examples.size());
    for (auto& example : examples) {
      data.push_back(std::move(example.data));
      targets.push_back(std::move(example.target));
    }
    return {ag::stack(data), ag::stack(targets)};
  }
};

/// Stacks the data of a vector of target-less examples.
template <>
struct Stack<TensorExample> : public Collation<TensorExample> {
  TensorExample apply_batch(std::vector<TensorExample> examples) override {
    std::vector<Tensor> data;
    data.reserve(examples.size());
    for (auto& example : examples) data.push_back(std::move(example.data));
    return ag::stack(data);
  }
};

}  // namespace ag::data::transforms
