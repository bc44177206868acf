# The layering rules of the libraries, checked on every build (cmake/CheckLayering.cmake, run
# before autograd_core and autograd_nn compile) against the #include lines of their listed sources
# and headers. Paths are relative to the project root; an include is resolved the way the compiler
# would: "x.h" next to the including file first, otherwise from the project root.
#
# The layers, each built only on those before it:
#   storage, dtype, shapes, thread pool -> kernels (autograd/kernels/) -> tensor and tape
#   -> ops (autograd/ops/) -> gradient API (engine, custom functions, checkpoint, gradcheck, profiler)
#   -> data/ (datasets, samplers, data loader; on the public headers of autograd/ only)
#   -> nn/ (on the public headers of autograd/ and data/; <nn/nn.h> includes <data/data.h>)
#
# The public headers of autograd/ are those reachable from <autograd/autograd.h>; they are
# installed. The private ones are below (never installed, so no installed header may include them).
set(AG_PRIVATE_HEADERS [[^autograd/(kernels/.*|ops/util\.h)$]])

# ag_layering_rule(<name> FILES <regex> [FILES_EXCEPT <regex>] FORBID <regex> [EXCEPT <regex>]
#                  REASON <text>)
# A file whose path matches FILES (and not FILES_EXCEPT) may not include a path matching FORBID
# (unless it matches EXCEPT).

ag_layering_rule(core-not-nn
  FILES [[^autograd/]]
  FORBID [[^(nn|data)/]]
  REASON "the core library (autograd/) must not include nn/ or data/, which are built on top of it")

ag_layering_rule(data-not-nn
  FILES [[^data/]]
  FORBID [[^nn/]]
  REASON "data/ is below nn/ (nn links it and <nn/nn.h> includes <data/data.h>): what needs both, like the CSV dataset, is in nn/")

ag_layering_rule(kernels-below-tape
  FILES [[^autograd/kernels/]]
  FORBID [[^(autograd|nn)/]]
  EXCEPT [[^autograd/(kernels/[^/]+|shape\.h|parallel\.h|dtype\.h|error\.h)$]]
  REASON "kernels know nothing of tensors, the tape or the ops: they include other kernels and shape.h, parallel.h, dtype.h, error.h only")

ag_layering_rule(tape-below-ops
  FILES [[^autograd/(arena|device|dtype|error|scalar|grad_mode|intrusive_ptr|memory|parallel|shape|tensor|tape|forward_grad|factory|options)\.(h|cpp)$]]
  FORBID [[^autograd/(ops/.*|engine\.h|function\.h|checkpoint\.h|gradcheck\.h|profiler\.h|autograd\.h)$]]
  REASON "tensors and the tape are below the ops and the gradient API")

ag_layering_rule(ops-below-gradient-api
  FILES [[^autograd/ops/]]
  FORBID [[^autograd/(engine|function|checkpoint|gradcheck|autograd)\.h$]]
  REASON "the ops record on the tape, and the gradient API (engine, custom functions, checkpoint, gradcheck) is built on them")

ag_layering_rule(nn-public-headers-only
  FILES [[^nn/]]
  FORBID "${AG_PRIVATE_HEADERS}"
  REASON "nn/ is built on the public headers of autograd/ (those reachable from <autograd/autograd.h>), the kernels and ops/util.h are private")

ag_layering_rule(data-public-headers-only
  FILES [[^data/]]
  FORBID "${AG_PRIVATE_HEADERS}"
  REASON "data/ is built on the public headers of autograd/ (those reachable from <autograd/autograd.h>), the kernels and ops/util.h are private")

ag_layering_rule(public-headers-not-private
  FILES [[^(autograd|data|nn)/.*\.h$]]
  FILES_EXCEPT "${AG_PRIVATE_HEADERS}"
  FORBID "${AG_PRIVATE_HEADERS}"
  REASON "an installed (public) header must not include a private one, which is not installed")

ag_layering_rule(distributed-public-headers-only
  FILES [[^distributed/]]
  FORBID [[^(autograd/(kernels/.*|ops/util\.h)|nn/loss_detail\.h)$]]
  REASON "distributed/ is built on the public headers of autograd/ and nn/ only")

ag_layering_rule(distributed-mpi-private
  FILES [[^distributed/.*\.h$]]
  FILES_EXCEPT [[^distributed/mpi_util\.h$]]
  FORBID [[^distributed/mpi_util\.h$]]
  REASON "distributed/mpi_util.h is private (not installed): no public header of distributed/ may include it")

ag_layering_rule(below-distributed
  FILES [[^(autograd|nn)/]]
  FORBID [[^distributed/]]
  REASON "autograd/ and nn/ must not include distributed/, which is built on top of them (and only with MPI)")
