#pragma once
/// @file csv.h
/// nn::read_csv: a table of numbers with one sample per row, features first, labels last.
///
/// The format, kept deliberately small:
///   - one sample per line; fields separated by `delimiter` (',' by default); spaces and tabs around
///     a field are ignored; "\r\n" line ends are accepted;
///   - blank lines and lines whose first non-blank character is '#' are skipped;
///   - an optional header row: the first non-skipped line is a header when any of its fields is not
///     a number (CsvHeader::Auto), or always (Present) or never (Absent); its fields become
///     column_names;
///   - the last `label_columns` columns are labels, the others features (at least one of each);
///   - every field is a decimal number (`from_chars` syntax: "1", "-2.5", "3e-4"); nan and inf are
///     refused;
///   - CsvLabels::Class: one label column of class indices, integers >= 0 ("2" or "2.0"), returned
///     as int64 [N] for cross_entropy; CsvLabels::Float: real targets, returned as [N, label_columns]
///     in `dtype`, for mse_loss.
/// Every malformed input throws ag::Error naming the file and the line: a file that cannot be read,
/// no data row, a row with the wrong number of fields, a field that is not a finite number, a class
/// label that is not a non-negative integer.

#include <cstdint>
#include <istream>
#include <string>
#include <vector>

#include <autograd/autograd.h>

namespace ag::nn {

enum class CsvHeader { Auto, Present, Absent };
enum class CsvLabels { Class, Float };

/// `CsvOptions().labels(CsvLabels::Float).label_columns(2).dtype(kFloat64)`
struct CsvOptions {
  CsvOptions& delimiter(char c) {
    delimiter_ = c;
    return *this;
  }
  CsvOptions& header(CsvHeader h) {
    header_ = h;
    return *this;
  }
  CsvOptions& labels(CsvLabels l) {
    labels_ = l;
    return *this;
  }
  CsvOptions& label_columns(std::int64_t n) {
    label_columns_ = n;
    return *this;
  }
  CsvOptions& dtype(Dtype d) {
    dtype_ = d;
    return *this;
  }
  char delimiter() const { return delimiter_; }
  CsvHeader header() const { return header_; }
  CsvLabels labels() const { return labels_; }
  std::int64_t label_columns() const { return label_columns_; }
  Dtype dtype() const { return dtype_; }

 private:
  char delimiter_ = ',';
  CsvHeader header_ = CsvHeader::Auto;
  CsvLabels labels_ = CsvLabels::Class;
  std::int64_t label_columns_ = 1;
  Dtype dtype_ = kFloat32;
};

/// What read_csv returns.
struct CsvData {
  Tensor features;                        ///< [N, F] in options.dtype
  Tensor labels;                          ///< int64 [N] (Class) or [N, label_columns] (Float)
  std::vector<std::string> column_names;  ///< the header's fields, or empty without a header
  /// For class labels: the largest label + 1 (0 for float targets).
  std::int64_t num_classes = 0;
  std::int64_t size() const { return features.defined() ? features.size(0) : 0; }
};

/// Reads a CSV file as described above; ag::Error (with "path:line") on any malformed input.
CsvData read_csv(const std::string& path, const CsvOptions& options = {});
/// The same from a stream; `name` stands for the file name in error messages.
CsvData read_csv(std::istream& in, const std::string& name, const CsvOptions& options = {});

}  // namespace ag::nn
