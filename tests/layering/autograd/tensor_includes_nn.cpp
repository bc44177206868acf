// Fixture of the layering_core_includes_nn test: a pretend core source that includes nn/.
// Never compiled; only its #include lines are read (cmake/CheckLayering.cmake).
#include "autograd/tensor.h"
#include "nn/module.h"
