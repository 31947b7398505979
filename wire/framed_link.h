// One established TLS connection carrying frames (frame.h), driven
// asynchronously on an io_context: a read loop hands every complete frame to
// a callback, sends are queued and written one at a time, and the first
// failure (or Close) ends the link once, with a reason, through another
// callback. Used by D-SGD's nodes and the coordinator's rendezvous, whose
// connections carry both the session messages (messages.h) and the peer
// messages (peer_messages.h): the link delivers undecoded frames.
//
// Errors are asio error codes turned into a readable reason
// (DescribeTlsError: "connection closed by the peer", "connection reset by
// the peer", ...); a bad frame header ends the link with the decoder's
// ProtocolError text. Nothing throws out of a handler.
//
// Thread-safety: Send, Close and the counters may be called from any thread
// (they post to the io_context). REQUIRES: the io_context runs on ONE thread
// (the callbacks then never run concurrently with each other); the link is
// held by a shared_ptr (its handlers keep it alive until the link ends).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>

#include "wire/frame.h"

namespace edgefl::wire {

using TlsStream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;

class FramedLink : public std::enable_shared_from_this<FramedLink> {
 public:
  using FrameHandler = std::function<void(Frame frame)>;
  using CloseHandler = std::function<void(const std::string& reason)>;

  // `stream` has completed its handshake.
  FramedLink(TlsStream stream, uint32_t max_frame_bytes);
  FramedLink(const FramedLink&) = delete;
  FramedLink& operator=(const FramedLink&) = delete;

  // Starts the read loop. `on_frame` gets every frame in order, `on_close`
  // the reason once when the link ends (also after Close(), when the other
  // end has closed in turn). Call once.
  void Start(FrameHandler on_frame, CloseHandler on_close);

  // Queues a complete frame (EncodeMessage / EncodePeerMessage). Dropped
  // silently once the link has ended.
  void Send(std::vector<uint8_t> frame);
  // Sends `frame` (if not empty) and what is queued, then half-closes (TCP
  // shutdown of the sending side); the link ends when the other end closes.
  void Close(std::vector<uint8_t> last_frame = {});

  bool open() const { return open_.load(); }
  uint64_t bytes_sent() const { return bytes_sent_.load(); }
  uint64_t bytes_received() const { return bytes_received_.load(); }
  // "127.0.0.1:53422" (empty once the socket is gone).
  const std::string& remote() const { return remote_; }
  // The CN of the other end's certificate (verified by the handshake).
  const std::string& peer_name() const { return peer_name_; }

 private:
  void DoRead();
  void DoWrite();
  void End(const std::string& reason);

  TlsStream stream_;
  FrameDecoder decoder_;
  std::string remote_;
  std::string peer_name_;
  std::vector<uint8_t> buffer_;
  std::deque<std::vector<uint8_t>> queue_;  // io thread only
  bool writing_ = false;                    // io thread only
  bool closing_ = false;                    // io thread only: close after the queue drains
  FrameHandler on_frame_;
  CloseHandler on_close_;
  std::atomic<bool> open_{true};
  std::atomic<uint64_t> bytes_sent_{0};
  std::atomic<uint64_t> bytes_received_{0};
};

}  // namespace edgefl::wire
