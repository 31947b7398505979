#include "sim/population.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "common/error.h"
#include "common/random.h"
#include "datasets/population_share.h"

namespace edgefl::sim {
namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();
constexpr char kIdPrefix[] = "pop-";

}  // namespace

std::string PopulationClientId(uint64_t client) {
  char id[32];
  std::snprintf(id, sizeof(id), "%s%07llu", kIdPrefix, static_cast<unsigned long long>(client));
  return id;
}

uint64_t PopulationClientIndex(const std::string& id) {
  const std::string prefix = kIdPrefix;
  if (id.size() <= prefix.size() || id.compare(0, prefix.size(), prefix) != 0 ||
      id.find_first_not_of("0123456789", prefix.size()) != std::string::npos) {
    throw ConfigError("\"" + id + "\" is not a population client id (pop-NNNNNNN)");
  }
  return std::stoull(id.substr(prefix.size()));
}

PopulationFleet::PopulationFleet(const HeterogeneityOptions& options) : options_(options) {
  if (options_.speed_dist == "trace" || options_.availability == "trace") {
    throw ConfigError(
        "population = \"lazy\" cannot read traces (speed_dist or availability = \"trace\" are "
        "per-client tables): use uniform or lognormal speeds and always or onoff availability");
  }
  const Fleet check(options_, 1);  // every option's own check
  (void)check;
}

double PopulationFleet::speed(uint64_t client) const {
  return DrawClientSpeed(options_, client);
}

double PopulationFleet::TaskSeconds(uint64_t client, int64_t samples, int64_t model_bytes) const {
  double seconds = static_cast<double>(samples) / speed(client);
  if (options_.bandwidth > 0.0) {
    seconds += 2.0 * static_cast<double>(model_bytes) / options_.bandwidth;
  }
  return seconds;
}

double PopulationFleet::NextAvailable(uint64_t client, double t) const {
  if (options_.availability != "onoff") return t;
  double start = 0.0;
  for (uint64_t period = 0;; ++period) {
    const auto [on, off] = DrawOnOffPeriod(options_, client, period);
    if (t < start + on) return std::max(t, start);
    start += on + off;
    if (!std::isfinite(start)) return kInfinity;
  }
}

double PopulationFleet::OnlineUntil(uint64_t client, double t) const {
  if (options_.availability != "onoff") return kInfinity;
  double start = 0.0;
  for (uint64_t period = 0;; ++period) {
    const auto [on, off] = DrawOnOffPeriod(options_, client, period);
    if (start <= t && t < start + on) return start + on;
    if (t < start + on) return t;  // off at t
    start += on + off;
    if (!std::isfinite(start)) return t;
  }
}

bool PopulationFleet::DropsOut(uint64_t client, int64_t task) const {
  return DrawDropsOut(options_, client, task);
}

Population::Population(const engine::ExperimentConfig& config, const PopulationData& data,
                       const PopulationFleet& fleet, ThreadPool& pool)
    : size_(static_cast<uint64_t>(config.clients)),
      candidates_(static_cast<size_t>(config.candidates_per_round > 0 ? config.candidates_per_round
                                                                      : config.clients_per_round)),
      seed_(static_cast<uint64_t>(config.seed)),
      model_(config.model),
      data_(data),
      fleet_(fleet),
      pool_(pool) {
  if (config.population != "lazy") throw ConfigError("Population needs population = \"lazy\"");
  if (candidates_ == 0 || candidates_ > size_) {
    throw ConfigError("candidates_per_round (" + std::to_string(candidates_) +
                      ") must be in [1, clients = " + std::to_string(size_) + "]");
  }
}

std::vector<uint64_t> Population::Candidates(int64_t round) const {
  Rng rng = Rng::Derive(seed_, {kCandidateStream, static_cast<uint64_t>(round)});
  return datasets::DistinctSample(rng, size_, candidates_);
}

void Population::Harvest() {
  for (const auto& proxy : current_) {
    const algorithms::ClientInfo& info = proxy->info();
    if (info.rounds_participated == 0) continue;
    History& h = history_[PopulationClientIndex(info.id)];
    h.rounds_participated = info.rounds_participated;
    h.last_round = info.last_round;
  }
  current_.clear();
}

std::vector<std::shared_ptr<engine::ClientProxy>> Population::ClientsForRound(int64_t round) {
  Harvest();
  std::vector<std::shared_ptr<engine::ClientProxy>> out;
  for (uint64_t k : Candidates(round)) {
    auto proxy = std::make_shared<SimulatedClientProxy>(PopulationClientId(k), data_.Share(k),
                                                        model_, pool_);
    algorithms::ClientInfo& info = proxy->info();
    info.samples_per_second = fleet_.speed(k);
    if (const auto h = history_.find(k); h != history_.end()) {
      info.rounds_participated = h->second.rounds_participated;
      info.last_round = h->second.last_round;
    }
    current_.push_back(proxy);
    out.push_back(std::move(proxy));
  }
  peak_ = std::max(peak_, current_.size());
  return out;
}

size_t Population::held_bytes() const {
  size_t bytes = history_.size() * (sizeof(uint64_t) + sizeof(History) + 2 * sizeof(void*));
  for (const auto& proxy : current_)
    bytes += DatasetBytes(proxy->data());
  return bytes;
}

}  // namespace edgefl::sim
