#include "data/mnist.h"

#include <cstdint>
#include <fstream>
#include <iterator>
#include <vector>

#include <autograd/error.h>

namespace ag::data::datasets {
namespace {

constexpr std::uint32_t kImageMagic = 2051;
constexpr std::uint32_t kTargetMagic = 2049;

std::string join_paths(std::string head, const std::string& tail) {
  if (!head.empty() && head.back() != '/') head.push_back('/');
  return head + tail;
}

/// An idx file's bytes and a cursor over them, with errors naming the file.
struct IdxReader {
  std::string path;
  std::vector<unsigned char> bytes;
  std::size_t pos = 0;

  explicit IdxReader(std::string p) : path(std::move(p)) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail("MNIST: cannot open '{}'", path);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (in.bad()) fail("MNIST: error reading '{}'", path);
  }
  /// A big-endian 32-bit header field.
  std::uint32_t read_u32(const char* what) {
    if (bytes.size() - pos < 4)
      fail("MNIST: '{}' is truncated: its header ends before the {} ({} bytes in the file)", path, what, bytes.size());
    const std::uint32_t v = (std::uint32_t(bytes[pos]) << 24) | (std::uint32_t(bytes[pos + 1]) << 16) |
                            (std::uint32_t(bytes[pos + 2]) << 8) | std::uint32_t(bytes[pos + 3]);
    pos += 4;
    return v;
  }
  void expect_magic(std::uint32_t expected, const char* kind) {
    const std::uint32_t magic = read_u32("magic number");
    if (magic != expected)
      fail("MNIST: '{}' is not an idx {} file: magic number {}, expected {}", path, kind, magic, expected);
  }
  /// Checks that exactly `n` data bytes follow the header; returns a pointer to them.
  const unsigned char* data(std::uint64_t n, const std::string& what) {
    const std::uint64_t left = bytes.size() - pos;
    if (left < n)
      fail("MNIST: '{}' is truncated: the header states {} ({} bytes of data), the file has {}", path, what, n, left);
    if (left > n) fail("MNIST: '{}' has {} bytes after the {} its header states", path, left - n, what);
    return bytes.data() + pos;
  }
};

Tensor read_images(const std::string& root, bool train) {
  IdxReader r(join_paths(root, train ? "train-images-idx3-ubyte" : "t10k-images-idx3-ubyte"));
  r.expect_magic(kImageMagic, "images (idx3)");
  const std::uint32_t count = r.read_u32("image count");
  const std::uint32_t rows = r.read_u32("row count");
  const std::uint32_t cols = r.read_u32("column count");
  if (rows == 0 || cols == 0) fail("MNIST: '{}' states images of {} x {} pixels", r.path, rows, cols);
  const std::uint64_t n = std::uint64_t(count) * rows * cols;
  const unsigned char* src = r.data(n, fmt::format("{} images of {} x {}", count, rows, cols));
  Tensor images = ag::empty({std::int64_t(count), 1, std::int64_t(rows), std::int64_t(cols)}, kFloat32);
  float* dst = images.data<float>();
  for (std::uint64_t i = 0; i < n; ++i) dst[i] = static_cast<float>(src[i]) / 255.0f;
  return images;
}

Tensor read_targets(const std::string& root, bool train, std::int64_t image_count) {
  IdxReader r(join_paths(root, train ? "train-labels-idx1-ubyte" : "t10k-labels-idx1-ubyte"));
  r.expect_magic(kTargetMagic, "labels (idx1)");
  const std::uint32_t count = r.read_u32("label count");
  if (std::int64_t(count) != image_count) fail("MNIST: '{}' has {} labels for {} images", r.path, count, image_count);
  const unsigned char* src = r.data(count, fmt::format("{} labels", count));
  Tensor targets = ag::empty({std::int64_t(count)}, kInt64);
  auto* dst = targets.data<std::int64_t>();
  for (std::uint32_t i = 0; i < count; ++i) dst[i] = src[i];
  return targets;
}

}  // namespace

MNIST::MNIST(const std::string& root, Mode mode)
    : images_(read_images(root, mode == Mode::kTrain)),
      targets_(read_targets(root, mode == Mode::kTrain, images_.size(0))),
      train_(mode == Mode::kTrain) {}

Example<> MNIST::get(std::size_t index) {
  if (index >= *size()) fail("MNIST::get: index {} out of range for a dataset of {} examples", index, *size());
  const auto i = static_cast<std::int64_t>(index);
  return {images_[i], targets_[i]};
}

std::optional<std::size_t> MNIST::size() const { return static_cast<std::size_t>(images_.size(0)); }
bool MNIST::is_train() const noexcept { return train_; }
const Tensor& MNIST::images() const { return images_; }
const Tensor& MNIST::targets() const { return targets_; }

}  // namespace ag::data::datasets
