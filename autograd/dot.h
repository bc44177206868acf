#pragma once
/// @file dot.h
/// The recorded graph as Graphviz DOT text, in torchviz's conventions (make_dot): one box per node,
/// leaves that require grad (AccumulateGrad) light blue and labelled with their parameter name and
/// shape, op nodes labelled with libtorch's node names (MulBackward0, AddmmBackward0, ...), the
/// outputs dark olive green with their shapes, an edge from each input's node to the node using it.
/// Render with `dot -Tsvg graph.dot -o graph.svg` (Graphviz). Example: examples/graph_dot.cpp.
#include <string>
#include <utility>
#include <vector>

#include "autograd/graph.h"
#include "autograd/tensor.h"

namespace ag::autograd {

/// DOT text of the graph behind `outputs` (each must be a recorded result or a leaf; the graph must
/// not have been freed by a backward without retain_graph). `named_parameters` names leaves; other
/// leaves get an empty name and their shape, as in torchviz. Saved tensors are not drawn.
std::string to_dot(const variable_list& outputs,
                   const std::vector<std::pair<std::string, Tensor>>& named_parameters = {});

/// The same with a dictionary of named parameters, e.g. nn::Module::named_parameters() (an
/// OrderedDict: anything whose elements have key() and value()).
template <class Dict>
requires requires(const Dict& d) {
  d.begin()->key();
  d.begin()->value();
}
std::string to_dot(const variable_list& outputs, const Dict& named_parameters) {
  std::vector<std::pair<std::string, Tensor>> named;
  for (const auto& item : named_parameters) named.emplace_back(item.key(), item.value());
  return to_dot(outputs, named);
}

}  // namespace ag::autograd
