#include "common/prometheus_text.h"

#include <cmath>

#include "common/number_text.h"

namespace edgefl {

std::string PrometheusLabelValue(std::string_view value) {
  std::string out;
  for (const char c : value) {
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string PrometheusValue(double value) {
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return ShortNumber(value);
}

void PrometheusHeader(std::string& out, std::string_view name, std::string_view type,
                      std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void PrometheusSample(std::string& out, std::string_view name, double value) {
  out.append(name).append(" ").append(PrometheusValue(value)).append("\n");
}

}  // namespace edgefl
