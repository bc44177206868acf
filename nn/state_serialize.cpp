#include "nn/state_serialize.h"

#include <map>

#include "nn/serialize.h"

namespace ag {

namespace {

constexpr const char* kSchedulerFormat = "ag.lr_scheduler.v1";
constexpr const char* kSamplerFormat = "ag.sampler.v1";

/// The metadata entry `key` of `path`, or an ag::Error saying the file is not of this kind.
const std::string& entry(const std::map<std::string, std::string>& meta, const char* key, const std::string& path,
                         const char* who, const char* what) {
  const auto it = meta.find(key);
  if (it == meta.end()) fail("{}: {} has no metadata '{}' (not a {} file)", who, path, key, what);
  return it->second;
}

void save_scheduler_state(const optim::SchedulerState& s, const std::string& path) {
  OrderedDict<Tensor> tensors;
  for (const auto& [key, v] : s.values) tensors.insert(key, tensor(v, {static_cast<std::int64_t>(v.size())}, kFloat64));
  nn::save_safetensors(tensors, path, {{"format", kSchedulerFormat}, {"scheduler", s.scheduler}});
}

optim::SchedulerState load_scheduler_state(const std::string& path) {
  const char* who = "optim::load";
  std::map<std::string, std::string> meta;
  const OrderedDict<Tensor> tensors = nn::load_safetensors(path, &meta);
  const std::string& format = entry(meta, "format", path, who, "scheduler state");
  if (format != kSchedulerFormat) fail("{}: {} has format '{}', expected '{}'", who, path, format, kSchedulerFormat);
  optim::SchedulerState s{entry(meta, "scheduler", path, who, "scheduler state"), {}};
  for (const auto& it : tensors) {
    const Tensor& t = it.value();
    if (t.dtype() != kFloat64 || t.dim() != 1)
      fail("{}: {} holds '{}' as {}, expected a 1-D float64 tensor", who, path, it.key(), describe(t));
    s.values[it.key()] = t.to_vector<double>();
  }
  return s;
}

void save_sampler_state(const data::samplers::SamplerState& s, const std::string& path) {
  OrderedDict<Tensor> tensors;
  for (const auto& [key, v] : s.values) tensors.insert("values." + key, full({1}, static_cast<double>(v), kInt64));
  std::vector<std::int64_t> indices(s.indices.begin(), s.indices.end());
  tensors.insert("indices", tensor(indices, {static_cast<std::int64_t>(indices.size())}, kInt64));
  std::map<std::string, std::string> meta = {{"format", kSamplerFormat}, {"sampler", s.sampler}};
  if (!s.generator.empty()) meta["generator"] = s.generator;
  nn::save_safetensors(tensors, path, meta);
}

data::samplers::SamplerState load_sampler_state(const std::string& path) {
  const char* who = "data::samplers::load";
  std::map<std::string, std::string> meta;
  const OrderedDict<Tensor> tensors = nn::load_safetensors(path, &meta);
  const std::string& format = entry(meta, "format", path, who, "sampler state");
  if (format != kSamplerFormat) fail("{}: {} has format '{}', expected '{}'", who, path, format, kSamplerFormat);
  data::samplers::SamplerState s;
  s.sampler = entry(meta, "sampler", path, who, "sampler state");
  if (const auto g = meta.find("generator"); g != meta.end()) s.generator = g->second;
  for (const auto& it : tensors) {
    const Tensor& t = it.value();
    if (t.dtype() != kInt64 || t.dim() != 1)
      fail("{}: {} holds '{}' as {}, expected a 1-D int64 tensor", who, path, it.key(), describe(t));
    const auto v = t.to_vector<std::int64_t>();
    for (const std::int64_t x : v)
      if (x < 0) fail("{}: {} holds a negative number in '{}'", who, path, it.key());
    if (it.key() == "indices") {
      s.indices.assign(v.begin(), v.end());
    } else if (it.key().rfind("values.", 0) == 0 && v.size() == 1) {
      s.values[it.key().substr(7)] = static_cast<std::uint64_t>(v[0]);
    } else {
      fail("{}: unexpected tensor '{}' in {}", who, it.key(), path);
    }
  }
  return s;
}

}  // namespace

namespace optim {

void save(const LRScheduler& scheduler, const std::string& path) { save_scheduler_state(scheduler.state(), path); }
void load(LRScheduler& scheduler, const std::string& path) { scheduler.load_state(load_scheduler_state(path)); }
void save(const ReduceLROnPlateauScheduler& scheduler, const std::string& path) {
  save_scheduler_state(scheduler.state(), path);
}
void load(ReduceLROnPlateauScheduler& scheduler, const std::string& path) {
  scheduler.load_state(load_scheduler_state(path));
}

}  // namespace optim

namespace data::samplers {

void save(const SequentialSampler& sampler, const std::string& path) { save_sampler_state(sampler.state(), path); }
void save(const RandomSampler& sampler, const std::string& path) { save_sampler_state(sampler.state(), path); }
void save(const DistributedRandomSampler& sampler, const std::string& path) {
  save_sampler_state(sampler.state(), path);
}
void save(const DistributedSequentialSampler& sampler, const std::string& path) {
  save_sampler_state(sampler.state(), path);
}
void load(SequentialSampler& sampler, const std::string& path) { sampler.load_state(load_sampler_state(path)); }
void load(RandomSampler& sampler, const std::string& path) { sampler.load_state(load_sampler_state(path)); }
void load(DistributedRandomSampler& sampler, const std::string& path) { sampler.load_state(load_sampler_state(path)); }
void load(DistributedSequentialSampler& sampler, const std::string& path) {
  sampler.load_state(load_sampler_state(path));
}

}  // namespace data::samplers

}  // namespace ag
