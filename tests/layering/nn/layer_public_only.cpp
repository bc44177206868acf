// Fixture of the layering_nn_public_only test: a pretend nn source on public headers only, which
// the check accepts. Never compiled; only its #include lines are read (cmake/CheckLayering.cmake).
#include <autograd/autograd.h>

#include "autograd/ops/fused.h"
#include "nn/module.h"
// #include "autograd/kernels/blas.h" (a comment, not an include)
