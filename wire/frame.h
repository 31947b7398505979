// Frames: how messages are delimited on the byte stream between coordinator
// and client (inside TLS). docs/protocol.md has the full format.
//
// A frame is a fixed 12-byte header followed by the payload:
//
//   offset  size  field
//   0       4     magic            "EDFL" = 0x45 0x44 0x46 0x4C
//   4       2     protocol version uint16, little-endian (this build: 1)
//   6       2     message type     uint16, little-endian (MessageType)
//   8       4     payload length   uint32, little-endian, bytes after the header
//   12      n     payload          the message's fields (messages.h)
//
// kFrameHeaderSize = 4 + 2 + 2 + 4.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace edgefl::wire {

inline constexpr uint8_t kMagic[4] = {'E', 'D', 'F', 'L'};
inline constexpr size_t kFrameHeaderSize = 4 + 2 + 2 + 4;

// Protocol versions this build speaks. A session's messages travel in frames
// of a version in [kMinProtocolVersion, kMaxProtocolVersion]; any other is
// refused. Version 2 added SAVIC's preconditioner and QSR's per-step
// schedule to TrainTask and the loss statistics to TrainResult.
inline constexpr uint16_t kProtocolVersion = 2;
inline constexpr uint16_t kMinProtocolVersion = 2;
inline constexpr uint16_t kMaxProtocolVersion = 2;

// The handshake messages (Hello, Welcome, Error) have kept their version-1
// layout and are always sent in version-1 frames, so that a peer of any
// version can read them and refuse by name ("unsupported_version") instead
// of failing on the frame header. See docs/protocol.md, Versioning.
inline constexpr uint16_t kHandshakeFrameVersion = 1;

// Default cap on a frame's payload: 64 MiB, far above any model edgefl
// ships (lenet: 61,706 floats = 241 KiB; mlp: 199,210 floats = 778 KiB).
inline constexpr uint32_t kDefaultMaxPayloadBytes = 64u << 20;

enum class MessageType : uint16_t {
  kHello = 1,        // client -> coordinator, first message
  kWelcome = 2,      // coordinator -> client, answer to Hello
  kTrainTask = 3,    // coordinator -> client
  kTrainResult = 4,  // client -> coordinator
  kEvalTask = 5,     // coordinator -> client
  kEvalResult = 6,   // client -> coordinator
  kHeartbeat = 7,    // either direction
  kBye = 8,          // either direction, last message
  kError = 9,        // either direction, then the sender closes
  // Secure aggregation between processes (wire/secagg_messages.h), 16-31
  // reserved for it.
  kSecAggTrain = 16,           // coordinator -> client, before a secure round's TrainTask
  kSecAggSetup = 17,           // coordinator -> client
  kSecAggKeys = 18,            // client -> coordinator
  kSecAggNeighbourKeys = 19,   // coordinator -> client
  kSecAggShares = 20,          // client -> coordinator
  kSecAggRoutedShares = 21,    // coordinator -> client
  kSecAggMaskedInput = 22,     // client -> coordinator
  kSecAggUnmaskRequest = 23,   // coordinator -> client
  kSecAggUnmaskResponse = 24,  // client -> coordinator
  kSecAggDone = 25,            // coordinator -> client, the round's end
  kSecAggCohort = 26,          // coordinator -> client, before an async cohort's SecAggSetup
  // D-SGD between processes (wire/peer_messages.h), 32-39 reserved for it.
  kPeerJoin = 32,        // node -> coordinator, first message
  kPeerAssignment = 33,  // coordinator -> node
  kNodeReport = 34,      // node -> coordinator, after each round
  kPeerHello = 35,       // node <-> node, first message of a peer link
  kPeerModel = 36,       // node <-> node
  // D-SGD's global metrics between processes (the metrics node's gather).
  kMetricsPlan = 37,    // coordinator -> node, after PeerAssignment
  kMetricsModel = 38,   // node -> metrics node, evaluation rounds
  kGlobalMetrics = 39,  // metrics node -> coordinator
  // Compressed updates (wire/compressed_messages.h), 40-47 reserved for them.
  kCompressedModel = 40,   // coordinator -> client, before a TrainTask with no parameters
  kCompressedUpdate = 41,  // client -> coordinator, before a TrainResult with no parameters
  // Edge aggregators (wire/group_messages.h), 42-47 reserved for them.
  kGroupSum = 42,  // aggregator -> upstream, before a TrainResult with no parameters
};

