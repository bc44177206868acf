#include "nn/csv.h"

#include <charconv>
#include <cmath>
#include <fstream>
#include <string_view>

namespace ag::nn {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split(std::string_view line, char delim) {
  std::vector<std::string_view> fields;
  std::size_t start = 0;
  for (;;) {
    const std::size_t pos = line.find(delim, start);
    fields.push_back(trim(line.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start)));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return fields;
}

bool parse_number(std::string_view s, double& out) {
  if (s.empty()) return false;
  if (s.front() == '+') s.remove_prefix(1);
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size() && std::isfinite(out);
}

bool all_numbers(const std::vector<std::string_view>& fields) {
  double v = 0;
  for (auto f : fields)
    if (!parse_number(f, v)) return false;
  return true;
}

std::string shown(std::string_view s) {
  constexpr std::size_t kMax = 40;
  return s.size() <= kMax ? std::string(s) : std::string(s.substr(0, kMax)) + "...";
}

}  // namespace

CsvData read_csv(const std::string& path, const CsvOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("read_csv: cannot open '{}'", path);
  return read_csv(in, path, options);
}

CsvData read_csv(std::istream& in, const std::string& name, const CsvOptions& options) {
  const char delim = options.delimiter();
  if (delim == ' ' || delim == '\t' || delim == '#' || delim == '\n' || delim == '\r' || delim == '.' || delim == '-' ||
      delim == '+' || (delim >= '0' && delim <= '9') || delim == 'e' || delim == 'E')
    fail("read_csv: {}: '{}' cannot be the delimiter", name, delim);
  const std::int64_t n_labels = options.label_columns();
  if (n_labels < 1) fail("read_csv: {}: label_columns must be at least 1, got {}", name, n_labels);
  const bool classes = options.labels() == CsvLabels::Class;
  if (classes && n_labels != 1)
    fail("read_csv: {}: class labels take exactly one column, got label_columns = {}", name, n_labels);
  if (options.dtype() != kFloat32 && options.dtype() != kFloat64)
    fail("read_csv: {}: features must be float32 or float64, got {}", name, dtype_name(options.dtype()));

  CsvData data;
  std::vector<double> features, targets;
  std::vector<std::int64_t> class_labels;
  std::size_t columns = 0, first_row_line = 0, line_no = 0, rows = 0;
  bool seen_first = false;
  std::string line;
  while (std::getline(in, line)) {
    ++line_no;
    const std::string_view body = trim(line);
    if (body.empty() || body.front() == '#') continue;
    const auto fields = split(body, delim);
    if (!seen_first) {
      seen_first = true;
      const bool header =
          options.header() == CsvHeader::Present || (options.header() == CsvHeader::Auto && !all_numbers(fields));
      if (fields.size() < static_cast<std::size_t>(n_labels) + 1)
        fail("read_csv: {}:{}: {} field(s), but at least {} are needed ({} label column(s) and a feature)", name,
             line_no, fields.size(), n_labels + 1, n_labels);
      columns = fields.size();
      first_row_line = line_no;
      if (header) {
        for (auto f : fields) data.column_names.emplace_back(f);
        continue;
      }
    }
    if (fields.size() != columns)
      fail("read_csv: {}:{}: expected {} fields (as on line {}), got {}", name, line_no, columns, first_row_line,
           fields.size());
    const std::size_t n_features = columns - static_cast<std::size_t>(n_labels);
    for (std::size_t c = 0; c < columns; ++c) {
      double v = 0;
      if (!parse_number(fields[c], v))
        fail("read_csv: {}:{}: column {} is not a finite number: '{}'", name, line_no, c + 1, shown(fields[c]));
      if (c < n_features) {
        features.push_back(v);
      } else if (classes) {
        if (v < 0 || v != std::floor(v) || v > 9.0e15)
          fail("read_csv: {}:{}: column {} is a class label and must be an integer >= 0, got '{}'", name, line_no,
               c + 1, shown(fields[c]));
        class_labels.push_back(static_cast<std::int64_t>(v));
        data.num_classes = std::max(data.num_classes, class_labels.back() + 1);
      } else {
        targets.push_back(v);
      }
    }
    ++rows;
  }
  if (in.bad()) fail("read_csv: {}: read error after line {}", name, line_no);
  if (rows == 0)
    fail("read_csv: {}:{}: no data rows{}", name, line_no,
         line_no == 0 ? " (the file is empty)" : (data.column_names.empty() ? "" : " after the header"));

  const auto n = static_cast<std::int64_t>(rows);
  const auto f = static_cast<std::int64_t>(columns) - n_labels;
  data.features = tensor(features, {n, f}, options.dtype());
  data.labels = classes ? tensor(class_labels, {n}) : tensor(targets, {n, n_labels}, options.dtype());
  return data;
}

}  // namespace ag::nn
