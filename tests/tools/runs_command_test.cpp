// Runs the real `edgefl runs` and `edgefl report` binaries on logs written
// by `edgefl sim`, and on files that are not what they should be.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "privacy/rdp_accountant.h"
#include "storage/experiment_log.h"
#include "storage/schema.h"
#include "storage/sqlite_db.h"
#include "tests/test_util.h"

namespace edgefl::tools {
namespace {

using edgefl::testing::EdgeflTool;
using edgefl::testing::FashionMnistDir;
using edgefl::testing::ReadFile;
using edgefl::testing::RunCommand;
using edgefl::testing::TempDir;
using edgefl::testing::WriteFile;

using testing::HasSubstr;

// A 3-round simulation into `db`, as a user would start it.
void RunsCommandSim(const std::filesystem::path& db, const std::string& name,
                    const std::string& strategy) {
  std::string output;
  REQUIRE_MESSAGE(RunCommand(EdgeflTool() +
                                 " sim -q --set rounds=3 --set clients=5 "
                                 "--set clients_per_round=4 --set train_subset=1500 "
                                 "--set test_subset=400 --set model=mlp:784-16-10 "
                                 "--set threads=1 --set partition=dirichlet "
                                 "--set strategy=" +
                                 strategy + " --set run_name=" + name + " --set db=" + db.string() +
                                 " --set data_path=" + FashionMnistDir().string(),
                             &output) == 0,
                  output);
}

std::string Fixed4(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.4f", v);
  return buffer;
}

// What a user would compute from the log with SQL, for one run.
struct Expected {
  int64_t id = 0;
  int64_t rounds = 0;
  double best = 0.0;
  double final_accuracy = 0.0;
  size_t clients = 0;
  std::vector<double> accuracy;  // by round, 0..rounds
};

Expected FromLog(const std::filesystem::path& db, const std::string& name) {
  storage::ExperimentLog::Options options;
  options.read_only = true;
  storage::ExperimentLog log(db, options);
  const auto run = log.FindRun(name);
  REQUIRE(run.has_value());
  Expected e;
  e.id = run->id;
  e.rounds = static_cast<int64_t>(log.Rounds(run->id).size());
  int64_t last_round = -1;
  for (const auto& eval : log.Evaluations(run->id)) {
    if (eval.split != "test") continue;
    e.best = std::max(e.best, eval.accuracy);
    if (eval.round > last_round) {
      last_round = eval.round;
      e.final_accuracy = eval.accuracy;
    }
    e.accuracy.push_back(eval.accuracy);
  }
  std::set<std::string> clients;
  for (const auto& u : log.ClientUpdates(run->id))
    clients.insert(u.client_id);
  e.clients = clients.size();
  return e;
}

// The whitespace-separated fields of the line of `text` whose second field
// is `name` (a table row), or empty.
std::vector<std::string> Row(const std::string& text, const std::string& name, size_t key = 1) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::vector<std::string> row;
    std::string field;
    while (fields >> field)
      row.push_back(field);
    if (row.size() > key && row[key] == name) return row;
  }
  return {};
}

// The number after "key": in a JSON text, from position `from`.
double JsonNumber(const std::string& json, const std::string& key, size_t from = 0) {
  const size_t at = json.find("\"" + key + "\": ", from);
  REQUIRE_MESSAGE(at != std::string::npos, key);
  return std::strtod(json.c_str() + at + key.size() + 4, nullptr);
}

}  // namespace

