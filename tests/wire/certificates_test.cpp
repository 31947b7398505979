// The project CA and the certificates it issues: their fields, their
// validity windows, and files whose keys are never readable by others.
#include "wire/certificates.h"

#include <chrono>
#include <filesystem>
#include <string>
#include <sys/stat.h>
#include <vector>

#include <doctest/doctest.h>

#include "common/error.h"
#include "tests/test_util.h"

namespace edgefl::wire {
namespace {

using namespace std::chrono_literals;
using edgefl::testing::TempDir;

// The permission bits of `path`.
unsigned Mode(const std::filesystem::path& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

// Sets the umask for the lifetime of the object.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : old_(::umask(mask)) {}
  ~ScopedUmask() { ::umask(old_); }
  ScopedUmask(const ScopedUmask&) = delete;
  ScopedUmask& operator=(const ScopedUmask&) = delete;

 private:
  mode_t old_;
};

}  // namespace

TEST_CASE("CreateCa makes a self-signed P-256 CA") {
  const CertificateAndKey ca = CreateCa("fleet CA", Validity::Days(3650));
  CHECK(ca.certificate_pem.rfind("-----BEGIN CERTIFICATE-----", 0) == 0);
  CHECK(ca.private_key_pem.rfind("-----BEGIN PRIVATE KEY-----", 0) == 0);
  const CertificateInfo info = InspectCertificate(ca.certificate_pem);
  CHECK(info.subject_cn == "fleet CA");
  CHECK(info.issuer_cn == "fleet CA");
  CHECK(info.is_ca);
  CHECK(info.key_type == "EC P-256");
  CHECK(info.alt_names.empty());
  CHECK(info.not_after - info.not_before == std::chrono::days(3650));
  // Valid from an hour ago (clock skew), not from some later moment.
  CHECK(info.not_before <= std::chrono::system_clock::now() - 59min);
  CHECK(VerifySignedBy(ca.certificate_pem, ca.certificate_pem).empty());
}

TEST_CASE("a server certificate names its hosts and is only for servers") {
  const CertificateAndKey ca = CreateCa("fleet CA", Validity::Days(10));
  const CertificateAndKey server =
      IssueServerCertificate(ca, {"coord.lan", "192.168.1.10", "::1"}, Validity::Days(30));
  const CertificateInfo info = InspectCertificate(server.certificate_pem);
  CHECK(info.subject_cn == "coord.lan");
  CHECK(info.issuer_cn == "fleet CA");
  CHECK(info.alt_names == std::vector<std::string>{"DNS:coord.lan", "IP:192.168.1.10", "IP:::1"});
  CHECK(info.server_auth);
  CHECK_FALSE(info.client_auth);
  CHECK_FALSE(info.is_ca);
  CHECK(info.key_type == "EC P-256");
  CHECK(info.not_after - info.not_before == std::chrono::days(30));
  CHECK(VerifySignedBy(server.certificate_pem, ca.certificate_pem).empty());
}

TEST_CASE("a client certificate carries the client id as CN and is only for clients") {
  const CertificateAndKey ca = CreateCa("fleet CA", Validity::Days(10));
  const CertificateAndKey client = IssueClientCertificate(ca, "device-0042", Validity::Days(7));
  const CertificateInfo info = InspectCertificate(client.certificate_pem);
  CHECK(info.subject_cn == "device-0042");
  CHECK(info.client_auth);
  CHECK_FALSE(info.server_auth);
  CHECK_FALSE(info.is_ca);
  CHECK(info.alt_names.empty());
  CHECK(VerifySignedBy(client.certificate_pem, ca.certificate_pem).empty());

  // Two certificates for the same name differ (fresh key, random serial).
  const CertificateAndKey again = IssueClientCertificate(ca, "device-0042", Validity::Days(7));
  CHECK(again.certificate_pem != client.certificate_pem);
  CHECK(again.private_key_pem != client.private_key_pem);
}

TEST_CASE("a certificate from another CA does not verify even when the CA names match") {
  const CertificateAndKey ca = CreateCa("fleet CA", Validity::Days(10));
  const CertificateAndKey other = CreateCa("fleet CA", Validity::Days(10));
  const CertificateAndKey client = IssueClientCertificate(other, "eve", Validity::Days(7));
  CHECK_FALSE(VerifySignedBy(client.certificate_pem, ca.certificate_pem).empty());
  // A CA file may hold two CAs during a rotation: then either verifies.
  CHECK(VerifySignedBy(client.certificate_pem, ca.certificate_pem + other.certificate_pem).empty());
}

TEST_CASE("validity windows may lie in the past or be empty for tests of expiry") {
  const CertificateAndKey ca = CreateCa("fleet CA", Validity::Days(10));
  Validity past;
  past.start_offset = -std::chrono::hours(48);
  past.duration = std::chrono::hours(24);
  const CertificateInfo expired =
      InspectCertificate(IssueClientCertificate(ca, "old", past).certificate_pem);
  CHECK(expired.not_after < std::chrono::system_clock::now() - 23h);

  Validity empty;
  empty.start_offset = 0s;
  empty.duration = 0s;
  const CertificateInfo zero =
      InspectCertificate(IssueClientCertificate(ca, "zero", empty).certificate_pem);
  CHECK(zero.not_after == zero.not_before);

  Validity negative;
  negative.duration = -1s;
  CHECK_THROWS_AS(IssueClientCertificate(ca, "neg", negative), ConfigError);
  CHECK_THROWS_AS(CreateCa("neg", negative), ConfigError);
}

TEST_CASE("client ids are checked so they are safe as file names and CNs") {
  for (const std::string& ok :
       std::vector<std::string>{"a", "alice", "device-0042", "edge_7.b", std::string(64, 'x')}) {
    CHECK_NOTHROW(ValidateClientId(ok));
  }
  for (const std::string& bad : std::vector<std::string>{"", "../etc", ".hidden", "-rf", "a b",
                                                         "a/b", "a,b", "ü", std::string(65, 'x')}) {
    CHECK_THROWS_AS(ValidateClientId(bad), ConfigError);
  }
  const CertificateAndKey ca = CreateCa("fleet CA", Validity::Days(10));
  CHECK_THROWS_WITH_AS(IssueClientCertificate(ca, "a/b", Validity::Days(1)),
                       doctest::Contains("a/b"), ConfigError);
}

TEST_CASE("server host names must be DNS names or IP addresses") {
  const CertificateAndKey ca = CreateCa("fleet CA", Validity::Days(10));
  for (const std::string bad : {"", "bad host", "a..b", "-x.lan", "x-.lan", "a,DNS:evil"}) {
    CHECK_THROWS_AS(IssueServerCertificate(ca, {bad}, Validity::Days(1)), ConfigError);
  }
  CHECK_THROWS_AS(IssueServerCertificate(ca, {}, Validity::Days(1)), ConfigError);
  CHECK(IsIpAddress("10.0.0.1"));
  CHECK(IsIpAddress("fe80::1"));
  CHECK_FALSE(IsIpAddress("coord.lan"));
}

TEST_CASE("issuing needs a CA certificate with its matching key") {
  const CertificateAndKey ca = CreateCa("fleet CA", Validity::Days(10));
  const CertificateAndKey other = CreateCa("other CA", Validity::Days(10));
  const CertificateAndKey mixed{ca.certificate_pem, other.private_key_pem};
  CHECK_THROWS_WITH_AS(IssueClientCertificate(mixed, "a", Validity::Days(1)),
                       doctest::Contains("does not match"), ConfigError);
  const CertificateAndKey leaf = IssueClientCertificate(ca, "leaf", Validity::Days(1));
  CHECK_THROWS_WITH_AS(IssueClientCertificate(leaf, "a", Validity::Days(1)),
                       doctest::Contains("not a CA"), ConfigError);
  CHECK_THROWS_AS(InspectCertificate("garbage"), ConfigError);
}

TEST_CASE("key files are written with mode 0600 whatever the umask") {
  TempDir dir;
  ScopedUmask open_umask(0);
  const CertificateAndKey ca = CreateCa("fleet CA", Validity::Days(10));
  WriteCertificateAndKey(ca, dir / "ca.crt", dir / "ca.key", Overwrite::kNo);
  CHECK(Mode(dir / "ca.key") == 0600);
  CHECK(Mode(dir / "ca.crt") == 0644);
  CHECK(edgefl::testing::ReadFile(dir / "ca.key") == ca.private_key_pem);

  // Replacing a world-readable key leaves a 0600 file.
  edgefl::testing::WriteFile(dir / "old.key", "old");
  REQUIRE(::chmod((dir / "old.key").c_str(), 0644) == 0);
  WriteFileAtomically(dir / "old.key", ca.private_key_pem, 0600, Overwrite::kYes);
  CHECK(Mode(dir / "old.key") == 0600);

  // No temporary files are left behind.
  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    CHECK(entry.path().filename().string().find(".tmp-") == std::string::npos);
    ++files;
  }
  CHECK(files == 3);
}

