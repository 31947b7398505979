// An edge aggregator's connection to its upstream coordinator, where it is
// a client (docs/edge-aggregators.md): mutual TLS with this aggregator's
// client certificate (its CN is the id the upstream logs the group under),
// Hello/Welcome, then frames both ways (docs/protocol.md).
//
// Blocking, on the calling thread, like the device's session
// (client/coordinator_session.h); the protocol it speaks is wire/'s. The
// aggregator does not reuse the device's session: that one is a training
// loop (trainer state, error feedback, the SecAgg+ client), this one relays.
//
// Errors: a network or protocol failure throws UpstreamError (refused: the
// upstream refused this aggregator — certificate, id, version — and
// retrying cannot help); an unreadable certificate throws ConfigError from
// the constructor.
//
// Thread-safety: one thread drives the link; Interrupt() may be called from
// any thread (a signal handler's) to end a blocked read.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>

#include "common/error.h"
#include "wire/frame.h"
#include "wire/messages.h"
#include "wire/tls_context.h"

namespace edgefl::coordinator {

struct UpstreamError : Error {
  UpstreamError(const std::string& what, bool refused_) : Error(what), refused(refused_) {}
  bool refused = false;  // the upstream refused us: do not retry
};

struct UpstreamOptions {
  std::string host;  // as the upstream's certificate names it
  uint16_t port = 7443;
  wire::TlsFiles tls;          // this aggregator's client certificate and the upstream's CA
  wire::DeviceProfile device;  // Hello: dataset_size is the group's samples
  uint32_t max_frame_bytes = wire::kDefaultMaxPayloadBytes;
};

class UpstreamLink {
 public:
  explicit UpstreamLink(const UpstreamOptions& options);
  UpstreamLink(const UpstreamLink&) = delete;
  UpstreamLink& operator=(const UpstreamLink&) = delete;

  // The CN of this aggregator's certificate (its id upstream).
  const std::string& client_id() const { return client_id_; }

  // Connects, handshakes, sends Hello and returns the Welcome. Throws
  // UpstreamError (refused for a TLS refusal, an Error code
  // unauthorized/unsupported_version, or a version this build does not speak).
  wire::Welcome Open();
  // Sends one encoded frame.
  void Send(const std::vector<uint8_t>& frame);
  // The next frame, blocking until it arrives.
  wire::Frame Receive();
  // The next frame if one has arrived, without blocking.
  std::optional<wire::Frame> Poll();
  // Ends a blocked Receive (and every later call) with UpstreamError.
  void Interrupt();

 private:
  void ReadSome();

  const UpstreamOptions options_;
  std::string client_id_;
  boost::asio::io_context io_;
  boost::asio::ssl::context context_;
  boost::asio::ssl::stream<boost::asio::ip::tcp::socket> stream_;
  wire::FrameDecoder decoder_;
  std::atomic<bool> interrupted_{false};
};

}  // namespace edgefl::coordinator
