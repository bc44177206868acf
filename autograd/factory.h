#pragma once
/// @file factory.h
/// Creating tensors: from values, filled, ranges, random (seeded), from a user's buffer.

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "autograd/tensor.h"

namespace ag {

/// A tensor from values (row-major), converted to `dtype`. An empty shape means 1-D of all values.
/// A value count that does not match the shape, or a value int64 cannot hold, is an ag::Error.
Tensor tensor(std::initializer_list<double> values, const Shape& shape = {}, Dtype dtype = kFloat32);
Tensor tensor(const std::vector<double>& values, const Shape& shape = {}, Dtype dtype = kFloat32);
Tensor tensor(const std::vector<float>& values, const Shape& shape = {}, Dtype dtype = kFloat32);
Tensor tensor(const std::vector<std::int64_t>& values, const Shape& shape = {}, Dtype dtype = kInt64);
/// A 0-d tensor holding one value.
Tensor scalar_tensor(double value, Dtype dtype = kFloat32);
/// Copies `numel(shape)` elements of `dtype` from `data` (the caller keeps ownership).
Tensor from_buffer(const void* data, const Shape& shape, Dtype dtype);

Tensor zeros(const Shape& shape, Dtype dtype = kFloat32);
Tensor ones(const Shape& shape, Dtype dtype = kFloat32);
Tensor full(const Shape& shape, double value, Dtype dtype = kFloat32);
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
Tensor full_like(const Tensor& t, double value);
/// [start, end) in steps of `step`, as numpy.arange.
Tensor arange(double start, double end, double step = 1.0, Dtype dtype = kFloat32);
Tensor arange(double end, Dtype dtype = kFloat32);

/// Seeds the global generator used by rand, randn, randint and dropout: same seed, same numbers.
void manual_seed(std::uint64_t seed);
/// Uniform on [0, 1).
Tensor rand(const Shape& shape, Dtype dtype = kFloat32);
/// Standard normal.
Tensor randn(const Shape& shape, Dtype dtype = kFloat32);
/// Uniform integers in [low, high).
Tensor randint(std::int64_t low, std::int64_t high, const Shape& shape, Dtype dtype = kInt64);
/// Uniform on [lo, hi) / normal(mean, std) as doubles from the global generator.
double random_uniform(double lo = 0.0, double hi = 1.0);
double random_normal(double mean = 0.0, double std = 1.0);
/// The global generator's state as opaque bytes; set_rng_state(s) makes it draw the same numbers
/// again (ag::checkpoint replays dropout masks so). Bytes of another size are an ag::Error.
std::string rng_state();
void set_rng_state(const std::string& state);

}  // namespace ag
