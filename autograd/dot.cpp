// to_dot (dot.h): a depth-first walk over the grad_fn() handles of graph.h, as torchviz's make_dot
// walks grad_fn.next_functions; node ids are numbered in visiting order so the text is deterministic.
#include "autograd/dot.h"

#include <fmt/format.h>

#include <map>
#include <unordered_map>

#include "autograd/error.h"

namespace ag::autograd {
namespace {

std::string shape_text(const Shape& s) {
  std::string out = "(";
  for (std::size_t i = 0; i < s.size(); ++i) out += fmt::format("{}{}", i ? ", " : "", s[i]);
  return out + ")";
}

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

class DotWriter {
 public:
  explicit DotWriter(const std::vector<std::pair<std::string, Tensor>>& named) {
    for (const auto& [name, t] : named)
      if (t.defined()) names_.emplace(t.impl_ptr().get(), name);
  }

  std::string write(const variable_list& outputs) {
    for (std::size_t i = 0; i < outputs.size(); ++i) {
      const Tensor& y = outputs[i];
      if (!y.defined()) fail("to_dot: output {} is an undefined tensor", i);
      const std::string id = fmt::format("out{}", i);
      body_ += fmt::format("\t{} [label={} fillcolor=darkolivegreen1]\n", id, quoted(var_label(y)));
      if (const auto fn = y.grad_fn()) {
        if (!fn->is_alive())
          fail("to_dot: the graph behind output {} ({}) was freed (a backward without retain_graph)", i, fn->name());
        body_ += fmt::format("\t{} -> {}\n", visit(fn), id);
      } else if (y.requires_grad()) {
        body_ += fmt::format("\t{} -> {}\n", visit(Node::accumulate_grad(y.impl_ptr())), id);
      }
    }
    return "digraph {\n"
           "\tgraph [size=\"12,12\"]\n"
           "\tnode [align=left fontname=monospace fontsize=10 height=0.2 ranksep=0.1 shape=box style=filled]\n" +
           body_ + "}\n";
  }

 private:
  std::string var_label(const Tensor& t) const {
    const auto it = names_.find(t.impl_ptr().get());
    return (it == names_.end() ? std::string() : it->second) + "\n " + shape_text(t.shape());
  }

  // Emits fn (and, first, everything it depends on) once; returns its id.
  std::string visit(const std::shared_ptr<Node>& fn) {
    const auto key = fn->key();
    if (const auto it = ids_.find(key); it != ids_.end()) return it->second;
    const std::string id = fmt::format("n{}", ids_.size());
    ids_.emplace(key, id);
    if (const Tensor leaf = fn->variable(); leaf.defined()) {
      body_ += fmt::format("\t{} [label={} fillcolor=lightblue]\n", id, quoted(var_label(leaf)));
      return id;
    }
    body_ += fmt::format("\t{} [label={}]\n", id, quoted(fn->name()));
    for (const auto& [next, input_nr] : fn->next_functions())
      if (next) body_ += fmt::format("\t{} -> {}\n", visit(next), id);
    return id;
  }

  std::unordered_map<const TensorImpl*, std::string> names_;
  std::map<std::pair<std::uintptr_t, std::uintptr_t>, std::string> ids_;
  std::string body_;
};

}  // namespace

std::string to_dot(const variable_list& outputs, const std::vector<std::pair<std::string, Tensor>>& named_parameters) {
  return DotWriter(named_parameters).write(outputs);
}

}  // namespace ag::autograd
