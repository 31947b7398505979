// A lazily drawn population of simulated clients (population = "lazy",
// docs/algorithms.md, "Large populations"): `clients` = N virtual clients, of which only the
// round's candidates exist, so memory grows with the cohort, not with N.
//
// Round r's candidates are candidates_per_round distinct ids of [0, N)
// drawn uniformly from Rng::Derive(seed, {kCandidateStream, r}) (Floyd's
// sampling: O(candidates), no table of N). Each becomes a
// SimulatedClientProxy whose share is PopulationData::Share(id) and whose
// speed is the fleet's draw for that id (heterogeneity.h), so a client is
// the same whichever round draws it. The engine's selector then picks the
// cohort among the candidates. The proxies are dropped at the next round's
// draw.
//
// What persists across rounds is sparse: the history the engine writes on
// a client (rounds_participated, last_round), kept only for clients that
// completed a task — at most rounds × cohort entries.
//
// Availability and drop-out (availability = "always" or "onoff",
// dropout) are the Fleet's per-client draws, computed on demand (an
// "onoff" client's periods are walked from time 0 each time: O(t / mean
// period) draws, nothing stored). Traces (speed_dist or availability =
// "trace") are refused: they are per-client tables.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine/experiment_config.h"
#include "engine/experiment_runner.h"
#include "sim/heterogeneity.h"
#include "sim/population_data.h"
#include "sim/simulated_client_proxy.h"
#include "sim/thread_pool.h"

namespace edgefl::sim {

inline constexpr uint64_t kCandidateStream = 0x504f5043414e44ULL;  // "POPCAND"

// Client k's id, "pop-0000042", and back (ConfigError for another id).
std::string PopulationClientId(uint64_t client);
uint64_t PopulationClientIndex(const std::string& id);

// The per-client fleet draws of a population, by client index.
class PopulationFleet {
 public:
  // Throws ConfigError for a bad option or a trace (see above).
  explicit PopulationFleet(const HeterogeneityOptions& options);
  double speed(uint64_t client) const;
  double TaskSeconds(uint64_t client, int64_t samples, int64_t model_bytes) const;
  // As Fleet::NextAvailable and Fleet::OnlineUntil, recomputed each call.
  double NextAvailable(uint64_t client, double t) const;
  double OnlineUntil(uint64_t client, double t) const;
  bool DropsOut(uint64_t client, int64_t task) const;

 private:
  HeterogeneityOptions options_;
};

class Population final : public engine::ClientSource {
 public:
  // `data`, `fleet` and `pool` must outlive the population. Throws ConfigError when
  // config.population is not "lazy" or the sizes are inconsistent.
  Population(const engine::ExperimentConfig& config, const PopulationData& data,
             const PopulationFleet& fleet, ThreadPool& pool);

  // Round r's candidates, materialised (the previous round's dropped).
  std::vector<std::shared_ptr<engine::ClientProxy>> ClientsForRound(int64_t round) override;

  // Round r's candidate ids, ascending (no materialisation).
  std::vector<uint64_t> Candidates(int64_t round) const;

  uint64_t size() const { return size_; }
  // Clients materialised now, and at most at once so far.
  size_t materialised() const { return current_.size(); }
  size_t peak_materialised() const { return peak_; }
  // Clients with a kept history (completed a task).
  size_t remembered() const { return history_.size(); }
  // Bytes of the clients' data held now and of the kept history.
  size_t held_bytes() const;

 private:
  struct History {
    int64_t rounds_participated = 0;
    int64_t last_round = -1;
  };
  // Moves what the engine wrote on the current proxies into history_.
  void Harvest();

  uint64_t size_;
  size_t candidates_;
  uint64_t seed_;
  std::string model_;
  const PopulationData& data_;
  const PopulationFleet& fleet_;
  ThreadPool& pool_;
  std::vector<std::shared_ptr<SimulatedClientProxy>> current_;
  std::unordered_map<uint64_t, History> history_;
  size_t peak_ = 0;
};

}  // namespace edgefl::sim
