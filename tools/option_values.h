// Typed access to command-line options with errors that name the option.
//
// Commands declare numeric options as strings and read them through these
// functions, so `--clients ten` fails with "--clients: expected a
// non-negative integer, got 'ten'" rather than a message without the name.
#pragma once

#include <cstdint>
#include <string>

#include <cxxopts.hpp>

namespace edgefl::tools {

// Each throws ConfigError naming `--name` when the value does not parse.
uint64_t UintOption(const cxxopts::ParseResult& args, const std::string& name);
double DoubleOption(const cxxopts::ParseResult& args, const std::string& name);
std::string StringOption(const cxxopts::ParseResult& args, const std::string& name);

}  // namespace edgefl::tools
