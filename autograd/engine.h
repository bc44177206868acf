#pragma once
/// @file engine.h
/// The gradient API: backward() and ag::grad(), replaying the tape in reverse.

#include <optional>
#include <vector>

#include "autograd/tensor.h"

namespace ag {

/// Accumulates (+=) d(sum_i <outputs[i], grad_outputs[i]>)/d(leaf) into every reachable leaf's
/// .grad(). A scalar output may omit its grad_output (it is 1). Frees the nodes it used unless
/// retain_graph; create_graph records the backward pass itself (for higher derivatives).
void backward(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs = {},
              std::optional<bool> retain_graph = std::nullopt, bool create_graph = false);

/// Returns d(sum_i <outputs[i], grad_outputs[i]>)/d(inputs[j]) for each j, without touching any
/// .grad(). An input the outputs do not depend on is an ag::Error unless allow_unused (then its
/// result is undefined). retain_graph defaults to create_graph, as in libtorch.
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs = {},
                         std::optional<bool> retain_graph = std::nullopt, bool create_graph = false,
                         bool allow_unused = false);

}  // namespace ag
