#pragma once
/// @file optim_serialize.h
/// ag::optim::save / load: an optimizer's state in a safetensors file, so a run stops and resumes
/// bit-identically. The per-parameter tensors are named `state.<i>.<name>` (i: the parameter's index
/// over all groups, PyTorch's numbering; e.g. state.0.exp_avg, state.3.momentum_buffer,
/// state.0.old_dirs.4 for LBFGS) and `__metadata__` holds JSON strings: "optimizer" (the name),
/// "param_groups" (each group's lr, parameter indices and hyper-parameters), "params" (each
/// parameter's shape and dtype) and "state" (per-parameter numbers such as step). The parameters
/// themselves are not saved (nn::save does that).

#include <string>

#include "nn/optimizer.h"

namespace ag::optim {

/// Writes the optimizer's hyper-parameters, learning rates and state to `path`.
void save(const Optimizer& optimizer, const std::string& path);
/// Reads them back. A corrupt or truncated file, another optimizer's file, or one made for other
/// parameters (count, shapes, dtypes, groups) throws ag::Error and leaves the optimizer as it was.
void load(Optimizer& optimizer, const std::string& path);

}  // namespace ag::optim
