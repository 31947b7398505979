// cmake --install of this build tree, then an application outside the tree
// (examples/c_client, as its own CMake project, and a plain cc command with
// pkg-config) builds against what was installed and runs its library code.
// Normal builds only: scripts/sanitize.sh leaves it out (an instrumented
// archive needs an instrumented app).
#include <filesystem>
#include <string>

#include <doctest/doctest.h>

#include "tests/test_util.h"

namespace edgefl::testing {
namespace {

namespace fs = std::filesystem;

using testing::HasSubstr;

}  // namespace

TEST_CASE("install: an app outside the tree builds against the package with CMake and pkg-config") {
  TempDir dir;
  const fs::path prefix = dir / "prefix";
  std::string output;
  REQUIRE_MESSAGE(
      RunCommand("cmake --install " + BinaryDir() + " --prefix " + prefix.string(), &output) == 0,
      output);
  for (const char* file :
       {"bin/edgefl", "bin/edgefl-coordinator", "bin/edgefl-client",
        "include/edgefl/edgefl_client.h", "lib/libedgefl-client.a",
        "lib/cmake/edgefl/edgeflConfig.cmake", "lib/cmake/edgefl/edgeflConfigVersion.cmake",
        "lib/pkgconfig/edgefl-client.pc"}) {
    CHECK_MESSAGE(fs::exists(prefix / file), file);
  }

  // The example as its own project: find_package(edgefl) -> edgefl::client.
  const fs::path app = dir / "app";
  REQUIRE_MESSAGE(RunCommand("cmake -S " + SourceDir() + "/examples/c_client -B " + app.string() +
                                 " -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=" +
                                 prefix.string() + " && cmake --build " + app.string(),
                             &output) == 0,
                  output);
  // It runs the library: the C API reads the certificate and names the file.
  const std::string missing = (dir / "absent.crt").string();
  CHECK(RunCommand((app / "edgefl_c_client").string() + " 127.0.0.1:9 " + missing + " " + missing +
                       " " + missing + " " + (dir / "no.samples").string(),
                   &output) == 2);
  CHECK_MESSAGE(HasSubstr(output, "cannot read the samples"), output);
  WriteFile(dir / "one.samples",
            std::string("\x01\0\0\0\0\0\0\0\x01\0\0\0\x02\0\0\0\x02\0\0\0", 20) +
                std::string(8, '\0') + std::string(4, '\0'));
  CHECK(RunCommand((app / "edgefl_c_client").string() + " 127.0.0.1:9 " + missing + " " + missing +
                       " " + missing + " " + (dir / "one.samples").string(),
                   &output) == 2);
  CHECK_MESSAGE(HasSubstr(output, "absent.crt"), output);

  // A plain compiler command with pkg-config, as a Makefile-based app does.
  const fs::path plain = dir / "plain_app";
  REQUIRE_MESSAGE(RunCommand("PKG_CONFIG_PATH=" + (prefix / "lib/pkgconfig").string() +
                                 " sh -c 'cc -std=c11 -o " + plain.string() + " " + SourceDir() +
                                 "/examples/c_client/edgefl_c_client.c $(pkg-config --cflags "
                                 "--libs edgefl-client)'",
                             &output) == 0,
                  output);
  CHECK(RunCommand(plain.string(), &output) == 2);
  CHECK_MESSAGE(HasSubstr(output, "usage:"), output);
}

}  // namespace edgefl::testing
