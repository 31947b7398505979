// The project's certificate authority: creating it, issuing server and
// client certificates, and reading/writing them as PEM files with private
// keys that are never readable by anyone but their owner.
//
// Every key is ECDSA on NIST P-256 (prime256v1) and every certificate is
// signed with ECDSA-SHA256: supported by every TLS 1.2/1.3 stack, small, and
// fast to verify on devices. The CA is self-signed with basicConstraints
// CA:TRUE, pathlen:0 (it signs leaf certificates only) and keyUsage
// keyCertSign, cRLSign. A server certificate names its host(s) in the CN and
// in subjectAltName (DNS or IP entries) and has extendedKeyUsage serverAuth;
// a client certificate has CN = the client id and extendedKeyUsage
// clientAuth only, so it cannot pose as a server (and a server certificate
// is refused as a client's). Serial numbers are 159 random bits.
//
// docs/security.md describes how a fleet is provisioned with these.
//
// Thread-safety: all functions are safe to call concurrently.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace edgefl::wire {

// Default validity of a new CA and of a leaf certificate.
inline constexpr int64_t kDefaultCaDays = 3650;
inline constexpr int64_t kDefaultLeafDays = 365;

// When a certificate is valid: from now + start_offset to that + duration.
// The default start is an hour in the past so that a device whose clock is a
// little behind accepts a certificate issued a moment ago. A start far in
// the past with a short duration gives an already expired certificate (for
// tests of expiry); a zero duration is allowed.
struct Validity {
  std::chrono::seconds start_offset = std::chrono::hours(-1);
  std::chrono::seconds duration = std::chrono::days(kDefaultLeafDays);

  // Valid from an hour ago for `days` days. REQUIRES: days >= 0.
  static Validity Days(int64_t days);
};

// A certificate and its private key, both PEM (the key as unencrypted
// PKCS#8, "-----BEGIN PRIVATE KEY-----").
struct CertificateAndKey {
  std::string certificate_pem;
  std::string private_key_pem;
};

// Creates a self-signed CA named `common_name` with a new key.
// Throws ConfigError for an empty or over-long (> 64 bytes) name or a
// negative duration.
CertificateAndKey CreateCa(const std::string& common_name, const Validity& validity);

// Issues a server certificate signed by `ca` for `hosts` (at least one; each
// a DNS name or an IPv4/IPv6 literal). The first host is the CN; all go in
// subjectAltName, which is what clients check. Throws ConfigError for a bad
// host name, or when `ca` is not a CA certificate or its key does not match.
CertificateAndKey IssueServerCertificate(const CertificateAndKey& ca,
                                         const std::vector<std::string>& hosts,
                                         const Validity& validity);

// Issues a client certificate signed by `ca` with CN = `client_id` (see
// ValidateClientId). Throws ConfigError for a bad id, or when `ca` is not a
// CA certificate or its key does not match.
CertificateAndKey IssueClientCertificate(const CertificateAndKey& ca, const std::string& client_id,
                                         const Validity& validity);

// Issues a peer certificate for a D-SGD node (docs/security.md, "Peer
// links"): CN = `node_id` (see ValidateClientId) and extendedKeyUsage
// serverAuth AND clientAuth, because a node both accepts its neighbours'
// connections and dials them. No subjectAltName: a node is identified by
// its CN, which the dialler compares with the neighbour id the rendezvous
// gave it (addresses change; ids do not). Throws as IssueClientCertificate.
CertificateAndKey IssuePeerCertificate(const CertificateAndKey& ca, const std::string& node_id,
                                       const Validity& validity);

// Throws ConfigError unless `client_id` is 1 to 64 characters from
// [A-Za-z0-9._-] and does not start with '.' or '-'. Such an id is safe as a
// file name, in logs and in SQL text, and fits a certificate's CN.
void ValidateClientId(const std::string& client_id);

// True when `host` is an IPv4 or IPv6 address literal.
bool IsIpAddress(const std::string& host);

// What a certificate says, for printing and for tests.
struct CertificateInfo {
  std::string subject_cn;              // empty when there is no CN
  std::string issuer_cn;               // empty when there is no CN
  std::vector<std::string> alt_names;  // "DNS:host" / "IP:1.2.3.4"
  std::chrono::system_clock::time_point not_before;
  std::chrono::system_clock::time_point not_after;
  bool is_ca = false;        // basicConstraints CA:TRUE
  bool server_auth = false;  // extendedKeyUsage serverAuth
  bool client_auth = false;  // extendedKeyUsage clientAuth
  std::string key_type;      // "EC P-256", "ED25519", "RSA 2048"...
};

// Parses the first certificate in `pem`. Throws ConfigError when there is
// none; `what` names the source in that message (e.g. the file name).
CertificateInfo InspectCertificate(const std::string& pem, const std::string& what = "certificate");

// Returns "" when `pem_certificate` was signed by `pem_ca` (signature and
// issuer only; validity dates are not checked), otherwise the reason
// ("unable to get local issuer certificate"). Throws ConfigError when either
// does not parse.
std::string VerifySignedBy(const std::string& pem_certificate, const std::string& pem_ca);

// ---- Files -----------------------------------------------------------------

enum class Overwrite { kNo, kYes };

// Writes `contents` to `path` atomically: a temporary file in the same
// directory, created with mode `mode` (never wider, whatever the umask),
// fsync'd, then moved into place. With Overwrite::kNo an existing `path` is
// left untouched and ConfigError says so ("... exists; use --force").
// Throws IoError when the directory is missing or not writable.
void WriteFileAtomically(const std::filesystem::path& path, const std::string& contents,
                         unsigned mode, Overwrite overwrite);

// Writes the certificate (mode 0644) and then the key (mode 0600, never
// wider at any moment). With Overwrite::kNo both paths are checked first
// and nothing is written if either exists.
void WriteCertificateAndKey(const CertificateAndKey& pair, const std::filesystem::path& cert_path,
                            const std::filesystem::path& key_path, Overwrite overwrite);

// Reads a private key file. Throws IoError when it cannot be opened or read,
// and ConfigError when it is accessible by group or others (any of mode
// 077: "run chmod 600 FILE") — the permission is checked on the opened file,
// so it cannot change between check and read. Does not parse the PEM.
std::string ReadPrivateKeyFile(const std::filesystem::path& path);

// Reads a (public) PEM file. Throws IoError when it cannot be read.
std::string ReadPemFile(const std::filesystem::path& path);

// Reads a certificate and its key (ReadPemFile, ReadPrivateKeyFile) and
// checks that both parse and that the key matches the certificate; throws
// ConfigError naming the file otherwise.
CertificateAndKey ReadCertificateAndKey(const std::filesystem::path& cert_path,
                                        const std::filesystem::path& key_path);

}  // namespace edgefl::wire
