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
// given). Throws IoError if the file cannot be opened and DataError naming
// file:line (and the column) for a non-numeric field, a row with the wrong
// number of columns, a NaN/Inf feature, a bad label, or an empty file.
Dataset ReadCsv(const std::filesystem::path& path, const CsvOptions& options = {});

}  // namespace edgefl::datasets
