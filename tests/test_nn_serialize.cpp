// Weight files (safetensors): round trips, files from and to NumPy (Python scripts in tests/data),
// corrupt files, and a failed load leaving the module untouched.
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <unistd.h>

#include "nn/nn.h"
#include "test_util.h"

using namespace ag;
namespace fs = std::filesystem;

namespace {

/// A fresh path in the temp directory, removed when the object goes away.
struct TempFile {
  TempFile() {
    static std::atomic<int> counter{0};
    path = (fs::temp_directory_path() /
            ("ag_nn_serialize_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + ".safetensors"))
               .string();
  }
  ~TempFile() {
    std::error_code ec;
    fs::remove(path, ec);
  }
  std::string path;
};

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

/// A safetensors file from a header text (used as is) and raw data bytes.
std::string raw_file(const std::string& header, const std::string& data, std::uint64_t declared = UINT64_MAX) {
  const std::uint64_t n = declared == UINT64_MAX ? header.size() : declared;
  std::string out(8, '\0');
  std::memcpy(out.data(), &n, 8);
  return out + header + data;
}

std::string f32_bytes(const std::vector<float>& v) { return {reinterpret_cast<const char*>(v.data()), v.size() * 4}; }

/// The raw bytes of every tensor of a module, for bit-identity checks.
std::vector<std::string> snapshot(const nn::Module& m) {
  std::vector<std::string> out;
  for (const auto& t : m.named_parameters()) {
    const auto& v = t.value();
    out.emplace_back(static_cast<const char*>(v.raw_data()), static_cast<std::size_t>(v.numel()) * itemsize(v.dtype()));
  }
  for (const auto& t : m.named_buffers()) {
    const auto& v = t.value();
    out.emplace_back(static_cast<const char*>(v.raw_data()), static_cast<std::size_t>(v.numel()) * itemsize(v.dtype()));
  }
  return out;
}

/// The python3 that has numpy: `python3` from PATH, else the system one that scripts/setup.sh
/// installs python3-numpy for. Empty when there is none (the calling test then fails).
std::string python_with_numpy() {
  for (const std::string py : {"python3", "/usr/bin/python3"})
    if (std::system((py + " -c \"import json, struct, numpy\" > /dev/null 2>&1").c_str()) == 0) return py;
  return "";
}

std::string data_dir() { return AG_TEST_DATA_DIR; }

struct Model : nn::Module {
  Model() : Module("Model") {
    fc = register_module("fc", nn::Linear(3, 2));
    register_buffer("running", tensor({1.0, 2.0}, {2}, kFloat64));
  }
  nn::Linear fc{nullptr};
};

}  // namespace

TEST_CASE("save/load: an MLP round-trips bit-identically into a freshly initialised model") {
  TempFile f;
  manual_seed(1);
  nn::MLP a(nn::MLPOptions({4, 8, 3}).activation(nn::Activation::Tanh));
  nn::save(*a, f.path);
  manual_seed(2);
  nn::MLP b(nn::MLPOptions({4, 8, 3}).activation(nn::Activation::Tanh));
  REQUIRE(snapshot(*a) != snapshot(*b));
  const TensorImpl* w_impl = b->named_parameters()["layers.0.weight"].impl();
  nn::load(*b, f.path);
  CHECK(snapshot(*a) == snapshot(*b));
  CHECK(b->named_parameters()["layers.0.weight"].impl() == w_impl);  // loaded in place
  for (auto& p : b->parameters()) {
    CHECK(p.is_leaf());
    CHECK(p.requires_grad());
  }
  const Tensor x = agt::input({2, 4}, 0.5, 1.0, 0.0, false).to(kFloat32);
  CHECK(a(x).to_vector<double>() == b(x).to_vector<double>());

  // float64 and a module with a buffer
  TempFile g;
  auto m1 = std::make_shared<Model>();
  m1->to(kFloat64);
  m1->named_buffers()["running"].fill_(-7.5);
  nn::save(*m1, g.path);
  auto m2 = std::make_shared<Model>();
  m2->to(kFloat64);
  nn::load(*m2, g.path);
  CHECK(snapshot(*m1) == snapshot(*m2));
  CHECK(m2->named_buffers()["running"].to_vector<double>() == std::vector<double>{-7.5, -7.5});
}

TEST_CASE("save_safetensors/load_safetensors: names, dtypes, shapes, 0-d and empty tensors") {
  TempFile f;
  OrderedDict<Tensor> t;
  t.insert("x.weight", tensor({1.5, -2.0, 3.25, 0.0}, {2, 2}));
  t.insert("count", tensor(std::vector<std::int64_t>{-5, 1LL << 50}, {2}));
  t.insert("s", scalar_tensor(0.1, kFloat64));
  t.insert("nothing", zeros({0, 4}));
  nn::save_safetensors(t, f.path, {{"format", "pt"}});
  const std::string bytes = read_bytes(f.path);
  std::uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  CHECK(n % 8 == 0);
  CHECK(bytes.size() == 8 + n + 16 + 16 + 8);
  CHECK(bytes.substr(8, n).find("\"__metadata__\":{\"format\":\"pt\"}") != std::string::npos);
  const OrderedDict<Tensor> r = nn::load_safetensors(f.path);
  CHECK(r.size() == 4);
  REQUIRE(r.contains("x.weight"));
  CHECK(r["x.weight"].dtype() == kFloat32);
  CHECK(r["x.weight"].shape() == Shape{2, 2});
  CHECK(r["x.weight"].to_vector<double>() == std::vector<double>{1.5, -2.0, 3.25, 0.0});
  CHECK(r["count"].dtype() == kInt64);
  CHECK(r["count"].to_vector<std::int64_t>() == std::vector<std::int64_t>{-5, 1LL << 50});
  CHECK(r["s"].dim() == 0);
  CHECK(r["s"].item<double>() == 0.1);
  CHECK(r["nothing"].shape() == Shape{0, 4});
  CHECK_FALSE(r.contains("__metadata__"));
  CHECK_FALSE(r["x.weight"].requires_grad());
  // an empty dict
  TempFile e;
  nn::save_safetensors({}, e.path);
  CHECK(nn::load_safetensors(e.path).size() == 0);
  // unusable names and paths
  OrderedDict<Tensor> bad;
  bad.insert("__metadata__", ones({1}));
  CHECK_THROWS_AS(nn::save_safetensors(bad, f.path), Error);
  OrderedDict<Tensor> undef;
  undef.insert("u", Tensor());
  CHECK_THROWS_AS(nn::save_safetensors(undef, f.path), Error);
  CHECK_THROWS_AS(nn::save_safetensors(t, "/nonexistent_dir_ag/x.safetensors"), Error);
  CHECK_THROWS_AS(nn::load_safetensors("/nonexistent_dir_ag/x.safetensors"), Error);
}

TEST_CASE("safetensors: a file written by NumPy (tests/data/write_safetensors.py) loads with its names and values") {
  const std::string py = python_with_numpy();
  REQUIRE_MESSAGE(!py.empty(), "python3 with numpy is required (scripts/setup.sh installs python3-numpy)");
  TempFile f;
  const std::string cmd = py + " " + data_dir() + "/write_safetensors.py " + f.path + " mixed";
  REQUIRE(std::system(cmd.c_str()) == 0);
  const auto r = nn::load_safetensors(f.path);
  CHECK(r.size() == 4);
  REQUIRE(r.contains("weight"));
  CHECK(r["weight"].dtype() == kFloat32);
  CHECK(r["weight"].shape() == Shape{2, 3});
  CHECK(r["weight"].to_vector<double>() == std::vector<double>{-1.0, -0.75, -0.5, -0.25, 0.0, 0.25});
  REQUIRE(r.contains("scale"));
  CHECK(r["scale"].dtype() == kFloat64);
  CHECK(r["scale"].dim() == 0);
  CHECK(r["scale"].item<double>() == M_PI);
  REQUIRE(r.contains("ids"));
  CHECK(r["ids"].dtype() == kInt64);
  CHECK(r["ids"].to_vector<std::int64_t>() == std::vector<std::int64_t>{-3, 0, 7, 1LL << 40});
  REQUIRE(r.contains("empty"));
  CHECK(r["empty"].shape() == Shape{0, 2});

  TempFile g;
  REQUIRE(std::system((py + " " + data_dir() + "/write_safetensors.py " + g.path + " linear").c_str()) == 0);
  nn::Linear fc(3, 2);
  nn::load(*fc, g.path);
  CHECK(fc->weight.to_vector<double>() == std::vector<double>{-1.25, -0.75, -0.25, 0.25, 0.75, 1.25});
  CHECK(fc->bias.to_vector<double>() == std::vector<double>{0.125, -4.0});
  agt::check_values(fc(tensor({1.0, 0.0, 2.0}, {3})), {-1.75 + 0.125, 2.75 - 4.0});
}

TEST_CASE("safetensors: NumPy reads a file we wrote (tests/data/read_safetensors.py)") {
  const std::string py = python_with_numpy();
  REQUIRE_MESSAGE(!py.empty(), "python3 with numpy is required (scripts/setup.sh installs python3-numpy)");
  TempFile f;
  OrderedDict<Tensor> t;
  t.insert("a", tensor({-1.0, -0.75, -0.5, -0.25, 0.0, 0.25}, {2, 3}));
  t.insert("b", tensor({M_PI, -M_E, 1e-300}, {3}, kFloat64));
  t.insert("c", tensor(std::vector<std::int64_t>{-1, 0, 1LL << 40, 7}, {2, 2}));
  t.insert("d", scalar_tensor(2.5, kFloat64));
  t.insert("e", zeros({0, 3}));
  nn::save_safetensors(t, f.path, {{"format", "pt"}});
  const std::string cmd = py + " " + data_dir() + "/read_safetensors.py " + f.path;
  CHECK(std::system(cmd.c_str()) == 0);
  // the script does fail on a wrong value
  t["b"].data<double>()[2] = 1e-299;
  nn::save_safetensors(t, f.path, {{"format", "pt"}});
  CHECK(std::system((cmd + " > /dev/null").c_str()) != 0);
}

TEST_CASE("load_safetensors: corrupt files are ag::Errors") {
  TempFile f;
  const std::string good_header = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  const std::string data = f32_bytes({1.0f, 2.0f});
  write_bytes(f.path, raw_file(good_header, data));
  REQUIRE(nn::load_safetensors(f.path)["w"].to_vector<double>() == std::vector<double>{1.0, 2.0});
  const std::string good = read_bytes(f.path);

  auto expect_error = [&](const std::string& bytes, const char* what) {
    INFO(what);
    write_bytes(f.path, bytes);
    CHECK_THROWS_AS(nn::load_safetensors(f.path), Error);
  };
  // truncated: no header length, inside the header, inside the data
  expect_error("", "empty file");
  expect_error(good.substr(0, 5), "5 bytes");
  expect_error(good.substr(0, 8), "only the length");
  expect_error(good.substr(0, 20), "inside the header");
  expect_error(good.substr(0, good.size() - 1), "one byte short");
  expect_error(good.substr(0, good.size() - 8), "no data");
  // header length beyond the file (and absurdly large)
  expect_error(raw_file(good_header, data, good_header.size() + data.size() + 1), "length past the end");
  expect_error(raw_file(good_header, data, UINT64_MAX - 1), "huge length");
  // not JSON, not an object, malformed entries
  expect_error(raw_file("{not json", data), "not JSON");
  expect_error(raw_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})", data), "unterminated");
  expect_error(raw_file("[1, 2]", data), "array header");
  expect_error(raw_file(R"({"w":5})", data), "entry not an object");
  expect_error(raw_file(R"({"w":{"shape":[2],"data_offsets":[0,8]}})", data), "no dtype");
  expect_error(raw_file(R"({"w":{"dtype":"F32","data_offsets":[0,8]}})", data), "no shape");
  expect_error(raw_file(R"({"w":{"dtype":"F32","shape":[2]}})", data), "no offsets");
  expect_error(raw_file(R"({"w":{"dtype":"F32","shape":2,"data_offsets":[0,8]}})", data), "shape not a list");
  expect_error(raw_file(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", data), "negative dim");
  expect_error(raw_file(R"({"w":{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}})", data), "dim not a number");
  expect_error(raw_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", data), "one offset");
  expect_error(raw_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":"0-8"}})", data), "offsets not a list");
  // wrong dtype strings
  expect_error(raw_file(R"({"w":{"dtype":"F16","shape":[4],"data_offsets":[0,8]}})", data), "F16");
  expect_error(raw_file(R"({"w":{"dtype":"BF16","shape":[4],"data_offsets":[0,8]}})", data), "BF16");
  expect_error(raw_file(R"({"w":{"dtype":"float32","shape":[2],"data_offsets":[0,8]}})", data), "float32");
  expect_error(raw_file(R"({"w":{"dtype":7,"shape":[2],"data_offsets":[0,8]}})", data), "dtype not a string");
  // data_offsets out of range or reversed
  expect_error(raw_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}})", data), "end past the data");
  expect_error(raw_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", data), "reversed");
  expect_error(raw_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}})", data), "negative");
  // offsets and shape disagree on the size
  expect_error(raw_file(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", data), "shape larger");
  expect_error(raw_file(R"({"w":{"dtype":"F64","shape":[2],"data_offsets":[0,8]}})", data), "F64 needs 16 bytes");
  expect_error(raw_file(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", data), "bytes left over");
  // holes and overlaps
  expect_error(raw_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", data), "hole at the start");
  expect_error(
      raw_file(
          R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
          data),
      "overlap");
  // numbers that are not non-negative integers (fuzz_safetensors: get<uint64_t> of 2.5e34 was UB)
  expect_error(raw_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[2.5e34,8]}})", data), "float offset");
  expect_error(raw_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0.0,8.0]}})", data), "offsets as floats");
  expect_error(raw_file(R"({"w":{"dtype":"F32","shape":[1e30],"data_offsets":[0,8]}})", data), "float dim");
  expect_error(raw_file(R"({"w":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})", data), "dim 2.0");
  expect_error(raw_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,true]}})", data), "bool offset");
  // a huge shape must not allocate
  expect_error(raw_file(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", data),
               "huge shape");

  // still fine: metadata, a padded header
  write_bytes(f.path,
              raw_file(R"({"__metadata__":{"k":"v"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}   )", data));
  CHECK(nn::load_safetensors(f.path).size() == 1);
}

