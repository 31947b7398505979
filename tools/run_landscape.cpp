#include "tools/run_landscape.h"

#include <algorithm>
#include <vector>

#include "analysis/dropout.h"
#include "analysis/hidden_layer.h"
#include "analysis/pair_landscape.h"
#include "common/error.h"
#include "engine/experiment_config.h"
#include "nn/model.h"

namespace edgefl::tools {

namespace {

report::Series ToSeries(const char* name, const analysis::PathProfile& profile) {
  return {name, profile.t, profile.loss};
}

}  // namespace

std::optional<report::LandscapeSection> MeasureRunLandscape(storage::ExperimentLog& log,
                                                            const storage::RunInfo& run,
                                                            const LandscapeSettings& settings) {
  std::vector<storage::ClientModel> clients;
  std::optional<storage::Checkpoint> global;
  report::LandscapeSection section;
  {
    const auto snapshot = log.BeginSnapshot();
    const std::vector<int64_t> rounds = log.ClientModelRounds(run.id);
    if (rounds.empty()) return std::nullopt;
    section.round = rounds.back();
    clients = log.ReadClientModels(run.id, section.round);
    global = log.ReadCheckpoint(run.id, section.round);
  }
  std::sort(clients.begin(), clients.end(),
            [](const storage::ClientModel& x, const storage::ClientModel& y) {
              return x.client_id < y.client_id;
            });
  const std::string& spec_text = run.spec.model_spec;
  section.setting = "the first " + std::to_string(settings.samples) + " samples of the " +
                    settings.split + " split, model " + spec_text;
  try {
    const engine::ExperimentConfig config =
        engine::ParseRecordedConfig(run.spec.config, "run '" + run.spec.name + "'");
    const datasets::Dataset data = LandscapeData(config, settings.split, settings.samples);
    nn::Model model(spec_text);
    const analysis::HiddenLayer layer(model.spec(), LastHiddenLayer(model.spec()));
    section.setting = "the first " + std::to_string(data.size()) + " samples of the " +
                      settings.split + " split, model " + spec_text + ", hidden layer " +
                      std::to_string(layer.layer()) + " (" + std::to_string(layer.neurons()) +
                      " neurons), " + std::to_string(settings.draws) +
                      " random subsets per fraction";
    if (clients.size() >= 2) {
      const analysis::PairLandscape measured =
          analysis::MeasurePair(model, layer, clients[0].parameters, clients[1].parameters, data,
                                settings.points_per_piece);
      report::LandscapePair pair;
      pair.a = clients[0].client_id;
      pair.b = clients[1].client_id;
      pair.loss_a = measured.line.loss_a;
      pair.loss_b = measured.line.loss_b;
      pair.line_barrier = measured.line.barrier;
      pair.line = ToSeries("straight line", measured.line);
      if (measured.path) {
        pair.path_barrier = measured.path->barrier;
        pair.path = ToSeries("dropout path", *measured.path);
      }
      section.pair = std::move(pair);
    }
    if (global) {
      const analysis::DropoutCurve curve =
          analysis::MeasureDropoutStability(model, global->parameters, data, layer,
                                            settings.fractions, settings.draws, settings.seed);
      report::LandscapeCurve out;
      out.full_loss = curve.full_loss;
      for (const analysis::DropoutPoint& point : curve.points) {
        out.fractions.push_back(point.fraction);
        out.loss_mean.push_back(point.loss_mean);
      }
      section.global_curve = std::move(out);
    }
  } catch (const Error& e) {
    section.pair.reset();
    section.global_curve.reset();
    section.unavailable = e.what();
  }
  return section;
}

}  // namespace edgefl::tools