TEST_CASE("edgefl runs compare prints both runs with the figures in the log") {
  TempDir dir;
  const auto db = dir / "log.db";
  RunsCommandSim(db, "alpha", "fedavg");
  RunsCommandSim(db, "beta", "fedavgm");
  const Expected alpha = FromLog(db, "alpha");
  const Expected beta = FromLog(db, "beta");
  REQUIRE(alpha.accuracy.size() == 4);
  REQUIRE(beta.accuracy.size() == 4);

  std::string output;
  REQUIRE_MESSAGE(
      RunCommand(EdgeflTool() + " runs compare alpha beta --db " + db.string(), &output) == 0,
      output);
  // id  name  strategy  mode  status  rounds  best_acc  final_acc  time...  clients
  for (const auto& [name, strategy, e] :
       {std::tuple{"alpha", "fedavg", alpha}, std::tuple{"beta", "fedavgm", beta}}) {
    CAPTURE(name);
    const std::vector<std::string> row = Row(output, name);
    REQUIRE_MESSAGE(row.size() >= 10, output);
    CHECK(row[0] == std::to_string(e.id));
    CHECK(row[2] == strategy);
    CHECK(row[4] == "completed");
    CHECK(row[5] == std::to_string(e.rounds) + "/3");
    CHECK(row[6] == Fixed4(e.best));
    CHECK(row[7] == Fixed4(e.final_accuracy));
    CHECK(row.back() == std::to_string(e.clients));
  }
  // The per-round table: round, alpha's accuracy, beta's accuracy.
  const std::string per_round = output.substr(output.find("test accuracy per round"));
  for (int round = 0; round <= 3; ++round) {
    const std::vector<std::string> row = Row(per_round, std::to_string(round), 0);
    REQUIRE_MESSAGE(row.size() == 3, output);
    CHECK(row[1] == Fixed4(alpha.accuracy[static_cast<size_t>(round)]));
    CHECK(row[2] == Fixed4(beta.accuracy[static_cast<size_t>(round)]));
  }

  // --json: the same figures, machine-readable.
  REQUIRE(RunCommand(
              EdgeflTool() + " runs compare alpha beta --json --db " + db.string() + " 2>/dev/null",
              &output) == 0);
  const size_t beta_at = output.find("\"name\": \"beta\"");
  REQUIRE(beta_at != std::string::npos);
  CHECK(JsonNumber(output, "best_accuracy") == doctest::Approx(alpha.best).epsilon(1e-12));
  CHECK(JsonNumber(output, "final_accuracy", beta_at) ==
        doctest::Approx(beta.final_accuracy).epsilon(1e-12));
  CHECK(JsonNumber(output, "clients", beta_at) == static_cast<double>(beta.clients));

  // --csv: a header and one row per run.
  REQUIRE(RunCommand(EdgeflTool() + " runs list --csv --db " + db.string() + " 2>/dev/null",
                     &output) == 0);
  CHECK(std::count(output.begin(), output.end(), '\n') == 3);
  CHECK(output.starts_with("id,name,strategy,mode,model,status,rounds,"));
  CHECK(HasSubstr(output, "\n2,beta,fedavgm,sync,mlp:784-16-10,completed,3,3,"));

  // show by id: rounds 0..3 with selected/accepted counts.
  REQUIRE(RunCommand(EdgeflTool() + " runs show 1 --db " + db.string(), &output) == 0);
  CHECK(HasSubstr(output, "run          alpha (id 1)"));
  const size_t table = output.find("round  selected");
  REQUIRE_MESSAGE(table != std::string::npos, output);
  const std::vector<std::string> round3 = Row(output.substr(table), "3", 0);
  REQUIRE_MESSAGE(round3.size() >= 8, output);
  CHECK(round3[1] == "4");  // selected
  CHECK(round3[2] == "4");  // accepted
  CHECK(round3[7] == Fixed4(alpha.accuracy[3]));

  // A run that is not there: the message lists those that are.
  REQUIRE(RunCommand(EdgeflTool() + " runs show gamma --db " + db.string(), &output) == 2);
  CHECK(HasSubstr(output, "no run named 'gamma'; its runs: alpha, beta"));

  // edgefl report writes one HTML file.
  const auto html = dir / "out" / "report.html";
  std::filesystem::create_directories(html.parent_path());
  REQUIRE_MESSAGE(
      RunCommand(EdgeflTool() + " report --db " + db.string() + " --run beta -o " + html.string(),
                 &output) == 0,
      output);
  CHECK(HasSubstr(output, "report: 1 run of"));
  const std::string page = ReadFile(html);
  CHECK(page.starts_with("<!DOCTYPE html>"));
  CHECK(HasSubstr(page, "data-series=\"beta\""));
  CHECK_FALSE(HasSubstr(page, "data-series=\"alpha\""));
}

