#include "wire/certificates.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <stdio.h>  // renameat2, RENAME_NOREPLACE (glibc, _GNU_SOURCE)
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/rand.h>

#include "common/error.h"
#include "wire/openssl_util.h"

namespace edgefl::wire {

namespace ossl {

X509Ptr ParseCertificate(const std::string& pem, const std::string& what) {
  ERR_clear_error();
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) throw Error("out of memory reading " + what);
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) {
    throw ConfigError(what + ": no PEM certificate (\"-----BEGIN CERTIFICATE-----\") found" +
                      ErrorSuffix());
  }
  return cert;
}

std::vector<X509Ptr> ParseCertificates(const std::string& pem, const std::string& what) {
  ERR_clear_error();
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) throw Error("out of memory reading " + what);
  std::vector<X509Ptr> certs;
  while (X509Ptr next{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)}) {
    certs.push_back(std::move(next));
  }
  if (certs.empty()) {
    throw ConfigError(what + ": no PEM certificate (\"-----BEGIN CERTIFICATE-----\") found" +
                      ErrorSuffix());
  }
  // The loop ends at the end of the text, which OpenSSL reports as an error.
  ERR_clear_error();
  return certs;
}

namespace {
int NoPassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*user*/) {
  return -1;
}
}  // namespace

EvpPkeyPtr ParsePrivateKey(const std::string& pem, const std::string& what) {
  ERR_clear_error();
  if (pem.find("ENCRYPTED") != std::string::npos) {
    throw ConfigError(what +
                      ": the private key is encrypted; edgefl needs an unencrypted key "
                      "(protect it with file permissions 0600)");
  }
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) throw Error("out of memory reading " + what);
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr));
  if (!key) {
    throw ConfigError(what + ": no PEM private key (\"-----BEGIN PRIVATE KEY-----\") found" +
                      ErrorSuffix());
  }
  return key;
}

}  // namespace ossl

namespace {

using ossl::ErrorSuffix;

// Throws Error with the OpenSSL error queue unless `ok`.
void Check(bool ok, const char* step) {
  if (!ok) throw Error(std::string("certificates: ") + step + " failed" + ErrorSuffix());
}

ossl::EvpPkeyPtr GenerateP256Key() {
  std::unique_ptr<EVP_PKEY_CTX, ossl::Deleter<EVP_PKEY_CTX_free>> ctx(
      EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  Check(ctx != nullptr, "EVP_PKEY_CTX_new_from_name(EC)");
  Check(EVP_PKEY_keygen_init(ctx.get()) == 1, "EVP_PKEY_keygen_init");
  Check(EVP_PKEY_CTX_set_group_name(ctx.get(), "P-256") == 1, "EVP_PKEY_CTX_set_group_name");
  EVP_PKEY* raw = nullptr;
  Check(EVP_PKEY_generate(ctx.get(), &raw) == 1, "EVP_PKEY_generate");
  return ossl::EvpPkeyPtr(raw);
}

void CheckValidity(const Validity& validity) {
  if (validity.duration.count() < 0) {
    throw ConfigError("certificate validity must not be negative, got " +
                      std::to_string(validity.duration.count()) + " s");
  }
}

void CheckCommonName(const std::string& cn, const char* what) {
  if (cn.empty() || cn.size() > 64) {
    throw ConfigError(std::string(what) + " must be 1 to 64 bytes (an X.509 common name), got '" +
                      cn + "'");
  }
}

bool IsDnsName(const std::string& host) {
  if (host.empty() || host.size() > 253) return false;
  size_t label = 0;
  for (size_t i = 0; i <= host.size(); ++i) {
    if (i == host.size() || host[i] == '.') {
      if (label == 0 || label > 63) return false;
      if (host[i - 1] == '-' || host[i - label] == '-') return false;
      label = 0;
      continue;
    }
    const char c = host[i];
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return false;
    ++label;
  }
  return true;
}

// Starts a version-3 certificate for `subject_cn` with `key`'s public key,
// a random serial and the validity window.
ossl::X509Ptr NewCertificate(const std::string& subject_cn, EVP_PKEY* key,
                             const Validity& validity) {
  ossl::X509Ptr cert(X509_new());
  Check(cert != nullptr, "X509_new");
  Check(X509_set_version(cert.get(), X509_VERSION_3) == 1, "X509_set_version");

  // RFC 5280: a positive serial of at most 20 bytes; 159 random bits.
  ossl::BignumPtr serial(BN_new());
  Check(serial != nullptr, "BN_new");
  do {
    Check(BN_rand(serial.get(), 159, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1, "BN_rand");
  } while (BN_is_zero(serial.get()));
  Check(BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) != nullptr,
        "BN_to_ASN1_INTEGER");

  const auto now = std::chrono::system_clock::now();
  const auto start = std::chrono::floor<std::chrono::seconds>(now) + validity.start_offset;
  const auto end = start + validity.duration;
  const time_t start_t = std::chrono::system_clock::to_time_t(start);
  const time_t end_t = std::chrono::system_clock::to_time_t(end);
  Check(ASN1_TIME_set(X509_getm_notBefore(cert.get()), start_t) != nullptr, "ASN1_TIME_set");
  Check(ASN1_TIME_set(X509_getm_notAfter(cert.get()), end_t) != nullptr, "ASN1_TIME_set");

  X509_NAME* name = X509_get_subject_name(cert.get());
  Check(X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(subject_cn.data()),
                                   static_cast<int>(subject_cn.size()), -1, 0) == 1,
        "X509_NAME_add_entry_by_NID(CN)");
  Check(X509_set_pubkey(cert.get(), key) == 1, "X509_set_pubkey");
  return cert;
}

// Adds the extension `nid` = `value` (OpenSSL config syntax) to `cert`,
// issued by `issuer` (which may be `cert` itself).
void AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ossl::X509ExtensionPtr ext(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!ext) {
    throw Error("certificates: extension " + std::string(OBJ_nid2sn(nid)) + "=" + value +
                " rejected" + ErrorSuffix());
  }
  Check(X509_add_ext(cert, ext.get(), -1) == 1, "X509_add_ext");
}

