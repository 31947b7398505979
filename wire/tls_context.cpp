#include "wire/tls_context.h"

#include <vector>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "common/error.h"
#include "wire/certificates.h"
#include "wire/openssl_util.h"

namespace edgefl::wire {
namespace {

namespace ssl = boost::asio::ssl;

// TLS 1.2 suites: forward secret (ECDHE) and AEAD only. TLS 1.3's suites
// are all of that kind; OpenSSL's default list is kept for it.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305";

void CheckSsl(bool ok, const std::string& step) {
  if (!ok) throw Error("TLS context: " + step + " failed" + ossl::ErrorSuffix());
}

std::string AsnTimeText(const ASN1_TIME* t) {
  ossl::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || ASN1_TIME_print(bio.get(), t) != 1) return "?";
  BUF_MEM* mem = nullptr;
  BIO_get_mem_ptr(bio.get(), &mem);
  return std::string(mem->data, mem->length);
}

// The side a context is for, and so the role its own certificate must have.
enum class Side { kCoordinator, kClient, kPeer };

// What `info` is, for a message: "a client certificate (CN 'alice',
// extendedKeyUsage clientAuth)".
std::string DescribeRole(const CertificateInfo& info) {
  std::string role;
  std::string usage;
  if (info.server_auth && info.client_auth) {
    usage = "serverAuth, clientAuth";
  } else if (info.server_auth) {
    usage = "serverAuth";
  } else if (info.client_auth) {
    usage = "clientAuth";
  } else {
    usage = "neither serverAuth nor clientAuth";
  }
  if (info.is_ca) {
    role = "a CA certificate";
  } else if (info.server_auth && !info.client_auth) {
    role = "a server certificate";
  } else if (info.client_auth && !info.server_auth) {
    role = "a client certificate";
  } else if (info.client_auth && info.server_auth) {
    role = "a peer certificate";
  } else {
    role = "a certificate for neither role";
  }
  return role + " (CN '" + info.subject_cn + "', extendedKeyUsage " + usage + ")";
}

// Throws ConfigError unless `leaf`, from `cert_name`, may authenticate
// `side`: extendedKeyUsage serverAuth for the coordinator, clientAuth for a
// client, as OpenSSL's purpose check (the one the peer applies) sees it.
// Both purposes: a D-SGD node's certificate (peer role).
bool IsPeerCertificate(X509* leaf) {
  const bool fits = X509_check_purpose(leaf, X509_PURPOSE_SSL_SERVER, 0) == 1 &&
                    X509_check_purpose(leaf, X509_PURPOSE_SSL_CLIENT, 0) == 1 &&
                    (X509_get_extension_flags(leaf) & EXFLAG_CA) == 0;
  ERR_clear_error();
  return fits;
}

void CheckRole(X509* leaf, const std::string& cert_pem, const std::string& cert_name, Side side) {
  if (side == Side::kPeer) {
    if (IsPeerCertificate(leaf)) return;
    throw ConfigError("certificate " + cert_name + " is " +
                      DescribeRole(InspectCertificate(cert_pem, cert_name)) +
                      ", but a D-SGD node needs a peer certificate (extendedKeyUsage serverAuth "
                      "and clientAuth) or its neighbours refuse it; issue one with "
                      "wire::IssuePeerCertificate");
  }
  const bool coordinator = side == Side::kCoordinator;
  const int purpose = coordinator ? X509_PURPOSE_SSL_SERVER : X509_PURPOSE_SSL_CLIENT;
  const bool fits = X509_check_purpose(leaf, purpose, 0) == 1 &&
                    (X509_get_extension_flags(leaf) & EXFLAG_CA) == 0;
  ERR_clear_error();
  if (fits) return;
  const CertificateInfo info = InspectCertificate(cert_pem, cert_name);
  throw ConfigError(
      "certificate " + cert_name + " is " + DescribeRole(info) +
      (coordinator
           ? ", but the coordinator needs a server certificate (extendedKeyUsage serverAuth) or "
             "every client refuses it; pass the one `edgefl certs issue-server` wrote (cert = "
             "\"certs/server.crt\")"
           : ", but edgefl-client needs a client certificate (extendedKeyUsage clientAuth) or the "
             "coordinator refuses it; pass the one `edgefl certs issue-client ID` wrote (--cert "
             "certs/ID.crt)"));
}

// Loads `files` into `ctx` after checking them: the settings both roles
// share.
void Configure(ssl::context& ctx, const TlsFiles& files, Side side) {
  SSL_CTX* native = ctx.native_handle();
  CheckSsl(SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) == 1, "set_min_proto_version");
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_compression);
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  CheckSsl(SSL_CTX_set_cipher_list(native, kTls12Ciphers) == 1, "set_cipher_list");

  const std::string cert_name = files.certificate.string();
  const std::string key_name = files.private_key.string();
  const std::string ca_name = files.ca_certificate.string();
  const std::string cert_pem = ReadPemFile(files.certificate);
  const std::string key_pem = ReadPrivateKeyFile(files.private_key);
  const std::string ca_pem = ReadPemFile(files.ca_certificate);

  std::vector<ossl::X509Ptr> chain = ossl::ParseCertificates(cert_pem, cert_name);
  const ossl::EvpPkeyPtr key = ossl::ParsePrivateKey(key_pem, key_name);
  const std::vector<ossl::X509Ptr> cas = ossl::ParseCertificates(ca_pem, ca_name);

  X509* leaf = chain.front().get();
  if (X509_check_private_key(leaf, key.get()) != 1) {
    ERR_clear_error();
    throw ConfigError("private key " + key_name + " does not match certificate " + cert_name);
  }
  if (const std::string why = VerifySignedBy(cert_pem, ca_pem); !why.empty()) {
    throw ConfigError("certificate " + cert_name + " was not issued by the CA in " + ca_name +
                      " (" + why + ")");
  }
  if (X509_cmp_current_time(X509_get0_notAfter(leaf)) < 0) {
    throw ConfigError("certificate " + cert_name + " expired on " +
                      AsnTimeText(X509_get0_notAfter(leaf)) +
                      "; issue a new one (edgefl certs issue-client / issue-server)");
  }
  if (X509_cmp_current_time(X509_get0_notBefore(leaf)) > 0) {
    throw ConfigError("certificate " + cert_name + " is not valid before " +
                      AsnTimeText(X509_get0_notBefore(leaf)) + "; check this machine's clock");
  }
  CheckRole(leaf, cert_pem, cert_name, side);

  CheckSsl(SSL_CTX_use_certificate(native, leaf) == 1, "use_certificate " + cert_name);
  for (size_t i = 1; i < chain.size(); ++i) {
    CheckSsl(SSL_CTX_add1_chain_cert(native, chain[i].get()) == 1, "add chain certificate");
  }
  CheckSsl(SSL_CTX_use_PrivateKey(native, key.get()) == 1, "use_PrivateKey " + key_name);
  CheckSsl(SSL_CTX_check_private_key(native) == 1, "check_private_key " + key_name);

  // The project CA is the only trust anchor: nothing from the system store.
  X509_STORE* store = SSL_CTX_get_cert_store(native);
  for (const ossl::X509Ptr& ca : cas) {
    CheckSsl(X509_STORE_add_cert(store, ca.get()) == 1, "add CA certificate " + ca_name);
  }
}

