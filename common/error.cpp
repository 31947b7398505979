#include "common/error.h"

#include <cstdio>

namespace edgefl {

void RequireOption(const char* context, bool ok, const char* key, const char* range, double value) {
  if (!ok) {
    throw ConfigError(std::string(context) + ": " + key + " must be " + range + ", got " +
                      std::to_string(value));
  }
}

int ReportError(const char* program, const std::exception& error) {
  int code = kExitFailure;
  if (dynamic_cast<const ConfigError*>(&error) != nullptr) {
    code = kExitUsage;
  } else if (dynamic_cast<const DataError*>(&error) != nullptr) {
    code = kExitDataError;
  } else if (dynamic_cast<const IoError*>(&error) != nullptr) {
    code = kExitIoError;
  }
  std::fprintf(stderr, "%s: %s%s\n", program, code == kExitFailure ? "internal error: " : "",
               error.what());
  return code;
}

int ReportUsageError(const char* program, const std::exception& error) {
  std::fprintf(stderr, "%s: %s\n", program, error.what());
  return kExitUsage;
}

}  // namespace edgefl
