#include "nn/module.h"

#include <unordered_set>

namespace ag::nn {

void Module::check_new_name(const std::string& name, const char* api) const {
  if (name.empty() || name.find('.') != std::string::npos)
    fail("{}: invalid name '{}' in {} (must be non-empty, without '.')", api, name, name_);
  if (parameters_.contains(name) || buffers_.contains(name) || children_.contains(name))
    fail("{}: {} already has a parameter, buffer or submodule named '{}'", api, name_, name);
}

Tensor& Module::register_parameter(const std::string& name, Tensor tensor, bool requires_grad) {
  check_new_name(name, "register_parameter");
  if (!tensor.defined()) fail("register_parameter: parameter '{}' of {} is undefined", name, name_);
  if (!tensor.is_leaf()) tensor = tensor.detach();
  if (requires_grad) tensor.requires_grad_();
  return parameters_.insert(name, std::move(tensor));
}

Tensor& Module::register_buffer(const std::string& name, Tensor tensor) {
  check_new_name(name, "register_buffer");
  if (!tensor.defined()) fail("register_buffer: buffer '{}' of {} is undefined", name, name_);
  return buffers_.insert(name, std::move(tensor));
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> child) {
  check_new_name(name, "register_module");
  if (!child) fail("register_module: submodule '{}' of {} is null", name, name_);
  children_.insert(name, std::move(child));
}

void Module::collect(const std::string& prefix, OrderedDict<Tensor>& out, bool params, bool recurse) const {
  for (const auto& it : params ? parameters_ : buffers_) out.insert(prefix + it.key(), it.value());
  if (!recurse) return;
  for (const auto& c : children_) c.value()->collect(prefix + c.key() + ".", out, params, true);
}

std::vector<Tensor> Module::parameters(bool recurse) const {
  std::vector<Tensor> out;
  std::unordered_set<const TensorImpl*> seen;
  for (const auto& it : named_parameters(recurse))
    if (seen.insert(it.value().impl()).second) out.push_back(it.value());
  return out;
}

OrderedDict<Tensor> Module::named_parameters(bool recurse) const {
  OrderedDict<Tensor> out;
  collect("", out, true, recurse);
  return out;
}

std::vector<Tensor> Module::buffers(bool recurse) const { return named_buffers(recurse).values(); }

OrderedDict<Tensor> Module::named_buffers(bool recurse) const {
  OrderedDict<Tensor> out;
  collect("", out, false, recurse);
  return out;
}

std::vector<std::shared_ptr<Module>> Module::children() const { return children_.values(); }

OrderedDict<std::shared_ptr<Module>> Module::named_children() const {
  OrderedDict<std::shared_ptr<Module>> out;
  for (const auto& c : children_) out.insert(c.key(), c.value());
  return out;
}

OrderedDict<std::shared_ptr<Module>> Module::named_modules(const std::string& prefix) const {
  OrderedDict<std::shared_ptr<Module>> out;
  auto self = std::const_pointer_cast<Module>(weak_from_this().lock());
  if (!self)
    fail("named_modules: {} is not owned by a std::shared_ptr (create it with std::make_shared or a holder)", name_);
  out.insert(prefix, self);
  for (const auto& c : children_)
    for (auto& m : c.value()->named_modules(prefix.empty() ? c.key() : prefix + "." + c.key()))
      out.insert(m.key(), m.value());
  return out;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& c : children_) c.value()->train(on);
}

void Module::zero_grad(bool set_to_none) {
  NoGradGuard no_grad;
  for (auto& p : parameters()) {
    if (!p.grad().defined()) continue;
    if (set_to_none) p.set_grad(Tensor());
    else p.grad().zero_();
  }
}

void Module::to(Dtype dtype) {
  NoGradGuard no_grad;
  // set_data keeps every handle to the tensor valid (a module's `weight` member included). Only floating
  // tensors convert, as in libtorch (BatchNorm's int64 num_batches_tracked stays int64).
  auto convert = [dtype](Tensor& t) {
    if (t.defined() && is_floating(t.dtype()) && t.dtype() != dtype) t.set_data(ag::to(t.detach(), dtype));
  };
  for (auto& p : parameters_) convert(p.value());
  for (auto& b : buffers_) convert(b.value());
  for (auto& c : children_) c.value()->to(dtype);
}

void Module::to(Device device) { check_cpu_device(device, "Module::to"); }

void Module::to(Device device, Dtype dtype) {
  check_cpu_device(device, "Module::to");
  to(dtype);
}

}  // namespace ag::nn
