#include "storage/json_array.h"

#include <charconv>
#include <cmath>
#include <limits>

#include "common/error.h"

namespace edgefl::storage {

namespace {

[[noreturn]] void Malformed(std::string_view text, const char* what) {
  throw DataError("malformed JSON number array \"" + std::string(text.substr(0, 80)) +
                  "\": " + what);
}

void SkipSpace(std::string_view text, size_t* at) {
  while (*at < text.size() &&
         (text[*at] == ' ' || text[*at] == '\t' || text[*at] == '\n' || text[*at] == '\r')) {
    ++*at;
  }
}

}  // namespace

std::string FormatJsonNumberArray(const std::vector<double>& values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    if (!std::isfinite(values[i])) {
      out += "null";
      continue;
    }
    char buffer[32];
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, values[i]);
    out.append(buffer, result.ptr);
  }
  out += ']';
  return out;
}

std::vector<double> ParseJsonNumberArray(std::string_view text) {
  std::vector<double> values;
  size_t at = 0;
  SkipSpace(text, &at);
  if (at >= text.size() || text[at] != '[') Malformed(text, "expected '['");
  ++at;
  SkipSpace(text, &at);
  if (at < text.size() && text[at] == ']') {
    ++at;
  } else {
    while (true) {
      SkipSpace(text, &at);
      if (text.substr(at, 4) == "null") {
        values.push_back(std::numeric_limits<double>::quiet_NaN());
        at += 4;
      } else {
        double value = 0.0;
        const auto result = std::from_chars(text.data() + at, text.data() + text.size(), value);
        if (result.ec != std::errc()) Malformed(text, "expected a number or null");
        values.push_back(value);
        at = static_cast<size_t>(result.ptr - text.data());
      }
      SkipSpace(text, &at);
      if (at >= text.size()) Malformed(text, "missing ']'");
      if (text[at] == ']') {
        ++at;
        break;
      }
      if (text[at] != ',') Malformed(text, "expected ',' or ']'");
      ++at;
    }
  }
  SkipSpace(text, &at);
  if (at != text.size()) Malformed(text, "text after ']'");
  return values;
}

}  // namespace edgefl::storage
