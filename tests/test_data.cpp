// ag::data (data/): examples, datasets (tensor, MNIST idx files, CSV), transforms, samplers and the
// data loader without worker threads. The threaded loader is in test_data_threads.cpp.
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "nn/nn.h"
#include "test_util.h"

namespace data = ag::data;
namespace fs = std::filesystem;

namespace {

/// A fresh empty directory under the temporary directory.
fs::path temp_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("ag_test_data_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void put_u32(std::vector<unsigned char>& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<unsigned char>((v >> shift) & 0xff));
}

void write_bytes(const fs::path& path, const std::vector<unsigned char>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

/// Pixel p of image i in the generated files.
unsigned char pixel(std::uint32_t i, std::uint32_t p) { return static_cast<unsigned char>((i * 37 + p * 11) % 256); }

std::vector<unsigned char> images_idx(std::uint32_t count, std::uint32_t rows, std::uint32_t cols) {
  std::vector<unsigned char> b;
  put_u32(b, 2051);
  put_u32(b, count);
  put_u32(b, rows);
  put_u32(b, cols);
  for (std::uint32_t i = 0; i < count; ++i)
    for (std::uint32_t p = 0; p < rows * cols; ++p) b.push_back(pixel(i, p));
  return b;
}

std::vector<unsigned char> labels_idx(std::uint32_t count) {
  std::vector<unsigned char> b;
  put_u32(b, 2049);
  put_u32(b, count);
  for (std::uint32_t i = 0; i < count; ++i) b.push_back(static_cast<unsigned char>((i * 3) % 10));
  return b;
}

/// Writes a small MNIST set (train: 6 images of 4 x 3, test: 2) into `dir`.
void write_mnist(const fs::path& dir) {
  write_bytes(dir / "train-images-idx3-ubyte", images_idx(6, 4, 3));
  write_bytes(dir / "train-labels-idx1-ubyte", labels_idx(6));
  write_bytes(dir / "t10k-images-idx3-ubyte", images_idx(2, 4, 3));
  write_bytes(dir / "t10k-labels-idx1-ubyte", labels_idx(2));
}

/// All indices a sampler yields in one epoch (after reset), in order.
template <typename S>
std::vector<std::size_t> drain(S& sampler, std::size_t batch_size) {
  std::vector<std::size_t> all;
  while (auto batch = sampler.next(batch_size)) {
    CHECK(batch->size() <= batch_size);
    all.insert(all.end(), batch->begin(), batch->end());
  }
  return all;
}

/// Row i of the data tensor holds i * 10 + column.
ag::Tensor indexed_data(std::int64_t n, std::int64_t cols) {
  std::vector<double> v;
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t c = 0; c < cols; ++c) v.push_back(static_cast<double>(i * 10 + c));
  return ag::tensor(v, {n, cols}, ag::kFloat64);
}

}  // namespace

TEST_CASE("data: Example and TensorExample") {
  data::Example<> e(ag::ones({2}), ag::zeros({}));
  CHECK(e.data.size(0) == 2);
  CHECK(e.target.dim() == 0);
  data::TensorExample t = ag::ones({3});
  const ag::Tensor& as_tensor = t;
  CHECK(as_tensor.size(0) == 3);
}

TEST_CASE("data: TensorDataset and TensorPairDataset get, get_batch and size") {
  data::datasets::TensorDataset ds(indexed_data(5, 2));
  REQUIRE(ds.size().has_value());
  CHECK(*ds.size() == 5);
  agt::check_values(ds.get(3).data, {30.0, 31.0});
  const std::vector<std::size_t> idx = {4, 0, 2};
  const auto batch = ds.get_batch(idx);
  REQUIRE(batch.size() == 3);
  agt::check_values(batch[0].data, {40.0, 41.0});
  agt::check_values(batch[2].data, {20.0, 21.0});
  CHECK(agt::error_message([&] { ds.get(5); }).find("index 5 out of range") != std::string::npos);
  CHECK(agt::error_message([] { data::datasets::TensorDataset(ag::scalar_tensor(1.0)); }).find("TensorDataset") !=
        std::string::npos);

  data::datasets::TensorDataset stacked(std::vector<ag::Tensor>{ag::ones({2}), ag::zeros({2})});
  CHECK(*stacked.size() == 2);
  agt::check_values(stacked.get(1).data, {0.0, 0.0});

  data::datasets::TensorPairDataset pairs(indexed_data(4, 3), ag::arange(4, ag::kInt64));
  CHECK(*pairs.size() == 4);
  const auto ex = pairs.get(2);
  agt::check_values(ex.data, {20.0, 21.0, 22.0});
  CHECK(ex.target.item<std::int64_t>() == 2);
  const std::string msg = agt::error_message([] {
    data::datasets::TensorPairDataset(ag::ones({3, 2}), ag::ones({2}));
  });
  CHECK(msg.find("TensorPairDataset") != std::string::npos);
  CHECK(msg.find("float32[3, 2]") != std::string::npos);
}

