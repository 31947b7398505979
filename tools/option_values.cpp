#include "tools/option_values.h"

#include <charconv>
#include <cmath>
#include <cstdio>

#include "common/error.h"

namespace edgefl::tools {

bool ParseCommandLine(cxxopts::Options& options, int argc, char** argv, cxxopts::ParseResult* args,
                      const char* help_footer, const std::string& unmatched_hint) {
  *args = options.parse(argc, argv);
  if (args->count("help")) {
    std::fputs(options.help().c_str(), stdout);
    std::fputs(help_footer, stdout);
    return false;
  }
  if (!args->unmatched().empty()) {
    throw ConfigError("unexpected argument '" + args->unmatched().front() + "'" + unmatched_hint);
  }
  return true;
}

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
