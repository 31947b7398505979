#include "common/number_text.h"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace edgefl {

std::string ShortNumber(double value) {
  char buffer[32];
  const auto end = std::to_chars(buffer, buffer + sizeof buffer, value).ptr;
  return std::string(buffer, static_cast<size_t>(end - buffer));
}

std::string ShortNumber(float value) {
  char buffer[32];
  const auto end = std::to_chars(buffer, buffer + sizeof buffer, value).ptr;
  return std::string(buffer, static_cast<size_t>(end - buffer));
}

std::string TomlFloat(double value) {
  std::string text = ShortNumber(value);
  if (std::isfinite(value) && text.find_first_of(".eE") == std::string::npos) text += ".0";
  return text;
}

std::string FixedDecimals(double value, int decimals) {
  char buffer[400];  // DBL_MAX in %f is 309 digits
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

}  // namespace edgefl
