// Runs the real `edgefl-coordinator` binary on start-up mistakes an operator
// makes, and checks what it says before it listens.
#include <csignal>
#include <filesystem>
#include <string>

#include <doctest/doctest.h>

#include "common/child_process.h"
#include "common/error.h"
#include "tests/test_util.h"
#include "wire/certificates.h"

namespace edgefl::coordinator {
namespace {

using edgefl::testing::RunCommand;
using edgefl::testing::TempDir;

const std::string kCoordinator = edgefl::testing::BinaryDir() + "/coordinator/edgefl-coordinator";

using testing::HasSubstr;

}  // namespace

TEST_CASE("edgefl-coordinator --config names what the path is when it is not a config file") {
  TempDir dir;
  std::string output;
  CHECK(RunCommand(kCoordinator + " --config " + dir.path().string(), &output) == kExitUsage);
  CHECK_MESSAGE(HasSubstr(output, dir.path().string() + ": is a directory, not a config file"),
                output);
  CHECK_FALSE(HasSubstr(output, "listening on"));
  CHECK(RunCommand(kCoordinator + " --config /dev/zero", &output) == kExitUsage);
  CHECK_MESSAGE(HasSubstr(output, "config /dev/zero: is not a regular file"), output);
}

TEST_CASE("edgefl-coordinator given a client certificate refuses to start, naming its role") {
  TempDir dir;
  const wire::CertificateAndKey ca = wire::CreateCa("test CA", wire::Validity::Days(30));
  wire::WriteFileAtomically(dir / "ca.crt", ca.certificate_pem, 0644, wire::Overwrite::kNo);
  wire::WriteCertificateAndKey(wire::IssueClientCertificate(ca, "alice", wire::Validity::Days(30)),
                               dir / "alice.crt", dir / "alice.key", wire::Overwrite::kNo);
  std::string output;
  // Bounded: a coordinator that accepted the certificate would wait for
  // clients until killed.
  const int status = RunCommand(
      "timeout -s KILL 120 " + kCoordinator + " --port 0 --set cert=" +
          (dir / "alice.crt").string() + " --set key=" + (dir / "alice.key").string() +
          " --set ca=" + (dir / "ca.crt").string() + " --set db=" + (dir / "run.db").string(),
      &output);
  CHECK_MESSAGE(status == kExitUsage, output);
  CHECK_MESSAGE(
      HasSubstr(output, (dir / "alice.crt").string() +
                            " is a client certificate (CN 'alice', extendedKeyUsage "
                            "clientAuth), but the coordinator needs a server certificate"),
      output);
  CHECK_FALSE(HasSubstr(output, "listening on"));
}

TEST_CASE("edgefl-coordinator stopped before any round says so instead of an empty round range") {
  TempDir dir;
  const wire::CertificateAndKey ca = wire::CreateCa("test CA", wire::Validity::Days(30));
  wire::WriteFileAtomically(dir / "ca.crt", ca.certificate_pem, 0644, wire::Overwrite::kNo);
  wire::WriteCertificateAndKey(
      wire::IssueServerCertificate(ca, {"127.0.0.1"}, wire::Validity::Days(30)), dir / "server.crt",
      dir / "server.key", wire::Overwrite::kNo);
  ChildProcess coordinator(
      "edgefl-coordinator",
      {kCoordinator, "--port", "0", "--set", "cert=" + (dir / "server.crt").string(), "--set",
       "key=" + (dir / "server.key").string(), "--set", "ca=" + (dir / "ca.crt").string(), "--set",
       "db=" + (dir / "run.db").string(), "--set",
       "data_path=" + edgefl::testing::FashionMnistDir().string(), "--set", "test_subset=200",
       "--set", "model=mlp:784-10"},
      dir / "coordinator.out", dir / "coordinator.log");
  // Waiting for clients that never come; then SIGTERM.
  const auto log = [&] {
    return std::filesystem::exists(coordinator.err()) ? edgefl::testing::ReadFile(coordinator.err())
                                                      : std::string();
  };
  REQUIRE_MESSAGE(
      PollUntil([&] { return HasSubstr(log(), "waiting for") || !coordinator.Running(); },
                edgefl::testing::Scaled(std::chrono::seconds(60))),
      log());
  coordinator.Signal(SIGTERM);
  REQUIRE_MESSAGE(coordinator.Wait(edgefl::testing::Scaled(std::chrono::seconds(60))), log());
  CHECK_MESSAGE(coordinator.ExitedWith(0), (coordinator.Describe() + "\n" + log()));
  CHECK_MESSAGE(HasSubstr(log(), "interrupted: stopped before any round was completed"), log());
  CHECK_FALSE(HasSubstr(log(), "rounds 1..0"));
}

}  // namespace edgefl::coordinator
