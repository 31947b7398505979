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

// Parses a command's argv into *args. Returns false when --help was given:
// the help and then `help_footer` are printed on stdout and the command
// returns kExitOk. Throws ConfigError "unexpected argument 'X'" (followed by
// `unmatched_hint`) for a positional argument no option takes.
bool ParseCommandLine(cxxopts::Options& options, int argc, char** argv, cxxopts::ParseResult* args,
                      const char* help_footer = "", const std::string& unmatched_hint = "");

// Each throws ConfigError naming `--name` when the value does not parse.
uint64_t UintOption(const cxxopts::ParseResult& args, const std::string& name);
double DoubleOption(const cxxopts::ParseResult& args, const std::string& name);
std::string StringOption(const cxxopts::ParseResult& args, const std::string& name);

}  // namespace edgefl::tools
