// The coordinator's metrics endpoint: plain HTTP/1.1 on its own listen
// address (metrics_listen, docs/operations.md), answering GET /metrics with
// the Prometheus text exposition (Content-Type: text/plain;
// version=0.0.4) that `body` returns, on the coordinator's io_context. No
// TLS and no authentication: bind it to localhost (the default host) or a
// management network only. One request per connection (Connection: close).
//
// Answers: 200 for GET (or HEAD) /metrics, 404 for another path, 405 for
// another method, 400 for a request that is not HTTP or whose head is over
// 8 KiB; a client that sends no complete request head within 5 s is
// closed, and more than kMaxConnections at once are closed at accept.
//
// Thread-safety: Start and Stop may be called from any thread; `body` is
// called on an io thread, concurrently with the experiment.
// REQUIRES: the io_context's threads are joined before the server is
// destroyed.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "coordinator/log.h"

namespace edgefl::coordinator {

class MetricsServer {
 public:
  static constexpr int kMaxConnections = 16;

  // Opens, binds and listens on host:port (port 0: an ephemeral one).
  // Throws ConfigError for a host that is not an IP address, IoError naming
  // the address when it cannot be bound.
  MetricsServer(boost::asio::io_context& io, const std::string& host, uint16_t port,
                std::function<std::string()> body, Logger logger);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  void Start();
  // Stops accepting (requests being answered finish).
  void Stop();
  // "127.0.0.1:9464".
  std::string address() const;

 private:
  void DoAccept();

  boost::asio::io_context& io_;
  boost::asio::ip::tcp::acceptor acceptor_;  // on its own strand
  boost::asio::ip::tcp::endpoint endpoint_;  // bound, constant after construction
  // Shared with the connections, which may outlive a stopped server's accept.
  std::shared_ptr<const std::function<std::string()>> body_;
  std::shared_ptr<std::atomic<int>> open_;  // connections being answered
  const Logger logger_;
};

}  // namespace edgefl::coordinator
