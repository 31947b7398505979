// `cpack -G DEB` of this build tree (cmake/package.cmake): the two packages
// are built, their control data and contents inspected with dpkg-deb, and
// the programs package unpacked into a temporary root with `dpkg -x` (never
// installed system-wide), where its programs run. Normal builds only, like
// the install test.
#include <filesystem>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "tests/test_util.h"

namespace edgefl::testing {
namespace {

namespace fs = std::filesystem;

using testing::HasSubstr;

// The one file in `dir` whose name starts with `prefix` ("edgefl_").
fs::path PackageFile(const fs::path& dir, const std::string& prefix) {
  std::vector<fs::path> found;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) == 0 && entry.path().extension() == ".deb") {
      found.push_back(entry.path());
    }
  }
  REQUIRE_MESSAGE(found.size() == 1, "packages named " << prefix << "*.deb: " << found.size());
  return found.front();
}

}  // namespace

TEST_CASE("deb: cpack builds the programs and -dev packages and the programs run unpacked") {
  TempDir dir;
  std::string output;
  REQUIRE_MESSAGE(RunCommand("cd " + dir.path().string() + " && cpack -G DEB --config " +
                                 BinaryDir() + "/CPackConfig.cmake -B " + (dir / "pkg").string(),
                             &output) == 0,
                  output);
  std::string arch;
  REQUIRE(RunCommand("dpkg --print-architecture", &arch) == 0);
  arch = arch.substr(0, arch.find('\n'));
  const fs::path programs = PackageFile(dir / "pkg", "edgefl_");
  const fs::path dev = PackageFile(dir / "pkg", "edgefl-dev_");
  CHECK(programs.filename() == "edgefl_0.1.0_" + arch + ".deb");

  // Control data: dpkg-shlibdeps found what the programs link.
  REQUIRE(RunCommand("dpkg-deb -I " + programs.string(), &output) == 0);
  INFO(output);
  CHECK(HasSubstr(output, "Package: edgefl\n"));
  CHECK(HasSubstr(output, "Architecture: " + arch + "\n"));
  const size_t depends_at = output.find("Depends: ");
  REQUIRE(depends_at != std::string::npos);
  const std::string depends = output.substr(depends_at, output.find('\n', depends_at) - depends_at);
  for (const char* library : {"libc6", "libstdc++6", "libssl3", "libsqlite3-0", "zlib1g"}) {
    CHECK_MESSAGE(HasSubstr(depends, std::string(library) + " (>= "), library);
  }
  CHECK(HasSubstr(output, " postinst"));  // creates the edgefl user

  REQUIRE(RunCommand("dpkg-deb -c " + programs.string(), &output) == 0);
  INFO(output);
  for (const char* file :
       {"./usr/bin/edgefl\n", "./usr/bin/edgefl-coordinator\n", "./usr/bin/edgefl-client\n",
        "./usr/lib/systemd/system/edgefl-coordinator.service\n",
        "./usr/lib/systemd/system/edgefl-client@.service\n",
        "./usr/lib/sysusers.d/edgefl.conf\n"}) {
    CHECK_MESSAGE(HasSubstr(output, file), file);
  }
  CHECK_MESSAGE(!HasSubstr(output, "edgefl_client.h"), output);  // in -dev

  REQUIRE(RunCommand("dpkg-deb -I " + dev.string() + " && dpkg-deb -c " + dev.string(), &output) ==
          0);
  CHECK(HasSubstr(output, "Package: edgefl-dev\n"));
  CHECK(HasSubstr(output, "libssl-dev"));
  for (const char* file : {"/include/edgefl/edgefl_client.h\n", "/libedgefl-client.a\n",
                           "/edgeflConfig.cmake\n", "/pkgconfig/edgefl-client.pc\n"}) {
    CHECK_MESSAGE(HasSubstr(output, file), file);
  }

  // Unpacked into a temporary root (no maintainer scripts run, nothing
  // system-wide): the programs start and the units name where they are.
  const fs::path root = dir / "root";
  REQUIRE(RunCommand("dpkg -x " + programs.string() + " " + root.string(), &output) == 0);
  REQUIRE(RunCommand((root / "usr/bin/edgefl-coordinator").string() + " --help", &output) == 0);
  CHECK(HasSubstr(output, "edgefl-coordinator"));
  REQUIRE(RunCommand((root / "usr/bin/edgefl-client").string() + " --help", &output) == 0);
  CHECK(HasSubstr(output, "--metrics"));
  const std::string unit = ReadFile(root / "usr/lib/systemd/system/edgefl-coordinator.service");
  CHECK(HasSubstr(unit, "ExecStart=/usr/bin/edgefl-coordinator "));
  CHECK(!HasSubstr(unit, "/usr/local/bin"));
}

}  // namespace edgefl::testing
