#pragma once
/// @file kernels/add_into.h
/// y[i] += x[i] on vectors compiled for the CPU at hand (the row loop of column sums, the engine's
/// in-place gradient accumulation). y and x do not overlap.

#include <cstdint>

namespace ag::kernels {

void add_into(float* y, const float* x, std::int64_t n);
void add_into(double* y, const double* x, std::int64_t n);

}  // namespace ag::kernels
