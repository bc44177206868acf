#pragma once
/// @file state_serialize.h
/// The rest of a training run's state in files, next to nn::save (weights) and optim::save
/// (optimizer): learning-rate schedulers (optim::save / optim::load, PyTorch's scheduler state_dict)
/// and samplers (data::samplers::save / load, libtorch's sampler save/load), so that a run stopped
/// mid-training resumes bit-identically. Each file is a safetensors file: the scheduler's numbers as
/// float64 tensors named as in SchedulerState (bit-exact, infinities included), or the sampler's
/// numbers as int64 tensors `values.<name>` and its order as `indices`; `__metadata__` holds the
/// format ("ag.lr_scheduler.v1", "ag.sampler.v1") and the class name (and a seeded RandomSampler's
/// generator). Loading a corrupt or truncated file, another class's state, or one saved for another
/// configuration (groups, hyper-parameters, dataset size, replicas...) throws ag::Error and leaves
/// the object as it was.
///
/// A run resumes bit-identically when everything that draws or carries state is restored: the
/// module (nn::save), the optimizer (optim::save), the scheduler and the sampler (here) and, when
/// anything draws from the global generator (dropout, a RandomSampler made without a seed),
/// ag::rng_state() saved and given back with ag::set_rng_state.

#include <string>

#include <data/samplers.h>

#include "nn/lr_scheduler.h"
#include "nn/reduce_lr_on_plateau.h"

namespace ag::optim {

/// Writes a scheduler's state (LRScheduler::state()) to `path`.
void save(const LRScheduler& scheduler, const std::string& path);
/// Reads it back into a scheduler of the same class made with the same hyper-parameters.
void load(LRScheduler& scheduler, const std::string& path);
/// The same for ReduceLROnPlateauScheduler.
void save(const ReduceLROnPlateauScheduler& scheduler, const std::string& path);
void load(ReduceLROnPlateauScheduler& scheduler, const std::string& path);

}  // namespace ag::optim

namespace ag::data::samplers {

/// Writes a sampler's state (its state()) to `path`.
void save(const SequentialSampler& sampler, const std::string& path);
void save(const RandomSampler& sampler, const std::string& path);
void save(const DistributedRandomSampler& sampler, const std::string& path);
void save(const DistributedSequentialSampler& sampler, const std::string& path);
/// Reads it back into a sampler of the same class and configuration (load_state()).
void load(SequentialSampler& sampler, const std::string& path);
void load(RandomSampler& sampler, const std::string& path);
void load(DistributedRandomSampler& sampler, const std::string& path);
void load(DistributedSequentialSampler& sampler, const std::string& path);

}  // namespace ag::data::samplers