TEST_CASE("load: mismatches with the module are ag::Errors and leave its weights bit-identical") {
  manual_seed(4);
  auto m = std::make_shared<Model>();
  const auto before = snapshot(*m);
  TempFile f;
  auto state = [&](double fill) {
    OrderedDict<Tensor> s;
    s.insert("fc.weight", full({2, 3}, fill));
    s.insert("fc.bias", full({2}, fill));
    s.insert("running", full({2}, fill, kFloat64));
    return s;
  };
  auto expect_error = [&](const OrderedDict<Tensor>& s, const char* what) {
    INFO(what);
    nn::save_safetensors(s, f.path);
    CHECK_THROWS_AS(nn::load(*m, f.path), Error);
    CHECK(snapshot(*m) == before);
  };
  {
    auto s = state(9.0);  // missing tensor (the last one, after names that match)
    OrderedDict<Tensor> t;
    t.insert("fc.weight", s["fc.weight"]);
    t.insert("fc.bias", s["fc.bias"]);
    expect_error(t, "missing tensor");
  }
  {
    auto s = state(9.0);
    s.insert("extra", ones({1}));
    expect_error(s, "extra tensor");
  }
  {
    OrderedDict<Tensor> s;
    s.insert("fc.weight", full({2, 3}, 9.0));
    s.insert("fc.bias", full({3}, 9.0));
    s.insert("running", full({2}, 9.0, kFloat64));
    expect_error(s, "shape mismatch");
  }
  {
    OrderedDict<Tensor> s;
    s.insert("fc.weight", full({3, 2}, 9.0));
    s.insert("fc.bias", full({2}, 9.0));
    s.insert("running", full({2}, 9.0, kFloat64));
    expect_error(s, "transposed weight");
  }
  {
    OrderedDict<Tensor> s;
    s.insert("fc.weight", full({2, 3}, 9.0));
    s.insert("fc.bias", full({2}, 9.0));
    s.insert("running", full({2}, 9.0));  // float32 instead of float64
    expect_error(s, "dtype mismatch (buffer)");
  }
  {
    OrderedDict<Tensor> s;
    s.insert("fc.weight", full({2, 3}, 9.0, kFloat64));
    s.insert("fc.bias", full({2}, 9.0));
    s.insert("running", full({2}, 9.0, kFloat64));
    expect_error(s, "dtype mismatch (weight)");
  }
  {
    OrderedDict<Tensor> s;
    s.insert("fc.weight", full({2, 3}, 9.0));
    s.insert("fc.bias", tensor(std::vector<std::int64_t>{9, 9}, {2}));
    s.insert("running", full({2}, 9.0, kFloat64));
    expect_error(s, "int64 bias");
  }
  // a corrupt file of the right names: the tail of the data is cut off
  nn::save_safetensors(state(9.0), f.path);
  const std::string bytes = read_bytes(f.path);
  write_bytes(f.path, bytes.substr(0, bytes.size() - 4));
  CHECK_THROWS_AS(nn::load(*m, f.path), Error);
  CHECK(snapshot(*m) == before);
  write_bytes(f.path, bytes.substr(0, 3));
  CHECK_THROWS_AS(nn::load(*m, f.path), Error);
  CHECK(snapshot(*m) == before);
  CHECK_THROWS_AS(nn::load(*m, "/nonexistent_dir_ag/m.safetensors"), Error);
  CHECK(snapshot(*m) == before);
  // and the correct file loads
  nn::save_safetensors(state(9.0), f.path);
  nn::load(*m, f.path);
  CHECK(m->fc->weight.to_vector<double>() == std::vector<double>(6, 9.0));
  CHECK(m->named_buffers()["running"].to_vector<double>() == std::vector<double>{9.0, 9.0});
}