TEST_CASE("existing files are kept unless overwriting is asked for") {
  TempDir dir;
  const CertificateAndKey first = CreateCa("first", Validity::Days(10));
  const CertificateAndKey second = CreateCa("second", Validity::Days(10));
  WriteCertificateAndKey(first, dir / "ca.crt", dir / "ca.key", Overwrite::kNo);
  CHECK_THROWS_WITH_AS(
      WriteCertificateAndKey(second, dir / "ca.crt", dir / "ca.key", Overwrite::kNo),
      doctest::Contains("--force"), ConfigError);
  CHECK(edgefl::testing::ReadFile(dir / "ca.key") == first.private_key_pem);
  // Only the key exists: still nothing is written.
  std::filesystem::remove(dir / "ca.crt");
  CHECK_THROWS_AS(WriteCertificateAndKey(second, dir / "ca.crt", dir / "ca.key", Overwrite::kNo),
                  ConfigError);
  CHECK_FALSE(std::filesystem::exists(dir / "ca.crt"));

  WriteCertificateAndKey(second, dir / "ca.crt", dir / "ca.key", Overwrite::kYes);
  CHECK(edgefl::testing::ReadFile(dir / "ca.key") == second.private_key_pem);
  CHECK(ReadCertificateAndKey(dir / "ca.crt", dir / "ca.key").certificate_pem ==
        second.certificate_pem);

  CHECK_THROWS_AS(WriteFileAtomically(dir / "missing-dir" / "x.key", "x", 0600, Overwrite::kNo),
                  IoError);
}

