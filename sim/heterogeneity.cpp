#include "sim/heterogeneity.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include "common/error.h"
#include "common/number_text.h"
#include "common/random.h"

namespace edgefl::sim {
namespace {

constexpr uint64_t kSpeedStream = 0x7370656564;  // "speed"
constexpr uint64_t kAvailStream = 0x617661696c;  // "avail"
constexpr uint64_t kDropoutStream = 0x64726f70;  // "drop"
constexpr double kInf = std::numeric_limits<double>::infinity();

// The non-comment, non-blank lines of `path`, split at commas, with their
// line numbers.
std::vector<std::pair<size_t, std::vector<double>>> ReadNumbers(const std::string& path,
                                                                const std::string& what) {
  std::ifstream in(path);
  if (!in) throw IoError(what + " " + path + ": cannot open the file");
  std::vector<std::pair<size_t, std::vector<double>>> rows;
  std::string line;
  size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    const size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    std::vector<double> values;
    std::stringstream fields(line);
    std::string field;
    while (std::getline(fields, field, ',')) {
      try {
        size_t used = 0;
        const double v = std::stod(field, &used);
        if (field.find_first_not_of(" \t\r", used) != std::string::npos) throw std::exception();
        values.push_back(v);
      } catch (const std::exception&) {
        throw DataError(what + " " + path + ":" + std::to_string(number) + ": \"" + field +
                        "\" is not a number");
      }
    }
    rows.emplace_back(number, std::move(values));
  }
  if (rows.empty()) throw DataError(what + " " + path + ": no values in the file");
  return rows;
}

std::vector<double> DrawSpeeds(const HeterogeneityOptions& o, size_t n) {
  std::vector<double> speeds(n, o.base_speed);
  if (o.speed_dist == "uniform") {
    if (!(o.speed_spread >= 1.0)) {
      throw ConfigError(
          "speed_spread must be >= 1 for speed_dist uniform (the fastest/slowest "
          "ratio), got " +
          std::to_string(o.speed_spread));
    }
    for (size_t k = 0; k < n; ++k)
      speeds[k] = DrawClientSpeed(o, k);
  } else if (o.speed_dist == "lognormal") {
    if (!(o.speed_spread >= 0.0)) {
      throw ConfigError("speed_spread must be >= 0 for speed_dist lognormal (σ of ln speed)");
    }
    for (size_t k = 0; k < n; ++k)
      speeds[k] = DrawClientSpeed(o, k);
  } else if (o.speed_dist == "trace") {
    if (o.speed_trace.empty()) {
      throw ConfigError(
          "speed_dist trace needs speed_trace = \"speeds.csv\" (one samples/s "
          "figure per line, or client,speed)");
    }
    std::vector<double> trace;
    for (const auto& [line, values] : ReadNumbers(o.speed_trace, "speed_trace")) {
      if (values.empty() || values.size() > 2 || !(values.back() > 0.0)) {
        throw DataError("speed_trace " + o.speed_trace + ":" + std::to_string(line) +
                        ": expected a positive speed (samples/s), or client,speed");
      }
      trace.push_back(values.back());
    }
    for (size_t k = 0; k < n; ++k)
      speeds[k] = trace[k % trace.size()];
  } else {
    throw ConfigError("speed_dist: unknown distribution \"" + o.speed_dist +
                      "\" (accepted: uniform, lognormal, trace)");
  }
  return speeds;
}

}  // namespace

double DrawClientSpeed(const HeterogeneityOptions& o, uint64_t client) {
  Rng rng = Rng::Derive(o.seed, {kSpeedStream, client});
  if (o.speed_dist == "lognormal") return o.base_speed * rng.LogNormal(0.0, o.speed_spread);
  return o.base_speed * (1.0 + (o.speed_spread - 1.0) * rng.Uniform());
}

std::pair<double, double> DrawOnOffPeriod(const HeterogeneityOptions& o, uint64_t client,
                                          uint64_t period) {
  // One draw stream per (client, period), so periods never shift.
  Rng rng = Rng::Derive(o.seed, {kAvailStream, client, period});
  const double on = -o.on_seconds * std::log(1.0 - rng.Uniform());
  const double off = -o.off_seconds * std::log(1.0 - rng.Uniform());
  return {on, off};
}

bool DrawDropsOut(const HeterogeneityOptions& o, uint64_t client, int64_t task) {
  if (o.dropout <= 0.0) return false;
  Rng rng = Rng::Derive(o.seed, {kDropoutStream, client, static_cast<uint64_t>(task)});
  return rng.Uniform() < o.dropout;
}

