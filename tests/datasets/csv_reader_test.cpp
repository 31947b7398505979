#include "datasets/csv_reader.h"

#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "common/error.h"
#include "tests/datasets/loader_test_util.h"
#include "tests/test_util.h"

namespace edgefl::datasets {
namespace {

using testing::TempDir;
using testing::ThrownMessage;
using testing::WriteFile;

using testing::HasSubstr;

// Writes `text` to data.csv in `dir` and returns the DataError message that
// reading it throws.
std::string CsvError(const TempDir& dir, const std::string& text, const CsvOptions& options = {}) {
  WriteFile(dir / "data.csv", text);
  CHECK_THROWS_AS(ReadCsv(dir / "data.csv", options), DataError);
  return ThrownMessage<DataError>([&] { ReadCsv(dir / "data.csv", options); });
}

TEST_CASE("ReadCsv: no header - label in column 0 by default") {
  TempDir dir;
  WriteFile(dir / "plain.csv", "1,0.5,-2\n0,1e-3,+4.25\n2, 7 ,8\n");
  const Dataset d = ReadCsv(dir / "plain.csv");
  CHECK(d.name == "plain.csv");
  REQUIRE(d.size() == 3);
  CHECK(d.labels == std::vector<int32_t>{1, 0, 2});
  CHECK(d.num_classes == 3);
  CHECK(d.sample_shape == std::vector<int>{2});
  REQUIRE(d.features.rows() == 3);
  REQUIRE(d.features.cols() == 2);
  CHECK(d.features(0, 0) == 0.5f);
  CHECK(d.features(0, 1) == -2.0f);
  CHECK(d.features(1, 0) == 1e-3f);
  CHECK(d.features(1, 1) == 4.25f);
  CHECK(d.features(2, 0) == 7.0f);
  CHECK(d.features(2, 1) == 8.0f);
}

TEST_CASE("ReadCsv: header auto-detected - label column last") {
  TempDir dir;
  WriteFile(dir / "iris.csv", "sepal,petal,species\r\n5.1,1.4,0\r\n\r\n6.3,4.9,2\r\n");
  CsvOptions options;
  options.label_column = -1;
  const Dataset d = ReadCsv(dir / "iris.csv", options);
  REQUIRE(d.size() == 2);
  CHECK(d.labels == std::vector<int32_t>{0, 2});
  CHECK(d.features(0, 0) == 5.1f);
  CHECK(d.features(0, 1) == 1.4f);
  CHECK(d.features(1, 1) == 4.9f);
  CHECK(d.num_classes == 3);
}

TEST_CASE("ReadCsv: explicit header settings") {
  TempDir dir;
  WriteFile(dir / "n.csv", "1,2\n3,4\n");
  CsvOptions options;
  options.header = CsvOptions::Header::kYes;  // the numeric first line is skipped
  Dataset d = ReadCsv(dir / "n.csv", options);
  CHECK(d.labels == std::vector<int32_t>{3});
  options.header = CsvOptions::Header::kAuto;  // numeric first line is data
  d = ReadCsv(dir / "n.csv", options);
  CHECK(d.labels == std::vector<int32_t>{1, 3});

  WriteFile(dir / "h.csv", "y,x\n1,2\n");
  options.header = CsvOptions::Header::kNo;  // "y" is then not a label
  const std::string msg = ThrownMessage<DataError>([&] { ReadCsv(dir / "h.csv", options); });
  CHECK(HasSubstr(msg, "h.csv:1: column 1"));
  CHECK(HasSubstr(msg, "not an integer"));
}

TEST_CASE("ReadCsv: other delimiter - label column in the middle - num_classes given") {
  TempDir dir;
  WriteFile(dir / "semi.csv", "a;label;b\n0.5;1;1.5\n2.5;0;3.5\n");
  CsvOptions options;
  options.delimiter = ';';
  options.label_column = 1;
  options.num_classes = 5;
  const Dataset d = ReadCsv(dir / "semi.csv", options);
  CHECK(d.labels == std::vector<int32_t>{1, 0});
  CHECK(d.num_classes == 5);
  CHECK(d.features(1, 0) == 2.5f);
  CHECK(d.features(1, 1) == 3.5f);
}

TEST_CASE("ReadCsv: non-numeric field names file:line and column") {
  TempDir dir;
  std::string msg = CsvError(dir, "y,a,b\n0,1,2\n1,abc,3\n");
  CHECK(HasSubstr(msg, (dir / "data.csv").string() + ":3"));
  CHECK(HasSubstr(msg, "column 2 (\"a\")"));
  CHECK(HasSubstr(msg, "\"abc\" is not a number"));

  msg = CsvError(dir, "0,1,2\n1,,3\n");
  CHECK(HasSubstr(msg, "data.csv:2: column 2"));
  CHECK(HasSubstr(msg, "empty field"));
}

TEST_CASE("ReadCsv: wrong number of columns") {
  TempDir dir;
  const std::string msg = CsvError(dir, "0,1,2\n1,2,3\n2,3\n");
  CHECK(HasSubstr(msg, (dir / "data.csv").string() + ":3"));
  CHECK(HasSubstr(msg, "expected 3 columns, found 2"));
  CHECK(HasSubstr(CsvError(dir, "y,a\n0,1,2\n"), "data.csv:2: expected 2 columns, found 3"));
}

TEST_CASE("ReadCsv: NaN and infinite features") {
  TempDir dir;
  std::string msg = CsvError(dir, "0,1\n1,nan\n");
  CHECK(HasSubstr(msg, "data.csv:2: column 2"));
  CHECK(HasSubstr(msg, "NaN or infinite"));
  msg = CsvError(dir, "0,1\n1,2\n0,-inf\n");
  CHECK(HasSubstr(msg, "data.csv:3: column 2"));
  CHECK(HasSubstr(msg, "NaN or infinite"));
  // Out of float range.
  msg = CsvError(dir, "0,1e60\n");
  CHECK(HasSubstr(msg, "data.csv:1: column 2"));
  CHECK(HasSubstr(msg, "\"1e60\" is out of float range"));
}

TEST_CASE("ReadCsv: bad labels") {
  TempDir dir;
  std::string msg = CsvError(dir, "0,1\n-1,2\n");
  CHECK(HasSubstr(msg, (dir / "data.csv").string() + ":2: column 1"));
  CHECK(HasSubstr(msg, "label -1 is negative"));

  msg = CsvError(dir, "0,1\n1.5,2\n");
  CHECK(HasSubstr(msg, "data.csv:2: column 1"));
  CHECK(HasSubstr(msg, "\"1.5\" is not an integer"));

  CsvOptions options;
  options.num_classes = 3;
  msg = CsvError(dir, "0,1\n3,2\n", options);
  CHECK(HasSubstr(msg, "data.csv:2: column 1"));
  CHECK(HasSubstr(msg, "label 3 is out of range for num_classes 3"));

  // An integral float label is accepted.
  WriteFile(dir / "f.csv", "2.0,1\n");
  CHECK(ReadCsv(dir / "f.csv").labels == std::vector<int32_t>{2});
}

TEST_CASE("ReadCsv: empty files") {
  TempDir dir;
  std::string msg = CsvError(dir, "");
  CHECK(HasSubstr(msg, (dir / "data.csv").string()));
  CHECK(HasSubstr(msg, "empty file"));
  CHECK(HasSubstr(CsvError(dir, "\n\n  \n"), "empty file"));
  CHECK(HasSubstr(CsvError(dir, "label,x\n"), "no data rows after the header"));
}

TEST_CASE("ReadCsv: missing file - bad options - single column") {
  TempDir dir;
  const auto missing = dir / "missing.csv";
  CHECK_THROWS_WITH_AS(ReadCsv(missing), doctest::Contains(missing.string().c_str()), IoError);

  WriteFile(dir / "ok.csv", "0,1\n");
  CsvOptions options;
  options.label_column = 2;
  CHECK_THROWS_WITH_AS(ReadCsv(dir / "ok.csv", options), doctest::Contains("label_column"),
                       ConfigError);
  options.label_column = -2;
  CHECK_THROWS_WITH_AS(ReadCsv(dir / "ok.csv", options), doctest::Contains("label_column"),
                       ConfigError);
  options = {};
  options.num_classes = -1;
  CHECK_THROWS_WITH_AS(ReadCsv(dir / "ok.csv", options), doctest::Contains("num_classes"),
                       ConfigError);

  const std::string msg = CsvError(dir, "0\n1\n");
  CHECK(HasSubstr(msg, "data.csv:1"));
  CHECK(HasSubstr(msg, "at least one feature column"));
}

}  // namespace
}  // namespace edgefl::datasets
