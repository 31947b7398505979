// edgefl analyze: landscape connectivity and dropout stability of a run's
// models (analysis/, docs/algorithms.md "Landscape connectivity and dropout
// stability"). Reads the log read-only: the clients' local models of one
// round (kept with keep_client_models) and that round's global model, or
// the final models of two runs (--against), and the data the run's
// recorded config names. Prints the loss barriers along the straight line
// and the dropout path of each pair and the dropout-stability curves; with
// -o, writes them as one self-contained HTML page with the plots.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <cxxopts.hpp>

#include "analysis/connecting_path.h"
#include "analysis/dropout.h"
#include "analysis/hidden_layer.h"
#include "analysis/pair_landscape.h"
#include "common/error.h"
#include "common/number_text.h"
#include "datasets/dataset.h"
#include "engine/experiment_config.h"
#include "nn/model.h"
#include "report/svg_plot.h"
#include "storage/run_summary.h"
#include "tools/commands.h"
#include "tools/landscape_data.h"
#include "tools/option_values.h"

namespace edgefl::tools {

namespace {

struct NamedModel {
  std::string name;
  Eigen::VectorXf parameters;
};

struct PairResult {
  std::string a, b;
  analysis::PathProfile line;
  std::optional<analysis::PathProfile> path;  // the dropout path (one hidden layer only)
};

struct CurveResult {
  std::string name;
  analysis::DropoutCurve curve;
};

storage::RunInfo FindRunOrThrow(storage::ExperimentLog& log, const std::string& name,
                                const std::string& db) {
  std::optional<storage::RunInfo> run = log.FindRun(name);
  if (!run) {
    throw ConfigError("no run named '" + name + "' in " + db + " (`edgefl runs --db " + db +
                      "` lists the runs)");
  }
  return *run;
}

std::vector<double> ParseFractions(const std::string& text) {
  std::vector<double> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    try {
      size_t used = 0;
      const double f = std::stod(item, &used);
      if (used != item.size() || !(f > 0.0 && f <= 1.0)) throw std::invalid_argument(item);
      out.push_back(f);
    } catch (const std::exception&) {
      throw ConfigError("--fractions: '" + item +
                        "' is not a fraction in (0, 1] (e.g. --fractions 0.25,0.5,1)");
    }
  }
  if (out.empty()) throw ConfigError("--fractions needs at least one fraction");
  return out;
}

std::string JoinRounds(const std::vector<int64_t>& rounds) {
  std::string out;
  for (int64_t r : rounds)
    out += (out.empty() ? "" : ", ") + std::to_string(r);
  return out;
}

std::string JoinFractions(const std::vector<double>& fractions) {
  std::ostringstream out;
  for (size_t i = 0; i < fractions.size(); ++i)
    out << (i ? "," : "") << fractions[i];
  return out.str();
}

std::string RenderPage(const std::string& title, const std::string& subtitle,
                       const std::vector<PairResult>& pairs, const std::vector<CurveResult>& curves,
                       const std::vector<double>& fractions) {
  std::ostringstream html;
  html << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" << report::EscapeXml(title)
       << "</title><style>body{font-family:sans-serif;margin:2em;max-width:70em}"
          "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;"
          "text-align:right}th:first-child,td:first-child{text-align:left}</style></head><body>\n"
       << "<h1>" << report::EscapeXml(title) << "</h1>\n<p>" << report::EscapeXml(subtitle)
       << "</p>\n";
  html << "<h2>Loss barriers</h2>\n<p>Barrier = max loss along the path − max(L(θ_A), "
          "L(θ_B)). The dropout path (Shevchenko &amp; Mondelli 2020) has five linear pieces: "
          "θ_A → θ_A with half its neurons kept → (free move) → θ_B with the other half kept → "
          "(free move) → θ_B.</p>\n<table><tr><th>pair</th><th>L(θ_A)</th><th>L(θ_B)</th>"
          "<th>straight-line barrier</th><th>dropout-path barrier</th></tr>\n";
  for (const PairResult& p : pairs) {
    html << "<tr><td>" << report::EscapeXml(p.a + " ~ " + p.b) << "</td><td>"
         << FixedDecimals(p.line.loss_a, 4) << "</td><td>" << FixedDecimals(p.line.loss_b, 4)
         << "</td><td>" << FixedDecimals(p.line.barrier, 4) << "</td><td>"
         << (p.path ? FixedDecimals(p.path->barrier, 4) : "—") << "</td></tr>\n";
  }
  html << "</table>\n";
  for (const PairResult& p : pairs) {
    report::LinePlot plot;
    plot.title = p.a + " ~ " + p.b;
    plot.x_label = "position on the path t";
    plot.y_label = "loss";
    plot.series.push_back({"straight line", p.line.t, p.line.loss});
    if (p.path) plot.series.push_back({"dropout path", p.path->t, p.path->loss});
    html << report::RenderLinePlot(plot) << "\n";
  }
  html << "<h2>Dropout stability</h2>\n<p>Loss after keeping a fraction of the hidden layer's "
          "neurons (output weights rescaled by N/|S|), mean over random subsets.</p>\n";
  report::LinePlot plot;
  plot.title = "dropout stability";
  plot.x_label = "fraction of neurons kept";
  plot.y_label = "loss";
  html << "<table><tr><th>model</th><th>full</th>";
  for (double f : fractions)
    html << "<th>" << FixedDecimals(f, 2) << "</th>";
  html << "</tr>\n";
  for (const CurveResult& c : curves) {
    report::Series series{c.name, {}, {}};
    html << "<tr><td>" << report::EscapeXml(c.name) << "</td><td>"
         << FixedDecimals(c.curve.full_loss, 4) << "</td>";
    for (const analysis::DropoutPoint& point : c.curve.points) {
      series.x.push_back(point.fraction);
      series.y.push_back(point.loss_mean);
      html << "<td>" << FixedDecimals(point.loss_mean, 4) << "</td>";
    }
    html << "</tr>\n";
    plot.series.push_back(std::move(series));
  }
  html << "</table>\n" << report::RenderLinePlot(plot) << "\n</body></html>\n";
  return html.str();
}

}  // namespace

