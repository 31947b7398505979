#include "storage/json_array.h"

#include <charconv>
#include <cmath>
#include <limits>

#include "common/error.h"
#include "storage/json_scan.h"

namespace edgefl::storage {

namespace {

[[noreturn]] void MalformedArray(std::string_view text, const char* what) {
  ThrowMalformedJson("number array", text, what);
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
  SkipJsonSpace(text, &at);
  if (at >= text.size() || text[at] != '[') MalformedArray(text, "expected '['");
  ++at;
  SkipJsonSpace(text, &at);
  if (at < text.size() && text[at] == ']') {
    ++at;
  } else {
    while (true) {
      SkipJsonSpace(text, &at);
      if (text.substr(at, 4) == "null") {
        values.push_back(std::numeric_limits<double>::quiet_NaN());
        at += 4;
      } else {
        double value = 0.0;
        const auto result = std::from_chars(text.data() + at, text.data() + text.size(), value);
        if (result.ec != std::errc()) MalformedArray(text, "expected a number or null");
        values.push_back(value);
        at = static_cast<size_t>(result.ptr - text.data());
      }
      SkipJsonSpace(text, &at);
      if (at >= text.size()) MalformedArray(text, "missing ']'");
      if (text[at] == ']') {
        ++at;
        break;
      }
      if (text[at] != ',') MalformedArray(text, "expected ',' or ']'");
      ++at;
    }
  }
  SkipJsonSpace(text, &at);
  if (at != text.size()) MalformedArray(text, "text after ']'");
  return values;
}

}  // namespace edgefl::storage
