#pragma once
/// @file process_group.h
/// Collectives across processes over MPI (names after torch.distributed): one process group, the
/// processes mpirun started. Float32, float64 and int64 tensors.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "autograd/tensor.h"

namespace ag::distributed {

/// The reduction of all_reduce.
enum class ReduceOp { Sum, Avg, Max, Min };

/// Initializes MPI (MPI_Init_thread requesting MPI_THREAD_SERIALIZED: the collectives may be called
/// from any thread, one at a time) unless the program already did, and makes the process group of
/// all its processes. `backend` must be "mpi". An ag::Error when MPI cannot give SERIALIZED, or
/// when the group is already initialized. `timeout` (as torch.distributed's, 30 minutes by
/// default) bounds every wait for a collective, here and in DistributedDataParallel: a rank
/// waiting longer (another rank failed, exited or took another path) prints which call waited
/// and aborts the whole job (MPI_Abort), rather than hanging.
void init_process_group(const std::string& backend = "mpi",
                        std::chrono::milliseconds timeout = std::chrono::minutes(30));
/// Whether init_process_group was called (and destroy_process_group not since).
bool is_initialized();
/// This process's rank in the group, 0 .. get_world_size() - 1.
int get_rank();
/// The number of processes in the group.
int get_world_size();
/// Blocks until every process reached it.
void barrier();
/// Reduces `t` (contiguous, in place) over every process, which all get the result. Every rank must
/// pass a tensor of the same dtype and element count: a mismatch is an ag::Error on every rank (a
/// small all-reduce of the sizes runs first), never a hang or a silent truncation. Avg is for
/// floating tensors. The reduction order is fixed (MPI's algorithm for the size and world size).
void all_reduce(Tensor& t, ReduceOp op = ReduceOp::Sum);
/// Copies rank `src`'s `t` (contiguous, in place) to every rank (the same checks as all_reduce).
void broadcast(Tensor& t, int src = 0);
/// outputs[r] = rank r's `t`, on every rank (`outputs` is resized to the world size; the checks of
/// all_reduce, and the shapes must match too).
void all_gather(std::vector<Tensor>& outputs, const Tensor& t);
/// Ends the process group, and MPI when init_process_group started it.
void destroy_process_group();

namespace detail {
/// An ag::Error on every rank unless every rank passed the same `values` (compared with one
/// all-reduce of their maxima and minima); `what` names the call and the values in the message.
void check_same_across_ranks(const char* api, const std::vector<std::int64_t>& values, const std::string& what);
}  // namespace detail

}  // namespace ag::distributed
