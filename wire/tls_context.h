// TLS for the coordinator and its clients: the Boost.Asio SSL contexts that
// enforce the project's mutual-TLS policy, the client id of an authenticated
// peer, and readable reasons for a failed handshake.
//
// Policy (docs/security.md): TLS 1.2 at least, TLS 1.3 whenever both sides
// have it (OpenSSL negotiates the highest common version); TLS 1.2 only with
// forward-secret AEAD suites (ECDHE + AES-GCM or ChaCha20-Poly1305); no
// compression, no renegotiation. Both sides present a certificate and trust
// exactly the project CA from their `ca_certificate` file (never the system
// store). The coordinator keeps no session cache and issues no session
// tickets, so every connection is a full handshake that verifies the client
// certificate again (an expired certificate stops working at once).
//
// A context is built once and shared by every connection (an ssl::context
// may be used by many streams on many threads once built; do not change it
// afterwards).
//
// Note for sessions: with TLS 1.3 the server verifies the client's
// certificate after the client has finished its part of the handshake, so a
// refused client usually sees its async_handshake succeed and learns of the
// refusal from the alert on its first read (DescribeTlsError explains it:
// "the coordinator refused our certificate ...").
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>
#include <openssl/ssl.h>

namespace edgefl::wire {

// The three PEM files each side of a connection needs.
struct TlsFiles {
  std::filesystem::path certificate;     // this side's certificate (may carry a chain)
  std::filesystem::path private_key;     // its key; mode 0600 (no group/other bits)
  std::filesystem::path ca_certificate;  // the project CA (may hold several during a rotation)
};

// Builds the coordinator's context: its certificate and key, the project CA
// as the only trust anchor, and verify_peer | verify_fail_if_no_peer_cert,
// so the handshake of a client without a valid certificate issued by the
// CA for client authentication fails on the server.
//
// Throws IoError when a file cannot be read, and ConfigError naming the
// file when a file holds no PEM certificate/key, the key is accessible by
// group or others, the key does not match the certificate, the certificate
// was not issued by the CA, it is expired or not yet valid, or it is not a
// server certificate (extendedKeyUsage serverAuth; the message names the
// role it has, e.g. a client certificate).
boost::asio::ssl::context MakeServerContext(const TlsFiles& files);

// Builds a client's context: its certificate and key, the project CA as the
// only trust anchor, and verification of the coordinator's certificate:
// issued by the CA for server authentication, and naming `server_host` (a
// DNS name or an IP address, as the client dials it) in its subjectAltName.
// Every stream made from the context inherits the host check. Throws as
// MakeServerContext (its own certificate must be a client certificate,
// extendedKeyUsage clientAuth), and ConfigError for an empty `server_host`.
boost::asio::ssl::context MakeClientContext(const TlsFiles& files, const std::string& server_host);

// D-SGD peer links (docs/security.md, "Peer links"): one end accepts a
// neighbour's connection, the other dials it. Both ends present a peer
// certificate (extendedKeyUsage serverAuth and clientAuth, issued by
// IssuePeerCertificate) and require one issued by the project CA from the
// other end; any other certificate (another CA, a client's or the
// coordinator's, none) fails the handshake. No host-name check: the caller
// compares PeerClientId (the other node's CN) with the neighbour id it
// expects. Throws as MakeServerContext, with ConfigError when its own
// certificate is not a peer certificate.
enum class PeerEnd { kAccept, kDial };
boost::asio::ssl::context MakePeerContext(const TlsFiles& files, PeerEnd end);

// The CN of the peer's certificate after a successful handshake: on the
// coordinator, the client id. Returns nullopt when there is no peer
// certificate, it did not verify, or its subject has no CN or several.
std::optional<std::string> PeerCommonName(const SSL* ssl);

// PeerCommonName, and nullopt unless the CN is a valid client id
// (ValidateClientId in wire/certificates.h). What the coordinator uses.
std::optional<std::string> PeerClientId(const SSL* ssl);

// The negotiated protocol, "TLSv1.3" or "TLSv1.2".
std::string NegotiatedTlsVersion(const SSL* ssl);

// A short, specific reason for a failed TLS operation, for logs: "no
// certificate", "certificate from an unknown CA (unable to get local issuer
// certificate)", "certificate expired", "not TLS (plain TCP or another
// protocol)", "the peer refused our certificate: unknown CA", ... `ssl` is
// the failed stream's native handle (it tells which certificate check
// failed); it may be null, giving a less specific reason. Never throws.
std::string DescribeTlsError(const boost::system::error_code& ec, const SSL* ssl);

// "127.0.0.1:53422", "[::1]:53422".
std::string FormatEndpoint(const boost::asio::ip::tcp::endpoint& endpoint);

// The line the coordinator logs when it refuses a connection:
// "client 127.0.0.1:53422 refused: no certificate".
std::string RefusalMessage(const boost::asio::ip::tcp::endpoint& peer,
                           const boost::system::error_code& ec, const SSL* ssl);

}  // namespace edgefl::wire
