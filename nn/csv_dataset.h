#pragma once
/// @file csv_dataset.h
/// datasets::CSV(path, options): a dataset over a CSV file read with nn::read_csv (nn/csv.h), one
/// example per data row: {features[i], labels[i]} (features [F] in options.dtype; labels a 0-d int64
/// class index, or [label_columns] floats). Not in libtorch. It is in nn/ (namespace ag::data) because
/// nn is the layer above data: data/ knows nothing of nn's read_csv.
///
///     auto loader = ag::data::make_data_loader(
///         ag::data::datasets::CSV("iris.csv").map(ag::data::transforms::Stack<>()), 16);

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <autograd/tensor.h>
#include <data/dataset.h>

#include "nn/csv.h"

namespace ag::data::datasets {

/// The rows of a CSV file as examples.
class CSV : public Dataset<CSV> {
 public:
  /// Reads `path` with nn::read_csv (its ag::Error, naming the file and line, on malformed input).
  explicit CSV(const std::string& path, const nn::CsvOptions& options = {});
  /// A dataset over a table already read.
  explicit CSV(nn::CsvData table);

  /// {features[index], labels[index]}.
  Example<> get(std::size_t index) override;
  /// The number of data rows.
  std::optional<std::size_t> size() const override;

  /// All features [N, F].
  const Tensor& features() const { return table_.features; }
  /// All labels: int64 [N] or [N, label_columns].
  const Tensor& labels() const { return table_.labels; }
  /// The header's fields (empty without a header).
  const std::vector<std::string>& column_names() const { return table_.column_names; }
  /// For class labels, the largest + 1; 0 for float targets.
  std::int64_t num_classes() const { return table_.num_classes; }

 private:
  nn::CsvData table_;
};

}  // namespace ag::data::datasets
