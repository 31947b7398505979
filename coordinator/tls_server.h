// The coordinator's listening side: accepts TCP connections on host:port
// and gives each its own TlsClientSession on its own strand (as in Asio's
// http/server3 example), enforcing a connection limit. Authenticated
// clients are registered in a ClientRegistry, which is what the experiment
// loop sees; the server keeps every open session (authenticated or not) so
// it can count them and stop them all.
//
// Refusals are logged with their reason: a connection over the limit
// ("connection limit 1024 reached"), a failed TLS handshake (no
// certificate, unknown CA, expired, plain TCP: wire::RefusalMessage), no
// handshake or Hello within the handshake timeout, a Hello with another
// client id.
//
// Memory: after sessions close (a burst of them is coalesced), the server
// returns the freed heap pages to the OS (glibc's malloc_trim), so the
// coordinator's resident memory goes back to about its idle size after a
// connection storm instead of staying at its peak (docs/robustness.md).
//
// Runs on a caller-owned io_context (1-2 threads are plenty: the work per
// connection is TLS and memcpy).
//
// Thread-safety: every method may be called from any thread.
// REQUIRES: the io_context's threads have been joined (or the io_context
// destroyed) before the server is destroyed, since sessions call back into
// it from their handlers.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "coordinator/client_registry.h"
#include "coordinator/log.h"
#include "coordinator/tls_client_session.h"

namespace edgefl::coordinator {

struct ServerOptions {
  std::string host = "127.0.0.1";  // address to listen on (a literal: "0.0.0.0", "::1")
  uint16_t port = 0;               // 0 = an ephemeral port (see TlsServer::port())
  size_t max_connections = 1024;   // open connections; more are closed at once
  SessionOptions session;          // per-connection limits and Welcome fields
  // How long after a session closes the freed memory is returned to the OS
  // (closes within this time share one trim).
  std::chrono::milliseconds trim_delay{1000};
};

class TlsServer {
 public:
  // Opens, binds and listens (not yet accepting: Start()). Throws
  // ConfigError for a host that is not an IP address and IoError naming
  // host:port when it cannot be bound ("address already in use").
  // `context` and `registry` must outlive the server.
  TlsServer(boost::asio::io_context& io, boost::asio::ssl::context& context, ServerOptions options,
            ClientRegistry& registry, Logger logger);
  ~TlsServer();
  TlsServer(const TlsServer&) = delete;
  TlsServer& operator=(const TlsServer&) = delete;

  // Starts accepting connections.
  void Start();
  // Stops accepting and stops every session: authenticated clients get
  // Bye{reason} (when `send_bye`), their pending tasks fail. Asynchronous:
  // use WaitClosed to wait for the connections to be gone.
  void Stop(const std::string& reason, bool send_bye = true);
  // Waits up to `timeout` until no connection is open; true if none is.
  bool WaitClosed(std::chrono::milliseconds timeout) const;

  // The bound port (the ephemeral one when options.port was 0).
  uint16_t port() const { return endpoint_.port(); }
  // "127.0.0.1:7443".
  std::string address() const;
  // Open connections, authenticated or not.
  size_t connections() const;
  // Handshakes new connections with `context` from now on (certificate
  // rotation on SIGHUP); sessions already open keep the context they
  // started with. `context` must outlive the server, as the first one.
  void ReplaceContext(boost::asio::ssl::context& context);

 private:
  void DoAccept();
  void OnAccept(const boost::system::error_code& ec, boost::asio::ip::tcp::socket socket);
  void OnSessionClosed(TlsClientSession& session);
  // Arms trim_timer_ unless it is armed already.
  void ScheduleTrim();

  boost::asio::io_context& io_;              // runs the acceptor and the sessions
  const ServerOptions options_;              // limits and session options
  ClientRegistry& registry_;                 // authenticated clients go here
  const Logger logger_;                      // where log lines go
  boost::asio::ip::tcp::acceptor acceptor_;  // on its own strand
  boost::asio::ip::tcp::endpoint endpoint_;  // the bound address, constant after construction
  boost::asio::steady_timer trim_timer_;     // on the acceptor's strand: returns freed memory

  mutable std::mutex mutex_;
  mutable std::condition_variable closed_;  // signalled when a session closes
  std::map<const TlsClientSession*, std::weak_ptr<TlsClientSession>>
      sessions_;           // GUARDED_BY(mutex_): every open connection
  bool stopping_ = false;  // GUARDED_BY(mutex_)
  // GUARDED_BY(mutex_): what new sessions are handshaken with (not modified)
  boost::asio::ssl::context* context_;
  bool trim_pending_ = false;  // GUARDED_BY(mutex_): trim_timer_ armed or about to be
};

}  // namespace edgefl::coordinator
