#include "nn/serialize.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>

namespace ag::nn {

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian");

namespace {

constexpr std::uint64_t kMaxHeader = 100u << 20;  // the format's own limit

const char* code_of(Dtype d) {
  switch (d) {
    case Dtype::Float32:
      return "F32";
    case Dtype::Float64:
      return "F64";
    case Dtype::Int64:
      return "I64";
    case Dtype::Int32:
      return "I32";
    case Dtype::Bool:
      return "BOOL";
  }
  return "?";
}

Dtype dtype_of_code(const std::string& c, const std::string& name, const std::string& path) {
  if (c == "F32") return kFloat32;
  if (c == "F64") return kFloat64;
  if (c == "I64") return kInt64;
  if (c == "I32") return kInt32;
  if (c == "BOOL") return kBool;
  fail("load_safetensors: tensor '{}' in {} has dtype {}, which is not supported (F32, F64, I64, I32, BOOL)", name,
       path, c);
}

OrderedDict<Tensor> state_of(const Module& m) {
  OrderedDict<Tensor> all = m.named_parameters();
  for (auto& b : m.named_buffers()) all.insert(b.key(), b.value());
  return all;
}

}  // namespace

void save_safetensors(const OrderedDict<Tensor>& tensors, const std::string& path,
                      const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::uint64_t offset = 0;
  for (const auto& it : tensors) {
    const Tensor& t = it.value();
    t.checked("save_safetensors");
    if (it.key() == "__metadata__") fail("save_safetensors: '__metadata__' cannot name a tensor");
    const std::uint64_t bytes = static_cast<std::uint64_t>(t.numel()) * itemsize(t.dtype());
    header[it.key()] = {{"dtype", code_of(t.dtype())},
                        {"shape", t.shape()},
                        {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string h = header.dump();
  h.append((8 - h.size() % 8) % 8, ' ');
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) fail("save_safetensors: cannot open {} for writing", path);
  const std::uint64_t n = h.size();
  out.write(reinterpret_cast<const char*>(&n), 8);
  out.write(h.data(), static_cast<std::streamsize>(h.size()));
  for (const auto& it : tensors)
    out.write(static_cast<const char*>(it.value().raw_data()),
              static_cast<std::streamsize>(static_cast<std::size_t>(it.value().numel()) *
                                           itemsize(it.value().dtype())));
  if (!out) fail("save_safetensors: writing {} failed", path);
}

OrderedDict<Tensor> load_safetensors(const std::string& path, std::map<std::string, std::string>* metadata) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("load_safetensors: cannot open {}", path);
  const std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return load_safetensors_from_bytes(file, path, metadata);
}

OrderedDict<Tensor> load_safetensors_from_bytes(std::string_view file, const std::string& path,
                                                std::map<std::string, std::string>* metadata) {
  if (file.size() < 8) fail("load_safetensors: {} is truncated ({} bytes, no header length)", path, file.size());
  std::uint64_t n = 0;
  std::memcpy(&n, file.data(), 8);
  if (n > kMaxHeader || n > file.size() - 8)
    fail("load_safetensors: {} declares a header of {} bytes but has {} bytes after the length", path, n,
         file.size() - 8);
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(file.begin() + 8, file.begin() + 8 + static_cast<std::ptrdiff_t>(n));
  } catch (const nlohmann::json::exception& e) {
    fail("load_safetensors: the header of {} is not valid JSON: {}", path, e.what());
  }
  if (!header.is_object()) fail("load_safetensors: the header of {} is not a JSON object", path);
  const std::uint64_t data_size = file.size() - 8 - n;
  const char* data = file.data() + 8 + n;
  OrderedDict<Tensor> out;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;
  std::map<std::string, std::string> meta;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    if (name == "__metadata__") {
      if (!it.value().is_object()) fail("load_safetensors: the __metadata__ of {} is not a JSON object", path);
      for (auto m = it.value().begin(); m != it.value().end(); ++m) {
        if (!m.value().is_string())
          fail("load_safetensors: __metadata__ entry '{}' of {} is not a string", m.key(), path);
        meta[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const auto& e = it.value();
    try {
      const Dtype dt = dtype_of_code(e.at("dtype").get<std::string>(), name, path);
      Shape shape;
      std::uint64_t count = 1;
      if (!e.at("shape").is_array())
        fail("load_safetensors: tensor '{}' in {} has a shape that is not a list", name, path);
      for (const auto& d : e.at("shape")) {
        // non-negative integers only: get<> of a float out of range is undefined behaviour
        if (!d.is_number_unsigned()) fail("load_safetensors: tensor '{}' in {} has an invalid shape", name, path);
        const auto v = d.get<std::uint64_t>();
        if (v > 0 && count > (std::uint64_t(1) << 48) / v)
          fail("load_safetensors: tensor '{}' in {} has an invalid shape", name, path);
        shape.push_back(static_cast<std::int64_t>(v));
        count *= v;
      }
      const auto& off = e.at("data_offsets");
      if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
        fail("load_safetensors: tensor '{}' in {} has bad data_offsets (two non-negative integers expected)", name,
             path);
      const auto b = off[0].get<std::uint64_t>(), end = off[1].get<std::uint64_t>();
      if (b > end || end > data_size)
        fail(
            "load_safetensors: tensor '{}' in {} spans bytes [{}, {}) but the data has {} bytes (truncated or corrupt)",
            name, path, b, end, data_size);
      if (end - b != count * itemsize(dt))
        fail("load_safetensors: tensor '{}' in {} is {}{} ({} bytes) but spans {} bytes", name, path, dtype_name(dt),
             shape_str(shape), count * itemsize(dt), end - b);
      if (dt == kBool)  // a bool holds 0 or 1, nothing else
        for (std::uint64_t k = b; k < end; ++k)
          if (static_cast<unsigned char>(data[k]) > 1)
            fail("load_safetensors: tensor '{}' in {} is bool but byte {} of its data is {}", name, path, k - b,
                 static_cast<unsigned>(static_cast<unsigned char>(data[k])));
      Tensor t = from_buffer(data + b, shape, dt);
      out.insert(name, t);
      ranges.emplace_back(b, end);
    } catch (const nlohmann::json::exception& ex) {
      fail("load_safetensors: entry '{}' of {} is malformed: {}", name, path, ex.what());
    }
  }
  std::sort(ranges.begin(), ranges.end());
  std::uint64_t at = 0;
  for (const auto& [b, e] : ranges) {
    if (b != at) fail("load_safetensors: the data of {} has overlapping tensors or holes at byte {}", path, at);
    at = e;
  }
  if (at != data_size) fail("load_safetensors: {} has {} bytes of data but its tensors cover {}", path, data_size, at);
  if (metadata) *metadata = std::move(meta);
  return out;
}

void save(const Module& module, const std::string& path) { save_safetensors(state_of(module), path); }

void load(Module& module, const std::string& path) {
  OrderedDict<Tensor> file = load_safetensors(path);
  OrderedDict<Tensor> state = state_of(module);
  for (const auto& it : state) {
    const Tensor* src = file.find(it.key());
    if (!src) fail("load: {} has no tensor '{}' required by the module {}", path, it.key(), module.name());
    if (src->shape() != it.value().shape() || src->dtype() != it.value().dtype())
      fail("load: tensor '{}' in {} is {} but the module's is {}", it.key(), path, describe(*src),
           describe(it.value()));
  }
  for (const auto& it : file)
    if (!state.contains(it.key()))
      fail("load: {} has a tensor '{}' that the module {} does not have", path, it.key(), module.name());
  NoGradGuard ng;
  for (auto& it : state) it.value().copy_(file[it.key()]);
}

}  // namespace ag::nn
