#pragma once
/// @file serialize.h
/// Saving and loading weights in the safetensors format (8-byte little-endian header length, a
/// JSON header naming each tensor's dtype, shape and byte range, then the raw little-endian data),
/// so weights move to and from PyTorch and NumPy under the same names.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "nn/module.h"

namespace ag::nn {

/// Writes named tensors (F32, F64, I64, I32 or BOOL) to a safetensors file, with optional string metadata.
void save_safetensors(const OrderedDict<Tensor>& tensors, const std::string& path,
                      const std::map<std::string, std::string>& metadata = {});
/// Reads every tensor of a safetensors file. A truncated or corrupt file, an unsupported dtype or
/// inconsistent offsets throw ag::Error; nothing is returned half-read.
/// When `metadata` is given it receives the file's `__metadata__` (string values only, else ag::Error).
OrderedDict<Tensor> load_safetensors(const std::string& path, std::map<std::string, std::string>* metadata = nullptr);
/// The same on the bytes of a safetensors file held in memory; `name` stands for the file in errors.
OrderedDict<Tensor> load_safetensors_from_bytes(std::string_view bytes, const std::string& name = "<memory>",
                                                std::map<std::string, std::string>* metadata = nullptr);

/// Saves a module's named parameters and buffers (dotted names, as PyTorch's state_dict).
void save(const Module& module, const std::string& path);
/// Loads a module's parameters and buffers. The file must hold exactly the module's names with the
/// same shapes and dtypes; on any mismatch or a bad file it throws ag::Error and the module keeps
/// its previous weights (everything is checked before anything is copied).
void load(Module& module, const std::string& path);

}  // namespace ag::nn
