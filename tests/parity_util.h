#pragma once
// The harness shared by the PyTorch parity tests (test_parity.cpp, test_math_parity.cpp): a case of
// tests/data/torch_reference.json (made by tests/data/make_reference.py) names its inputs and is
// rebuilt in C++ by a lambda of the same name; its value and every gradient must match to 1e-10
// relative (1e-12 absolute near 0).
#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "test_util.h"

namespace agt::parity {

using json = nlohmann::json;
using Inputs = std::map<std::string, ag::Tensor>;
using CaseFn = std::function<ag::Tensor(const Inputs&, const json& constants)>;
using Cases = std::map<std::string, CaseFn>;

constexpr double kRtol = 1e-10;
constexpr double kAtol = 1e-12;

inline const json& reference() {
  static const json data = [] {
    std::ifstream in(std::string(AG_TEST_DATA_DIR) + "/torch_reference.json");
    if (!in) throw std::runtime_error("cannot open " + std::string(AG_TEST_DATA_DIR) + "/torch_reference.json");
    return json::parse(in);
  }();
  return data;
}

/// Element k of input `name` is cos(0.53 k + 2 len(name)) * scale + shift, as the generator makes it.
inline ag::Tensor make_input(const std::string& name, const ag::Shape& shape, double scale, double shift) {
  return agt::input(shape, 2.0 * static_cast<double>(name.size()), scale, shift);
}

/// Each element is one assertion: within kRtol relative (kAtol absolute) of the reference.
inline void check_close(const ag::Tensor& got, const json& want, const std::string& what) {
  REQUIRE_MESSAGE(got.defined(), what << ": no gradient computed");
  const auto v = got.to_vector<double>();
  REQUIRE_MESSAGE(v.size() == want.size(), what << ": " << v.size() << " elements, reference has " << want.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    const double w = want[i].get<double>();
    const double tol = std::max(kRtol * std::abs(w), kAtol);
    CHECK_MESSAGE(std::abs(v[i] - w) <= tol, what << " element " << i << ": ag " << fmt::format("{:.17g}", v[i])
                                                  << " vs torch " << fmt::format("{:.17g}", w));
  }
}

/// Rebuilds case `c` with its lambda from `cases` and checks its value and the gradient of every input
/// (an input torch gives no gradient must get none here either).
inline void run_case(const json& c, const Cases& cases) {
  const std::string name = c.at("name");
  INFO("case " << name << ": " << c.at("expression").get<std::string>());
  const auto it = cases.find(name);
  REQUIRE_MESSAGE(it != cases.end(), "no C++ lambda for reference case '" << name << "'");
  Inputs in;
  std::vector<std::string> names;
  std::vector<ag::Tensor> leaves;
  for (const auto& [k, spec] : c.at("inputs").items()) {
    in[k] = make_input(k, spec.at("shape").get<ag::Shape>(), spec.at("scale").get<double>(),
                       spec.at("shift").get<double>());
    names.push_back(k);
    leaves.push_back(in[k]);
  }
  const ag::Tensor value = it->second(in, c.at("constants"));
  REQUIRE(value.numel() == 1);
  check_close(value, json::array({c.at("value")}), name + " value");
  const auto grads = ag::grad({value}, leaves, {}, std::nullopt, false, /*allow_unused=*/true);
  for (std::size_t j = 0; j < names.size(); ++j) {
    const json& want = c.at("grads").at(names[j]);
    if (want.is_null()) {
      CHECK_MESSAGE(!grads[j].defined(), name << " grad " << names[j] << ": torch has none, ag computed one");
      continue;
    }
    check_close(grads[j], want, name + " grad " + names[j]);
  }
}

/// The reference's list `key` has `count` cases, each with a lambda in `cases`, and each lambda a case.
inline void check_coverage(const char* key, const Cases& cases, std::size_t count) {
  const json& cs = reference().at(key);
  CHECK(cs.size() == count);
  std::set<std::string> seen;
  for (const auto& c : cs) {
    const std::string name = c.at("name");
    seen.insert(name);
    CHECK_MESSAGE(cases.count(name) == 1, "no C++ lambda for reference case '" << name << "' of " << key);
  }
  for (const auto& [name, fn] : cases) CHECK_MESSAGE(seen.count(name) == 1, "lambda '" << name << "' has no case");
}

}  // namespace agt::parity
