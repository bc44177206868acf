// Fixture of the layering_kernel_includes_tape test: a pretend kernel that includes the tape.
// Never compiled; only its #include lines are read (cmake/CheckLayering.cmake).
#pragma once
#include <autograd/tape.h>
#include "autograd/kernels/elementwise.h"
