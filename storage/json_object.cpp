#include "storage/json_object.h"

#include <charconv>
#include <cmath>
#include <limits>

#include "common/error.h"
#include "storage/json_scan.h"

namespace edgefl::storage {
namespace {

[[noreturn]] void MalformedObject(std::string_view text, const char* what) {
  ThrowMalformedJson("number object", text, what);
}

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

}  // namespace

std::string FormatJsonNumberObject(const std::map<std::string, double>& values) {
  std::string out = "{";
  for (const auto& [name, value] : values) {
    if (name.empty()) throw Error("metric name is empty");
    for (char c : name) {
      if (!IsNameChar(c)) throw Error("metric name \"" + name + "\" is not an identifier");
    }
    if (out.size() > 1) out += ',';
    out += '"';
    out += name;
    out += "\":";
    if (!std::isfinite(value)) {
      out += "null";
      continue;
    }
    char buffer[32];
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
    out.append(buffer, result.ptr);
  }
  out += '}';
  return out;
}

std::map<std::string, double> ParseJsonNumberObject(std::string_view text) {
  std::map<std::string, double> values;
  size_t at = 0;
  SkipJsonSpace(text, &at);
  if (at >= text.size() || text[at] != '{') MalformedObject(text, "expected '{'");
  ++at;
  SkipJsonSpace(text, &at);
  if (at < text.size() && text[at] == '}') {
    ++at;
  } else {
    while (true) {
      SkipJsonSpace(text, &at);
      if (at >= text.size() || text[at] != '"') MalformedObject(text, "expected a quoted name");
      const size_t start = ++at;
      while (at < text.size() && IsNameChar(text[at]))
        ++at;
      if (at >= text.size() || text[at] != '"' || at == start) {
        MalformedObject(text, "expected an identifier name");
      }
      std::string name(text.substr(start, at - start));
      ++at;
      SkipJsonSpace(text, &at);
      if (at >= text.size() || text[at] != ':') MalformedObject(text, "expected ':'");
      ++at;
      SkipJsonSpace(text, &at);
      double value = std::numeric_limits<double>::quiet_NaN();
      if (text.substr(at, 4) == "null") {
        at += 4;
      } else {
        const auto result = std::from_chars(text.data() + at, text.data() + text.size(), value);
        if (result.ec != std::errc()) MalformedObject(text, "expected a number or null");
        at = static_cast<size_t>(result.ptr - text.data());
      }
      if (!values.emplace(std::move(name), value).second) MalformedObject(text, "duplicate name");
      SkipJsonSpace(text, &at);
      if (at >= text.size()) MalformedObject(text, "missing '}'");
      if (text[at] == '}') {
        ++at;
        break;
      }
      if (text[at] != ',') MalformedObject(text, "expected ',' or '}'");
      ++at;
    }
  }
  SkipJsonSpace(text, &at);
  if (at != text.size()) MalformedObject(text, "text after '}'");
  return values;
}

}  // namespace edgefl::storage