std::string DescribeVerifyResult(long result) {
  switch (result) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
      return std::string("certificate from an unknown CA (") +
             X509_verify_cert_error_string(result) + ")";
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return "certificate expired";
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return "certificate not yet valid (check the clocks)";
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      return "certificate does not name the host dialled";
    case X509_V_ERR_INVALID_PURPOSE:
      return "certificate not issued for this role (a server certificate used by a client or "
             "the reverse)";
    case X509_V_ERR_CERT_REVOKED:
      return "certificate revoked";
    default:
      return std::string("certificate rejected: ") + X509_verify_cert_error_string(result);
  }
}

}  // namespace

ssl::context MakeServerContext(const TlsFiles& files) {
  ssl::context ctx(ssl::context::tls_server);
  Configure(ctx, files, Side::kCoordinator);
  SSL_CTX* native = ctx.native_handle();
  ctx.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  CheckSsl(SSL_CTX_set_purpose(native, X509_PURPOSE_SSL_CLIENT) == 1, "set_purpose");
  // Tell clients which CA the coordinator accepts.
  STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(files.ca_certificate.c_str());
  CheckSsl(names != nullptr, "load client CA names " + files.ca_certificate.string());
  SSL_CTX_set_client_CA_list(native, names);
  // No resumption: every connection verifies the client certificate anew.
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(native, SSL_OP_NO_TICKET);
  CheckSsl(SSL_CTX_set_num_tickets(native, 0) == 1, "set_num_tickets");
  static constexpr unsigned char kSessionContext[] = "edgefl";
  CheckSsl(SSL_CTX_set_session_id_context(native, kSessionContext, sizeof kSessionContext - 1) == 1,
           "set_session_id_context");
  return ctx;
}

