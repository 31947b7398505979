// Reader for users' own tabular data: one sample per line, a label column and
// numeric feature columns, comma-separated.
#pragma once

#include <filesystem>
#include <string>

#include "datasets/dataset.h"

namespace edgefl::datasets {

struct CsvOptions {
  // Column that holds the integer class label (0-based index). -1 = last.
  int label_column = 0;
  // Whether the first line is a header. kAuto treats it as a header when any
  // of its fields is not a number.
  enum class Header { kAuto, kYes, kNo } header = Header::kAuto;
  char delimiter = ',';
  // Number of classes; 0 = max label + 1.
  int num_classes = 0;
};

// Reads the file. Labels must be integers >= 0 (and < num_classes when
// given); an integral float such as "3.0" is accepted. Fields are trimmed of
// spaces and tabs, CRLF line ends are accepted and blank lines are skipped.
// The result is named after the file name and has sample_shape {columns - 1}.
// Throws IoError if the file cannot be opened, ConfigError for invalid
// options (label_column < -1 or not a column of the file, num_classes < 0),
// and DataError naming file:line (and the 1-based column, with its header
// name when there is a header) for a non-numeric or out-of-range field, a row
// with the wrong number of columns, a NaN/Inf feature, a bad label, fewer
// than two columns, or an empty file (no data rows).
Dataset ReadCsv(const std::filesystem::path& path, const CsvOptions& options = {});

}  // namespace edgefl::datasets
