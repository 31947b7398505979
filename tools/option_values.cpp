#include "tools/option_values.h"

#include <charconv>
#include <cmath>

#include "common/error.h"

namespace edgefl::tools {

std::string StringOption(const cxxopts::ParseResult& args, const std::string& name) {
  return args[name].as<std::string>();
}

uint64_t UintOption(const cxxopts::ParseResult& args, const std::string& name) {
  const std::string text = StringOption(args, name);
  uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) {
    throw ConfigError("--" + name + ": expected a non-negative integer, got '" + text + "'");
  }
  return value;
}

double DoubleOption(const cxxopts::ParseResult& args, const std::string& name) {
  const std::string text = StringOption(args, name);
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty() ||
      !std::isfinite(value)) {
    throw ConfigError("--" + name + ": expected a number, got '" + text + "'");
  }
  return value;
}

}  // namespace edgefl::tools