TEST_CASE("edgefl runs and report show the privacy a DP run spent") {
  TempDir dir;
  const auto db = dir / "log.db";
  RunsCommandSim(db, "plain", "fedavg");
  std::string output;
  // 5 clients, 4 per round: q = 0.8; z = 1.1; 3 rounds at δ = 1e-3.
  REQUIRE_MESSAGE(RunCommand(EdgeflTool() +
                                 " sim -q --set rounds=3 --set clients=5 "
                                 "--set clients_per_round=4 --set train_subset=1500 "
                                 "--set test_subset=400 --set model=mlp:784-16-10 "
                                 "--set threads=1 --set strategy=fedavg --set dp=true "
                                 "--set dp_noise_multiplier=1.1 --set dp_clip=1 "
                                 "--set dp_delta=0.001 --set dp_noise=seeded "
                                 "--set run_name=private --set db=" +
                                 db.string() + " --set data_path=" + FashionMnistDir().string(),
                             &output) == 0,
                  output);
  privacy::RdpAccountant accountant(0.8, 1.1);
  std::vector<double> expected;
  for (int round = 1; round <= 3; ++round)
    expected.push_back(accountant.SpentAfter(round, 1e-3).epsilon);
  char text[64];

  // show: the privacy line and an epsilon column per round.
  REQUIRE(RunCommand(EdgeflTool() + " runs show private --db " + db.string(), &output) == 0);
  std::snprintf(text, sizeof text, "privacy      epsilon %.4f at delta 0.001 after round 3",
                expected[2]);
  CHECK_MESSAGE(HasSubstr(output, text), output);
  const size_t table = output.find("round  selected");
  REQUIRE_MESSAGE(table != std::string::npos, output);
  const std::vector<std::string> header = Row(output.substr(table), "round", 0);
  const auto column = std::find(header.begin(), header.end(), "epsilon") - header.begin();
  REQUIRE_MESSAGE(column < static_cast<std::ptrdiff_t>(header.size()), output);
  for (int round = 1; round <= 3; ++round) {
    const std::vector<std::string> row = Row(output.substr(table), std::to_string(round), 0);
    REQUIRE_MESSAGE(row.size() == header.size(), output);
    std::snprintf(text, sizeof text, "%.3f", expected[static_cast<size_t>(round - 1)]);
    CHECK(row[static_cast<size_t>(column)] == text);
  }
  // A run without DP shows none.
  REQUIRE(RunCommand(EdgeflTool() + " runs show plain --db " + db.string(), &output) == 0);
  CHECK_FALSE(HasSubstr(output, "privacy"));
  CHECK_FALSE(HasSubstr(output, "epsilon"));

  // list: an epsilon column, "-" for the run without DP.
  REQUIRE(RunCommand(EdgeflTool() + " runs list --db " + db.string(), &output) == 0);
  std::snprintf(text, sizeof text, "%.3f", expected[2]);
  CHECK(Row(output, "private").back() == text);
  CHECK(Row(output, "plain").back() == "-");

  // --json: epsilon and delta, and each round's strategy metrics.
  REQUIRE(RunCommand(EdgeflTool() + " runs show private --json --db " + db.string(), &output) == 0);
  CHECK(JsonNumber(output, "epsilon") == doctest::Approx(expected[2]).epsilon(1e-12));
  CHECK(JsonNumber(output, "delta") == 0.001);
  const size_t round2 = output.find("{\"round\": 2");
  REQUIRE(round2 != std::string::npos);
  CHECK(JsonNumber(output, "dp_clip", round2) == 1.0);
  CHECK(JsonNumber(output, "epsilon", round2) == doctest::Approx(expected[1]).epsilon(1e-12));

  // The report: the epsilon column and the privacy chart.
  const auto html = dir / "report.html";
  REQUIRE(RunCommand(EdgeflTool() + " report --db " + db.string() + " -o " + html.string(),
                     &output) == 0);
  const std::string page = ReadFile(html);
  CHECK(HasSubstr(page, "<h2>Privacy</h2>"));
  std::snprintf(text, sizeof text, "%.3f (&#948; = 0.001)", expected[2]);
  CHECK(HasSubstr(page, text));
}

