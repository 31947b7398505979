// Opens a report in headless Chromium (Debian's `chromium`): the page must
// render every chart without a script error. Leaves the report and a
// screenshot in <build>/report-browser/ for a human to look at.
#include <filesystem>
#include <string>

#include <doctest/doctest.h>

#include "report/html_report.h"
#include "tests/report/report_test_util.h"
#include "tests/test_util.h"

namespace edgefl::report {
namespace {

using edgefl::testing::ReadFile;
using edgefl::testing::RunCommand;
using edgefl::testing::TempDir;
using edgefl::testing::WriteFile;

constexpr const char* kChromium = "/usr/bin/chromium";

// The headless flags that let Chromium run as root in a container without
// touching the network or the user's profile.
std::string Chromium(const TempDir& profile) {
  return std::string("timeout 120 ") + kChromium +
         " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run"
         " --disable-background-networking --disable-component-update --disable-sync"
         " --user-data-dir=" +
         (profile / "profile").string();
}

}  // namespace

TEST_CASE("The report renders in headless Chromium without errors") {
  if (!std::filesystem::exists(kChromium)) {
    MESSAGE("skipped: /usr/bin/chromium is not installed (scripts/setup-deps.sh installs it)");
    return;
  }
  TempDir dir;
  test::SimulateSmallRun(dir / "log.db", "fedavg-a", "fedavg");
  test::SimulateSmallRun(dir / "log.db", "fedavgm-b", "fedavgm");
  ReportOptions options;
  options.source = "log.db";
  const std::string html = RenderHtmlReport(test::ReadAll(dir / "log.db"), options);
  const std::filesystem::path out =
      std::filesystem::path(edgefl::testing::BinaryDir()) / "report-browser";
  std::filesystem::create_directories(out);
  const std::filesystem::path page = out / "report.html";
  WriteFile(page, html);
  const size_t svgs = test::CountOf(html, "<svg");

  // --dump-dom prints the DOM after the page's scripts ran: the report's
  // check marks <body data-rendered="ok"> when every <svg> has a size and
  // no script error occurred.
  TempDir profile;
  std::string output;
  REQUIRE_MESSAGE(
      RunCommand(Chromium(profile) + " --dump-dom file://" + page.string() + " 2>/dev/null",
                 &output) == 0,
      output);
  const size_t body = output.find("<body");
  REQUIRE_MESSAGE(body != std::string::npos, output);
  const std::string tag = output.substr(body, output.find('>', body) - body);
  CHECK_MESSAGE(tag.find("data-rendered=\"ok\"") != std::string::npos, tag);
  CHECK_MESSAGE(tag.find("data-svg-count=\"" + std::to_string(svgs) + "\"") != std::string::npos,
                tag);
  // 3 line plots (+2 per virtual second when the sim keeps a simulated
  // clock), per-class, staleness, 2 x (grid + failures).
  const bool virtual_time = html.find("per virtual second") != std::string::npos;
  CHECK(svgs == (virtual_time ? 11u : 9u));

  const std::filesystem::path shot = out / "report.png";
  std::filesystem::remove(shot);
  TempDir profile2;
  REQUIRE_MESSAGE(
      RunCommand(Chromium(profile2) + " --screenshot=" + shot.string() +
                     " --window-size=1280,2200 file://" + page.string() + " 2>/dev/null",
                 &output) == 0,
      output);
  REQUIRE(std::filesystem::exists(shot));
  const std::string png = ReadFile(shot);
  CHECK(png.substr(0, 8) == "\x89PNG\r\n\x1a\n");
  CHECK(png.size() > 20000);  // a blank page compresses to a few KB
  MESSAGE("report screenshot: " << shot.string());
}

}  // namespace edgefl::report
