#include "datasets/csv_reader.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace edgefl::datasets {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

void SplitFields(std::string_view line, char delimiter, std::vector<std::string_view>* fields) {
  fields->clear();
  size_t start = 0;
  for (;;) {
    const size_t end = line.find(delimiter, start);
    if (end == std::string_view::npos) {
      fields->push_back(Trim(line.substr(start)));
      return;
    }
    fields->push_back(Trim(line.substr(start, end - start)));
    start = end + 1;
  }
}

enum class NumberStatus { kOk, kNotANumber, kOutOfRange };

// Parses the whole field as a float into *value. NaN and Inf parse as kOk;
// callers reject them.
NumberStatus ParseFloat(std::string_view s, float* value) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return NumberStatus::kNotANumber;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *value);
  if (ptr != s.data() + s.size()) return NumberStatus::kNotANumber;
  if (ec == std::errc::result_out_of_range) return NumberStatus::kOutOfRange;
  return ec == std::errc() ? NumberStatus::kOk : NumberStatus::kNotANumber;
}

// Parses an integer label; also accepts integral floats such as "3.0".
std::optional<int64_t> ParseLabel(std::string_view s) {
  std::string_view digits = s;
  if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
  int64_t value = 0;
  const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (!digits.empty() && ec == std::errc() && ptr == digits.data() + digits.size()) return value;
  double d = 0.0;
  const auto [dptr, dec] = std::from_chars(digits.data(), digits.data() + digits.size(), d);
  if (digits.empty() || dec != std::errc() || dptr != digits.data() + digits.size() ||
      !std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 1e15) {
    return std::nullopt;
  }
  return static_cast<int64_t>(d);
}

std::string Quote(std::string_view s) {
  constexpr size_t kMax = 40;
  std::string out = "\"";
  out += s.substr(0, kMax);
  if (s.size() > kMax) out += "...";
  return out + "\"";
}

}  // namespace

Dataset ReadCsv(const std::filesystem::path& path, const CsvOptions& options) {
  const std::string file = path.string();
  if (options.label_column < -1) {
    throw ConfigError("CSV label_column must be >= 0 or -1 (last), got " +
                      std::to_string(options.label_column));
  }
  if (options.num_classes < 0) {
    throw ConfigError("CSV num_classes must be >= 0 (0 = max label + 1), got " +
                      std::to_string(options.num_classes));
  }
  if (options.delimiter == '\n' || options.delimiter == '\r' || options.delimiter == '\0') {
    throw ConfigError("CSV delimiter must not be a line break or NUL");
  }

  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError("cannot open " + file + ": " + std::strerror(errno));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw IoError("cannot read " + file);
  const std::string text = std::move(buffer).str();

  std::vector<std::string_view> fields;
  std::vector<std::string> header_names;
  std::vector<float> values;  // row-major features
  Dataset out;
  size_t num_columns = 0;  // fixed by the first (header or data) line
  size_t label_col = 0;
  int64_t max_label = -1;
  bool first_line = true;

  size_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string_view line = Trim(std::string_view(text).substr(pos, end - pos));
    pos = end + 1;
    ++line_no;
    if (line.empty()) continue;  // blank lines are ignored
    const std::string where = file + ":" + std::to_string(line_no);
    SplitFields(line, options.delimiter, &fields);

    if (first_line) {
      first_line = false;
      num_columns = fields.size();
      if (num_columns < 2) {
        throw DataError(where + ": need a label column and at least one feature column, found " +
                        std::to_string(num_columns) + " column (wrong delimiter?)");
      }
      if (options.label_column == -1) {
        label_col = num_columns - 1;
      } else if (static_cast<size_t>(options.label_column) < num_columns) {
        label_col = static_cast<size_t>(options.label_column);
      } else {
        throw ConfigError("CSV label_column " + std::to_string(options.label_column) +
                          " is out of range: " + where + " has " + std::to_string(num_columns) +
                          " columns (label_column is 0-based)");
      }
      bool is_header = options.header == CsvOptions::Header::kYes;
      if (options.header == CsvOptions::Header::kAuto) {
        for (std::string_view f : fields) {
          float ignored = 0.0f;
          if (ParseFloat(f, &ignored) == NumberStatus::kNotANumber) {
            is_header = true;
            break;
          }
        }
      }
      if (is_header) {
        for (std::string_view f : fields)
          header_names.emplace_back(f);
        continue;
      }
    }

    if (fields.size() != num_columns) {
      throw DataError(where + ": expected " + std::to_string(num_columns) + " columns, found " +
                      std::to_string(fields.size()));
    }
    for (size_t c = 0; c < num_columns; ++c) {
      const std::string_view f = fields[c];
      auto column = [&] {
        std::string s = "column " + std::to_string(c + 1);
        if (c < header_names.size()) s += " (" + Quote(header_names[c]) + ")";
        return s;
      };
      if (c == label_col) {
        const std::optional<int64_t> label = ParseLabel(f);
        if (!label) {
          throw DataError(where + ": " + column() + ": label " + Quote(f) + " is not an integer");
        }
        if (*label < 0) {
          throw DataError(where + ": " + column() + ": label " + std::to_string(*label) +
                          " is negative; labels must be >= 0");
        }
        if (options.num_classes > 0 && *label >= options.num_classes) {
          throw DataError(where + ": " + column() + ": label " + std::to_string(*label) +
                          " is out of range for num_classes " +
                          std::to_string(options.num_classes));
        }
        if (*label > std::numeric_limits<int32_t>::max() - 1) {
          throw DataError(where + ": " + column() + ": label " + std::to_string(*label) +
                          " is too large");
        }
        out.labels.push_back(static_cast<int32_t>(*label));
        max_label = std::max(max_label, *label);
        continue;
      }
      float value = 0.0f;
      const NumberStatus status = ParseFloat(f, &value);
      if (status == NumberStatus::kNotANumber) {
        throw DataError(where + ": " + column() + ": " + Quote(f) +
                        (f.empty() ? " (empty field)" : "") + " is not a number");
      }
      if (status == NumberStatus::kOutOfRange) {
        throw DataError(where + ": " + column() + ": " + Quote(f) + " is out of float range");
      }
      if (!std::isfinite(value)) {
        throw DataError(where + ": " + column() + ": feature " + Quote(f) + " is NaN or infinite");
      }
      values.push_back(value);
    }
  }

  if (out.labels.empty()) {
    throw DataError(file + ": empty file: no data rows" +
                    (header_names.empty() ? "" : " after the header"));
  }
  const size_t n = out.labels.size();
  const size_t d = num_columns - 1;
  out.name = path.filename().string();
  out.num_classes = options.num_classes > 0 ? options.num_classes : static_cast<int>(max_label + 1);
  out.sample_shape = {static_cast<int>(d)};
  out.features = Eigen::Map<const FeatureMatrix>(values.data(), static_cast<Eigen::Index>(n),
                                                 static_cast<Eigen::Index>(d));
  return out;
}

}  // namespace edgefl::datasets