void Sign(X509* cert, EVP_PKEY* issuer_key) {
  Check(X509_sign(cert, issuer_key, EVP_sha256()) > 0, "X509_sign");
}

std::string ToPem(X509* cert) {
  ossl::BioPtr bio(BIO_new(BIO_s_mem()));
  Check(bio && PEM_write_bio_X509(bio.get(), cert) == 1, "PEM_write_bio_X509");
  BUF_MEM* mem = nullptr;
  BIO_get_mem_ptr(bio.get(), &mem);
  return std::string(mem->data, mem->length);
}

std::string ToPem(EVP_PKEY* key) {
  ossl::BioPtr bio(BIO_new(BIO_s_mem()));
  Check(bio && PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
        "PEM_write_bio_PrivateKey");
  BUF_MEM* mem = nullptr;
  BIO_get_mem_ptr(bio.get(), &mem);
  return std::string(mem->data, mem->length);
}

// The parsed issuing CA, checked to be a CA whose key matches.
struct Issuer {
  ossl::X509Ptr cert;
  ossl::EvpPkeyPtr key;
};

Issuer LoadIssuer(const CertificateAndKey& ca) {
  Issuer issuer{ossl::ParseCertificate(ca.certificate_pem, "CA certificate"),
                ossl::ParsePrivateKey(ca.private_key_pem, "CA key")};
  if (X509_check_ca(issuer.cert.get()) == 0) {
    throw ConfigError("the CA certificate is not a CA (no basicConstraints CA:TRUE)");
  }
  if (X509_check_private_key(issuer.cert.get(), issuer.key.get()) != 1) {
    ERR_clear_error();
    throw ConfigError("the CA key does not match the CA certificate");
  }
  return issuer;
}

