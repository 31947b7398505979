// The pieces of the Prometheus text exposition format (version 0.0.4) that
// every edgefl exposition is written with: the coordinator's
// (coordinator/metrics.h) and the device client's (client/client_metrics.h).
// Stateless; every function may be called from any thread.
#pragma once

#include <string>
#include <string_view>

namespace edgefl {

// A label value with \, " and newline escaped ("a\"b" for a"b).
std::string PrometheusLabelValue(std::string_view value);

// A sample value: integers as such ("42"), others in shortest round-trip
// form ("0.05"), infinities as "+Inf" / "-Inf".
std::string PrometheusValue(double value);

// Appends "# HELP name help" and "# TYPE name type" (type: counter, gauge,
// histogram).
void PrometheusHeader(std::string& out, std::string_view name, std::string_view type,
                      std::string_view help);

// Appends "name value"; `name` may carry its labels ("x_total{reason=\"a\"}").
void PrometheusSample(std::string& out, std::string_view name, double value);

}  // namespace edgefl
