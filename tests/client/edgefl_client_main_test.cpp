// Runs the real `edgefl-client` binary on start-up mistakes an operator
// makes, and checks what it says before it loads data or dials.
#include <string>
#include <tuple>

#include <doctest/doctest.h>

#include "common/error.h"
#include "tests/test_util.h"
#include "wire/certificates.h"

namespace edgefl::client {
namespace {

using edgefl::testing::RunCommand;
using edgefl::testing::TempDir;

const std::string kClient = edgefl::testing::BinaryDir() + "/client/edgefl-client";

using testing::HasSubstr;

}  // namespace

TEST_CASE("edgefl-client given the server certificate refuses to start, naming its role") {
  TempDir dir;
  const wire::CertificateAndKey ca = wire::CreateCa("test CA", wire::Validity::Days(30));
  wire::WriteFileAtomically(dir / "ca.crt", ca.certificate_pem, 0644, wire::Overwrite::kNo);
  wire::WriteCertificateAndKey(
      wire::IssueServerCertificate(ca, {"127.0.0.1"}, wire::Validity::Days(30)), dir / "server.crt",
      dir / "server.key", wire::Overwrite::kNo);
  std::string output;
  // Port 9 (discard) is never dialled: the certificate is refused first.
  const int status =
      RunCommand(kClient + " --coordinator 127.0.0.1:9 --cert " + (dir / "server.crt").string() +
                     " --key " + (dir / "server.key").string() + " --ca " +
                     (dir / "ca.crt").string() + " --data fmnist --index 0",
                 &output);
  CHECK_MESSAGE(status == kExitUsage, output);
  CHECK_MESSAGE(
      HasSubstr(output, (dir / "server.crt").string() + " is a server certificate (CN '127.0.0.1', "
                                                        "extendedKeyUsage serverAuth)"),
      output);
  CHECK_MESSAGE(HasSubstr(output, "needs a client certificate"), output);
  CHECK_FALSE(HasSubstr(output, " 127.0.0.1: "));  // never ran as a client with that id
}

TEST_CASE("edgefl-client refuses a numeric option outside its range before it loads or dials") {
  for (const auto& [option, value, expected] :
       {std::tuple{"--retry-for", "-5", "--retry-for must be in [0, 3.1536e+07] seconds, got -5"},
        std::tuple{"--retry-for", "1e300", "--retry-for must be in [0, 3.1536e+07] seconds"},
        std::tuple{"--slowdown", "0", "--slowdown must be in [1, 1000], got 0"},
        std::tuple{"--byzantine-factor", "-1", "--byzantine-factor must be in [0, 1e+06]"}}) {
    CAPTURE(option);
    CAPTURE(value);
    std::string output;
    // Nothing exists at these paths: the range is checked before any is read.
    const int status = RunCommand(kClient +
                                      " --coordinator 127.0.0.1:9 --cert none.crt --key "
                                      "none.key --ca none.crt --data none --index 0 " +
                                      option + " " + value,
                                  &output);
    CHECK_MESSAGE(status == kExitUsage, output);
    CHECK_MESSAGE(HasSubstr(output, expected), output);
  }
}

}  // namespace edgefl::client