Fleet::Fleet(const HeterogeneityOptions& options, size_t num_clients) : options_(options) {
  if (!(options_.base_speed > 0.0 && std::isfinite(options_.base_speed))) {
    throw ConfigError("base_speed must be > 0 samples/s, got " + ShortNumber(options_.base_speed));
  }
  if (!(options_.bandwidth >= 0.0)) {
    throw ConfigError("bandwidth must be >= 0 bytes/s (0 = unlimited)");
  }
  if (!(options_.dropout >= 0.0 && options_.dropout < 1.0)) {
    throw ConfigError("dropout must be in [0, 1), got " + ShortNumber(options_.dropout));
  }
  speeds_ = DrawSpeeds(options_, num_clients);
  on_.assign(num_clients, {});
  generated_until_.assign(num_clients, 0.0);
  if (options_.availability == "always") {
    for (auto& intervals : on_)
      intervals.emplace_back(0.0, kInf);
  } else if (options_.availability == "onoff") {
    if (!(options_.on_seconds > 0.0 && options_.off_seconds > 0.0)) {
      throw ConfigError("availability onoff needs on_seconds > 0 and off_seconds > 0");
    }
    open_ = true;
  } else if (options_.availability == "trace") {
    if (options_.availability_trace.empty()) {
      throw ConfigError(
          "availability trace needs availability_trace = \"on.csv\" (lines "
          "client,start,end of on-intervals in virtual seconds)");
    }
    std::vector<bool> listed(num_clients, false);
    for (const auto& [line, v] : ReadNumbers(options_.availability_trace, "availability_trace")) {
      const std::string where =
          "availability_trace " + options_.availability_trace + ":" + std::to_string(line);
      if (v.size() != 3 || !(v[0] >= 0.0) || v[0] != std::floor(v[0]) || !(v[1] >= 0.0) ||
          !(v[2] > v[1])) {
        throw DataError(where + ": expected client,start,end with 0 <= start < end");
      }
      const auto k = static_cast<size_t>(v[0]);
      if (k >= num_clients) continue;  // a trace for a larger fleet
      listed[k] = true;
      on_[k].emplace_back(v[1], v[2]);
    }
    for (size_t k = 0; k < num_clients; ++k) {
      if (!listed[k]) on_[k].emplace_back(0.0, kInf);
      std::sort(on_[k].begin(), on_[k].end());
    }
  } else {
    throw ConfigError("availability: unknown pattern \"" + options_.availability +
                      "\" (accepted: always, onoff, trace)");
  }
}

double Fleet::TaskSeconds(size_t client, int64_t samples, int64_t model_bytes) const {
  double seconds = static_cast<double>(samples) / speeds_.at(client);
  if (options_.bandwidth > 0.0) {
    seconds += 2.0 * static_cast<double>(model_bytes) / options_.bandwidth;
  }
  return seconds;
}

void Fleet::Extend(size_t client, double t) {
  if (!open_) return;
  auto& intervals = on_.at(client);
  double& until = generated_until_[client];
  while (until <= t) {
    const auto [on, off] = DrawOnOffPeriod(options_, client, intervals.size());
    intervals.emplace_back(until, until + on);
    until += on + off;
  }
}

bool Fleet::Available(size_t client, double t) {
  return NextAvailable(client, t) == t;
}

double Fleet::NextAvailable(size_t client, double t) {
  Extend(client, t);
  for (;;) {
    for (const auto& [start, end] : on_.at(client)) {
      if (t < end) return std::max(t, start);
    }
    if (!open_) return kInf;
    Extend(client, generated_until_[client]);  // the next period
  }
}

double Fleet::OnlineUntil(size_t client, double t) {
  Extend(client, t);
  for (const auto& [start, end] : on_.at(client)) {
    if (start <= t && t < end) return end;
  }
  return t;
}

bool Fleet::DropsOut(size_t client, int64_t task) const {
  return DrawDropsOut(options_, client, task);
}

HeterogeneityOptions HeterogeneityFrom(const engine::ExperimentConfig& c) {
  HeterogeneityOptions h;
  h.speed_dist = c.speed_dist;
  h.speed_spread = c.speed_spread;
  h.speed_trace = c.speed_trace;
  h.base_speed = c.base_speed;
  h.bandwidth = c.bandwidth;
  h.availability = c.availability;
  h.availability_trace = c.availability_trace;
  h.on_seconds = c.on_seconds;
  h.off_seconds = c.off_seconds;
  h.dropout = c.dropout;
  h.seed = static_cast<uint64_t>(c.seed);
  return h;
}

}  // namespace edgefl::sim
