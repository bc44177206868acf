#pragma once
/// @file nn.h
/// Umbrella header of the nn layer: modules, losses, optimizers, recurrent nets, clipping and
/// weight files, schedulers and optimizer state files. Built only on the public headers of autograd/ and
/// data/; includes <autograd/autograd.h> and <data/data.h> (ag::data), so that, as with libtorch's
/// <torch/torch.h>, one header gives the whole library.

#include <autograd/autograd.h>  // IWYU pragma: export
#include <data/data.h>          // IWYU pragma: export

#include "nn/activation.h"            // IWYU pragma: export
#include "nn/adagrad.h"               // IWYU pragma: export
#include "nn/adam.h"                  // IWYU pragma: export
#include "nn/batchnorm.h"             // IWYU pragma: export
#include "nn/bptt.h"                  // IWYU pragma: export
#include "nn/clip_grad.h"             // IWYU pragma: export
#include "nn/conv.h"                  // IWYU pragma: export
#include "nn/csv.h"                   // IWYU pragma: export
#include "nn/csv_dataset.h"           // IWYU pragma: export
#include "nn/dropout.h"               // IWYU pragma: export
#include "nn/embedding.h"             // IWYU pragma: export
#include "nn/embedding_bag.h"         // IWYU pragma: export
#include "nn/flatten.h"               // IWYU pragma: export
#include "nn/init.h"                  // IWYU pragma: export
#include "nn/lbfgs.h"                 // IWYU pragma: export
#include "nn/linear.h"                // IWYU pragma: export
#include "nn/loss.h"                  // IWYU pragma: export
#include "nn/lr_scheduler.h"          // IWYU pragma: export
#include "nn/mlp.h"                   // IWYU pragma: export
#include "nn/module.h"                // IWYU pragma: export
#include "nn/normalization.h"         // IWYU pragma: export
#include "nn/one_cycle_lr.h"          // IWYU pragma: export
#include "nn/optim_serialize.h"       // IWYU pragma: export
#include "nn/optimizer.h"             // IWYU pragma: export
#include "nn/pooling.h"               // IWYU pragma: export
#include "nn/reduce_lr_on_plateau.h"  // IWYU pragma: export
#include "nn/reference_cells.h"       // IWYU pragma: export
#include "nn/rmsprop.h"               // IWYU pragma: export
#include "nn/rnn.h"                   // IWYU pragma: export
#include "nn/rnn_cell.h"              // IWYU pragma: export
#include "nn/sequential.h"            // IWYU pragma: export
#include "nn/serialize.h"             // IWYU pragma: export
#include "nn/sgd.h"                   // IWYU pragma: export
#include "nn/state_serialize.h"       // IWYU pragma: export
#include "nn/torch_check.h"           // IWYU pragma: export