// True for the types above.
bool IsKnownMessageType(uint16_t type);
// True for Hello, Welcome and Error, whose layout is frozen at version 1.
bool IsHandshakeType(MessageType type);
// The frame version this build writes `type` in: kHandshakeFrameVersion for
// the handshake types, kProtocolVersion for the others.
uint16_t FrameVersionOf(MessageType type);
// "Hello", "TrainTask", ...; "unknown" for any other value.
std::string_view MessageTypeName(MessageType type);

struct FrameHeader {
  uint16_t version = kProtocolVersion;
  MessageType type = MessageType::kHello;
  uint32_t payload_length = 0;
};

// Writes the 12 header bytes to `out`. REQUIRES: out has 12 bytes.
void WriteFrameHeader(const FrameHeader& header, std::span<uint8_t, kFrameHeaderSize> out);

// Parses and checks 12 header bytes: magic, version (kHandshakeFrameVersion
// for the handshake types, a spoken version for every type), known type, and the
// length against `max_payload_bytes`. Throws ProtocolError naming what was
// wrong ("frame: TrainTask length 80 MB over limit 64 MB (83886080 > 67108864
// bytes)"; 1 MB = 2^20 bytes).
FrameHeader ParseFrameHeader(std::span<const uint8_t, kFrameHeaderSize> bytes,
                             uint32_t max_payload_bytes = kDefaultMaxPayloadBytes);

// A whole frame: header plus payload (header bytes included), version
// FrameVersionOf(type). REQUIRES: payload.size() < 2^32.
std::vector<uint8_t> EncodeFrame(MessageType type, std::span<const uint8_t> payload);

struct Frame {
  uint16_t version = kProtocolVersion;
  MessageType type = MessageType::kHello;
  std::vector<uint8_t> payload;  // not yet decoded; see DecodeMessage
};

// Splits a byte stream, fed in chunks of any size, into frames.
//
// Each header is checked as soon as its 12 bytes have arrived, before the
// payload buffer is allocated, so a peer cannot make the decoder allocate
// more than the cap. The first bad header throws ProtocolError; the stream
// cannot be resynchronised, so the decoder stays failed and every later
// Feed throws the same error again: close the connection.
//
// Decoding the payload (DecodeMessage) is separate, so a session can
// count, log or drop frames by type first.
//
// Thread-safety: none; one decoder per connection (on its strand).
class FrameDecoder {
 public:
  explicit FrameDecoder(uint32_t max_payload_bytes = kDefaultMaxPayloadBytes)
      : max_payload_bytes_(max_payload_bytes) {}

  // Consumes all of `bytes`; complete frames become available from Next().
  // Throws ProtocolError on a bad header (see above). Memory held is at most
  // one partial frame (<= header + cap) plus the complete frames not yet
  // taken: drain Next() after each Feed.
  void Feed(std::span<const uint8_t> bytes);

  // The oldest complete frame, or nullopt if none is complete yet.
  std::optional<Frame> Next();

  // Call when the peer closed the stream. Throws ProtocolError if it
  // stopped mid-frame ("frame: stream ended inside a TrainResult frame,
  // 100 of 400 payload bytes received"); otherwise does nothing.
  void CheckEndOfStream() const;

  // Changes the cap for headers not yet parsed (e.g. small before Hello,
  // larger once the client is authenticated).
  void set_max_payload_bytes(uint32_t cap) { max_payload_bytes_ = cap; }
  uint32_t max_payload_bytes() const { return max_payload_bytes_; }

  // Bytes of the frame in progress received so far (header + payload).
  size_t partial_bytes() const;
  size_t ready_frames() const { return ready_.size(); }

 private:
  uint32_t max_payload_bytes_;
  uint8_t header_[kFrameHeaderSize] = {};
  size_t header_filled_ = 0;            // bytes of header_ received
  std::optional<FrameHeader> current_;  // set once the header is parsed
  std::vector<uint8_t> payload_;        // sized to the header's length
  size_t payload_filled_ = 0;           // bytes of payload_ received
  std::deque<Frame> ready_;             // complete frames, oldest first
  std::optional<std::string> failure_;  // message of the first ProtocolError
};

}  // namespace edgefl::wire
