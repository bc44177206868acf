#pragma once
/// @file module.h
/// ag::nn::Module, the base of every layer and model, and ModuleHolder, the libtorch-style handle
/// (`nn::Linear fc(3, 4); fc->forward(x)` or `fc(x)`).

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <autograd/autograd.h>

#include "nn/ordered_dict.h"

namespace ag::nn {

/// Base of layers and models. A model registers its parameters, buffers and submodules in its
/// constructor; named_parameters() then walks them recursively with dotted names ("layers.0.weight").
class Module : public std::enable_shared_from_this<Module> {
 public:
  explicit Module(std::string name = "Module") : name_(std::move(name)) {}
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  /// Adds a parameter (a leaf that requires grad unless requires_grad is false) and returns it.
  /// Names are non-empty, without '.', and unique among parameters, buffers and submodules.
  Tensor& register_parameter(const std::string& name, Tensor tensor, bool requires_grad = true);
  /// Adds a buffer: state that is saved and converted with the module but not trained.
  Tensor& register_buffer(const std::string& name, Tensor tensor);
  /// Adds a submodule and returns it.
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    add_child(name, module);
    return module;
  }
  /// Same, from a holder such as nn::Linear.
  template <class H, class = decltype(std::declval<H>().ptr())>
  H register_module(const std::string& name, H holder) {
    add_child(name, holder.ptr());
    return holder;
  }

  /// All parameters, this module's first, then each child's in registration order; a tensor
  /// registered under several names (tied weights) appears once, as in PyTorch.
  std::vector<Tensor> parameters(bool recurse = true) const;
  /// The same with dotted names, every name included (as PyTorch's state_dict).
  OrderedDict<Tensor> named_parameters(bool recurse = true) const;
  std::vector<Tensor> buffers(bool recurse = true) const;
  OrderedDict<Tensor> named_buffers(bool recurse = true) const;
  /// Direct submodules.
  std::vector<std::shared_ptr<Module>> children() const;
  OrderedDict<std::shared_ptr<Module>> named_children() const;
  /// This module and all submodules, depth first, with dotted names ("" for this one). The module
  /// must be owned by a std::shared_ptr (as every module behind a holder is); otherwise ag::Error.
  OrderedDict<std::shared_ptr<Module>> named_modules(const std::string& prefix = "") const;

  /// Training mode switch (affects Dropout and BatchNorm), recursive.
  virtual void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  /// Clears (set_to_none) or zeroes every parameter's gradient.
  void zero_grad(bool set_to_none = true);
  /// Converts every floating parameter and buffer to `dtype` in place (they stay leaves); integer
  /// buffers (BatchNorm's num_batches_tracked) keep their dtype, as in libtorch.
  virtual void to(Dtype dtype);
  /// For code ported from libtorch: the CPU is a no-op, any other device an ag::Error ("this build has no
  /// CUDA (...)"), raised before anything is changed.
  void to(Device device);
  /// to(device), then to(dtype).
  void to(Device device, Dtype dtype);
  /// The module's type name, for printing.
  const std::string& name() const { return name_; }

 protected:
  void add_child(const std::string& name, std::shared_ptr<Module> child);

 private:
  void check_new_name(const std::string& name, const char* api) const;
  void collect(const std::string& prefix, OrderedDict<Tensor>& out, bool params, bool recurse) const;
  std::string name_;
  bool training_ = true;
  OrderedDict<Tensor> parameters_;
  OrderedDict<Tensor> buffers_;
  OrderedDict<std::shared_ptr<Module>> children_;
};

/// A shared handle to a module implementation, as libtorch's ModuleHolder: `->` reaches the module,
/// `()` calls its forward. Concrete handles are declared without macros:
/// `class Linear : public ModuleHolder<LinearImpl> { using ModuleHolder::ModuleHolder; };`
template <class Impl>
class ModuleHolder {
 public:
  /// An empty holder, to be assigned later (as `nn::Linear fc{nullptr}` in libtorch).
  ModuleHolder(std::nullptr_t) {}
  /// Constructs the module from its constructor's arguments.
  template <class... Args, class = std::enable_if_t<std::is_constructible_v<Impl, Args&&...>>>
  explicit ModuleHolder(Args&&... args) : impl_(std::make_shared<Impl>(std::forward<Args>(args)...)) {}
  ModuleHolder(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

  Impl* operator->() const { return checked(); }
  Impl& operator*() const { return *checked(); }
  const std::shared_ptr<Impl>& ptr() const { return impl_; }
  bool is_empty() const { return impl_ == nullptr; }
  template <class... Args>
  auto operator()(Args&&... args) const {
    return checked()->forward(std::forward<Args>(args)...);
  }

 private:
  Impl* checked() const {
    if (!impl_) fail("ModuleHolder: the module is empty (constructed from nullptr and never assigned)");
    return impl_.get();
  }
  std::shared_ptr<Impl> impl_;
};

}  // namespace ag::nn
