// nn::read_csv: the documented format (header detection, comments, labels) and every malformed input.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "nn/csv.h"
#include "test_util.h"

using namespace ag;
using nn::CsvHeader;
using nn::CsvLabels;
using nn::CsvOptions;

namespace {

nn::CsvData parse(const std::string& text, const CsvOptions& options = {}) {
  std::istringstream in(text);
  return nn::read_csv(in, "mem.csv", options);
}

// The ag::Error message of parsing `text`, or "" when it parses.
std::string error_of(const std::string& text, const CsvOptions& options = {}) {
  try {
    parse(text, options);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("read_csv: header detected, comments, blank lines, spaces and CRLF; class labels as int64 [N]") {
  const auto d = parse(
      "# two features and a class\n"
      "x1, x2 ,label\r\n"
      "\n"
      "0.5,-1,0\r\n"
      "  2.25 ,\t3e-1, 2\n"
      "# a comment between rows\n"
      "+4,0,1.0\n");
  CHECK(d.column_names == std::vector<std::string>{"x1", "x2", "label"});
  CHECK(d.size() == 3);
  CHECK(d.features.shape() == Shape{3, 2});
  CHECK(d.features.dtype() == kFloat32);
  agt::check_values(d.features, {0.5, -1.0, 2.25, 0.3, 4.0, 0.0}, 1e-7);
  CHECK(d.labels.dtype() == kInt64);
  CHECK(d.labels.shape() == Shape{3});
  CHECK(d.labels.to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 2, 1});
  CHECK(d.num_classes == 3);
}

TEST_CASE("read_csv: without a header, float targets [N, k] in float64, other delimiters") {
  const auto d = parse("1,2,3,4\n5,6,7,8\n", CsvOptions().labels(CsvLabels::Float).label_columns(2).dtype(kFloat64));
  CHECK(d.column_names.empty());
  CHECK(d.features.dtype() == kFloat64);
  CHECK(d.features.shape() == Shape{2, 2});
  agt::check_values(d.features, {1, 2, 5, 6});
  CHECK(d.labels.dtype() == kFloat64);
  CHECK(d.labels.shape() == Shape{2, 2});
  agt::check_values(d.labels, {3, 4, 7, 8});
  CHECK(d.num_classes == 0);

  const auto s = parse("a;b\n-0.125;7.5\n", CsvOptions().delimiter(';').labels(CsvLabels::Float));
  CHECK(s.column_names == std::vector<std::string>{"a", "b"});
  agt::check_values(s.features, {-0.125});
  agt::check_values(s.labels, {7.5});
  CHECK(s.labels.shape() == Shape{1, 1});
}

TEST_CASE("read_csv: CsvHeader::Present takes a numeric first row as the header, Absent refuses a text one") {
  const auto d = parse("10,20,1\n3,4,0\n", CsvOptions().header(CsvHeader::Present));
  CHECK(d.column_names == std::vector<std::string>{"10", "20", "1"});
  CHECK(d.size() == 1);
  agt::check_values(d.features, {3, 4});
  CHECK(d.labels.to_vector<std::int64_t>() == std::vector<std::int64_t>{0});
  CHECK(d.num_classes == 1);

  const std::string e = error_of("x,y\n1,0\n", CsvOptions().header(CsvHeader::Absent));
  CHECK(contains(e, "mem.csv:1:"));
  CHECK(contains(e, "column 1 is not a finite number: 'x'"));
}

TEST_CASE("read_csv: a file on disk, and a file that cannot be opened") {
  const auto path = std::filesystem::temp_directory_path() / "ag_test_nn_csv.csv";
  {
    std::ofstream out(path);
    out << "f,label\n1.5,1\n-2,0\n";
  }
  const auto d = nn::read_csv(path.string());
  CHECK(d.size() == 2);
  agt::check_values(d.features, {1.5, -2.0});
  CHECK(d.labels.to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 0});
  std::filesystem::remove(path);
  CHECK_THROWS_AS(nn::read_csv(path.string()), Error);
  try {
    nn::read_csv(path.string());
  } catch (const Error& e) {
    CHECK(contains(e.what(), "cannot open"));
    CHECK(contains(e.what(), path.string()));
  }
}

TEST_CASE("read_csv: malformed rows throw ag::Error naming the file and the line") {
  CHECK_THROWS_AS(parse("1,2,0\n3,4\n"), Error);
  CHECK(contains(error_of("1,2,0\n3,4\n"), "mem.csv:2: expected 3 fields (as on line 1), got 2"));
  CHECK(contains(error_of("a,b,c\n1,2,0\n\n1,2,3,4\n"), "mem.csv:4: expected 3 fields (as on line 1), got 4"));

  CHECK_THROWS_AS(parse("1,2,0\n3,abc,1\n"), Error);
  CHECK(contains(error_of("1,2,0\n3,abc,1\n"), "mem.csv:2: column 2 is not a finite number: 'abc'"));
  CHECK(contains(error_of("1,2,0\n3,,1\n"), "mem.csv:2: column 2 is not a finite number: ''"));
  CHECK(contains(error_of("1,2,0\n3,1.5x,1\n"), "mem.csv:2: column 2"));
  CHECK(contains(error_of("1,2,0\nnan,1,1\n"), "mem.csv:2: column 1"));
  CHECK(contains(error_of("1,2,0\n1,inf,1\n"), "mem.csv:2: column 2"));
  CHECK(contains(error_of("1,2,0\n1,1e999,1\n"), "mem.csv:2: column 2"));

  CHECK_THROWS_AS(parse("1,2,0\n1,2,-1\n"), Error);
  CHECK(contains(error_of("1,2,0\n1,2,-1\n"),
                 "mem.csv:2: column 3 is a class label and must be an integer >= 0, got '-1'"));
  CHECK(contains(error_of("1,2,0.5\n"), "mem.csv:1: column 3 is a class label"));
  CHECK(error_of("1,2,0.5\n", CsvOptions().labels(CsvLabels::Float)).empty());  // fine as a float target
}

TEST_CASE("read_csv: empty inputs, too few columns and bad options throw ag::Error") {
  CHECK_THROWS_AS(parse(""), Error);
  CHECK(contains(error_of(""), "mem.csv:0: no data rows (the file is empty)"));
  CHECK(contains(error_of("# only a comment\n\n"), "mem.csv:2: no data rows"));
  CHECK(contains(error_of("x,y,label\n"), "mem.csv:1: no data rows after the header"));
  CHECK(contains(error_of("\n5\n"), "mem.csv:2: 1 field(s), but at least 2 are needed"));
  CHECK(contains(error_of("1,2\n", CsvOptions().labels(CsvLabels::Float).label_columns(2)),
                 "mem.csv:1: 2 field(s), but at least 3 are needed"));

  CHECK_THROWS_AS(parse("1,2\n", CsvOptions().label_columns(0)), Error);
  CHECK(contains(error_of("1,2,3\n", CsvOptions().label_columns(2)), "class labels take exactly one column"));
  CHECK(contains(error_of("1 2\n", CsvOptions().delimiter(' ')), "cannot be the delimiter"));
  CHECK_THROWS_AS(parse("1,2\n", CsvOptions().delimiter('.')), Error);
  CHECK(contains(error_of("1,2\n", CsvOptions().dtype(kInt64)), "features must be float32 or float64"));
}
