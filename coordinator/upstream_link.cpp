#include "coordinator/upstream_link.h"

#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>

#include "wire/certificates.h"
#include "wire/protocol_error.h"

namespace edgefl::coordinator {

UpstreamLink::UpstreamLink(const UpstreamOptions& options)
    : options_(options),
      context_(wire::MakeClientContext(options.tls, options.host)),
      stream_(io_, context_),
      decoder_(options.max_frame_bytes) {
  client_id_ = wire::InspectCertificate(wire::ReadPemFile(options.tls.certificate), "upstream_cert")
                   .subject_cn;
  if (client_id_.empty()) {
    throw ConfigError("upstream_cert " + options.tls.certificate.string() +
                      " has no CN: issue it with edgefl certs issue-client NAME");
  }
}

wire::Welcome UpstreamLink::Open() {
  const std::string where = options_.host + ":" + std::to_string(options_.port);
  boost::system::error_code ec;
  boost::asio::ip::tcp::resolver resolver(io_);
  const auto endpoints = resolver.resolve(options_.host, std::to_string(options_.port), ec);
  if (ec) throw UpstreamError("cannot resolve " + options_.host + ": " + ec.message(), false);
  boost::asio::connect(stream_.next_layer(), endpoints, ec);
  if (ec) throw UpstreamError("cannot connect to " + where + ": " + ec.message(), false);
  if (interrupted_) throw UpstreamError("interrupted", false);
  stream_.next_layer().set_option(boost::asio::socket_base::keep_alive(true), ec);
  stream_.next_layer().set_option(boost::asio::ip::tcp::no_delay(true), ec);
  stream_.handshake(boost::asio::ssl::stream_base::client, ec);
  if (ec) {
    throw UpstreamError("TLS handshake with " + where +
                            " failed: " + wire::DescribeTlsError(ec, stream_.native_handle()),
                        true);
  }
  Send(wire::EncodeMessage(wire::Hello{client_id_, wire::kProtocolVersion,
                                       "edgefl-coordinator 0.1 (edge aggregator)",
                                       options_.device}));
  const wire::Frame frame = Receive();
  wire::Message message;
  try {
    message = wire::DecodeMessage(frame);
  } catch (const wire::ProtocolError& e) {
    throw UpstreamError(std::string("protocol error from the upstream: ") + e.what(), false);
  }
  if (const auto* error = std::get_if<wire::ErrorMessage>(&message)) {
    const bool refused = error->code == wire::ErrorCode::kUnauthorized ||
                         error->code == wire::ErrorCode::kUnsupportedVersion ||
                         error->code == wire::ErrorCode::kReplaced;
    throw UpstreamError("the upstream " + where + " refused this aggregator: " + error->message,
                        refused);
  }
  const auto* welcome = std::get_if<wire::Welcome>(&message);
  if (welcome == nullptr) {
    throw UpstreamError("the upstream " + where + " answered Hello with " +
                            std::string(wire::MessageTypeName(frame.type)),
                        false);
  }
  if (welcome->protocol_version < wire::kMinProtocolVersion ||
      welcome->protocol_version > wire::kMaxProtocolVersion) {
    throw UpstreamError("the upstream chose protocol version " +
                            std::to_string(welcome->protocol_version) + " but this build speaks " +
                            std::to_string(wire::kMinProtocolVersion) + " to " +
                            std::to_string(wire::kMaxProtocolVersion),
                        true);
  }
  return *welcome;
}

void UpstreamLink::Send(const std::vector<uint8_t>& frame) {
  if (interrupted_) throw UpstreamError("interrupted", false);
  boost::system::error_code ec;
  boost::asio::write(stream_, boost::asio::buffer(frame), ec);
  if (ec) {
    throw UpstreamError("connection to the upstream lost while sending: " +
                            wire::DescribeTlsError(ec, stream_.native_handle()),
                        false);
  }
}

void UpstreamLink::ReadSome() {
  uint8_t buffer[64 * 1024];
  boost::system::error_code ec;
  const size_t n = stream_.read_some(boost::asio::buffer(buffer), ec);
  if (interrupted_) throw UpstreamError("interrupted", false);
  if (ec) {
    const std::string why = wire::DescribeTlsError(ec, stream_.native_handle());
    throw UpstreamError("connection to the upstream lost: " + why,
                        why.find("refused our certificate") != std::string::npos);
  }
  decoder_.Feed(std::span<const uint8_t>(buffer, n));
}

wire::Frame UpstreamLink::Receive() {
  try {
    for (;;) {
      if (std::optional<wire::Frame> frame = decoder_.Next()) return std::move(*frame);
      ReadSome();
    }
  } catch (const wire::ProtocolError& e) {
    throw UpstreamError(std::string("protocol error from the upstream: ") + e.what(), false);
  }
}

std::optional<wire::Frame> UpstreamLink::Poll() {
  try {
    for (;;) {
      if (std::optional<wire::Frame> frame = decoder_.Next()) return frame;
      boost::system::error_code ec;
      const bool pending =
          SSL_pending(stream_.native_handle()) > 0 || stream_.next_layer().available(ec) > 0;
      if (!pending) return std::nullopt;
      ReadSome();
    }
  } catch (const wire::ProtocolError& e) {
    throw UpstreamError(std::string("protocol error from the upstream: ") + e.what(), false);
  }
}

void UpstreamLink::Interrupt() {
  interrupted_ = true;
  // Wakes a blocked read_some; the socket stays open until destruction.
  ::shutdown(stream_.next_layer().native_handle(), SHUT_RDWR);
}

}  // namespace edgefl::coordinator