TEST_CASE("reading a private key refuses one readable by group or others") {
  TempDir dir;
  const CertificateAndKey ca = CreateCa("fleet CA", Validity::Days(10));
  WriteCertificateAndKey(ca, dir / "ca.crt", dir / "ca.key", Overwrite::kNo);
  CHECK(ReadPrivateKeyFile(dir / "ca.key") == ca.private_key_pem);
  REQUIRE(::chmod((dir / "ca.key").c_str(), 0640) == 0);
  CHECK_THROWS_WITH_AS(ReadPrivateKeyFile(dir / "ca.key"), doctest::Contains("mode 0640"),
                       ConfigError);
  CHECK_THROWS_AS(ReadCertificateAndKey(dir / "ca.crt", dir / "ca.key"), ConfigError);
  REQUIRE(::chmod((dir / "ca.key").c_str(), 0400) == 0);
  CHECK(ReadPrivateKeyFile(dir / "ca.key") == ca.private_key_pem);
  CHECK_THROWS_WITH_AS(ReadPrivateKeyFile(dir / "none.key"), doctest::Contains("none.key"),
                       IoError);
}

TEST_CASE("reading a certificate with the wrong or an encrypted key fails naming the files") {
  TempDir dir;
  const CertificateAndKey ca = CreateCa("fleet CA", Validity::Days(10));
  const CertificateAndKey other = CreateCa("other", Validity::Days(10));
  WriteFileAtomically(dir / "ca.crt", ca.certificate_pem, 0644, Overwrite::kNo);
  WriteFileAtomically(dir / "other.key", other.private_key_pem, 0600, Overwrite::kNo);
  CHECK_THROWS_WITH_AS(ReadCertificateAndKey(dir / "ca.crt", dir / "other.key"),
                       doctest::Contains("other.key does not match certificate"), ConfigError);
  WriteFileAtomically(dir / "enc.key",
                      "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n"
                      "-----END ENCRYPTED PRIVATE KEY-----\n",
                      0600, Overwrite::kNo);
  CHECK_THROWS_WITH_AS(ReadCertificateAndKey(dir / "ca.crt", dir / "enc.key"),
                       doctest::Contains("encrypted"), ConfigError);
}

}  // namespace edgefl::wire
