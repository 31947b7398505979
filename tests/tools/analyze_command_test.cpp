// Runs the real `edgefl analyze` binary on small synthetic runs: the
// barriers and dropout curves it prints, the HTML page with the plots, and
// the errors a user gets for a run or round it cannot analyse.
#include <filesystem>
#include <string>

#include <doctest/doctest.h>

#include "common/error.h"
#include "tests/test_util.h"

namespace edgefl::tools {
namespace {

using edgefl::testing::EdgeflTool;
using edgefl::testing::ReadFile;
using edgefl::testing::RunCommand;
using edgefl::testing::TempDir;

using testing::HasSubstr;

void AnalyzeCommandSim(const std::filesystem::path& db, const std::string& name,
                       const std::string& extra) {
  std::string output;
  REQUIRE_MESSAGE(RunCommand(EdgeflTool() +
                                 " sim -q --set dataset=synthetic --set model=mlp:60-16-10 "
                                 "--set clients=3 --set clients_per_round=3 --set rounds=2 "
                                 "--set threads=1 --set run_name=" +
                                 name + " --set db=" + db.string() + " " + extra,
                             &output) == 0,
                  output);
}

}  // namespace

TEST_CASE("edgefl analyze prints barriers and dropout curves and writes the plots") {
  TempDir dir;
  const std::filesystem::path db = dir / "log.db";
  AnalyzeCommandSim(db, "kept", "--set keep_client_models=1 --set client_models_per_round=3");
  AnalyzeCommandSim(db, "plain", "--set seed=2");
  const std::string analyze =
      EdgeflTool() + " analyze --db " + db.string() + " --samples 300 --points 2 --draws 1 ";
  std::string output;

  const auto html = dir / "landscape.html";
  REQUIRE_MESSAGE(RunCommand(analyze + "--run kept -o " + html.string(), &output) == 0, output);
  CHECK_MESSAGE(HasSubstr(output, "run 'kept', round 2: 3 client models and the global model"),
                output);
  CHECK_MESSAGE(HasSubstr(output, "line barrier"), output);
  CHECK_MESSAGE(HasSubstr(output, "~ global"), output);
  CHECK_MESSAGE(HasSubstr(output, "dropout stability"), output);
  const std::string page = ReadFile(html);
  CHECK(HasSubstr(page, "<svg class=\"plot\""));
  CHECK(HasSubstr(page, "data-series=\"dropout path\""));
  CHECK(HasSubstr(page, "data-series=\"straight line\""));
  CHECK(HasSubstr(page, "data-series=\"global\""));

  REQUIRE_MESSAGE(RunCommand(analyze + "--run kept --against plain", &output) == 0, output);
  CHECK_MESSAGE(HasSubstr(output, "kept (round 2) ~ plain (round 2)"), output);

  // A model compared with itself: no barrier on the straight line.
  REQUIRE_MESSAGE(RunCommand(analyze + "--run kept --against kept", &output) == 0, output);
  CHECK_MESSAGE(HasSubstr(output, "   0.0000 "), output);
}

TEST_CASE("edgefl analyze refuses an unknown run or a round without stored models") {
  TempDir dir;
  const std::filesystem::path db = dir / "log.db";
  AnalyzeCommandSim(db, "kept", "--set keep_client_models=1");
  AnalyzeCommandSim(db, "plain", "");
  const std::string analyze = EdgeflTool() + " analyze --db " + db.string() + " ";
  std::string output;
  CHECK(RunCommand(analyze + "--run nope", &output) == kExitUsage);
  CHECK_MESSAGE(HasSubstr(output, "no run named 'nope'"), output);
  CHECK(RunCommand(analyze + "--run kept --round 1", &output) == kExitUsage);
  CHECK_MESSAGE(HasSubstr(output, "has no client models of round 1 (stored: round 2;"), output);
  CHECK(RunCommand(analyze + "--run plain", &output) == kExitUsage);
  CHECK_MESSAGE(HasSubstr(output, "has no stored client models: run it with keep_client_models"),
                output);
  CHECK(RunCommand(analyze + "--run kept --fractions 0,1", &output) == kExitUsage);
  CHECK_MESSAGE(HasSubstr(output, "--fractions: '0' is not a fraction"), output);
}

}  // namespace edgefl::tools
