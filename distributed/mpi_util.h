#pragma once
// Private to the distributed library (not installed): the group's communicator and the MPI types
// of our dtypes.

// MPI's C API only (the C++ bindings were deprecated in MPI 2.2 and removed in 3.0)
#ifndef OMPI_SKIP_MPICXX
#define OMPI_SKIP_MPICXX 1
#endif
#ifndef MPICH_SKIP_MPICXX
#define MPICH_SKIP_MPICXX 1
#endif
#include <mpi.h>

#include "autograd/tensor.h"

namespace ag::distributed::detail {

/// The group's communicator (an ag::Error naming `api` before init_process_group).
MPI_Comm comm(const char* api);
/// The MPI type of a float32, float64 or int64 tensor (an ag::Error naming `api` otherwise).
MPI_Datatype mpi_type(Dtype d, const char* api);
/// Throws an ag::Error naming `api` and MPI's message when `rc` is not MPI_SUCCESS.
void check_mpi(int rc, const char* api);
/// Waits for `request` (polling MPI_Test) within init_process_group's timeout; past it, prints
/// which call (`api`) waited on which rank and aborts the job (MPI_Abort), rather than hanging.
void wait(MPI_Request& request, const char* api);

}  // namespace ag::distributed::detail
