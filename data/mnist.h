#pragma once
/// @file mnist.h
/// datasets::MNIST(root, Mode::kTrain | kTest), as libtorch's: reads the standard idx files in the
/// directory `root`: train-images-idx3-ubyte and train-labels-idx1-ubyte (kTrain),
/// t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (kTest).
///
/// Images are float32 [N, 1, rows, cols] with values byte / 255 in [0, 1]; targets int64 [N].
/// Example i is {images[i], targets[i]} ([1, rows, cols] and 0-d). Unlike libtorch, which insists
/// on 60000/10000 images of 28 x 28, any count and image size the headers state is read.
/// Every malformed file throws ag::Error naming the file and what is wrong: a file that cannot be
/// opened, a wrong magic number (2051 for images, 2049 for labels), a header or data shorter than
/// the header states (truncated), bytes after the data, a label count different from the image count.

#include <cstddef>
#include <optional>
#include <string>

#include <autograd/tensor.h>

#include "data/dataset.h"

namespace ag::data::datasets {

/// The MNIST digits read from idx files.
class MNIST : public Dataset<MNIST> {
 public:
  /// Which pair of files to read.
  enum class Mode { kTrain, kTest };

  /// Reads the images and labels of `mode` from the directory `root`.
  explicit MNIST(const std::string& root, Mode mode = Mode::kTrain);

  /// {images[index], targets[index]}.
  Example<> get(std::size_t index) override;
  /// The number of images.
  std::optional<std::size_t> size() const override;
  /// True when made with Mode::kTrain.
  bool is_train() const noexcept;
  /// All images, float32 [N, 1, rows, cols].
  const Tensor& images() const;
  /// All labels, int64 [N].
  const Tensor& targets() const;

 private:
  Tensor images_, targets_;
  bool train_;
};

}  // namespace ag::data::datasets
