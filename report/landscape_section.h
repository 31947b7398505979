// The Landscape part of a run in the HTML report: what `edgefl analyze`
// measures (Shevchenko & Mondelli 2020; docs/algorithms.md, "Landscape
// connectivity and dropout stability"), for the newest round whose client
// models the run stored (keep_client_models): the loss along the straight
// line and the dropout path between two clients' local models, and the
// dropout-stability curve of that round's global model. The measuring is
// done by the caller (tools/, through analysis/); this is plain values and
// their HTML.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "report/svg_plot.h"

namespace edgefl::report {

struct LandscapePair {
  std::string a, b;  // client ids
  double loss_a = 0.0, loss_b = 0.0;
  double line_barrier = 0.0;
  std::optional<double> path_barrier;  // nullopt: more than one hidden layer
  Series line;                         // x = t, y = loss
  std::optional<Series> path;
};

struct LandscapeCurve {
  double full_loss = 0.0;
  std::vector<double> fractions;  // of the neurons kept
  std::vector<double> loss_mean;  // over the draws, one per fraction
};

struct LandscapeSection {
  int64_t round = 0;
  // What was measured on what: model, data, hidden layer, settings.
  std::string setting;
  // Non-empty: nothing could be measured, and why (e.g. the data is gone).
  std::string unavailable;
  std::optional<LandscapePair> pair;           // nullopt: fewer than two client models
  std::optional<LandscapeCurve> global_curve;  // nullopt: the round's global model was pruned
};

// <h3>Landscape</h3> with its tables and charts. Numbers are printed as
// `edgefl analyze` prints them (4 decimals).
std::string RenderLandscapeSection(const LandscapeSection& section);

// The one-line hint for a run that stored no client models.
std::string LandscapeHint();

}  // namespace edgefl::report