TEST_CASE("edgefl runs and report explain files that are not current edgefl logs") {
  TempDir dir;
  std::string output;

  // Missing.
  CHECK(RunCommand(EdgeflTool() + " runs list --db " + (dir / "none.db").string(), &output) == 4);
  CHECK(HasSubstr(output, "no such file"));

  // A text file.
  WriteFile(dir / "notes.txt", "just some notes, not a database\n");
  CHECK(RunCommand(EdgeflTool() + " runs list --db " + (dir / "notes.txt").string(), &output) == 3);
  CHECK(HasSubstr(output, "not an edgefl experiment log"));

  // Another application's SQLite database.
  {
    storage::SqliteDb other(dir / "other.db", storage::SqliteDb::Mode::kReadWriteCreate, 1000);
    other.Execute("CREATE TABLE photos (id INTEGER PRIMARY KEY, path TEXT)");
  }
  CHECK(RunCommand(EdgeflTool() + " report -o x.html --db " + (dir / "other.db").string(),
                   &output) == 3);
  CHECK(HasSubstr(output, "not an edgefl experiment log"));

  // Written by a newer edgefl.
  {
    storage::ExperimentLog log(dir / "newer.db");
    log.TEST_db().Execute("PRAGMA user_version = 99");
  }
  CHECK(RunCommand(EdgeflTool() + " runs list --db " + (dir / "newer.db").string(), &output) == 3);
  CHECK(HasSubstr(output, "written by a newer edgefl"));
  CHECK(HasSubstr(output, "open it with a newer edgefl"));

  // Written by an older edgefl: readers refuse to upgrade and say how.
  REQUIRE(storage::kSchemaVersion >= 2);
  const auto older = dir / "older.db";
  {
    storage::SqliteDb db(older, storage::SqliteDb::Mode::kReadWriteCreate, 1000);
    storage::EnsureSchema(db, storage::Migrations().first(storage::kSchemaVersion - 1));
  }
  CHECK(RunCommand(EdgeflTool() + " runs list --db " + older.string(), &output) == 3);
  CHECK(HasSubstr(output, "older than this edgefl's version"));
  CHECK(HasSubstr(output, "edgefl runs upgrade --db " + older.string()));
  CHECK(RunCommand(
            EdgeflTool() + " report -o " + (dir / "r.html").string() + " --db " + older.string(),
            &output) == 3);
  CHECK(HasSubstr(output, "edgefl runs upgrade --db"));
  {
    storage::SqliteDb db(older, storage::SqliteDb::Mode::kReadOnly, 1000);
    CHECK(db.QueryInt("PRAGMA user_version") == storage::kSchemaVersion - 1);  // untouched
  }
  REQUIRE_MESSAGE(RunCommand(EdgeflTool() + " runs upgrade --db " + older.string(), &output) == 0,
                  output);
  CHECK(HasSubstr(output, "upgraded " + older.string() + " from schema version " +
                              std::to_string(storage::kSchemaVersion - 1)));
  REQUIRE(RunCommand(EdgeflTool() + " runs list --db " + older.string(), &output) == 0);
  CHECK(HasSubstr(output, "holds no runs yet"));
}

TEST_CASE("edgefl runs reads a log while a writer holds its write lock") {
  TempDir dir;
  const auto db = dir / "live.db";
  RunsCommandSim(db, "done", "fedavg");
  storage::ExperimentLog writer(db);
  // A coordinator in the middle of committing a round: an open write
  // transaction with an uncommitted run in it.
  storage::Transaction transaction(writer.TEST_db());
  writer.TEST_db().Execute(
      "INSERT INTO runs (name, config, strategy, mode, model_spec, seed, planned_rounds, "
      "started_at, status) VALUES ('pending', '', 'fedavg', 'sync', 'mlp:4-3', 1, 5, 0, "
      "'running')");
  std::string output;
  REQUIRE_MESSAGE(RunCommand(EdgeflTool() + " runs list --db " + db.string(), &output) == 0,
                  output);
  CHECK(HasSubstr(output, "done"));
  CHECK_FALSE(HasSubstr(output, "pending"));  // not committed yet
  // The reader did not block the writer.
  transaction.Commit();
  REQUIRE(RunCommand(EdgeflTool() + " runs list --db " + db.string(), &output) == 0);
  CHECK(HasSubstr(output, "pending"));
}

}  // namespace edgefl::tools
