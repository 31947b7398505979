// edgefl report: renders runs of an experiment log as one self-contained
// HTML file (report/html_report.h). Reads the log read-only, so it can run
// while a coordinator is writing it. A run that stored client models
// (keep_client_models) gets a Landscape section (tools/run_landscape.h),
// which loads the run's data and evaluates its models; a language model's run
// a Perplexity section (report/perplexity_section.h).
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <cxxopts.hpp>

#include "common/error.h"
#include "engine/experiment_config.h"
#include "nn/model_spec.h"
#include "report/html_report.h"
#include "storage/run_summary.h"
#include "tools/commands.h"
#include "tools/option_values.h"
#include "tools/run_landscape.h"

namespace edgefl::tools {

namespace {

// Whether a run of model `spec` is a next-token language model (its test
// loss is a mean cross-entropy per token): the report's Perplexity section.
bool IsLanguageModelSpec(const std::string& spec) {
  try {
    return nn::IsLanguageModel(nn::ParseModelSpec(spec).kind);
  } catch (const Error&) {
    return false;
  }
}

std::string UtcNow() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M UTC", &tm);
  return buffer;
}

// Writes `text` to `path` through a temporary file and a rename, so a reader
// never sees half a report. The temporary file is removed whenever the
// report is not moved into place.
void WriteAtomically(const std::filesystem::path& path, const std::string& text) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw ConfigError("report: -o " + path.string() +
                      " is a directory; pass the HTML file to write, e.g. -o " +
                      (path / "report.html").string());
  }
  const std::filesystem::path tmp = path.string() + ".tmp";
  struct RemoveUnlessMoved {
    const std::filesystem::path& tmp;
    bool moved = false;
    ~RemoveUnlessMoved() {
      std::error_code ignored;
      if (!moved) std::filesystem::remove(tmp, ignored);
    }
  } cleanup{tmp};
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) {
      throw IoError("report: cannot write " + tmp.string() +
                    " (does the directory exist and is it writable?)");
    }
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.close();
    if (!out) throw IoError("report: writing " + tmp.string() + " failed (disk full?)");
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    throw IoError("report: cannot move " + tmp.string() + " to " + path.string() + ": " +
                  ec.message());
  }
  cleanup.moved = true;
}

}  // namespace

int RunReport(int argc, char** argv) {
  cxxopts::Options options("edgefl report",
                           "Render runs of an experiment log as one self-contained HTML file "
                           "(inline SVG charts, no network access needed to view it).");
  // clang-format off
  options.add_options()
      ("db", "experiment log (the config's 'db' key)",
       cxxopts::value<std::string>()->default_value(engine::ExperimentConfig{}.db))
      ("r,run", "a run to include, by name or id (repeatable; default: every run)",
       cxxopts::value<std::vector<std::string>>())
      ("o,output", "the HTML file to write", cxxopts::value<std::string>()->default_value("report.html"))
      ("title", "the page title", cxxopts::value<std::string>()->default_value("edgefl experiment report"))
      ("no-landscape", "leave out the Landscape sections (they load each run's data and evaluate "
       "its stored client models)")
      ("h,help", "print this help");
  // clang-format on
  cxxopts::ParseResult args;
  if (!ParseCommandLine(options, argc, argv, &args, "", " (runs are chosen with --run NAME)")) {
    return kExitOk;
  }
  const std::string db = args["db"].as<std::string>();
  std::vector<std::string> runs;
  if (args.count("run")) runs = args["run"].as<std::vector<std::string>>();
  const std::filesystem::path output = args["output"].as<std::string>();

  const bool landscape = args.count("no-landscape") == 0;
  std::vector<storage::RunDetail> details;
  report::ReportOptions report_options;
  {
    const std::unique_ptr<storage::ExperimentLog> log = storage::OpenLogForReading(db);
    details = storage::ReadRunDetails(*log, runs);
    for (const storage::RunDetail& run : details) {
      if (IsLanguageModelSpec(run.summary.run.spec.model_spec)) {
        report_options.language_model_runs.insert(run.summary.run.id);
      }
    }
    for (const storage::RunDetail& run : details) {
      if (!landscape) break;
      std::optional<report::LandscapeSection> section =
          MeasureRunLandscape(*log, run.summary.run, LandscapeSettings{});
      if (section) report_options.landscapes.emplace(run.summary.run.id, std::move(*section));
    }
  }
  report_options.landscape_hints = landscape;
  report_options.title = args["title"].as<std::string>();
  report_options.source = db;
  report_options.generated_at = UtcNow();
  const std::string html = report::RenderHtmlReport(details, report_options);
  WriteAtomically(output, html);
  std::printf("report: %zu run%s of %s -> %s (%.0f KB)\n", details.size(),
              details.size() == 1 ? "" : "s", db.c_str(), output.string().c_str(),
              static_cast<double>(html.size()) / 1024.0);
  return kExitOk;
}

}  // namespace edgefl::tools
