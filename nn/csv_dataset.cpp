#include "nn/csv_dataset.h"

#include <utility>

#include <autograd/error.h>

namespace ag::data::datasets {

CSV::CSV(const std::string& path, const nn::CsvOptions& options) : table_(nn::read_csv(path, options)) {}

CSV::CSV(nn::CsvData table) : table_(std::move(table)) {
  if (!table_.features.defined() || !table_.labels.defined() || table_.features.dim() == 0 ||
      table_.labels.dim() == 0 || table_.features.size(0) != table_.labels.size(0))
    fail("datasets::CSV: expected features and labels with the same number of rows");
}

Example<> CSV::get(std::size_t index) {
  if (index >= *size()) fail("datasets::CSV::get: index {} out of range for a dataset of {} examples", index, *size());
  const auto i = static_cast<std::int64_t>(index);
  return {table_.features[i], table_.labels[i]};
}

std::optional<std::size_t> CSV::size() const { return static_cast<std::size_t>(table_.size()); }

}  // namespace ag::data::datasets
