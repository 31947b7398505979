// edgefl runs list|show|compare|upgrade: the runs of an experiment log as
// terminal tables, or as JSON (--json) or CSV (--csv) for scripts. Reads the
// log read-only (a live coordinator may keep writing it); only `upgrade`
// writes, to bring a log of an older edgefl to this build's schema.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <cxxopts.hpp>

#include "common/error.h"
#include "common/log_line.h"
#include "common/number_text.h"
#include "engine/experiment_config.h"
#include "nn/model_spec.h"
#include "report/html_report.h"
#include "storage/run_summary.h"
#include "storage/schema.h"
#include "tools/commands.h"
#include "tools/option_values.h"

namespace edgefl::tools {

namespace {

using storage::RunDetail;

// ---- Values ------------------------------------------------------------------

// A table cell: "-" for a missing or non-finite value.
std::string Cell(double value, int decimals) {
  return std::isfinite(value) ? FixedDecimals(value, decimals) : "-";
}

std::string Cell(std::optional<double> value, int decimals) {
  return value ? Cell(*value, decimals) : "-";
}

// Shortest text that reads back as the same double; "null" for NaN/none.
std::string JsonNumber(double value) {
  if (!std::isfinite(value)) return "null";
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

std::string JsonNumber(std::optional<double> value) {
  return value ? JsonNumber(*value) : "null";
}

std::string JsonString(const std::string& text) {
  return JsonQuoted(text);  // common/log_line.h
}

std::string CsvField(const std::string& text) {
  if (text.find_first_of(",\"\n\r") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string CsvNumber(std::optional<double> value) {
  return value && std::isfinite(*value) ? JsonNumber(*value) : "";
}

// ---- Per-round view ------------------------------------------------------------

struct RoundRow {
  int64_t round = 0;
  const storage::RoundRecord* record = nullptr;  // null for round 0
  std::optional<double> test_accuracy;
  std::optional<double> test_loss;
};

// Round 0 (the initial model) and every committed round, with the test
// evaluation where there is one.
std::vector<RoundRow> RoundRows(const RunDetail& run) {
  std::map<int64_t, RoundRow> rows;
  for (const storage::EvaluationRecord& e : run.EvaluationsOn("test")) {
    RoundRow& row = rows[e.round];
    row.round = e.round;
    row.test_accuracy = e.accuracy;
    row.test_loss = e.loss;
  }
  for (const storage::RoundRecord& r : run.rounds) {
    RoundRow& row = rows[r.round];
    row.round = r.round;
    row.record = &r;
  }
  std::vector<RoundRow> out;
  for (auto& [round, row] : rows)
    out.push_back(row);
  return out;
}

// ---- Text tables ---------------------------------------------------------------

class Table {
 public:
  explicit Table(std::vector<std::string> header, std::vector<bool> numeric)
      : header_(std::move(header)), numeric_(std::move(numeric)) {}
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void Print(std::FILE* out) const {
    std::vector<size_t> width(header_.size(), 0);
    for (size_t c = 0; c < header_.size(); ++c) {
      width[c] = header_[c].size();
      for (const auto& row : rows_)
        width[c] = std::max(width[c], row[c].size());
    }
    auto line = [&](const std::vector<std::string>& row) {
      std::string text;
      for (size_t c = 0; c < row.size(); ++c) {
        const std::string pad(width[c] - row[c].size(), ' ');
        if (c > 0) text += "  ";
        text += numeric_[c] ? pad + row[c] : row[c] + (c + 1 < row.size() ? pad : "");
      }
      std::fprintf(out, "%s\n", text.c_str());
    };
    line(header_);
    for (const auto& row : rows_)
      line(row);
  }

 private:
  std::vector<std::string> header_;
  std::vector<bool> numeric_;
  std::vector<std::vector<std::string>> rows_;
};

// The run's status, or "orphaned" for a run marked running that no process
// owns (its process died; the next run of it marks it interrupted).
std::string StatusText(const RunDetail& run) {
  if (run.owner_lost) return "orphaned";
  return std::string(storage::ToString(run.summary.run.status));
}

std::string RoundsText(const RunDetail& run) {
  std::string text = std::to_string(run.summary.rounds_completed);
  if (run.summary.run.spec.planned_rounds > 0) {
    text += "/" + std::to_string(run.summary.run.spec.planned_rounds);
  }
  return text;
}

// ε as a table cell: "-" without DP, "inf" when no noise bounds it.
std::string EpsilonText(std::optional<double> epsilon) {
  if (!epsilon) return "-";
  return std::isfinite(*epsilon) ? Cell(*epsilon, 3) : "inf";
}

std::optional<double> SpentEpsilon(const RunDetail& run) {
  const auto spent = run.PrivacySpent();
  return spent ? std::optional<double>(spent->epsilon) : std::nullopt;
}

bool AnyPrivacy(const std::vector<RunDetail>& runs) {
  return std::any_of(runs.begin(), runs.end(),
                     [](const RunDetail& run) { return run.PrivacySpent().has_value(); });
}

// The round's "epsilon" strategy metric, if it has one.
std::optional<double> RoundEpsilon(const storage::RoundRecord* record) {
  if (!record) return std::nullopt;
  const auto it = record->metrics.find("epsilon");
  return it == record->metrics.end() ? std::nullopt : std::optional<double>(it->second);
}

void PrintSummaryTable(const std::vector<RunDetail>& runs) {
  std::vector<std::string> header = {"id",     "name",     "strategy",  "mode", "status",
                                     "rounds", "best_acc", "final_acc", "time", "clients"};
  std::vector<bool> numeric = {true, false, false, false, false, true, true, true, true, true};
  // ε spent, when any run is differentially private.
  const bool privacy = AnyPrivacy(runs);
  if (privacy) {
    header.push_back("epsilon");
    numeric.push_back(true);
  }
  Table table(header, numeric);
  for (const RunDetail& run : runs) {
    const storage::RunInfo& info = run.summary.run;
    std::vector<std::string> cells = {std::to_string(info.id),
                                      info.spec.name,
                                      info.spec.strategy,
                                      info.spec.mode,
                                      StatusText(run),
                                      RoundsText(run),
                                      Cell(run.summary.best_accuracy, 4),
                                      Cell(run.summary.final_accuracy, 4),
                                      report::FormatDuration(run.seconds),
                                      std::to_string(run.summary.distinct_clients)};
    if (privacy) cells.push_back(EpsilonText(SpentEpsilon(run)));
    table.Add(std::move(cells));
  }
  table.Print(stdout);
}

// Usable updates of `round` that went into no model (its round kept the
// previous one).
int64_t Discarded(const RunDetail& run, int64_t round) {
  int64_t n = 0;
  for (const storage::ClientUpdateRecord& u : run.updates)
    n += u.round == round && u.status == storage::UpdateStatus::kDiscarded;
  return n;
}

// Whether the run's model is a next-token language model (its test loss is
// a mean cross-entropy per character: perplexity = exp(loss)).
bool IsLanguageModelRun(const RunDetail& run) {
  try {
    return nn::IsLanguageModel(nn::ParseModelSpec(run.summary.run.spec.model_spec).kind);
  } catch (const Error&) {
    return false;
  }
}

void PrintRoundTable(const RunDetail& run) {
  bool virtual_time = false;
  for (const auto& r : run.rounds)
    virtual_time = virtual_time || r.virtual_time.has_value();
  std::vector<std::string> header = {"round",      "selected",  "accepted", "dropped", "rejected",
                                     "train_loss", "test_loss", "test_acc", "seconds"};
  const bool perplexity = IsLanguageModelRun(run);
  if (perplexity) header.insert(header.begin() + 8, "test_ppl");
  if (virtual_time) header.push_back("virtual_s");
  const bool privacy = run.PrivacySpent().has_value();
  if (privacy) header.push_back("epsilon");
  // Usable updates that went into no model, and whether the round made a
  // new model or kept the previous one (quorum not reached).
  header.push_back("discarded");
  header.push_back("model");
  Table table(header, std::vector<bool>(header.size(), true));
  for (const RoundRow& row : RoundRows(run)) {
    const storage::RoundRecord* r = row.record;
    const int64_t discarded = r ? Discarded(run, r->round) : 0;
    std::vector<std::string> cells = {std::to_string(row.round),
                                      r ? std::to_string(r->selected) : "-",
                                      r ? std::to_string(r->completed) : "-",
                                      r ? std::to_string(r->dropped) : "-",
                                      r ? std::to_string(r->rejected) : "-",
                                      r ? Cell(r->train_loss, 4) : "-",
                                      Cell(row.test_loss, 4),
                                      Cell(row.test_accuracy, 4),
                                      r ? Cell(r->ended_at - r->started_at, 1) : "-"};
    if (perplexity) {
      const std::optional<double> ppl =
          row.test_loss ? std::optional<double>(std::exp(*row.test_loss)) : std::nullopt;
      cells.insert(cells.begin() + 8, Cell(ppl, 2));
    }
    if (virtual_time) cells.push_back(r && r->virtual_time ? Cell(*r->virtual_time, 1) : "-");
    if (privacy) cells.push_back(EpsilonText(RoundEpsilon(r)));
    cells.push_back(r ? std::to_string(discarded) : "-");
    cells.push_back(r ? (r->aggregated ? "new" : "kept") : "-");
    table.Add(std::move(cells));
  }
  table.Print(stdout);
}

void PrintShow(const RunDetail& run) {
  const storage::RunInfo& info = run.summary.run;
  std::printf("run          %s (id %lld)\n", info.spec.name.c_str(),
              static_cast<long long>(info.id));
  std::printf("strategy     %s (%s)\n", info.spec.strategy.c_str(), info.spec.mode.c_str());
  std::printf("model        %s, seed %lld\n", info.spec.model_spec.c_str(),
              static_cast<long long>(info.spec.seed));
  std::printf("status       %s%s%s\n", StatusText(run).c_str(),
              info.status_reason.empty() ? "" : ": ", info.status_reason.c_str());
  if (!info.owner.empty()) {
    std::printf("owner        %s%s\n", info.owner.c_str(),
                info.status == storage::RunStatus::kRunning ? "" : " (last)");
  }
  std::printf("rounds       %s\n", RoundsText(run).c_str());
  std::printf("accuracy     best %s, final %s (test)\n", Cell(run.summary.best_accuracy, 4).c_str(),
              Cell(run.summary.final_accuracy, 4).c_str());
  std::printf("time         %s\n", report::FormatDuration(run.seconds).c_str());
  std::printf("clients      %lld\n", static_cast<long long>(run.summary.distinct_clients));
  if (const auto spent = run.PrivacySpent()) {
    char delta[32] = "unknown";
    if (std::isfinite(spent->delta)) std::snprintf(delta, sizeof delta, "%.3g", spent->delta);
    if (std::isfinite(spent->epsilon)) {
      std::printf("privacy      epsilon %.4f at delta %s after round %lld\n", spent->epsilon, delta,
                  static_cast<long long>(spent->round));
    } else {
      std::printf("privacy      epsilon unbounded (no noise) after round %lld\n",
                  static_cast<long long>(spent->round));
    }
  }
  for (const storage::RoundRecord& r : run.rounds) {
    if (!r.aggregated) {
      std::printf("kept model   round %lld: %s\n", static_cast<long long>(r.round),
                  r.outcome.c_str());
    }
  }
  for (const storage::RunEvent& e : run.events) {
    std::printf("event        after round %lld: %s%s%s\n", static_cast<long long>(e.round),
                e.kind.c_str(), e.detail.empty() ? "" : ": ", e.detail.c_str());
  }
  std::printf("\n");
  PrintRoundTable(run);
}

void PrintCompare(const std::vector<RunDetail>& runs) {
  PrintSummaryTable(runs);
  std::printf("\ntest accuracy per round\n");
  std::vector<std::string> header = {"round"};
  std::map<int64_t, std::vector<std::string>> by_round;
  for (size_t i = 0; i < runs.size(); ++i) {
    header.push_back(runs[i].summary.run.spec.name);
    for (const RoundRow& row : RoundRows(runs[i])) {
      auto& cells = by_round[row.round];
      cells.resize(runs.size(), "-");
      cells[i] = Cell(row.test_accuracy, 4);
    }
  }
  Table table(header, std::vector<bool>(header.size(), true));
  for (auto& [round, cells] : by_round) {
    cells.resize(runs.size(), "-");
    std::vector<std::string> row = {std::to_string(round)};
    row.insert(row.end(), cells.begin(), cells.end());
    table.Add(std::move(row));
  }
  table.Print(stdout);
}

// ---- JSON and CSV ---------------------------------------------------------------

// ", "epsilon": ε, "delta": δ" of a DP run (null where unbounded or
// unknown); "" otherwise.
std::string PrivacyJson(const RunDetail& run) {
  const auto spent = run.PrivacySpent();
  if (!spent) return "";
  return ", \"epsilon\": " + JsonNumber(spent->epsilon) +
         ", \"delta\": " + JsonNumber(spent->delta);
}

// The round's strategy metrics as a JSON object.
std::string MetricsJson(const storage::RoundRecord& record) {
  std::string out = "{";
  for (const auto& [name, value] : record.metrics) {
    out += (out.size() > 1 ? ", " : "") + JsonString(name) + ": " + JsonNumber(value);
  }
  return out + "}";
}

std::string SummaryJson(const RunDetail& run) {
  const storage::RunInfo& info = run.summary.run;
  return "\"id\": " + std::to_string(info.id) + ", \"name\": " + JsonString(info.spec.name) +
         ", \"strategy\": " + JsonString(info.spec.strategy) +
         ", \"mode\": " + JsonString(info.spec.mode) +
         ", \"model\": " + JsonString(info.spec.model_spec) +
         ", \"seed\": " + std::to_string(info.spec.seed) +
         ", \"status\": " + JsonString(std::string(storage::ToString(info.status))) +
         ", \"status_reason\": " + JsonString(info.status_reason) +
         ", \"owner\": " + JsonString(info.owner) +
         ", \"owner_lost\": " + (run.owner_lost ? "true" : "false") +
         ", \"rounds\": " + std::to_string(run.summary.rounds_completed) +
         ", \"planned_rounds\": " + std::to_string(info.spec.planned_rounds) +
         ", \"best_accuracy\": " + JsonNumber(run.summary.best_accuracy) +
         ", \"final_accuracy\": " + JsonNumber(run.summary.final_accuracy) +
         ", \"seconds\": " + JsonNumber(run.seconds) +
         ", \"started_at\": " + JsonNumber(info.started_at) +
         ", \"ended_at\": " + JsonNumber(info.ended_at) +
         ", \"clients\": " + std::to_string(run.summary.distinct_clients) + PrivacyJson(run);
}

std::string RoundsJson(const RunDetail& run) {
  std::string out = "[";
  bool first = true;
  for (const RoundRow& row : RoundRows(run)) {
    const storage::RoundRecord* r = row.record;
    out += std::string(first ? "" : ",") + "\n    {\"round\": " + std::to_string(row.round);
    first = false;
    if (r) {
      out += std::string(", \"aggregated\": ") + (r->aggregated ? "true" : "false") +
             ", \"outcome\": " + JsonString(r->outcome) +
             ", \"selected\": " + std::to_string(r->selected) +
             ", \"accepted\": " + std::to_string(r->completed) +
             ", \"discarded\": " + std::to_string(Discarded(run, r->round)) +
             ", \"dropped\": " + std::to_string(r->dropped) +
             ", \"rejected\": " + std::to_string(r->rejected) +
             ", \"train_loss\": " + JsonNumber(r->train_loss) +
             ", \"seconds\": " + JsonNumber(r->ended_at - r->started_at) +
             ", \"virtual_time\": " + JsonNumber(r->virtual_time) +
             ", \"metrics\": " + MetricsJson(*r);
    }
    out += ", \"test_loss\": " + JsonNumber(row.test_loss) +
           ", \"test_accuracy\": " + JsonNumber(row.test_accuracy) + "}";
  }
  return out + "\n  ]";
}

std::string EventsJson(const RunDetail& run) {
  std::string out = "[";
  for (size_t i = 0; i < run.events.size(); ++i) {
    const storage::RunEvent& e = run.events[i];
    out += std::string(i ? ", " : "") + "{\"at\": " + JsonNumber(e.at) +
           ", \"round\": " + std::to_string(e.round) + ", \"kind\": " + JsonString(e.kind) +
           ", \"detail\": " + JsonString(e.detail) + "}";
  }
  return out + "]";
}

void PrintJson(const std::vector<RunDetail>& runs, bool with_rounds, bool single) {
  std::string out = single ? "" : "[\n";
  for (size_t i = 0; i < runs.size(); ++i) {
    out += (single ? "{" : "  {") + SummaryJson(runs[i]);
    if (with_rounds) {
      out += ",\n  \"config\": " + JsonString(runs[i].summary.run.spec.config) +
             ",\n  \"events\": " + EventsJson(runs[i]) +
             ",\n  \"per_round\": " + RoundsJson(runs[i]);
    }
    out += std::string("}") + (i + 1 < runs.size() ? ",\n" : "\n");
  }
  if (!single) out += "]\n";
  std::fputs(out.c_str(), stdout);
}

void PrintSummaryCsv(const std::vector<RunDetail>& runs) {
  std::printf(
      "id,name,strategy,mode,model,status,rounds,planned_rounds,best_accuracy,final_accuracy,"
      "seconds,clients,epsilon,delta\n");
  for (const RunDetail& run : runs) {
    const storage::RunInfo& info = run.summary.run;
    const auto spent = run.PrivacySpent();
    std::printf(
        "%lld,%s,%s,%s,%s,%s,%lld,%lld,%s,%s,%s,%lld,%s,%s\n", static_cast<long long>(info.id),
        CsvField(info.spec.name).c_str(), CsvField(info.spec.strategy).c_str(),
        CsvField(info.spec.mode).c_str(), CsvField(info.spec.model_spec).c_str(),
        std::string(storage::ToString(info.status)).c_str(),
        static_cast<long long>(run.summary.rounds_completed),
        static_cast<long long>(info.spec.planned_rounds),
        CsvNumber(run.summary.best_accuracy).c_str(), CsvNumber(run.summary.final_accuracy).c_str(),
        CsvNumber(run.seconds).c_str(), static_cast<long long>(run.summary.distinct_clients),
        spent ? CsvNumber(spent->epsilon).c_str() : "",
        spent ? CsvNumber(spent->delta).c_str() : "");
  }
}

void PrintRoundsCsv(const RunDetail& run) {
  std::printf(
      "round,selected,accepted,dropped,rejected,train_loss,test_loss,test_accuracy,seconds,"
      "virtual_time,epsilon\n");
  for (const RoundRow& row : RoundRows(run)) {
    const storage::RoundRecord* r = row.record;
    auto count = [&](int64_t v) { return r ? std::to_string(v) : std::string(); };
    std::printf("%lld,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n", static_cast<long long>(row.round),
                count(r ? r->selected : 0).c_str(), count(r ? r->completed : 0).c_str(),
                count(r ? r->dropped : 0).c_str(), count(r ? r->rejected : 0).c_str(),
                r ? CsvNumber(r->train_loss).c_str() : "", CsvNumber(row.test_loss).c_str(),
                CsvNumber(row.test_accuracy).c_str(),
                r ? CsvNumber(r->ended_at - r->started_at).c_str() : "",
                r ? CsvNumber(r->virtual_time).c_str() : "", CsvNumber(RoundEpsilon(r)).c_str());
  }
}

constexpr const char* kRunsUsage =
    "usage: edgefl runs list              [--db FILE] [--json|--csv]\n"
    "       edgefl runs show RUN          [--db FILE] [--json|--csv]\n"
    "       edgefl runs compare RUN RUN.. [--db FILE] [--json|--csv]\n"
    "       edgefl runs upgrade           --db FILE\n"
    "RUN is a run's name or id. The log is opened read-only (except by upgrade), so a\n"
    "coordinator can keep writing it.\n";

}  // namespace

int RunRuns(int argc, char** argv) {
  cxxopts::Options options("edgefl runs", "The runs recorded in an experiment log.");
  // clang-format off
  options.add_options()
      ("db", "experiment log (the config's 'db' key)",
       cxxopts::value<std::string>()->default_value(engine::ExperimentConfig{}.db))
      ("json", "print JSON instead of a table")
      ("csv", "print CSV instead of a table")
      ("h,help", "print this help")
      ("args", "list|show|compare|upgrade and run names",
       cxxopts::value<std::vector<std::string>>());
  // clang-format on
  options.parse_positional({"args"});
  options.positional_help("list|show RUN|compare RUN RUN...|upgrade");
  cxxopts::ParseResult args;
  if (!ParseCommandLine(options, argc, argv, &args, kRunsUsage)) return kExitOk;
  std::vector<std::string> words;
  if (args.count("args")) words = args["args"].as<std::vector<std::string>>();
  if (words.empty()) throw ConfigError(std::string("missing subcommand\n") + kRunsUsage);
  const std::string sub = words.front();
  const std::vector<std::string> runs(words.begin() + 1, words.end());
  const bool json = args.count("json") > 0;
  const bool csv = args.count("csv") > 0;
  if (json && csv) throw ConfigError("--json and --csv exclude each other; pick one");
  const std::string db = args["db"].as<std::string>();

  if (sub == "upgrade") {
    if (!runs.empty()) throw ConfigError("runs upgrade takes no run names, only --db FILE");
    if (!std::filesystem::exists(db)) {
      throw IoError("experiment log " + db + ": no such file; pass an existing log with --db");
    }
    const int64_t before = storage::UpgradeLog(db);
    if (before == storage::kSchemaVersion) {
      std::printf("runs: %s is already at schema version %lld\n", db.c_str(),
                  static_cast<long long>(before));
    } else {
      std::printf("runs: upgraded %s from schema version %lld to %lld\n", db.c_str(),
                  static_cast<long long>(before), static_cast<long long>(storage::kSchemaVersion));
    }
    return kExitOk;
  }
  if (sub == "list") {
    if (!runs.empty()) throw ConfigError("runs list takes no run names (did you mean show?)");
  } else if (sub == "show") {
    if (runs.size() != 1) throw ConfigError("runs show takes exactly one run name or id");
  } else if (sub == "compare") {
    if (runs.size() < 2) throw ConfigError("runs compare takes two or more run names or ids");
  } else {
    throw ConfigError("unknown subcommand '" + sub + "'\n" + kRunsUsage);
  }

  std::vector<RunDetail> details;
  {
    const std::unique_ptr<storage::ExperimentLog> log = storage::OpenLogForReading(db);
    // The tables print the summary's distinct-client count, not the updates.
    storage::DetailParts parts;
    parts.updates = false;
    parts.evaluations = sub != "list";
    details = storage::ReadRunDetails(*log, runs, parts);
  }
  if (sub == "list") {
    if (json) {
      PrintJson(details, false, false);
    } else if (csv) {
      PrintSummaryCsv(details);
    } else if (details.empty()) {
      std::printf("runs: %s holds no runs yet\n", db.c_str());
    } else {
      PrintSummaryTable(details);
    }
  } else if (sub == "show") {
    if (json) {
      PrintJson(details, true, true);
    } else if (csv) {
      PrintRoundsCsv(details.front());
    } else {
      PrintShow(details.front());
    }
  } else {
    if (json) {
      PrintJson(details, true, false);
    } else if (csv) {
      PrintSummaryCsv(details);
    } else {
      PrintCompare(details);
    }
  }
  return kExitOk;
}

}  // namespace edgefl::tools
