// Runs the real `edgefl report` binary and checks what it leaves on disk.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <doctest/doctest.h>

#include "common/error.h"
#include "storage/experiment_log.h"
#include "tests/test_util.h"

namespace edgefl::tools {
namespace {

using edgefl::testing::EdgeflTool;
using edgefl::testing::RunCommand;
using edgefl::testing::TempDir;

using testing::HasSubstr;

// The files in `dir`, sorted, one per line.
std::string Listing(const std::filesystem::path& dir) {
  std::string out;
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    out += entry.path().filename().string() + "\n";
  return out;
}

// A one-round synthetic run in `db`.
void SmallRun(const std::filesystem::path& db) {
  std::string output;
  REQUIRE_MESSAGE(RunCommand(EdgeflTool() +
                                 " sim -q --set dataset=synthetic --set model=mlp:60-10 "
                                 "--set clients=2 --set clients_per_round=2 --set rounds=1 "
                                 "--set threads=1 --set db=" +
                                 db.string(),
                             &output) == 0,
                  output);
}

}  // namespace

TEST_CASE("edgefl report leaves no temporary file behind, on success or failure") {
  TempDir dir;
  const std::filesystem::path db = dir / "log.db";
  SmallRun(db);
  const std::string report = EdgeflTool() + " report --db " + db.string() + " -o ";
  std::string output;

  // -o naming a directory: refused before anything is written.
  std::filesystem::create_directory(dir / "out");
  CHECK(RunCommand(report + (dir / "out").string(), &output) == kExitUsage);
  CHECK_MESSAGE(HasSubstr(output, (dir / "out").string() + " is a directory"), output);
  CHECK_FALSE(std::filesystem::exists(dir / "out.tmp"));
  CHECK(std::filesystem::is_empty(dir / "out"));

  // A directory that does not exist.
  CHECK(RunCommand(report + (dir / "missing" / "r.html").string(), &output) == kExitIoError);
  CHECK_FALSE(std::filesystem::exists(dir / "missing"));

  // Success: the report and nothing else.
  REQUIRE_MESSAGE(RunCommand(report + (dir / "out" / "r.html").string(), &output) == 0, output);
  CHECK(Listing(dir / "out") == "r.html\n");
  CHECK_FALSE(HasSubstr(Listing(dir.path()), ".tmp"));
}

TEST_CASE(
    "edgefl report gives a language model run its Perplexity section with the log's figures") {
  TempDir dir;
  const std::filesystem::path db = dir / "log.db";
  std::string output;
  REQUIRE_MESSAGE(RunCommand(EdgeflTool() +
                                 " sim -q --set dataset=fortunes --set partition=by_source "
                                 "--set model=rnn:gru-8-e4-t16-v32 --set clients=2 "
                                 "--set clients_per_round=2 --set rounds=2 --set local_steps=5 "
                                 "--set train_subset=200 --set test_subset=40 --set optimizer=adam "
                                 "--set lr=0.02 --set threads=1 --set run_name=gru --set db=" +
                                 db.string(),
                             &output) == 0,
                  output);
  SmallRun(db);  // an mlp run: no perplexity
  REQUIRE_MESSAGE(
      RunCommand(EdgeflTool() + " report --db " + db.string() + " -o " + (dir / "r.html").string(),
                 &output) == 0,
      output);
  std::ifstream in(dir / "r.html");
  std::stringstream html;
  html << in.rdbuf();
  const std::string text = html.str();
  REQUIRE(HasSubstr(text, "<h2>Perplexity</h2>"));
  CHECK(HasSubstr(text, "aria-label=\"Test perplexity per round\""));
  // The table row holds exp(test loss) of round 0 and of the final round,
  // as the log has them.
  storage::ExperimentLog log(db);
  const auto run = log.FindRun("gru");
  REQUIRE(run.has_value());
  const auto evals = log.Evaluations(run->id);
  REQUIRE(evals.size() == 3);
  auto ppl = [](double loss) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.2f", std::exp(loss));
    return std::string(buffer);
  };
  CHECK(HasSubstr(text, "<td>gru</td><td class=\"num\">" + ppl(evals.front().loss) + "</td>"));
  CHECK(HasSubstr(
      text, "<td class=\"num\">" + ppl(evals.back().loss) + "</td><td class=\"num\">2</td></tr>"));
  // Only the language model run is in the section's table.
  const size_t table = text.find("<table class=\"summary perplexity\">");
  REQUIRE(table != std::string::npos);
  CHECK(text.substr(table, text.find("</table>", table) - table).find("<tr><td>") ==
        text.substr(table, text.find("</table>", table) - table).rfind("<tr><td>"));
}

}  // namespace edgefl::tools
