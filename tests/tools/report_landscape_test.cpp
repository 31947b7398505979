// Runs the real `edgefl sim`, `edgefl report` and `edgefl analyze` binaries:
// a run that keeps its clients' local models (examples/landscape.toml, made
// small) gets a Landscape section whose numbers are the ones `edgefl
// analyze` prints for the same pair and round; a run without client models
// gets only the keep_client_models hint.
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "tests/test_util.h"

namespace edgefl::tools {
namespace {

using edgefl::testing::EdgeflTool;
using edgefl::testing::ReadFile;
using edgefl::testing::RunCommand;
using edgefl::testing::TempDir;

using testing::HasSubstr;

// examples/landscape.toml on the synthetic data with a small mlp: 4 clients,
// 2 rounds, the local models of both rounds kept (keep_client_models = 2).
void ReportLandscapeSim(const std::filesystem::path& db, const std::string& name,
                        const std::string& extra) {
  std::string output;
  REQUIRE_MESSAGE(RunCommand(EdgeflTool() + " sim -q --config " + edgefl::testing::SourceDir() +
                                 "/examples/landscape.toml --set dataset=synthetic "
                                 "--set model=mlp:60-16-10 --set clients=4 "
                                 "--set clients_per_round=4 --set rounds=2 "
                                 "--set threads=1 --set run_name=" +
                                 name + " --set db=" + db.string() + " " + extra,
                             &output) == 0,
                  output);
}

// The part of the report about run `name`: from its "<h2>Run" heading to
// the next one.
std::string RunPart(const std::string& html, const std::string& name) {
  const std::string heading = "</span>" + name + "</h2>";
  const size_t begin = html.find(heading);
  if (begin == std::string::npos) return "";
  const size_t end = html.find("<h2>Run ", begin);
  return html.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

// The whitespace-separated fields of the line of `output` that starts with
// `label`, without the label's own fields.
std::vector<std::string> RowOf(const std::string& output, const std::string& label) {
  std::istringstream lines(output);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(label + " ", 0) != 0) continue;
    std::istringstream fields(line.substr(label.size()));
    std::vector<std::string> out;
    for (std::string f; fields >> f;)
      out.push_back(f);
    return out;
  }
  return {};
}

std::string NumCells(const std::vector<std::string>& values) {
  std::string out;
  for (const std::string& v : values)
    out += "<td class=\"num\">" + (v == "-" ? std::string("&#8211;") : v) + "</td>";
  return out;
}

}  // namespace

TEST_CASE("edgefl report shows the landscape of a run with client models as edgefl analyze does") {
  TempDir dir;
  const std::filesystem::path db = dir / "log.db";
  ReportLandscapeSim(db, "kept", "");
  ReportLandscapeSim(db, "deep", "--set model=mlp:60-16-8-10");
  ReportLandscapeSim(db, "plain", "--set keep_client_models=0");
  std::string output;
  const auto html_path = dir / "report.html";
  REQUIRE_MESSAGE(
      RunCommand(EdgeflTool() + " report --db " + db.string() + " -o " + html_path.string(),
                 &output) == 0,
      output);
  const std::string html = ReadFile(html_path);

  // One hidden layer: both barriers, both curves, the global model's
  // dropout curve; the newest of the two stored rounds.
  const std::string kept = RunPart(html, "kept");
  REQUIRE_MESSAGE(HasSubstr(kept, "<h3 class=\"landscape\">Landscape (round 2)</h3>"), kept);
  CHECK(HasSubstr(kept, "data-series=\"straight line\""));
  CHECK(HasSubstr(kept, "data-series=\"dropout path\""));
  CHECK(HasSubstr(kept, "data-series=\"global\""));
  CHECK_FALSE(HasSubstr(kept, "landscape-hint"));

  // The same numbers as `edgefl analyze` (same defaults): its first pair is
  // the first two clients by id, as the report's.
  REQUIRE_MESSAGE(
      RunCommand(EdgeflTool() + " analyze --db " + db.string() + " --run kept --pairs 1",
                 &output) == 0,
      output);
  CHECK_MESSAGE(HasSubstr(output, "run 'kept', round 2: 4 client models"), output);
  const std::vector<std::string> pair = RowOf(output, "sim-0000 ~ sim-0001");
  REQUIRE_MESSAGE(pair.size() == 4, output);  // L_A, L_B, line barrier, path barrier
  CHECK_MESSAGE(HasSubstr(kept, "<tr><td>sim-0000 ~ sim-0001</td>" + NumCells(pair) + "</tr>"),
                kept);
  const std::vector<std::string> global = RowOf(output, "global");
  REQUIRE_MESSAGE(global.size() == 6, output);  // full loss, fractions 0.1 0.25 0.5 0.75 1
  CHECK_MESSAGE(HasSubstr(kept, "<tr><td>global</td>" + NumCells(global) + "</tr>"), kept);

  // Two hidden layers: no dropout path, said so; still the straight line.
  const std::string deep = RunPart(html, "deep");
  REQUIRE_MESSAGE(HasSubstr(deep, "Landscape (round 2)"), deep);
  CHECK(HasSubstr(deep, "data-series=\"straight line\""));
  CHECK_FALSE(HasSubstr(deep, "data-series=\"dropout path\""));
  CHECK(HasSubstr(deep, "The dropout path is built for one hidden layer"));
  REQUIRE_MESSAGE(
      RunCommand(EdgeflTool() + " analyze --db " + db.string() + " --run deep --pairs 1",
                 &output) == 0,
      output);
  const std::vector<std::string> deep_pair = RowOf(output, "sim-0000 ~ sim-0001");
  REQUIRE_MESSAGE(deep_pair.size() == 4, output);
  CHECK(deep_pair[3] == "-");
  CHECK_MESSAGE(HasSubstr(deep, "<tr><td>sim-0000 ~ sim-0001</td>" + NumCells(deep_pair) + "</tr>"),
                deep);

  // No client models: no section, the one-line hint.
  const std::string plain = RunPart(html, "plain");
  REQUIRE_FALSE(plain.empty());
  CHECK_FALSE(HasSubstr(plain, "class=\"landscape\""));
  CHECK(HasSubstr(plain, "keep_client_models = N"));

  // --no-landscape: neither sections nor hints.
  REQUIRE_MESSAGE(RunCommand(EdgeflTool() + " report --no-landscape --db " + db.string() + " -o " +
                                 html_path.string(),
                             &output) == 0,
                  output);
  const std::string bare = ReadFile(html_path);
  CHECK_FALSE(HasSubstr(bare, "class=\"landscape\""));
  CHECK_FALSE(HasSubstr(bare, "landscape-hint"));
}

}  // namespace edgefl::tools
