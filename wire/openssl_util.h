// Internal helpers of wire/: RAII owners for OpenSSL objects and the
// OpenSSL error queue as text. Not part of the public API of edgefl_wire.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace edgefl::wire::ossl {

// Calls the OpenSSL free function `Free` on destruction.
template <auto Free>
struct Deleter {
  template <class T>
  void operator()(T* p) const {
    Free(p);
  }
};

using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using BignumPtr = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES_free>>;
using X509ExtensionPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using X509StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX_free>>;
using X509StorePtr = std::unique_ptr<X509_STORE, Deleter<X509_STORE_free>>;

// Empties the calling thread's OpenSSL error queue and returns its entries
// as "reason; reason" (empty when the queue was empty).
inline std::string DrainErrors() {
  std::string out;
  while (const unsigned long code = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    const char* reason = ERR_reason_error_string(code);
    out += reason != nullptr ? reason : buf;
  }
  return out;
}

// " (reason)" from the error queue, or "" when it is empty; for messages.
inline std::string ErrorSuffix() {
  const std::string errors = DrainErrors();
  return errors.empty() ? std::string() : " (" + errors + ")";
}

// Parses PEM text (defined in certificates.cpp). `what` names the source
// (usually the file) in the ConfigError thrown when nothing parses.
// ParseCertificates returns every certificate in `pem`, at least one.
X509Ptr ParseCertificate(const std::string& pem, const std::string& what);
std::vector<X509Ptr> ParseCertificates(const std::string& pem, const std::string& what);
// Never prompts for a passphrase: an encrypted key is a ConfigError.
EvpPkeyPtr ParsePrivateKey(const std::string& pem, const std::string& what);

}  // namespace edgefl::wire::ossl
