#include "nn/optim_serialize.h"

#include <nlohmann/json.hpp>

#include "nn/serialize.h"

namespace ag::optim {

namespace {

constexpr const char* kFormat = "ag.optim.v1";

}  // namespace

void save(const Optimizer& optimizer, const std::string& path) {
  const OptimizerState s = optimizer.state();
  const std::vector<Tensor> params = optimizer.all_params();
  nlohmann::ordered_json groups = nlohmann::ordered_json::array();
  std::int64_t index = 0;
  for (std::size_t g = 0; g < optimizer.param_groups().size(); ++g) {
    nlohmann::ordered_json group = {{"lr", s.lrs[g]}};
    for (const auto& [k, v] : s.options) group[k] = v;
    std::vector<std::int64_t> ids;
    for (std::size_t k = 0; k < optimizer.param_groups()[g].params.size(); ++k) ids.push_back(index++);
    group["params"] = ids;
    groups.push_back(group);
  }
  nlohmann::ordered_json specs = nlohmann::ordered_json::array();
  for (const auto& p : params) specs.push_back({{"shape", p.shape()}, {"dtype", std::string(dtype_name(p.dtype()))}});
  nlohmann::ordered_json state = nlohmann::ordered_json::object();
  OrderedDict<Tensor> tensors;
  for (const auto& [i, ps] : s.params) {
    state[std::to_string(i)] = ps.scalars;
    for (const auto& [k, t] : ps.tensors) tensors.insert("state." + std::to_string(i) + "." + k, t.contiguous());
  }
  nn::save_safetensors(tensors, path,
                       {{"format", kFormat},
                        {"optimizer", optimizer.name()},
                        {"param_groups", groups.dump()},
                        {"params", specs.dump()},
                        {"state", state.dump()}});
}

void load(Optimizer& optimizer, const std::string& path) {
  std::map<std::string, std::string> meta;
  const OrderedDict<Tensor> tensors = nn::load_safetensors(path, &meta);
  const std::string who = optimizer.name();
  const auto entry = [&](const char* key) -> const std::string& {
    auto it = meta.find(key);
    if (it == meta.end()) fail("optim::load: {} has no metadata '{}' (not an optimizer state file)", path, key);
    return it->second;
  };
  if (entry("format") != kFormat)
    fail("optim::load: {} has format '{}', expected '{}'", path, entry("format"), kFormat);
  if (entry("optimizer") != who)
    fail("optim::load: {} holds the state of a {} optimizer, not of a {}", path, entry("optimizer"), who);
  OptimizerState s;
  try {
    const auto groups = nlohmann::json::parse(entry("param_groups"));
    const auto specs = nlohmann::json::parse(entry("params"));
    const auto state = nlohmann::json::parse(entry("state"));
    const auto& mine = optimizer.param_groups();
    if (!groups.is_array() || groups.size() != mine.size())
      fail("optim::load: {} has {} parameter groups but the {} optimizer has {}", path,
           groups.is_array() ? groups.size() : 0, who, mine.size());
    std::int64_t index = 0;
    for (std::size_t g = 0; g < mine.size(); ++g) {
      const auto& group = groups[g];
      const auto& ids = group.at("params");
      if (!ids.is_array() || ids.size() != mine[g].params.size())
        fail("optim::load: group {} of {} has {} parameters but the optimizer's has {}", g, path,
             ids.is_array() ? ids.size() : 0, mine[g].params.size());
      for (const auto& id : ids)
        if (!id.is_number_integer() || id.get<std::int64_t>() != index++)
          fail("optim::load: group {} of {} lists parameters out of order", g, path);
      s.lrs.push_back(group.at("lr").get<double>());
      if (g == 0)
        for (auto it = group.begin(); it != group.end(); ++it)
          if (it.key() != "lr" && it.key() != "params") s.options[it.key()] = it.value().get<double>();
    }
    const std::vector<Tensor> params = optimizer.all_params();
    if (!specs.is_array() || specs.size() != params.size())
      fail("optim::load: {} was saved for {} parameters but the optimizer has {}", path,
           specs.is_array() ? specs.size() : 0, params.size());
    for (std::size_t i = 0; i < params.size(); ++i) {
      const Shape shape(specs[i].at("shape").get<std::vector<std::int64_t>>());
      const std::string dtype = specs[i].at("dtype").get<std::string>();
      if (shape != params[i].shape() || dtype != dtype_name(params[i].dtype()))
        fail("optim::load: parameter {} in {} is {}{} but the optimizer's is {}", i, path, dtype, shape_str(shape),
             describe(params[i]));
    }
    if (!state.is_object()) fail("optim::load: the state entry of {} is not a JSON object", path);
    for (auto it = state.begin(); it != state.end(); ++it) {
      const std::int64_t i = std::stoll(it.key());
      if (std::to_string(i) != it.key()) fail("optim::load: bad parameter index '{}' in {}", it.key(), path);
      ParamState& ps = s.params[i];
      for (auto v = it.value().begin(); v != it.value().end(); ++v) ps.scalars[v.key()] = v.value().get<double>();
    }
  } catch (const nlohmann::json::exception& e) {
    fail("optim::load: the metadata of {} is malformed: {}", path, e.what());
  } catch (const std::logic_error& e) {  // std::stoll
    fail("optim::load: the metadata of {} is malformed: {}", path, e.what());
  }
  for (const auto& it : tensors) {
    const std::string& key = it.key();
    const auto dot1 = key.find('.'), dot2 = dot1 == std::string::npos ? dot1 : key.find('.', dot1 + 1);
    if (key.rfind("state.", 0) != 0 || dot2 == std::string::npos)
      fail("optim::load: unexpected tensor '{}' in {}", key, path);
    const std::string idx = key.substr(dot1 + 1, dot2 - dot1 - 1);
    std::int64_t i = -1;
    try {
      i = std::stoll(idx);
    } catch (const std::logic_error&) {
    }
    if (i < 0 || std::to_string(i) != idx) fail("optim::load: unexpected tensor '{}' in {}", key, path);
    s.params[i].tensors[key.substr(dot2 + 1)] = it.value();
  }
  optimizer.load_state(s);  // checks everything before changing anything
}

}  // namespace ag::optim
