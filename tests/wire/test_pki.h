// A certificate authority in a temp dir, with certificates issued by it
// written as files: what every TLS test (wire, coordinator) connects with.
#pragma once

#include <filesystem>
#include <string>

#include "tests/test_util.h"
#include "wire/certificates.h"
#include "wire/tls_context.h"

namespace edgefl::wire::testing {

class Pki {
 public:
  explicit Pki(const std::string& ca_name = "test CA")
      : ca_(CreateCa(ca_name, Validity::Days(30))) {
    WriteFileAtomically(dir_ / "ca.crt", ca_.certificate_pem, 0644, Overwrite::kNo);
  }

  const CertificateAndKey& ca() const { return ca_; }
  std::filesystem::path ca_file() const { return dir_ / "ca.crt"; }

  // The coordinator's files, valid for localhost and 127.0.0.1.
  TlsFiles Server() const {
    return Write("server",
                 IssueServerCertificate(ca_, {"localhost", "127.0.0.1"}, Validity::Days(30)));
  }
  // A D-SGD node's files (peer certificate: serverAuth and clientAuth).
  TlsFiles Peer(const std::string& name) const {
    return Write(name, IssuePeerCertificate(ca_, name, Validity::Days(30)));
  }
  // A client's files.
  TlsFiles Client(const std::string& name, const Validity& validity = Validity::Days(30)) const {
    return Write(name, IssueClientCertificate(ca_, name, validity));
  }

 private:
  TlsFiles Write(const std::string& name, const CertificateAndKey& pair) const {
    TlsFiles files{dir_ / (name + ".crt"), dir_ / (name + ".key"), ca_file()};
    WriteCertificateAndKey(pair, files.certificate, files.private_key, Overwrite::kYes);
    return files;
  }

  edgefl::testing::TempDir dir_;
  CertificateAndKey ca_;
};

}  // namespace edgefl::wire::testing
