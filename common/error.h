// The one error model of edgefl.
//
// Bad input and bad configuration are reported by throwing one of the
// exceptions below, with a message a user can act on: it names the file,
// the parameter or the field that is wrong and what was expected.
// Exceptions are caught only in each main(), which prints the message and
// exits with a non-zero code (see ExitCodeFor). Network I/O uses Asio
// error codes internally and converts them at the session boundary.
#pragma once

#include <exception>
#include <stdexcept>
#include <string>

namespace edgefl {

// Base of every edgefl error.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// A parameter or configuration value is invalid ("--alpha must be > 0, got -1").
class ConfigError : public Error {
 public:
  using Error::Error;
};

// Input data is malformed: wrong magic number, truncated file, label out of
// range, unparsable CSV field. The message names the file.
class DataError : public Error {
 public:
  using Error::Error;
};

// The operating system refused an operation: a file cannot be opened,
// written or synced.
class IoError : public Error {
 public:
  using Error::Error;
};

// Throws ConfigError("<context>: <key> must be <range>, got <value>") unless
// `ok`: the check of one numeric option of a component.
void RequireOption(const char* context, bool ok, const char* key, const char* range, double value);

// Process exit codes used by every edgefl binary.
enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,    // unexpected internal error
  kExitUsage = 2,      // bad command line or configuration
  kExitDataError = 3,  // malformed input data
  kExitIoError = 4,    // file system or network failure
};

// The end of every main(): prints "<program>: <message>" on stderr and
// returns the exit code of the error's kind (ConfigError -> kExitUsage,
// DataError -> kExitDataError, IoError -> kExitIoError; any other exception
// is reported as an internal error, kExitFailure).
int ReportError(const char* program, const std::exception& error);
// The same for a command-line parser's error: always kExitUsage.
int ReportUsageError(const char* program, const std::exception& error);

}  // namespace edgefl
