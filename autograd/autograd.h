#pragma once
/// @file autograd.h
/// Umbrella header: everything a user of the tape-based autodiff engine needs.

#include "autograd/anomaly.h"          // IWYU pragma: export
#include "autograd/checkpoint.h"       // IWYU pragma: export
#include "autograd/device.h"           // IWYU pragma: export
#include "autograd/dot.h"              // IWYU pragma: export
#include "autograd/dtype.h"            // IWYU pragma: export
#include "autograd/engine.h"           // IWYU pragma: export
#include "autograd/error.h"            // IWYU pragma: export
#include "autograd/expanding_array.h"  // IWYU pragma: export
#include "autograd/factory.h"          // IWYU pragma: export
#include "autograd/format.h"           // IWYU pragma: export
#include "autograd/forward_ad.h"       // IWYU pragma: export
#include "autograd/forward_grad.h"     // IWYU pragma: export
#include "autograd/function.h"         // IWYU pragma: export
#include "autograd/functional.h"       // IWYU pragma: export
#include "autograd/grad_mode.h"        // IWYU pragma: export
#include "autograd/gradcheck.h"        // IWYU pragma: export
#include "autograd/graph.h"            // IWYU pragma: export
#include "autograd/ivalue.h"           // IWYU pragma: export
#include "autograd/memory.h"           // IWYU pragma: export
#include "autograd/ops/arith.h"        // IWYU pragma: export
#include "autograd/ops/compare.h"      // IWYU pragma: export
#include "autograd/ops/conv.h"         // IWYU pragma: export
#include "autograd/ops/convert.h"      // IWYU pragma: export
#include "autograd/ops/fused.h"        // IWYU pragma: export
#include "autograd/ops/index.h"        // IWYU pragma: export
#include "autograd/ops/indexing.h"     // IWYU pragma: export
#include "autograd/ops/linalg.h"       // IWYU pragma: export
#include "autograd/ops/masked.h"       // IWYU pragma: export
#include "autograd/ops/math.h"         // IWYU pragma: export
#include "autograd/ops/normalize.h"    // IWYU pragma: export
#include "autograd/ops/pool.h"         // IWYU pragma: export
#include "autograd/ops/reduce.h"       // IWYU pragma: export
#include "autograd/ops/scan_sort.h"    // IWYU pragma: export
#include "autograd/ops/shape_ops.h"    // IWYU pragma: export
#include "autograd/ops/softmax.h"      // IWYU pragma: export
#include "autograd/ops/unary.h"        // IWYU pragma: export
#include "autograd/parallel.h"         // IWYU pragma: export
#include "autograd/profiler.h"         // IWYU pragma: export
#include "autograd/scalar.h"           // IWYU pragma: export
#include "autograd/shape.h"            // IWYU pragma: export
#include "autograd/tape.h"             // IWYU pragma: export
#include "autograd/tensor.h"           // IWYU pragma: export