TEST_CASE("data: a user's Dataset subclass with map(Stack)") {
  struct Squares : data::datasets::Dataset<Squares> {
    data::Example<> get(std::size_t i) override {
      const auto x = static_cast<double>(i);
      return {ag::tensor({x, x * x}, {2}, ag::kFloat64), ag::tensor(static_cast<std::int64_t>(i))};
    }
    std::optional<std::size_t> size() const override { return 6; }
  };
  auto stacked = Squares().map(data::transforms::Stack<>());
  CHECK(*stacked.size() == 6);
  const std::vector<std::size_t> idx = {1, 3};
  data::Example<> b = stacked.get_batch(idx);
  CHECK(b.data.sizes() == ag::Shape{2, 2});
  agt::check_values(b.data, {1.0, 1.0, 3.0, 9.0});
  CHECK(b.target.to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 3});
}

TEST_CASE("data: transforms Normalize, Lambda, TensorLambda, BatchLambda, Stack<TensorExample>") {
  // Normalize keeps [C, 1, 1] float32 statistics (libtorch's), one per channel of [C, H, W]
  data::transforms::Normalize<> norm({1.0, 2.0}, {2.0, 4.0});
  CHECK(norm.mean.sizes() == ag::Shape{2, 1, 1});
  CHECK(norm.mean.dtype() == ag::kFloat32);
  const ag::Tensor img = ag::tensor({3.0f, 5.0f, 6.0f, 10.0f}, {2, 1, 2});
  agt::check_values(norm(img), {1.0, 2.0, 1.0, 2.0});
  // float64 data stays float64 (statistics converted)
  const ag::Tensor img64 = img.to(ag::kFloat64);
  const ag::Tensor out64 = norm(img64);
  CHECK(out64.dtype() == ag::kFloat64);
  agt::check_values(out64, {1.0, 2.0, 1.0, 2.0});
  // the scalar form on a map; targets pass through
  data::datasets::TensorPairDataset pairs(ag::full({3, 1, 2, 2}, 0.5), ag::arange(3, ag::kInt64));
  auto normed = pairs.map(data::transforms::Normalize<>(0.25, 0.5)).map(data::transforms::Stack<>());
  const std::vector<std::size_t> idx = {2, 0};
  auto b = normed.get_batch(idx);
  CHECK(b.data.sizes() == ag::Shape{2, 1, 2, 2});
  agt::check_values(b.data, std::vector<double>(8, 0.5));
  CHECK(b.target.to_vector<std::int64_t>() == std::vector<std::int64_t>{2, 0});

  data::transforms::TensorLambda<> twice([](ag::Tensor t) { return t * 2.0; });
  data::transforms::Lambda<data::Example<>> plus_one([](data::Example<> e) {
    e.target = ag::tensor(e.target.item<std::int64_t>() + 1);
    return e;
  });
  auto mapped = pairs.map(twice).map(plus_one).map(data::transforms::Stack<>());
  auto mb = mapped.get_batch(idx);
  agt::check_values(mb.data, std::vector<double>(8, 1.0));
  CHECK(mb.target.to_vector<std::int64_t>() == std::vector<std::int64_t>{3, 1});

  data::transforms::BatchLambda<data::Example<>> negate([](data::Example<> e) {
    e.data = -e.data;
    return e;
  });
  auto neg = pairs.map(data::transforms::Stack<>()).map(negate);
  agt::check_values(neg.get_batch(idx).data, std::vector<double>(8, -0.5));

  data::datasets::TensorDataset plain(indexed_data(3, 2));
  auto plain_stacked = plain.map(data::transforms::Stack<data::TensorExample>());
  data::TensorExample pb = plain_stacked.get_batch(idx);
  agt::check_values(pb.data, {20.0, 21.0, 0.0, 1.0});
}

