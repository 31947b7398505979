// `edgefl report`: one self-contained HTML file describing runs of an
// experiment log — a summary table; test accuracy and loss per round (and
// per wall-clock second, and per virtual second for runs that record
// rounds.virtual_time) with the runs overlaid; per-class accuracy of each
// final model; the staleness histogram; the test perplexity of the runs the
// caller names language models; and for each run its participation
// per client and round (accepted, rejected, dropped, discarded), its
// dropped/rejected updates per round, the rounds that kept the previous
// model with their outcome, its events (resumes, config changes, lost
// owners), its Landscape section when the caller measured one (loss
// barriers between two clients' local models, dropout stability) and its
// configuration; a run whose owner is gone is "orphaned". Charts are inline SVG
// (report/svg_plot.h); the file fetches nothing and runs one inline script, which only marks the
// page as rendered (body data-rendered="ok" when every <svg> has a non-zero size and no script
// error occurred) for automated checks. Every text from the log is escaped.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <span>
#include <string>

#include "report/landscape_section.h"
#include "storage/run_summary.h"

namespace edgefl::report {

struct ReportOptions {
  std::string title = "edgefl experiment report";
  std::string source;        // the log's path, shown under the title; "" = none
  std::string generated_at;  // e.g. "2026-11-25 20:30 UTC"; "" = none
  // Participation grids show at most this many clients (the first by id).
  size_t max_grid_clients = 200;
  // Each run's Landscape section (report/landscape_section.h), by run id,
  // measured by the caller. With landscape_hints, a run without one gets
  // the one-line keep_client_models hint instead.
  std::map<int64_t, LandscapeSection> landscapes;
  bool landscape_hints = false;
  // Runs (by id) of next-token language models, whose test loss is a mean
  // cross-entropy per token: they get the Perplexity section
  // (report/perplexity_section.h). The caller decides (tools/, via nn/).
  std::set<int64_t> language_model_runs;
};

// The whole document (<!DOCTYPE html> ... </html>) for `runs`, in order.
std::string RenderHtmlReport(std::span<const storage::RunDetail> runs,
                             const ReportOptions& options);

// "12.3 s", "4 m 05 s", "2 h 03 m": a duration for tables.
std::string FormatDuration(double seconds);

}  // namespace edgefl::report
