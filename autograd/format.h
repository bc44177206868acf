#pragma once
/// @file format.h
/// fmt support: `fmt::format("{}", tensor)` prints as `operator<<` does (libtorch's layout).

#include <fmt/ostream.h>

#include "autograd/tensor.h"

template <>
struct fmt::formatter<ag::Tensor> : fmt::ostream_formatter {};