TEST_CASE("data: MNIST reads idx files, values in [0, 1] float32") {
  const fs::path dir = temp_dir("mnist");
  write_mnist(dir);
  data::datasets::MNIST train(dir.string());
  CHECK(train.is_train());
  CHECK(*train.size() == 6);
  CHECK(train.images().sizes() == ag::Shape{6, 1, 4, 3});
  CHECK(train.images().dtype() == ag::kFloat32);
  CHECK(train.targets().dtype() == ag::kInt64);
  CHECK(train.targets().to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 3, 6, 9, 2, 5});
  const auto ex = train.get(4);
  CHECK(ex.data.sizes() == ag::Shape{1, 4, 3});
  CHECK(ex.target.item<std::int64_t>() == 2);
  const auto px = ex.data.to_vector<float>();
  for (std::uint32_t p = 0; p < 12; ++p) CHECK(px[p] == static_cast<float>(pixel(4, p)) / 255.0f);
  const auto all = train.images().to_vector<float>();
  CHECK(*std::min_element(all.begin(), all.end()) >= 0.0f);
  CHECK(*std::max_element(all.begin(), all.end()) <= 1.0f);

  data::datasets::MNIST test(dir.string(), data::datasets::MNIST::Mode::kTest);
  CHECK_FALSE(test.is_train());
  CHECK(*test.size() == 2);
  CHECK(test.targets().to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 3});

  // the official example's pipeline
  auto loader =
      data::make_data_loader<data::samplers::SequentialSampler>(data::datasets::MNIST(dir.string())
                                                                    .map(data::transforms::Normalize<>(0.1307, 0.3081))
                                                                    .map(data::transforms::Stack<>()),
                                                                data::DataLoaderOptions().batch_size(4));
  std::vector<std::int64_t> sizes;
  for (auto& batch : *loader) {
    CHECK(batch.data.size(1) == 1);
    sizes.push_back(batch.data.size(0));
  }
  CHECK(sizes == std::vector<std::int64_t>{4, 2});
  fs::remove_all(dir);
}

TEST_CASE("data: a malformed MNIST idx file is an ag::Error naming the file and the fault") {
  const fs::path dir = temp_dir("mnist_bad");
  auto expect = [&](const std::string& file, const std::string& what) {
    const std::string msg = agt::error_message([&] { data::datasets::MNIST(dir.string()); });
    INFO(msg);
    CHECK(msg.find(file) != std::string::npos);
    CHECK(msg.find(what) != std::string::npos);
  };
  expect("train-images-idx3-ubyte", "cannot open");

  write_mnist(dir);
  auto images = images_idx(6, 4, 3);
  images[3] = 0x04;  // magic 2052
  write_bytes(dir / "train-images-idx3-ubyte", images);
  expect("train-images-idx3-ubyte", "magic number 2052, expected 2051");

  images = images_idx(6, 4, 3);
  images.resize(images.size() - 5);
  write_bytes(dir / "train-images-idx3-ubyte", images);
  expect("train-images-idx3-ubyte", "truncated");

  images = images_idx(6, 4, 3);
  images.resize(10);  // inside the header
  write_bytes(dir / "train-images-idx3-ubyte", images);
  expect("train-images-idx3-ubyte", "truncated: its header ends before the row count");

  images = images_idx(6, 4, 3);
  images.push_back(7);
  write_bytes(dir / "train-images-idx3-ubyte", images);
  expect("train-images-idx3-ubyte", "1 bytes after");

  write_bytes(dir / "train-images-idx3-ubyte", images_idx(6, 4, 3));
  write_bytes(dir / "train-labels-idx1-ubyte", labels_idx(5));
  expect("train-labels-idx1-ubyte", "5 labels for 6 images");

  auto labels = labels_idx(6);
  labels.pop_back();
  put_u32(labels, 0);  // count says 6: rewrite with a wrong magic instead
  labels = labels_idx(6);
  labels[3] = 0x03;  // 2051: an images file where labels belong
  write_bytes(dir / "train-labels-idx1-ubyte", labels);
  expect("train-labels-idx1-ubyte", "magic number 2051, expected 2049");

  labels = labels_idx(6);
  labels.pop_back();
  write_bytes(dir / "train-labels-idx1-ubyte", labels);
  expect("train-labels-idx1-ubyte", "truncated");
  fs::remove_all(dir);
}

