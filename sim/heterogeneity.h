// The simulated fleet's heterogeneity: each client's compute speed
// (samples/s), link bandwidth, availability over virtual time and chance of
// dropping a task. Drawn once from seeded streams (common/random.h), so a
// seed gives the same fleet on every machine, independent of host load.
//
// Speeds: "uniform" — uniform in [base_speed, speed_spread × base_speed];
// "lognormal" — base_speed × exp(N(0, speed_spread²)) (speed_spread is the σ
// of ln speed); "trace" — a CSV file, one speed per line (or "client,speed";
// a '#' line is a comment), used in order and repeated if the fleet is
// larger. Availability: "always"; "onoff" — alternating on and off periods
// with exponential lengths of mean on_seconds and off_seconds, starting on;
// "trace" — a CSV of on-intervals "client,start,end" (virtual seconds; a
// client without a line is always on, after its last interval it is off).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "engine/experiment_config.h"
#include "train/train_recipe.h"

namespace edgefl::sim {

struct HeterogeneityOptions {
  std::string speed_dist = "uniform";   // uniform | lognormal | trace
  double speed_spread = 1.0;            // uniform: max/min ratio (>= 1); lognormal: σ (>= 0)
  std::string speed_trace;              // CSV path for speed_dist = trace
  double base_speed = 1000.0;           // samples/s (> 0)
  double bandwidth = 0.0;               // bytes/s each way; 0 = unlimited
  std::string availability = "always";  // always | onoff | trace
  std::string availability_trace;       // CSV path for availability = trace
  double on_seconds = 600.0;            // onoff: mean on period (> 0)
  double off_seconds = 600.0;           // onoff: mean off period (> 0)
  double dropout = 0.0;                 // probability a task is lost, in [0, 1)
  uint64_t seed = 1;
};

// The fleet model the config's heterogeneity keys describe (the eager
// fleet's and the lazy population's).
HeterogeneityOptions HeterogeneityFrom(const engine::ExperimentConfig& c);

// A task's virtual duration is based on the samples its recipe plans to
// process (client::PlannedSamples), so it is known when the task is sent.
using train::PlannedSamples;

// One client's draws, from the same streams the Fleet uses, so a lazily
// drawn population (population.h) gives client k what a Fleet gives it.
// Speed for speed_dist uniform or lognormal (REQUIRES: options checked by a
// Fleet or the population); the lengths {on, off} of client k's on/off
// period number `period` (0 first); whether its task `task` is lost.
double DrawClientSpeed(const HeterogeneityOptions& options, uint64_t client);
std::pair<double, double> DrawOnOffPeriod(const HeterogeneityOptions& options, uint64_t client,
                                          uint64_t period);
bool DrawDropsOut(const HeterogeneityOptions& options, uint64_t client, int64_t task);

class Fleet {
 public:
  // Throws ConfigError for a bad option, IoError / DataError for an
  // unreadable or malformed trace (naming the file and line).
  Fleet(const HeterogeneityOptions& options, size_t num_clients);

  size_t size() const { return speeds_.size(); }
  double speed(size_t client) const { return speeds_.at(client); }
  const std::vector<double>& speeds() const { return speeds_; }

  // Virtual seconds of a task: samples / speed + 2 × model_bytes / bandwidth.
  double TaskSeconds(size_t client, int64_t samples, int64_t model_bytes) const;

  // Whether `client` is on at virtual time t, and the earliest time >= t at
  // which it is (infinity if never again).
  bool Available(size_t client, double t);
  double NextAvailable(size_t client, double t);
  // The end of the on period containing t (infinity if it never ends).
  // REQUIRES: Available(client, t).
  double OnlineUntil(size_t client, double t);

  // Whether the client's task number `task` (from 1; for sync rounds the
  // round) is lost. Deterministic in (seed, client, task).
  bool DropsOut(size_t client, int64_t task) const;

 private:
  // Makes sure the on-intervals of `client` cover time t (onoff).
  void Extend(size_t client, double t);

  HeterogeneityOptions options_;
  std::vector<double> speeds_;
  // Per client: sorted on-intervals [start, end); `open_` says whether the
  // list is generated further on demand (onoff).
  std::vector<std::vector<std::pair<double, double>>> on_;
  std::vector<double> generated_until_;
  bool open_ = false;
};

}  // namespace edgefl::sim
