#pragma once
/// @file distributed.h
/// The distributed part of autograd (component autograd::distributed, built with AG_WITH_MPI):
/// collectives over MPI (ag::distributed) and data-parallel training
/// (ag::nn::parallel::DistributedDataParallel). Run the program with mpirun.

#include "distributed/distributed_data_parallel.h"
#include "distributed/process_group.h"
