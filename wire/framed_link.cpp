#include "wire/framed_link.h"

#include <optional>
#include <utility>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "wire/protocol_error.h"
#include "wire/tls_context.h"

namespace edgefl::wire {

FramedLink::FramedLink(TlsStream stream, uint32_t max_frame_bytes)
    : stream_(std::move(stream)), decoder_(max_frame_bytes), buffer_(64 * 1024) {
  boost::system::error_code ec;
  const auto endpoint = stream_.lowest_layer().remote_endpoint(ec);
  if (!ec) remote_ = FormatEndpoint(endpoint);
  peer_name_ = PeerCommonName(stream_.native_handle()).value_or("");
  stream_.lowest_layer().set_option(boost::asio::ip::tcp::no_delay(true), ec);
}

void FramedLink::Start(FrameHandler on_frame, CloseHandler on_close) {
  on_frame_ = std::move(on_frame);
  on_close_ = std::move(on_close);
  boost::asio::post(stream_.get_executor(), [self = shared_from_this()] { self->DoRead(); });
}

void FramedLink::Send(std::vector<uint8_t> frame) {
  boost::asio::post(stream_.get_executor(),
                    [self = shared_from_this(), frame = std::move(frame)]() mutable {
                      if (!self->open_ || self->closing_) return;
                      self->queue_.push_back(std::move(frame));
                      if (!self->writing_) self->DoWrite();
                    });
}

void FramedLink::Close(std::vector<uint8_t> last_frame) {
  boost::asio::post(stream_.get_executor(),
                    [self = shared_from_this(), frame = std::move(last_frame)]() mutable {
                      if (!self->open_ || self->closing_) return;
                      if (!frame.empty()) self->queue_.push_back(std::move(frame));
                      self->closing_ = true;
                      if (!self->writing_) self->DoWrite();
                    });
}

void FramedLink::DoRead() {
  stream_.async_read_some(
      boost::asio::buffer(buffer_),
      [self = shared_from_this()](const boost::system::error_code& ec, size_t n) {
        if (!self->open_) return;
        if (ec) {
          self->End(DescribeTlsError(ec, self->stream_.native_handle()));
          return;
        }
        self->bytes_received_ += n;
        try {
          self->decoder_.Feed(std::span<const uint8_t>(self->buffer_.data(), n));
          while (std::optional<Frame> frame = self->decoder_.Next()) {
            self->on_frame_(std::move(*frame));
            if (!self->open_) return;
          }
        } catch (const ProtocolError& e) {
          self->End(std::string("protocol error: ") + e.what());
          return;
        }
        self->DoRead();
      });
}

void FramedLink::DoWrite() {
  if (queue_.empty()) {
    writing_ = false;
    if (closing_) {
      // Half-close: the other end reads everything we sent, then sees the
      // end of the stream and closes too, which ends our read loop. A full
      // close here could reset the connection and lose the last frames.
      boost::system::error_code ignored;
      stream_.lowest_layer().shutdown(boost::asio::ip::tcp::socket::shutdown_send, ignored);
    }
    return;
  }
  writing_ = true;
  boost::asio::async_write(
      stream_, boost::asio::buffer(queue_.front()),
      [self = shared_from_this()](const boost::system::error_code& ec, size_t n) {
        if (!self->open_) return;
        if (ec) {
          self->End("connection lost while sending: " +
                    DescribeTlsError(ec, self->stream_.native_handle()));
          return;
        }
        self->bytes_sent_ += n;
        self->queue_.pop_front();
        self->DoWrite();
      });
}

void FramedLink::End(const std::string& reason) {
  if (!open_.exchange(false)) return;
  queue_.clear();
  boost::system::error_code ignored;
  // No TLS close_notify round trip: the peer learns of the end from the
  // TCP close, which every reader treats as the end of the link.
  stream_.lowest_layer().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
  stream_.lowest_layer().close(ignored);
  if (on_close_) on_close_(reason);
}

}  // namespace edgefl::wire
