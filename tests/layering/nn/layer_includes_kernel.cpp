// Fixture of the layering_nn_includes_kernel test: a pretend nn source that includes a private
// kernel header of the core. Never compiled; only its #include lines are read
// (cmake/CheckLayering.cmake).
#include <autograd/autograd.h>

#include "autograd/kernels/blas.h"
#include "autograd/ops/fused.h"