// Issues a leaf certificate with the given extendedKeyUsage and optional
// subjectAltName.
CertificateAndKey IssueLeaf(const CertificateAndKey& ca, const std::string& cn,
                            const std::string& extended_key_usage, const std::string& alt_names,
                            const Validity& validity) {
  CheckValidity(validity);
  const Issuer issuer = LoadIssuer(ca);
  ossl::EvpPkeyPtr key = GenerateP256Key();
  ossl::X509Ptr cert = NewCertificate(cn, key.get(), validity);
  Check(X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer.cert.get())) == 1,
        "X509_set_issuer_name");
  AddExtension(cert.get(), issuer.cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  AddExtension(cert.get(), issuer.cert.get(), NID_key_usage, "critical,digitalSignature");
  AddExtension(cert.get(), issuer.cert.get(), NID_ext_key_usage, extended_key_usage);
  if (!alt_names.empty()) {
    AddExtension(cert.get(), issuer.cert.get(), NID_subject_alt_name, alt_names);
  }
  AddExtension(cert.get(), issuer.cert.get(), NID_subject_key_identifier, "hash");
  AddExtension(cert.get(), issuer.cert.get(), NID_authority_key_identifier, "keyid:always");
  Sign(cert.get(), issuer.key.get());
  return {ToPem(cert.get()), ToPem(key.get())};
}

std::chrono::system_clock::time_point ToTimePoint(const ASN1_TIME* t) {
  struct tm tm {};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return {};
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

std::string Utf8(const ASN1_STRING* s) {
  unsigned char* out = nullptr;
  const int n = ASN1_STRING_to_UTF8(&out, s);
  if (n < 0) return {};
  std::string text(reinterpret_cast<const char*>(out), static_cast<size_t>(n));
  OPENSSL_free(out);
  return text;
}

std::string CommonName(const X509_NAME* name) {
  if (name == nullptr) return {};
  const int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (i < 0) return {};
  return Utf8(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
}

std::string Errno() {
  return std::strerror(errno);
}

// Owns a file descriptor.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Closes now, returning ::close's result.
  int Close() {
    const int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

std::string ReadAll(int fd, const std::filesystem::path& path) {
  std::string out;
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      throw IoError("cannot read " + path.string() + ": " + Errno());
    }
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > (1u << 20)) throw ConfigError(path.string() + ": over 1 MiB, not a PEM file");
  }
  return out;
}

std::string ModeString(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

}  // namespace

Validity Validity::Days(int64_t days) {
  Validity v;
  v.duration = std::chrono::days(days);
  return v;
}

void ValidateClientId(const std::string& client_id) {
  bool ok =
      !client_id.empty() && client_id.size() <= 64 && client_id[0] != '.' && client_id[0] != '-';
  for (const char c : client_id) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '_' || c == '-');
  }
  if (!ok) {
    throw ConfigError("client id '" + client_id +
                      "' is invalid: use 1 to 64 characters from A-Z a-z 0-9 . _ - "
                      "(not starting with . or -)");
  }
}

bool IsIpAddress(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

CertificateAndKey CreateCa(const std::string& common_name, const Validity& validity) {
  CheckCommonName(common_name, "the CA name");
  CheckValidity(validity);
  ossl::EvpPkeyPtr key = GenerateP256Key();
  ossl::X509Ptr cert = NewCertificate(common_name, key.get(), validity);
  Check(X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get())) == 1,
        "X509_set_issuer_name");
  AddExtension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
  AddExtension(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  AddExtension(cert.get(), cert.get(), NID_subject_key_identifier, "hash");
  Sign(cert.get(), key.get());
  return {ToPem(cert.get()), ToPem(key.get())};
}

CertificateAndKey IssueServerCertificate(const CertificateAndKey& ca,
                                         const std::vector<std::string>& hosts,
                                         const Validity& validity) {
  if (hosts.empty()) throw ConfigError("a server certificate needs at least one host name");
  std::string alt_names;
  for (const std::string& host : hosts) {
    const bool ip = IsIpAddress(host);
    if (!ip && !IsDnsName(host)) {
      throw ConfigError("server host '" + host +
                        "' is neither a DNS name (letters, digits, '-', dot-separated labels) "
                        "nor an IP address");
    }
    if (!alt_names.empty()) alt_names += ",";
    alt_names += (ip ? "IP:" : "DNS:") + host;
  }
  CheckCommonName(hosts.front(), "the server host name");
  return IssueLeaf(ca, hosts.front(), "serverAuth", alt_names, validity);
}