int RunAnalyze(int argc, char** argv) {
  cxxopts::Options options(
      "edgefl analyze",
      "Landscape connectivity and dropout stability of a run's models (Shevchenko & Mondelli "
      "2020): loss barriers along the straight line and the dropout path between the clients' "
      "local models of a round (stored with keep_client_models) and the global model, or "
      "between two runs' final models (--against); loss after dropping hidden neurons.");
  const LandscapeSettings defaults;
  // clang-format off
  options.add_options()
      ("db", "experiment log", cxxopts::value<std::string>()->default_value(engine::ExperimentConfig{}.db))
      ("r,run", "the run, by name", cxxopts::value<std::string>())
      ("round", "the round whose client models to compare (default: the newest stored)",
       cxxopts::value<std::string>())
      ("against", "compare the final model of --run with that of this run instead",
       cxxopts::value<std::string>())
      ("layer", "the hidden layer to drop neurons from (default: the last)", cxxopts::value<std::string>())
      ("split", "the data the loss is measured on: train or test",
       cxxopts::value<std::string>()->default_value(defaults.split))
      ("samples", "use the first N samples of the split (0 = all)",
       cxxopts::value<std::string>()->default_value(std::to_string(defaults.samples)))
      ("points", "loss evaluations per linear piece of the dropout path (the straight line gets 5x)",
       cxxopts::value<std::string>()->default_value(std::to_string(defaults.points_per_piece)))
      ("pairs", "at most this many client pairs, and clients compared with the global model",
       cxxopts::value<std::string>()->default_value("2"))
      ("fractions", "fractions of neurons kept for the dropout-stability curve",
       cxxopts::value<std::string>()->default_value(JoinFractions(defaults.fractions)))
      ("draws", "random neuron subsets per fraction",
       cxxopts::value<std::string>()->default_value(std::to_string(defaults.draws)))
      ("seed", "seed of the neuron subsets",
       cxxopts::value<std::string>()->default_value(std::to_string(defaults.seed)))
      ("o,output", "also write the results and plots as this HTML file", cxxopts::value<std::string>())
      ("h,help", "print this help");
  // clang-format on
  cxxopts::ParseResult args;
  if (!ParseCommandLine(options, argc, argv, &args, "", " (the run is chosen with --run NAME)")) {
    return kExitOk;
  }
  if (!args.count("run")) throw ConfigError("--run NAME is required");
  const std::string db = args["db"].as<std::string>();
  const std::string split = args["split"].as<std::string>();
  if (split != "train" && split != "test") {
    throw ConfigError("--split must be train or test, got '" + split + "'");
  }
  const uint64_t samples = UintOption(args, "samples");
  const uint64_t points = UintOption(args, "points");
  const uint64_t max_pairs = UintOption(args, "pairs");
  const uint64_t draws = UintOption(args, "draws");
  const uint64_t seed = UintOption(args, "seed");
  if (points < 1 || points > 1000) throw ConfigError("--points must be in [1, 1000]");
  if (draws < 1 || draws > 1000) throw ConfigError("--draws must be in [1, 1000]");
  const std::vector<double> fractions = ParseFractions(args["fractions"].as<std::string>());

  // Read everything needed from one snapshot of the log, then release it.
  std::vector<NamedModel> models;
  std::vector<std::pair<size_t, size_t>> pairs;
  std::string subtitle;
  engine::ExperimentConfig config;
  std::string spec_text;
  {
    const std::unique_ptr<storage::ExperimentLog> log = storage::OpenLogForReading(db);
    const auto snapshot = log->BeginSnapshot();
    const storage::RunInfo run = FindRunOrThrow(*log, args["run"].as<std::string>(), db);
    config = engine::ParseRecordedConfig(run.spec.config, "run '" + run.spec.name + "' in " + db);
    spec_text = run.spec.model_spec;
    if (args.count("against")) {
      const storage::RunInfo other = FindRunOrThrow(*log, args["against"].as<std::string>(), db);
      for (const storage::RunInfo* r : {&run, &other}) {
        std::optional<storage::Checkpoint> c = log->LatestCheckpoint(r->id);
        if (!c) throw ConfigError("run '" + r->spec.name + "' has no model checkpoint");
        if (c->spec != spec_text) {
          throw ConfigError("run '" + r->spec.name + "' has model " + c->spec + ", run '" +
                            run.spec.name + "' " + spec_text + "; compare runs of one model");
        }
        models.push_back(
            {r->spec.name + " (round " + std::to_string(c->round) + ")", std::move(c->parameters)});
      }
      pairs.emplace_back(0, 1);
      subtitle = "final models of runs '" + run.spec.name + "' and '" + other.spec.name + "'";
    } else {
      const std::vector<int64_t> rounds = log->ClientModelRounds(run.id);
      if (rounds.empty()) {
        throw ConfigError("run '" + run.spec.name +
                          "' has no stored client models: run it with keep_client_models = N "
                          "(docs/settings.md), or compare two runs' final models with --against "
                          "RUN");
      }
      const int64_t round =
          args.count("round") ? static_cast<int64_t>(UintOption(args, "round")) : rounds.back();
      if (std::find(rounds.begin(), rounds.end(), round) == rounds.end()) {
        throw ConfigError("run '" + run.spec.name + "' has no client models of round " +
                          std::to_string(round) + " (stored: round" +
                          (rounds.size() == 1 ? " " : "s ") + JoinRounds(rounds) +
                          "; keep_client_models keeps the newest rounds)");
      }
      for (storage::ClientModel& m : log->ReadClientModels(run.id, round)) {
        models.push_back({m.client_id, std::move(m.parameters)});
      }
      const size_t clients = models.size();
      std::optional<storage::Checkpoint> global = log->ReadCheckpoint(run.id, round);
      if (global) models.push_back({"global", std::move(global->parameters)});
      for (size_t i = 0; i + 1 < clients && pairs.size() < max_pairs; ++i)
        pairs.emplace_back(i, i + 1);
      for (size_t i = 0; global && i < clients && i < max_pairs; ++i)
        pairs.emplace_back(i, models.size() - 1);
      subtitle = "run '" + run.spec.name + "', round " + std::to_string(round) + ": " +
                 std::to_string(clients) + " client model" + (clients == 1 ? "" : "s") +
                 (global ? " and the global model" : " (the global model of the round was pruned)");
    }
  }

  const datasets::Dataset full = LandscapeData(config, split, samples);
  nn::Model model(spec_text);
  const int layer_index = args.count("layer") ? static_cast<int>(UintOption(args, "layer"))
                                              : LastHiddenLayer(model.spec());
  const analysis::HiddenLayer layer(model.spec(), layer_index);
  subtitle += "; model " + spec_text + ", loss on the " + split + " split (" +
              std::to_string(full.size()) + " samples), hidden layer " +
              std::to_string(layer_index) + " (" + std::to_string(layer.neurons()) + " neurons)";
  std::printf("analyze: %s\n", subtitle.c_str());

  const int per_piece = static_cast<int>(points);
  std::vector<PairResult> pair_results;
  std::printf("%-40s %9s %9s %13s %13s\n", "pair", "L_A", "L_B", "line barrier", "path barrier");
  for (const auto& [i, j] : pairs) {
    PairResult r;
    r.a = models[i].name;
    r.b = models[j].name;
    analysis::PairLandscape measured = analysis::MeasurePair(model, layer, models[i].parameters,
                                                             models[j].parameters, full, per_piece);
    r.line = std::move(measured.line);
    r.path = std::move(measured.path);
    std::printf("%-40s %9.4f %9.4f %13.4f %13s\n", (r.a + " ~ " + r.b).c_str(), r.line.loss_a,
                r.line.loss_b, r.line.barrier,
                r.path ? FixedDecimals(r.path->barrier, 4).c_str() : "-");
    pair_results.push_back(std::move(r));
  }
  if (layer.hidden_layers() != 1) {
    std::printf("(the dropout path is built for one hidden layer, mlp:D-H-K; this model has %d)\n",
                layer.hidden_layers());
  }

  std::vector<CurveResult> curves;
  std::printf("dropout stability: mean loss over %llu subsets keeping a fraction of the neurons\n",
              static_cast<unsigned long long>(draws));
  std::printf("%-40s %9s", "model", "full");
  for (double f : fractions)
    std::printf(" %9.2f", f);
  std::printf("\n");
  for (const NamedModel& m : models) {
    CurveResult c{m.name,
                  analysis::MeasureDropoutStability(model, m.parameters, full, layer, fractions,
                                                    static_cast<int>(draws), seed)};
    std::printf("%-40s %9.4f", c.name.c_str(), c.curve.full_loss);
    for (const analysis::DropoutPoint& p : c.curve.points)
      std::printf(" %9.4f", p.loss_mean);
    std::printf("\n");
    curves.push_back(std::move(c));
  }

  if (args.count("output")) {
    const std::filesystem::path output = args["output"].as<std::string>();
    const std::string html =
        RenderPage("edgefl landscape analysis", subtitle, pair_results, curves, fractions);
    std::ofstream out(output, std::ios::binary | std::ios::trunc);
    if (!out) throw IoError("cannot write " + output.string());
    out << html;
    out.close();
    if (!out) throw IoError("writing " + output.string() + " failed (disk full?)");
    std::printf("analyze: wrote %s\n", output.string().c_str());
  }
  return kExitOk;
}

}  // namespace edgefl::tools