TEST_CASE("data: CSV dataset on read_csv") {
  const fs::path dir = temp_dir("csv");
  const fs::path path = dir / "table.csv";
  {
    std::ofstream out(path);
    out << "a,b,label\n1,2,0\n3,4,1\n5,6,2\n";
  }
  data::datasets::CSV csv(path.string());
  CHECK(*csv.size() == 3);
  CHECK(csv.num_classes() == 3);
  CHECK(csv.column_names() == std::vector<std::string>{"a", "b", "label"});
  const auto ex = csv.get(1);
  agt::check_values(ex.data, {3.0, 4.0});
  CHECK(ex.target.item<std::int64_t>() == 1);
  auto loader = data::make_data_loader<data::samplers::SequentialSampler>(csv.map(data::transforms::Stack<>()), 2);
  std::vector<std::int64_t> targets;
  for (auto& b : *loader)
    for (auto t : b.target.to_vector<std::int64_t>()) targets.push_back(t);
  CHECK(targets == std::vector<std::int64_t>{0, 1, 2});
  CHECK(agt::error_message([&] { data::datasets::CSV((dir / "missing.csv").string()); }).find("missing.csv") !=
        std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("data: SequentialSampler and RandomSampler") {
  data::samplers::SequentialSampler seq(7);
  CHECK(drain(seq, 3) == std::vector<std::size_t>{0, 1, 2, 3, 4, 5, 6});
  CHECK(seq.index() == 7);
  CHECK_FALSE(seq.next(3).has_value());
  seq.reset(3);
  CHECK(drain(seq, 2) == std::vector<std::size_t>{0, 1, 2});

  // the global generator: manual_seed makes it reproducible
  ag::manual_seed(7);
  data::samplers::RandomSampler r1(50);
  const auto e1 = drain(r1, 8);
  r1.reset();
  const auto e2 = drain(r1, 8);
  ag::manual_seed(7);
  data::samplers::RandomSampler r2(50);
  CHECK(drain(r2, 5) == e1);
  r2.reset();
  CHECK(drain(r2, 50) == e2);
  CHECK(e1 != e2);  // a new permutation each epoch
  auto sorted = e1;
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::size_t> iota(50);
  std::iota(iota.begin(), iota.end(), std::size_t{0});
  CHECK(sorted == iota);

  // an explicit seed: the same permutations whatever the global generator does
  data::samplers::RandomSampler s1(50, ag::kInt64, 123);
  ag::manual_seed(1);
  const auto s1e1 = drain(s1, 7);
  s1.reset();
  const auto s1e2 = drain(s1, 7);
  data::samplers::RandomSampler s2(50, ag::kInt64, 123);
  ag::manual_seed(2);
  (void)ag::rand({10});
  CHECK(drain(s2, 50) == s1e1);
  s2.reset();
  CHECK(drain(s2, 3) == s1e2);
  sorted = s1e2;
  std::sort(sorted.begin(), sorted.end());
  CHECK(sorted == iota);
  data::samplers::RandomSampler s3(50, ag::kInt64, 124);
  CHECK(drain(s3, 50) != s1e1);
  CHECK(agt::error_message([] { data::samplers::RandomSampler(-1); }).find("non-negative") != std::string::npos);
}

TEST_CASE("data: distributed samplers cover every index exactly once per epoch across ranks") {
  for (const bool random : {false, true})
    for (const std::size_t size : {12u, 13u, 3u})
      for (const std::size_t replicas : {1u, 2u, 3u, 4u, 5u})
        for (const bool allow_duplicates : {true, false})
          for (const std::size_t epoch : {0u, 1u}) {
            INFO("random " << random << " size " << size << " replicas " << replicas << " dup " << allow_duplicates
                           << " epoch " << epoch);
            std::vector<std::size_t> counts(size, 0);
            std::vector<std::vector<std::size_t>> per_rank;
            for (std::size_t rank = 0; rank < replicas; ++rank) {
              std::vector<std::size_t> got;
              if (random) {
                data::samplers::DistributedRandomSampler s(size, replicas, rank, allow_duplicates);
                s.set_epoch(epoch);
                s.reset();
                got = drain(s, 4);
                s.reset();
                CHECK(drain(s, 2) == got);  // the same epoch, the same share
              } else {
                data::samplers::DistributedSequentialSampler s(size, replicas, rank, allow_duplicates);
                got = drain(s, 4);
                s.reset();
                CHECK(drain(s, 3) == got);
              }
              const std::size_t local = allow_duplicates ? (size + replicas - 1) / replicas : size / replicas;
              CHECK(got.size() == local);  // every rank draws the same number
              for (auto i : got) {
                REQUIRE(i < size);
                ++counts[i];
              }
              per_rank.push_back(got);
            }
            const std::size_t total = std::accumulate(counts.begin(), counts.end(), std::size_t{0});
            if (size % replicas == 0) {
              CHECK(std::all_of(counts.begin(), counts.end(), [](std::size_t c) { return c == 1; }));
            } else if (allow_duplicates) {
              // padded: every index at least once, the first indices (before shuffling) twice
              CHECK(std::all_of(counts.begin(), counts.end(), [](std::size_t c) { return c >= 1 && c <= 2; }));
              CHECK(total == replicas * ((size + replicas - 1) / replicas));
              if (!random)
                for (std::size_t i = 0; i < size; ++i) CHECK(counts[i] == (i < total - size ? 2u : 1u));
            } else {
              // dropped: each index at most once, the last size % replicas never drawn
              CHECK(std::all_of(counts.begin(), counts.end(), [](std::size_t c) { return c <= 1; }));
              CHECK(total == replicas * (size / replicas));
              for (std::size_t i = total; i < size; ++i) CHECK(counts[i] == 0);
            }
          }
  // set_epoch changes the shuffle, the same on every rank
  data::samplers::DistributedRandomSampler a(20, 2, 0), b(20, 2, 0);
  const auto epoch0 = drain(a, 20);
  a.set_epoch(1);
  a.reset();
  b.set_epoch(1);
  b.reset();
  const auto epoch1 = drain(a, 20);
  CHECK(epoch0 != epoch1);
  CHECK(drain(b, 20) == epoch1);
  CHECK(a.epoch() == 1);
  CHECK(agt::error_message([] { data::samplers::DistributedSequentialSampler(10, 2, 2); }).find("rank 2") !=
        std::string::npos);
  CHECK(agt::error_message([] { data::samplers::DistributedRandomSampler(10, 0, 0); }).find("num_replicas") !=
        std::string::npos);
}

TEST_CASE("data: data loader without workers: batches, drop_last, epochs, samplers") {
  data::datasets::TensorPairDataset ds(indexed_data(10, 2), ag::arange(10, ag::kInt64));
  auto loader = data::make_data_loader<data::samplers::SequentialSampler>(ds, data::DataLoaderOptions().batch_size(4));
  CHECK(loader->options().batch_size == 4);
  CHECK(loader->options().workers == 0);
  CHECK(loader->options().max_jobs == 0);
  for (int epoch = 0; epoch < 2; ++epoch) {
    std::vector<std::size_t> sizes;
    std::vector<std::int64_t> targets;
    for (auto& batch : *loader) {  // std::vector<Example<>>
      sizes.push_back(batch.size());
      for (auto& e : batch) targets.push_back(e.target.item<std::int64_t>());
    }
    CHECK(sizes == std::vector<std::size_t>{4, 4, 2});
    CHECK(targets == std::vector<std::int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  }

  auto dropping = data::make_data_loader<data::samplers::SequentialSampler>(
      ds.map(data::transforms::Stack<>()), data::DataLoaderOptions().batch_size(4).drop_last(true));
  std::vector<std::int64_t> sizes;
  for (auto& batch : *dropping) sizes.push_back(batch.data.size(0));
  CHECK(sizes == std::vector<std::int64_t>{4, 4});

  // the default sampler is RandomSampler: a permutation per epoch
  ag::manual_seed(3);
  auto shuffled = data::make_data_loader(ds.map(data::transforms::Stack<>()), 3);
  std::vector<std::int64_t> seen;
  for (auto it = shuffled->begin(); it != shuffled->end(); ++it)
    for (auto t : it->target.to_vector<std::int64_t>()) seen.push_back(t);
  std::sort(seen.begin(), seen.end());
  CHECK(seen == std::vector<std::int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});

  // an explicit sampler: rank 1 of 2
  auto dist = data::make_data_loader(ds.map(data::transforms::Stack<>()),
                                     data::samplers::DistributedSequentialSampler(10, 2, 1), 2);
  std::vector<std::int64_t> rank1;
  for (auto& b : *dist)
    for (auto t : b.target.to_vector<std::int64_t>()) rank1.push_back(t);
  CHECK(rank1 == std::vector<std::int64_t>{5, 6, 7, 8, 9});

  auto it = loader->begin();
  for (int i = 0; i < 3; ++i) ++it;
  CHECK(it == loader->end());
  CHECK(agt::error_message([&] { *it; }).find("past the end") != std::string::npos);
  CHECK(agt::error_message([&] {
          data::make_data_loader(ds, data::DataLoaderOptions().batch_size(0));
        }).find("batch_size") != std::string::npos);
}