CertificateAndKey IssueClientCertificate(const CertificateAndKey& ca, const std::string& client_id,
                                         const Validity& validity) {
  ValidateClientId(client_id);
  return IssueLeaf(ca, client_id, "clientAuth", "", validity);
}

CertificateAndKey IssuePeerCertificate(const CertificateAndKey& ca, const std::string& node_id,
                                       const Validity& validity) {
  ValidateClientId(node_id);
  return IssueLeaf(ca, node_id, "serverAuth,clientAuth", "", validity);
}

CertificateInfo InspectCertificate(const std::string& pem, const std::string& what) {
  const ossl::X509Ptr cert = ossl::ParseCertificate(pem, what);
  CertificateInfo info;
  info.subject_cn = CommonName(X509_get_subject_name(cert.get()));
  info.issuer_cn = CommonName(X509_get_issuer_name(cert.get()));
  info.not_before = ToTimePoint(X509_get0_notBefore(cert.get()));
  info.not_after = ToTimePoint(X509_get0_notAfter(cert.get()));
  info.is_ca = (X509_get_extension_flags(cert.get()) & EXFLAG_CA) != 0;
  const uint32_t xku = X509_get_extended_key_usage(cert.get());
  info.server_auth = (xku & XKU_SSL_SERVER) != 0;
  info.client_auth = (xku & XKU_SSL_CLIENT) != 0;

  ossl::GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr)));
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type == GEN_DNS) {
      info.alt_names.push_back("DNS:" + Utf8(name->d.dNSName));
    } else if (name->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* ip = name->d.iPAddress;
      char text[INET6_ADDRSTRLEN] = {};
      const int family = ASN1_STRING_length(ip) == 4 ? AF_INET : AF_INET6;
      if (inet_ntop(family, ASN1_STRING_get0_data(ip), text, sizeof text) != nullptr) {
        info.alt_names.push_back(std::string("IP:") + text);
      }
    }
  }

  const EVP_PKEY* key = X509_get0_pubkey(cert.get());
  if (key != nullptr) {
    switch (EVP_PKEY_get_base_id(key)) {
      case EVP_PKEY_EC: {
        char group[64] = {};
        size_t len = 0;
        EVP_PKEY_get_group_name(key, group, sizeof group, &len);
        const std::string g(group, len);
        info.key_type = g == "prime256v1" || g == "P-256" ? "EC P-256" : "EC " + g;
        break;
      }
      case EVP_PKEY_ED25519:
        info.key_type = "ED25519";
        break;
      case EVP_PKEY_RSA:
        info.key_type = "RSA " + std::to_string(EVP_PKEY_get_bits(key));
        break;
      default:
        info.key_type = "other";
    }
  }
  ERR_clear_error();
  return info;
}

std::string VerifySignedBy(const std::string& pem_certificate, const std::string& pem_ca) {
  const ossl::X509Ptr cert = ossl::ParseCertificate(pem_certificate, "certificate");
  const std::vector<ossl::X509Ptr> cas = ossl::ParseCertificates(pem_ca, "CA certificate");
  ossl::X509StorePtr store(X509_STORE_new());
  Check(store != nullptr, "X509_STORE_new");
  for (const ossl::X509Ptr& ca : cas) {
    Check(X509_STORE_add_cert(store.get(), ca.get()) == 1, "X509_STORE_add_cert");
  }
  ossl::X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  Check(ctx && X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), nullptr) == 1,
        "X509_STORE_CTX_init");
  X509_STORE_CTX_set_flags(ctx.get(), X509_V_FLAG_NO_CHECK_TIME);
  const int ok = X509_verify_cert(ctx.get());
  const int error = X509_STORE_CTX_get_error(ctx.get());
  ERR_clear_error();
  if (ok == 1) return {};
  return X509_verify_cert_error_string(error);
}