ssl::context MakeClientContext(const TlsFiles& files, const std::string& server_host) {
  if (server_host.empty()) throw ConfigError("the coordinator's host name must not be empty");
  ssl::context ctx(ssl::context::tls_client);
  Configure(ctx, files, Side::kClient);
  SSL_CTX* native = ctx.native_handle();
  ctx.set_verify_mode(ssl::verify_peer);
  CheckSsl(SSL_CTX_set_purpose(native, X509_PURPOSE_SSL_SERVER) == 1, "set_purpose");
  // Streams copy this parameter when they are created (SSL_new).
  X509_VERIFY_PARAM* param = SSL_CTX_get0_param(native);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  if (IsIpAddress(server_host)) {
    if (X509_VERIFY_PARAM_set1_ip_asc(param, server_host.c_str()) != 1) {
      throw ConfigError("bad coordinator address '" + server_host + "'" + ossl::ErrorSuffix());
    }
  } else if (X509_VERIFY_PARAM_set1_host(param, server_host.c_str(), server_host.size()) != 1) {
    throw ConfigError("bad coordinator host name '" + server_host + "'" + ossl::ErrorSuffix());
  }
  return ctx;
}

ssl::context MakePeerContext(const TlsFiles& files, PeerEnd end) {
  ssl::context ctx(end == PeerEnd::kAccept ? ssl::context::tls_server : ssl::context::tls_client);
  Configure(ctx, files, Side::kPeer);
  SSL_CTX* native = ctx.native_handle();
  ctx.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  // OpenSSL checks the purpose of the other end's role (clientAuth of a
  // dialler, serverAuth of an acceptor); the callback adds the other
  // purpose, so only peer certificates of the project CA pass.
  CheckSsl(SSL_CTX_set_purpose(native, end == PeerEnd::kAccept ? X509_PURPOSE_SSL_CLIENT
                                                               : X509_PURPOSE_SSL_SERVER) == 1,
           "set_purpose");
  ctx.set_verify_callback([](bool preverified, ssl::verify_context& verify) {
    X509_STORE_CTX* store = verify.native_handle();
    if (!preverified || X509_STORE_CTX_get_error_depth(store) != 0) return preverified;
    if (IsPeerCertificate(X509_STORE_CTX_get_current_cert(store))) return true;
    X509_STORE_CTX_set_error(store, X509_V_ERR_INVALID_PURPOSE);
    return false;
  });
  if (end == PeerEnd::kAccept) {
    SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(native, SSL_OP_NO_TICKET);
    CheckSsl(SSL_CTX_set_num_tickets(native, 0) == 1, "set_num_tickets");
    static constexpr unsigned char kPeerSessionContext[] = "edgefl-peer";
    CheckSsl(SSL_CTX_set_session_id_context(native, kPeerSessionContext,
                                            sizeof kPeerSessionContext - 1) == 1,
             "set_session_id_context");
  }
  return ctx;
}

