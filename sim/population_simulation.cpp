#include "sim/population_simulation.h"

#include <cmath>
#include <optional>
#include <utility>

#include "engine/experiment_runner.h"
#include "nn/model.h"
#include "sim/population.h"
#include "sim/population_data.h"
#include "sim/thread_pool.h"
#include "train/local_trainer.h"

namespace edgefl::sim {

SimulationResult RunPopulationSimulation(const engine::ExperimentConfig& config,
                                         std::FILE* progress, const std::atomic<bool>* stop,
                                         PopulationStats* stats) {
  engine::CheckAlgorithms(config, static_cast<size_t>(config.clients));
  const PopulationFleet fleet(HeterogeneityFrom(config));
  const PopulationData data(config);
  engine::CheckClientAlgorithm(config, data.Share(0));

  ThreadPool pool(static_cast<size_t>(config.threads));
  Population population(config, data, fleet, pool);
  if (progress != nullptr) {
    std::fprintf(progress,
                 "population: %lld lazily drawn clients, %zu candidates a round, cohort %lld\n",
                 static_cast<long long>(config.clients),
                 static_cast<size_t>(config.candidates_per_round > 0 ? config.candidates_per_round
                                                                     : config.clients_per_round),
                 static_cast<long long>(config.clients_per_round));
    std::fflush(progress);
  }

  const int64_t model_bytes =
      static_cast<int64_t>(sizeof(float)) * nn::Model(config.model).num_parameters();
  engine::RunnerOptions options;
  options.round.clients_per_round = static_cast<size_t>(config.clients_per_round);
  options.round.seed = static_cast<uint64_t>(config.seed);
  options.round.quorum = config.quorum;
  options.round.quorum_by_samples = config.quorum_unit == "samples";
  options.progress = progress;
  options.stop = stop;
  options.training_data = data.pool().size() > 0 ? &data.pool() : nullptr;
  options.round.virtual_deadline = config.deadline;
  options.round.virtual_seconds =
      [&fleet, model_bytes](int64_t round, const algorithms::ClientInfo& info,
                            const train::FitInstructions& instructions) -> std::optional<double> {
    const uint64_t k = PopulationClientIndex(info.id);
    if (fleet.DropsOut(k, round)) return std::nullopt;
    const int64_t parameters = instructions.start_parameters
                                   ? static_cast<int64_t>(instructions.start_parameters->size())
                                   : model_bytes / static_cast<int64_t>(sizeof(float));
    return fleet.TaskSeconds(k, PlannedSamples(instructions.recipe, info.num_samples),
                             parameters * static_cast<int64_t>(sizeof(float)));
  };
  options.round.transfer_seconds = [bandwidth = config.bandwidth](int64_t bytes) {
    return bandwidth > 0.0 ? static_cast<double>(bytes) / bandwidth : 0.0;
  };
  options.round.availability = [&fleet](const algorithms::ClientInfo& info, double t) {
    const uint64_t k = PopulationClientIndex(info.id);
    const double from = fleet.NextAvailable(k, t);
    return std::pair<double, double>(from, std::isfinite(from) ? fleet.OnlineUntil(k, from) : from);
  };
  const engine::ExperimentResult run =
      engine::RunExperiment(config, data.test(), population, options);
  if (stats != nullptr) {
    stats->peak_materialised = population.peak_materialised();
    stats->remembered = population.remembered();
    stats->data_bytes = data.held_bytes();
  }
  SimulationResult result;
  result.run_id = run.run_id;
  result.first_round = run.first_round;
  result.last_round = run.last_round;
  result.final_accuracy = run.final_accuracy;
  result.best_accuracy = run.best_accuracy;
  result.seconds = run.seconds;
  result.interrupted = run.interrupted;
  result.budget_spent = run.budget_spent;
  return result;
}

}  // namespace edgefl::sim
