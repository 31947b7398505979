#include "storage/run_summary.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <system_error>
#include <utility>

#include "common/error.h"
#include "storage/run_lease.h"
#include "storage/schema.h"
#include "storage/sqlite_db.h"

namespace edgefl::storage {

namespace {

// The header of an edgefl log at an older schema version, or nullopt.
std::optional<int64_t> OlderVersion(const std::filesystem::path& path) {
  try {
    SqliteDb db(path, SqliteDb::Mode::kReadOnly, 1000);
    if (db.QueryInt("PRAGMA application_id") != kApplicationId) return std::nullopt;
    const int64_t version = db.QueryInt("PRAGMA user_version");
    if (version >= 1 && version < kSchemaVersion) return version;
  } catch (const std::exception&) {
    // The caller reports its own error.
  }
  return std::nullopt;
}

std::optional<int64_t> ParseId(const std::string& text) {
  int64_t id = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return id;
}

RunDetail ReadDetail(ExperimentLog& log, RunSummary summary, const DetailParts& parts) {
  RunDetail detail;
  const int64_t id = summary.run.id;
  detail.summary = std::move(summary);
  detail.rounds = log.Rounds(id);
  if (parts.evaluations) detail.evaluations = log.Evaluations(id);
  if (parts.updates) detail.updates = log.ClientUpdates(id);
  detail.events = log.Events(id);
  const RunInfo& run = detail.summary.run;
  detail.owner_lost =
      run.status == RunStatus::kRunning && !RunLease::IsHeld(log.path(), run.spec.name);
  double end = run.ended_at.value_or(0.0);
  if (!detail.rounds.empty()) end = std::max(end, detail.rounds.back().ended_at);
  detail.seconds = end > run.started_at ? end - run.started_at : 0.0;
  return detail;
}

}  // namespace

std::optional<RunDetail::Privacy> RunDetail::PrivacySpent() const {
  std::optional<Privacy> spent;
  for (const RoundRecord& r : rounds) {
    const auto epsilon = r.metrics.find("epsilon");
    if (epsilon == r.metrics.end()) continue;
    const auto delta = r.metrics.find("dp_delta");
    if (spent && r.round < spent->round) continue;
    spent =
        Privacy{epsilon->second,
                delta == r.metrics.end() ? std::numeric_limits<double>::quiet_NaN() : delta->second,
                r.round};
  }
  return spent;
}

std::vector<EvaluationRecord> RunDetail::EvaluationsOn(const std::string& split) const {
  std::vector<EvaluationRecord> out;
  for (const EvaluationRecord& e : evaluations) {
    if (e.split == split) out.push_back(e);
  }
  return out;
}

std::optional<EvaluationRecord> RunDetail::FinalEvaluation(const std::string& split) const {
  std::optional<EvaluationRecord> last;
  for (const EvaluationRecord& e : evaluations) {
    if (e.split == split && (!last || e.round >= last->round)) last = e;
  }
  return last;
}

std::unique_ptr<ExperimentLog> OpenLogForReading(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    throw IoError("experiment log " + path.string() +
                  ": no such file; pass the log an experiment wrote with --db (the config's "
                  "'db' key, e.g. runs/demo.db)");
  }
  ExperimentLog::Options options;
  options.read_only = true;
  try {
    return std::make_unique<ExperimentLog>(path, options);
  } catch (const DataError& error) {
    if (const std::optional<int64_t> version = OlderVersion(path)) {
      throw DataError("experiment log " + path.string() + " uses schema version " +
                      std::to_string(*version) + ", older than this edgefl's version " +
                      std::to_string(kSchemaVersion) +
                      "; readers open logs read-only and never upgrade them. Upgrade it in "
                      "place with 'edgefl runs upgrade --db " +
                      path.string() +
                      "' (after stopping any older coordinator still writing it), or resume "
                      "its run with this edgefl");
    }
    throw;
  }
}

int64_t UpgradeLog(const std::filesystem::path& path) {
  const std::optional<int64_t> version = OlderVersion(path);
  ExperimentLog::Options options;
  options.create_if_missing = false;
  ExperimentLog log(path, options);  // EnsureSchema upgrades it
  return version.value_or(kSchemaVersion);
}

std::vector<RunDetail> ReadRunDetails(ExperimentLog& log, std::span<const std::string> runs,
                                      const DetailParts& parts) {
  const std::unique_ptr<Transaction> snapshot = log.BeginSnapshot();
  std::vector<RunSummary> all = log.ListRuns("test");
  std::vector<RunDetail> details;
  if (runs.empty()) {
    for (RunSummary& summary : all)
      details.push_back(ReadDetail(log, std::move(summary), parts));
    return details;
  }
  for (const std::string& wanted : runs) {
    auto it = std::find_if(all.begin(), all.end(),
                           [&](const RunSummary& s) { return s.run.spec.name == wanted; });
    if (it == all.end()) {
      if (const std::optional<int64_t> id = ParseId(wanted)) {
        it = std::find_if(all.begin(), all.end(),
                          [&](const RunSummary& s) { return s.run.id == *id; });
      }
    }
    if (it == all.end()) {
      std::string names;
      for (const RunSummary& s : all)
        names += (names.empty() ? "" : ", ") + s.run.spec.name;
      throw ConfigError("experiment log " + log.path().string() + " has no run named '" + wanted +
                        "'" + (all.empty() ? " (it has no runs yet)" : "; its runs: " + names));
    }
    details.push_back(ReadDetail(log, *it, parts));
  }
  return details;
}

}  // namespace edgefl::storage
