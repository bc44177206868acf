#pragma once
/// @file kernels/fused.h
/// Row-wise loops of the fused ops (ops/fused.h) over contiguous row-major buffers: bias
/// broadcast and addition, the LSTM and GRU cells' gate math and softmax cross-entropy.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "autograd/kernels/elementwise.h"
#include "autograd/kernels/softmax.h"
#include "autograd/kernels/transcend.h"

namespace ag::kernels {

/// Each of the m rows of y [m, n] = b [n] (rows split over the pool from 2^20 values: a 10000-word
/// head's bias broadcast is 28 MB; a smaller copy is not worth a hand-over).
template <class T>
inline void fill_rows(T* y, const T* b, std::int64_t m, std::int64_t n) {
  constexpr std::int64_t kCopyGrain = std::int64_t{1} << 20;
  parallel_for(0, m, std::max<std::int64_t>(1, kCopyGrain / std::max<std::int64_t>(1, n)),
               [&](std::int64_t r0, std::int64_t r1) {
                 for (std::int64_t r = r0; r < r1; ++r) std::copy(b, b + n, y + r * n);
               });
}

enum class CellAct { Tanh, ReLU };

/// y += b1 + b2 row-wise on [m, n]; b1 and b2 ([n]) may be null.
template <class T>
inline void add_biases(T* y, const T* b1, const T* b2, std::int64_t m, std::int64_t n) {
  for (std::int64_t r = 0; r < m; ++r) {
    T* row = y + r * n;
    if (b1)
      for (std::int64_t j = 0; j < n; ++j) row[j] += b1[j];
    if (b2)
      for (std::int64_t j = 0; j < n; ++j) row[j] += b2[j];
  }
}

/// LSTM gates: pre [B, 4H] holds the pre-activations (order i, f, g, o). Writes their activations
/// (sigmoid, sigmoid, tanh, sigmoid) to act, c2 = f c + i g, tc = tanh(c2) and h2 = o tc.
template <class T>
inline void lstm_forward(const T* pre, T* act, const T* c, T* h2, T* c2, T* tc, std::int64_t batch,
                         std::int64_t hidden) {
  const std::int64_t g4 = 4 * hidden;
  for (std::int64_t r = 0; r < batch; ++r) {
    kernels::sigmoid(pre + r * g4, act + r * g4, 2 * hidden);
    kernels::tanh(pre + r * g4 + 2 * hidden, act + r * g4 + 2 * hidden, hidden);
    kernels::sigmoid(pre + r * g4 + 3 * hidden, act + r * g4 + 3 * hidden, hidden);
    const T* ar = act + r * g4;
    for (std::int64_t j = 0; j < hidden; ++j)
      c2[r * hidden + j] = ar[hidden + j] * c[r * hidden + j] + ar[j] * ar[2 * hidden + j];
  }
  kernels::tanh(c2, tc, batch * hidden);
  for (std::int64_t r = 0; r < batch; ++r)
    for (std::int64_t j = 0; j < hidden; ++j) h2[r * hidden + j] = act[r * g4 + 3 * hidden + j] * tc[r * hidden + j];
}

/// Backward of lstm_forward from the activated gates act [B, 4H], c, tc = tanh(c2) [B, H] and the
/// gradients dh2, dc2 [B, H]: dgates [B, 4H] (of the pre-activations) and dc [B, H]. The forward of
/// lstm_cell_backward (ops/fused.h), which gives the formula. (kernels/cells.cpp: compiled for the CPU.)
void lstm_backward(const float* act, const float* c, const float* tc, const float* dh2, const float* dc2, float* dgates,
                   float* dc, std::int64_t batch, std::int64_t hidden);
void lstm_backward(const double* act, const double* c, const double* tc, const double* dh2, const double* dc2,
                   double* dgates, double* dc, std::int64_t batch, std::int64_t hidden);

/// GRU gates (PyTorch's order r, z, n) from xg = x W_ih^T + b_ih and gh = h W_hh^T + b_hh [B, 3H]:
/// r = s(xg_r + gh_r), z = s(xg_z + gh_z), n = tanh(xg_n + r gh_n), h2 = (1 - z) n + z h. pre [B, 3H] is
/// scratch; ws [B, 4H] receives (r, z, n, gh_n) for gru_backward.
template <class T>
inline void gru_forward(const T* xg, const T* gh, const T* h, T* pre, T* h2, T* ws, std::int64_t batch,
                        std::int64_t hidden) {
  const std::int64_t H = hidden;
  for (std::int64_t r = 0; r < batch; ++r) {
    const T* xr = xg + r * 3 * H;
    const T* hr = gh + r * 3 * H;
    T* pr = pre + r * 3 * H;
    T* w = ws + r * 4 * H;
    for (std::int64_t j = 0; j < 2 * H; ++j) pr[j] = xr[j] + hr[j];
    kernels::sigmoid(pr, w, 2 * H);
    for (std::int64_t j = 0; j < H; ++j) {
      w[3 * H + j] = hr[2 * H + j];
      pr[2 * H + j] = xr[2 * H + j] + w[j] * hr[2 * H + j];
    }
    kernels::tanh(pr + 2 * H, w + 2 * H, H);
    for (std::int64_t j = 0; j < H; ++j) {
      const T z = w[H + j];
      h2[r * H + j] = (T(1) - z) * w[2 * H + j] + z * h[r * H + j];
    }
  }
}

/// Backward of gru_forward from ws, h and dh2 [B, H]: the gradients dxg, dgh [B, 3H] of the input and
/// hidden gates and the direct part dh = dh2 z of h's gradient (the rest is dgh W_hh). The forward of
/// gru_cell_backward (ops/fused.h), which gives the formula.
template <class T>
inline void gru_backward(const T* ws, const T* h, const T* dh2, T* dxg, T* dgh, T* dh, std::int64_t batch,
                         std::int64_t hidden) {
  const std::int64_t H = hidden;
  for (std::int64_t r = 0; r < batch; ++r) {
    const T* w = ws + r * 4 * H;
    T* dx = dxg + r * 3 * H;
    T* dg = dgh + r * 3 * H;
    for (std::int64_t j = 0; j < H; ++j) {
      const std::int64_t k = r * H + j;
      const T rg = w[j], z = w[H + j], n = w[2 * H + j], ghn = w[3 * H + j], g = dh2[k];
      const T an = g * (T(1) - z) * (T(1) - n * n);
      const T ar = an * ghn * rg * (T(1) - rg);
      const T az = g * (h[k] - n) * z * (T(1) - z);
      dx[j] = dg[j] = ar;
      dx[H + j] = dg[H + j] = az;
      dx[2 * H + j] = an;
      dg[2 * H + j] = an * rg;
      dh[k] = g * z;
    }
  }
}

/// Rows per chunk of the row-parallel softmax cross-entropy loops: about kGrainHeavy elements.
/// (No classes, N = 0: one row per chunk; the fuzzer's case.)
inline std::int64_t xent_row_grain(std::int64_t classes) {
  return std::max<std::int64_t>(1, kGrainHeavy / std::max<std::int64_t>(1, classes));
}

/// Per row n of z [N, C]: loss[n] = -log_softmax(z[n])[target[n]] = log(sum(exp(z[n] - m))) - (z[n, t] - m),
/// m the row's shift as in softmax_dim. stats [N, 2] (or null) receives (m, log(sum(exp(z[n] - m)))) per
/// row, from which softmax_xent_backward gets softmax(z[n]) = exp((z[n] - m) - log(sum)) in one pass.
template <class T>
inline void softmax_xent_forward(const T* z, const std::int64_t* target, T* loss, T* stats, std::int64_t rows,
                                 std::int64_t classes) {
  parallel_for(0, rows, xent_row_grain(classes), [&](std::int64_t r0, std::int64_t r1) {
    for (std::int64_t n = r0; n < r1; ++n) {
      const T* zr = z + n * classes;
      const T m = softmax_shift(row_max(zr, classes));
      // the row's exps dominate (a 10000-wide vocabulary); the next row's load overlaps them
      const T ls = std::log(sum_exp(zr, m, classes, n + 1 < r1 ? zr + classes : nullptr));
      loss[n] = ls - (zr[target[n]] - m);
      if (stats) {
        stats[2 * n] = m;
        stats[2 * n + 1] = ls;
      }
    }
  });
}

/// dz[n, k] = (softmax(z[n])[k] - [k == target[n]]) g[n]: the forward of softmax_cross_entropy_backward,
/// with softmax(z[n]) = exp((z[n] - m) - log(sum)) from stats (softmax_xent_forward's, for these z): one
/// exp per element. Without stats each row's are computed first, as the forward does: the same bits
/// either way.
template <class T>
inline void softmax_xent_backward(const T* z, const std::int64_t* target, const T* g, const T* stats, T* dz,
                                  std::int64_t rows, std::int64_t classes) {
  parallel_for(0, rows, xent_row_grain(classes), [&](std::int64_t r0, std::int64_t r1) {
    for (std::int64_t n = r0; n < r1; ++n) {
      const T* zr = z + n * classes;
      T* dr = dz + n * classes;
      T m, ls;
      if (stats) {
        m = stats[2 * n];
        ls = stats[2 * n + 1];
      } else {
        m = softmax_shift(row_max(zr, classes));
        ls = std::log(sum_exp(zr, m, classes));
      }
      exp_affine(zr, m, ls, g[n], dr, classes);
      dr[target[n]] -= g[n];
    }
  });
}

}  // namespace ag::kernels
