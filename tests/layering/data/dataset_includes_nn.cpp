// Fixture of the layering_data_includes_nn test: a pretend data source that includes an nn header
// (data/ is below nn/). Never compiled; only its #include lines are read (cmake/CheckLayering.cmake).
#include <autograd/autograd.h>

#include "data/dataset.h"
#include "nn/csv.h"
