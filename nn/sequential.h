#pragma once
/// @file sequential.h
/// nn::Sequential: modules applied in order; children are named "0", "1", ...

#include <functional>
#include <memory>
#include <vector>

#include "nn/module.h"

namespace ag::nn {

class SequentialImpl : public Module {
 public:
  SequentialImpl() : Module("Sequential") {}
  template <class... Ms>
  explicit SequentialImpl(Ms&&... modules) : Module("Sequential") {
    (push_back(std::forward<Ms>(modules)), ...);
  }
  /// Appends a holder (nn::Linear(2, 3)) or a shared_ptr to a module with `Tensor forward(const Tensor&)`.
  template <class M>
  void push_back(M module) {
    auto ptr = to_ptr(std::move(module));
    register_module(std::to_string(steps_.size()), ptr);
    modules_.push_back(ptr);
    steps_.push_back([ptr](const Tensor& x) { return ptr->forward(x); });
  }
  /// Applies every module in order.
  Tensor forward(const Tensor& x) const;
  std::size_t size() const { return steps_.size(); }
  /// The i-th module.
  std::shared_ptr<Module> operator[](std::size_t i) const;

 private:
  template <class M>
  static auto to_ptr(M m) {
    if constexpr (requires { m.ptr(); }) return m.ptr();
    else return m;
  }
  std::vector<std::shared_ptr<Module>> modules_;
  std::vector<std::function<Tensor(const Tensor&)>> steps_;  // one call per module, not per element
};

class Sequential : public ModuleHolder<SequentialImpl> {
 public:
  using ModuleHolder::ModuleHolder;
  Sequential() : ModuleHolder(std::make_shared<SequentialImpl>()) {}
};

}  // namespace ag::nn
