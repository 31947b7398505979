// Test helper: reads one log line written as a flat JSON object of string
// values (common/log_line.h), strictly: anything else throws.
#pragma once

#include <map>
#include <stdexcept>
#include <string>

namespace edgefl::testing {

// {"k":"v",...} -> {k: v}, with \", \\, \n, \r, \t and \u00XX unescaped.
inline std::map<std::string, std::string> ParseFlatJsonObject(const std::string& line) {
  size_t i = 0;
  const auto fail = [&](const std::string& why) {
    return std::runtime_error("not a flat JSON object (" + why + " at " + std::to_string(i) +
                              "): " + line);
  };
  const auto read_string = [&]() {
    if (i >= line.size() || line[i] != '"') throw fail("expected '\"'");
    ++i;
    std::string out;
    while (i < line.size() && line[i] != '"') {
      char c = line[i++];
      if (static_cast<unsigned char>(c) < 0x20) throw fail("raw control character");
      if (c == '\\') {
        if (i >= line.size()) throw fail("dangling escape");
        const char e = line[i++];
        switch (e) {
          case '"':
          case '\\':
          case '/':
            c = e;
            break;
          case 'n':
            c = '\n';
            break;
          case 'r':
            c = '\r';
            break;
          case 't':
            c = '\t';
            break;
          case 'u':
            if (i + 4 > line.size()) throw fail("short \\u escape");
            c = static_cast<char>(std::stoi(line.substr(i, 4), nullptr, 16));
            i += 4;
            break;
          default:
            throw fail("unknown escape");
        }
      }
      out.push_back(c);
    }
    if (i >= line.size()) throw fail("unterminated string");
    ++i;
    return out;
  };
  std::map<std::string, std::string> out;
  if (line.empty() || line[0] != '{') throw fail("expected '{'");
  i = 1;
  while (i < line.size() && line[i] != '}') {
    const std::string key = read_string();
    if (i >= line.size() || line[i] != ':') throw fail("expected ':'");
    ++i;
    out[key] = read_string();
    if (i < line.size() && line[i] == ',') ++i;
  }
  if (i + 1 != line.size()) throw fail("text after the object");
  return out;
}

}  // namespace edgefl::testing
