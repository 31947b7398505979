// `edgefl sim` with population = "lazy" (docs/algorithms.md, "Large populations"): the sync
// rounds of RunSimulation over a Population (population.h) instead of a
// fleet of materialised clients. RunSimulation calls it; the config checks
// (engine/experiment_config.cpp, CheckPopulation) have refused what a lazy
// population cannot run.
#pragma once

#include <atomic>
#include <cstdio>

#include "engine/experiment_config.h"
#include "sim/simulation.h"

namespace edgefl::sim {

// What the run held, for the tests and the bench: clients materialised at
// once at most, clients with a kept history at the end, bytes of the
// population's fixed data (pool, test split).
struct PopulationStats {
  size_t peak_materialised = 0;
  size_t remembered = 0;
  size_t data_bytes = 0;
};

SimulationResult RunPopulationSimulation(const engine::ExperimentConfig& config,
                                         std::FILE* progress, const std::atomic<bool>* stop,
                                         PopulationStats* stats = nullptr);

}  // namespace edgefl::sim
