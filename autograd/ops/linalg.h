#pragma once
/// @file ops/linalg.h
/// Matrix products through BLAS.

#include "autograd/tensor.h"

namespace ag {

/// torch.matmul: 1-D/2-D products, and batched products (>= 3-D) with broadcast batch dims.
/// For C = A B:  dA = G B^T,  dB = A^T G  (summed over broadcast batch dims).
Tensor matmul(const Tensor& a, const Tensor& b);
/// 2-D product only (as torch::mm).
Tensor mm(const Tensor& a, const Tensor& b);
/// C = op(A) op(B) over the last two dims, op(X) = X^T (the last two dims swapped) when transpose_a /
/// transpose_b is set; both inputs >= 2-D, batch dims broadcast. The primitive behind matmul: its VJP
/// is written with itself, so no transposed copies are made.
Tensor matmul_transposed(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b);

}  // namespace ag
