// Runs the real `edgefl certs` binary, as an operator would.
#include <chrono>
#include <string>
#include <sys/stat.h>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include "tests/test_util.h"
#include "wire/certificates.h"
#include "wire/tls_context.h"

namespace edgefl::tools {
namespace {

using edgefl::testing::EdgeflTool;
using edgefl::testing::ReadFile;
using edgefl::testing::RunCommand;
using edgefl::testing::TempDir;

unsigned Mode(const std::filesystem::path& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

using testing::HasSubstr;

}  // namespace

TEST_CASE("edgefl certs creates a CA and issues server and client certificates") {
  TempDir tmp;
  const auto dir = tmp / "pki";  // created by init
  const std::string d = " --dir " + dir.string();
  std::string output;

  REQUIRE_MESSAGE(RunCommand(EdgeflTool() + " certs init" + d, &output) == 0, output);
  CHECK(HasSubstr(output, "ca.crt"));
  CHECK(Mode(dir) == 0700);
  CHECK(Mode(dir / "ca.key") == 0600);
  CHECK(Mode(dir / "ca.crt") == 0644);

  REQUIRE_MESSAGE(
      RunCommand(EdgeflTool() + " certs issue-server localhost 127.0.0.1" + d, &output) == 0,
      output);
  CHECK(HasSubstr(output, "CN=localhost"));
  REQUIRE_MESSAGE(RunCommand(EdgeflTool() + " certs issue-client alice" + d, &output) == 0, output);
  CHECK(HasSubstr(output, "CN=alice"));
  for (const char* name : {"server", "alice"}) {
    CHECK(Mode(dir / (std::string(name) + ".key")) == 0600);
    CHECK(Mode(dir / (std::string(name) + ".crt")) == 0644);
  }

  const std::string ca_pem = ReadFile(dir / "ca.crt");
  const wire::CertificateInfo server = wire::InspectCertificate(ReadFile(dir / "server.crt"));
  CHECK(server.subject_cn == "localhost");
  CHECK(server.alt_names == std::vector<std::string>{"DNS:localhost", "IP:127.0.0.1"});
  CHECK(server.server_auth);
  CHECK(wire::VerifySignedBy(ReadFile(dir / "server.crt"), ca_pem).empty());
  const wire::CertificateInfo alice = wire::InspectCertificate(ReadFile(dir / "alice.crt"));
  CHECK(alice.subject_cn == "alice");
  CHECK(alice.client_auth);
  CHECK(alice.issuer_cn == "edgefl project CA");
  CHECK(alice.not_after - alice.not_before == std::chrono::days(365));
  CHECK(wire::VerifySignedBy(ReadFile(dir / "alice.crt"), ca_pem).empty());

  // The files are what the coordinator and a client load.
  CHECK_NOTHROW(wire::MakeServerContext({dir / "server.crt", dir / "server.key", dir / "ca.crt"}));
  CHECK_NOTHROW(
      wire::MakeClientContext({dir / "alice.crt", dir / "alice.key", dir / "ca.crt"}, "localhost"));

  // A D-SGD node's peer certificate: both roles, loadable at either end of a peer link.
  REQUIRE_MESSAGE(RunCommand(EdgeflTool() + " certs issue-peer node-3" + d, &output) == 0, output);
  const wire::CertificateInfo node = wire::InspectCertificate(ReadFile(dir / "node-3.crt"));
  CHECK(node.subject_cn == "node-3");
  CHECK(node.client_auth);
  CHECK(node.server_auth);
  CHECK(Mode(dir / "node-3.key") == 0600);
  CHECK_NOTHROW(wire::MakePeerContext({dir / "node-3.crt", dir / "node-3.key", dir / "ca.crt"},
                                      wire::PeerEnd::kAccept));
  REQUIRE(RunCommand(EdgeflTool() + " certs show " + (dir / "node-3.crt").string(), &output) == 0);
  CHECK(HasSubstr(output, "role:        peer"));

  REQUIRE(RunCommand(EdgeflTool() + " certs show " + (dir / "alice.crt").string(), &output) == 0);
  CHECK(HasSubstr(output, "subject CN:  alice"));
  CHECK(HasSubstr(output, "role:        client"));
  CHECK(HasSubstr(output, "EC P-256"));

  // --days, --name
  REQUIRE(RunCommand(EdgeflTool() + " certs issue-client bob --days 7" + d, &output) == 0);
  const wire::CertificateInfo bob = wire::InspectCertificate(ReadFile(dir / "bob.crt"));
  CHECK(bob.not_after - bob.not_before == std::chrono::days(7));
  REQUIRE(RunCommand(EdgeflTool() + " certs issue-server coord.lan --name coord" + d, &output) ==
          0);
  CHECK(wire::InspectCertificate(ReadFile(dir / "coord.crt")).subject_cn == "coord.lan");
}

TEST_CASE("edgefl certs refuses to overwrite files unless forced") {
  TempDir tmp;
  const std::string d = " --dir " + tmp.path().string();
  std::string output;
  REQUIRE(RunCommand(EdgeflTool() + " certs init" + d, &output) == 0);
  REQUIRE(RunCommand(EdgeflTool() + " certs issue-client alice" + d, &output) == 0);
  const std::string ca_key = ReadFile(tmp / "ca.key");
  const std::string alice = ReadFile(tmp / "alice.crt");

  CHECK(RunCommand(EdgeflTool() + " certs init" + d, &output) == 2);
  CHECK(HasSubstr(output, "exists"));
  CHECK(HasSubstr(output, "--force"));
  CHECK(ReadFile(tmp / "ca.key") == ca_key);

  CHECK(RunCommand(EdgeflTool() + " certs issue-client alice" + d, &output) == 2);
  CHECK(HasSubstr(output, "alice.crt exists"));
  CHECK(ReadFile(tmp / "alice.crt") == alice);

  REQUIRE(RunCommand(EdgeflTool() + " certs issue-client alice --force" + d, &output) == 0);
  CHECK(ReadFile(tmp / "alice.crt") != alice);
  CHECK(Mode(tmp / "alice.key") == 0600);
}

TEST_CASE("edgefl certs explains what is wrong") {
  TempDir tmp;
  const std::string d = " --dir " + tmp.path().string();
  std::string output;

  // No CA yet: say how to make one.
  CHECK(RunCommand(EdgeflTool() + " certs issue-client alice" + d, &output) == 2);
  CHECK(HasSubstr(output, "edgefl certs init"));
  CHECK(RunCommand(EdgeflTool() + " certs issue-server localhost" + d, &output) == 2);
  CHECK(HasSubstr(output, "edgefl certs init"));

  REQUIRE(RunCommand(EdgeflTool() + " certs init" + d, &output) == 0);
  CHECK(RunCommand(EdgeflTool() + " certs issue-client ../escape" + d, &output) == 2);
  CHECK(HasSubstr(output, "../escape"));
  CHECK(RunCommand(EdgeflTool() + " certs issue-client ca" + d, &output) == 2);
  CHECK(RunCommand(EdgeflTool() + " certs issue-client" + d, &output) == 2);
  CHECK(HasSubstr(output, "name"));
  CHECK(RunCommand(EdgeflTool() + " certs issue-server 'bad host'" + d, &output) == 2);
  CHECK(HasSubstr(output, "bad host"));
  CHECK(RunCommand(EdgeflTool() + " certs issue-client alice --days 0" + d, &output) == 2);
  CHECK(HasSubstr(output, "--days"));
  CHECK(RunCommand(EdgeflTool() + " certs rotate" + d, &output) == 2);
  CHECK(HasSubstr(output, "rotate"));
  CHECK(RunCommand(EdgeflTool() + " certs", &output) == 2);

  // A CA key others can read is refused, with the fix.
  REQUIRE(::chmod((tmp / "ca.key").c_str(), 0644) == 0);
  CHECK(RunCommand(EdgeflTool() + " certs issue-client alice" + d, &output) == 2);
  CHECK(HasSubstr(output, "chmod 600"));
}

TEST_CASE("edgefl certs show warns about an expired and a not yet valid certificate") {
  TempDir tmp;
  const wire::CertificateAndKey ca = wire::CreateCa("test CA", wire::Validity::Days(30));
  wire::Validity expired;
  expired.start_offset = -std::chrono::days(10);
  expired.duration = std::chrono::days(1);
  wire::Validity future;
  future.start_offset = std::chrono::days(10);
  future.duration = std::chrono::days(30);
  const std::vector<std::pair<std::string, wire::Validity>> cases = {
      {"old", expired}, {"new", future}, {"now", wire::Validity::Days(30)}};
  for (const auto& [name, validity] : cases) {
    wire::WriteFileAtomically(tmp / (name + ".crt"),
                              wire::IssueClientCertificate(ca, name, validity).certificate_pem,
                              0644, wire::Overwrite::kNo);
  }
  std::string output;
  REQUIRE(RunCommand(EdgeflTool() + " certs show " + (tmp / "old.crt").string(), &output) == 0);
  CHECK_MESSAGE(HasSubstr(output, "EXPIRED on "), output);
  REQUIRE(RunCommand(EdgeflTool() + " certs show " + (tmp / "new.crt").string(), &output) == 0);
  CHECK_MESSAGE(HasSubstr(output, "NOT YET VALID: valid from "), output);
  CHECK_FALSE(HasSubstr(output, "EXPIRED"));
  REQUIRE(RunCommand(EdgeflTool() + " certs show " + (tmp / "now.crt").string(), &output) == 0);
  CHECK_FALSE(HasSubstr(output, "EXPIRED"));
  CHECK_FALSE(HasSubstr(output, "NOT YET VALID"));
}

}  // namespace edgefl::tools