std::optional<std::string> PeerCommonName(const SSL* ssl) {
  if (ssl == nullptr) return std::nullopt;
  const X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) return std::nullopt;
  const X509_NAME* subject = X509_get_subject_name(cert);
  const int i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (i < 0 || X509_NAME_get_index_by_NID(subject, NID_commonName, i) >= 0) return std::nullopt;
  unsigned char* utf8 = nullptr;
  const int n =
      ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i)));
  if (n < 0) {
    ERR_clear_error();
    return std::nullopt;
  }
  std::string cn(reinterpret_cast<const char*>(utf8), static_cast<size_t>(n));
  OPENSSL_free(utf8);
  return cn;
}

std::optional<std::string> PeerClientId(const SSL* ssl) {
  std::optional<std::string> cn = PeerCommonName(ssl);
  if (!cn) return std::nullopt;
  try {
    ValidateClientId(*cn);
  } catch (const ConfigError&) {
    return std::nullopt;
  }
  return cn;
}

std::string NegotiatedTlsVersion(const SSL* ssl) {
  return ssl != nullptr ? SSL_get_version(ssl) : "none";
}

std::string DescribeTlsError(const boost::system::error_code& ec, const SSL* ssl) {
  namespace error = boost::asio::error;
  if (!ec) return "no error";
  if (ec == error::operation_aborted) return "cancelled (timeout or shutdown)";
  if (ec == error::eof) return "connection closed by the peer";
  if (ec == error::connection_reset) return "connection reset by the peer";
  if (ec == ssl::error::stream_truncated) {
    return "connection closed without a TLS close_notify (truncated)";
  }
  if (ec.category() != error::get_ssl_category()) return ec.message();

  const auto code = static_cast<unsigned long>(static_cast<unsigned int>(ec.value()));
  if (ERR_GET_LIB(code) == ERR_LIB_SSL) {
    switch (ERR_GET_REASON(code)) {
      case SSL_R_CERTIFICATE_VERIFY_FAILED:
        if (ssl != nullptr) return DescribeVerifyResult(SSL_get_verify_result(ssl));
        return "certificate verification failed";
      case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
        return "no certificate";
      case SSL_R_HTTP_REQUEST:
      case SSL_R_HTTPS_PROXY_REQUEST:
      case SSL_R_WRONG_VERSION_NUMBER:
      case SSL_R_PACKET_LENGTH_TOO_LONG:
      case SSL_R_RECORD_LENGTH_MISMATCH:
      case SSL_R_UNKNOWN_PROTOCOL:
        return "not TLS (plain TCP or another protocol)";
      case SSL_R_UNSUPPORTED_PROTOCOL:
      case SSL_R_NO_PROTOCOLS_AVAILABLE:
      case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
        return "TLS version not supported (TLS 1.2 or newer is required)";
      case SSL_R_NO_SHARED_CIPHER:
        return "no TLS cipher suite in common";
      case SSL_R_UNEXPECTED_EOF_WHILE_READING:
        return "connection closed during the TLS handshake";
      // Alerts: the peer refused our certificate.
      case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
        return "the peer refused us: it requires a certificate";
      case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
        return "the peer refused our certificate: unknown CA";
      case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
        return "the peer refused our certificate: expired";
      case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
        return "the peer refused our certificate: bad certificate";
      case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
        return "the peer refused our certificate: not issued for this role";
      case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
        return "the peer refused our certificate: revoked";
      case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
        return "the peer refused our certificate";
      case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
        return "the peer aborted the handshake (handshake failure alert)";
      default:
        break;
    }
  }
  const char* reason = ERR_reason_error_string(code);
  return std::string("TLS error: ") + (reason != nullptr ? reason : ec.message());
}

std::string FormatEndpoint(const boost::asio::ip::tcp::endpoint& endpoint) {
  const std::string address = endpoint.address().to_string();
  const std::string port = std::to_string(endpoint.port());
  return endpoint.address().is_v6() ? "[" + address + "]:" + port : address + ":" + port;
}

std::string RefusalMessage(const boost::asio::ip::tcp::endpoint& peer,
                           const boost::system::error_code& ec, const SSL* ssl) {
  return "client " + FormatEndpoint(peer) + " refused: " + DescribeTlsError(ec, ssl);
}

}  // namespace edgefl::wire