void WriteFileAtomically(const std::filesystem::path& path, const std::string& contents,
                         unsigned mode, Overwrite overwrite) {
  if (overwrite == Overwrite::kNo && std::filesystem::exists(path)) {
    throw ConfigError(path.string() + " exists; use --force to replace it");
  }
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
  std::string temp_name = ".";
  temp_name += path.filename().string();
  temp_name += ".tmp-XXXXXX";
  std::string tmp = (dir / temp_name).string();
  // mkstemp creates the file with O_EXCL and mode 0600, whatever the umask.
  Fd fd(::mkstemp(tmp.data()));
  if (fd.get() < 0) throw IoError("cannot create a file in " + dir.string() + ": " + Errno());
  bool keep = false;
  struct RemoveTemp {
    const std::string& name;
    const bool& keep;
    ~RemoveTemp() {
      if (!keep) ::unlink(name.c_str());
    }
  } remove_temp{tmp, keep};

  if (::fchmod(fd.get(), static_cast<mode_t>(mode)) != 0) {
    throw IoError("cannot set the mode of " + tmp + ": " + Errno());
  }
  size_t done = 0;
  while (done < contents.size()) {
    const ssize_t n = ::write(fd.get(), contents.data() + done, contents.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw IoError("cannot write " + path.string() + ": " + Errno());
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0 || fd.Close() != 0) {
    throw IoError("cannot write " + path.string() + ": " + Errno());
  }
  if (overwrite == Overwrite::kYes) {
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
      throw IoError("cannot write " + path.string() + ": " + Errno());
    }
  } else if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE) != 0) {
    if (errno == EEXIST) throw ConfigError(path.string() + " exists; use --force to replace it");
    if (errno != EINVAL && errno != ENOSYS) {
      throw IoError("cannot write " + path.string() + ": " + Errno());
    }
    // The file system cannot rename without replacing: link() fails on an
    // existing name just as well.
    if (::link(tmp.c_str(), path.c_str()) != 0) {
      if (errno == EEXIST) throw ConfigError(path.string() + " exists; use --force to replace it");
      throw IoError("cannot write " + path.string() + ": " + Errno());
    }
    ::unlink(tmp.c_str());
  }
  keep = true;
  // Make the new name durable too (best effort).
  if (const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

void WriteCertificateAndKey(const CertificateAndKey& pair, const std::filesystem::path& cert_path,
                            const std::filesystem::path& key_path, Overwrite overwrite) {
  if (overwrite == Overwrite::kNo) {
    for (const auto& p : {cert_path, key_path}) {
      if (std::filesystem::exists(p)) {
        throw ConfigError(p.string() + " exists; use --force to replace it");
      }
    }
  }
  WriteFileAtomically(cert_path, pair.certificate_pem, 0644, overwrite);
  WriteFileAtomically(key_path, pair.private_key_pem, 0600, overwrite);
}

std::string ReadPrivateKeyFile(const std::filesystem::path& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) throw IoError("cannot open private key " + path.string() + ": " + Errno());
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    throw IoError("cannot stat private key " + path.string() + ": " + Errno());
  }
  if (!S_ISREG(st.st_mode)) throw ConfigError("private key " + path.string() + " is not a file");
  if ((st.st_mode & 077) != 0) {
    throw ConfigError("private key " + path.string() + " is accessible by group or others (mode " +
                      ModeString(st.st_mode) + "); run: chmod 600 " + path.string());
  }
  return ReadAll(fd.get(), path);
}

std::string ReadPemFile(const std::filesystem::path& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) throw IoError("cannot open " + path.string() + ": " + Errno());
  return ReadAll(fd.get(), path);
}

CertificateAndKey ReadCertificateAndKey(const std::filesystem::path& cert_path,
                                        const std::filesystem::path& key_path) {
  CertificateAndKey pair{ReadPemFile(cert_path), ReadPrivateKeyFile(key_path)};
  const ossl::X509Ptr cert = ossl::ParseCertificate(pair.certificate_pem, cert_path.string());
  const ossl::EvpPkeyPtr key = ossl::ParsePrivateKey(pair.private_key_pem, key_path.string());
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    throw ConfigError("private key " + key_path.string() + " does not match certificate " +
                      cert_path.string());
  }
  return pair;
}

}  // namespace edgefl::wire
