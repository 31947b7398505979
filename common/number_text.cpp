#include "common/number_text.h"

#include <charconv>
#include <cmath>

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

}  // namespace edgefl
