#include "wire/frame.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

#include "wire/endian.h"
#include "wire/protocol_error.h"

namespace edgefl::wire {
namespace {

using internal::LoadLittle;
using internal::StoreLittle;

// "80 MB", "1.5 KB", "12 bytes" (1 KB = 1024 bytes, 1 MB = 2^20 bytes).
std::string HumanSize(uint64_t bytes) {
  char buf[32];
  if (bytes >= (1u << 20)) {
    std::snprintf(buf, sizeof buf, "%.4g MB", static_cast<double>(bytes) / (1u << 20));
  } else if (bytes >= 1024) {
    std::snprintf(buf, sizeof buf, "%.4g KB", static_cast<double>(bytes) / 1024);
  } else {
    std::snprintf(buf, sizeof buf, "%llu bytes", static_cast<unsigned long long>(bytes));
  }
  return buf;
}

std::string HexBytes(std::span<const uint8_t> bytes) {
  std::string out;
  char buf[4];
  for (uint8_t b : bytes) {
    std::snprintf(buf, sizeof buf, "%02x", b);
    if (!out.empty()) out += ' ';
    out += buf;
  }
  return out;
}

[[noreturn]] void Fail(const std::string& what) {
  throw ProtocolError("frame: " + what);
}

void CheckMagicPrefix(std::span<const uint8_t> prefix) {
  if (std::memcmp(prefix.data(), kMagic, prefix.size()) != 0) {
    // A hint for the two usual mistakes; only when the very first byte is
    // already wrong (a corrupted EDFL stream is not a protocol mix-up).
    std::string hint;
    if (prefix[0] == 0x16) {
      hint = "; the peer seems to speak TLS on a plain connection";
    } else if (prefix[0] != kMagic[0] && prefix[0] >= 'A' && prefix[0] <= 'Z') {
      hint = "; the peer seems to speak a text protocol";
    }
    Fail("bad magic " + HexBytes(prefix) + " (expected 45 44 46 4c, \"EDFL\")" + hint);
  }
}

}  // namespace

bool IsKnownMessageType(uint16_t type) {
  return (type >= static_cast<uint16_t>(MessageType::kHello) &&
          type <= static_cast<uint16_t>(MessageType::kError)) ||
         (type >= static_cast<uint16_t>(MessageType::kSecAggTrain) &&
          type <= static_cast<uint16_t>(MessageType::kSecAggCohort)) ||
         (type >= static_cast<uint16_t>(MessageType::kPeerJoin) &&
          type <= static_cast<uint16_t>(MessageType::kGlobalMetrics)) ||
         (type >= static_cast<uint16_t>(MessageType::kCompressedModel) &&
          type <= static_cast<uint16_t>(MessageType::kCompressedUpdate)) ||
         type == static_cast<uint16_t>(MessageType::kGroupSum);
}

bool IsHandshakeType(MessageType type) {
  return type == MessageType::kHello || type == MessageType::kWelcome ||
         type == MessageType::kError;
}

uint16_t FrameVersionOf(MessageType type) {
  return IsHandshakeType(type) ? kHandshakeFrameVersion : kProtocolVersion;
}

std::string_view MessageTypeName(MessageType type) {
  switch (type) {
    case MessageType::kHello:
      return "Hello";
    case MessageType::kWelcome:
      return "Welcome";
    case MessageType::kTrainTask:
      return "TrainTask";
    case MessageType::kTrainResult:
      return "TrainResult";
    case MessageType::kEvalTask:
      return "EvalTask";
    case MessageType::kEvalResult:
      return "EvalResult";
    case MessageType::kHeartbeat:
      return "Heartbeat";
    case MessageType::kBye:
      return "Bye";
    case MessageType::kError:
      return "Error";
    case MessageType::kSecAggTrain:
      return "SecAggTrain";
    case MessageType::kSecAggSetup:
      return "SecAggSetup";
    case MessageType::kSecAggKeys:
      return "SecAggKeys";
    case MessageType::kSecAggNeighbourKeys:
      return "SecAggNeighbourKeys";
    case MessageType::kSecAggShares:
      return "SecAggShares";
    case MessageType::kSecAggRoutedShares:
      return "SecAggRoutedShares";
    case MessageType::kSecAggMaskedInput:
      return "SecAggMaskedInput";
    case MessageType::kSecAggUnmaskRequest:
      return "SecAggUnmaskRequest";
    case MessageType::kSecAggUnmaskResponse:
      return "SecAggUnmaskResponse";
    case MessageType::kSecAggDone:
      return "SecAggDone";
    case MessageType::kSecAggCohort:
      return "SecAggCohort";
    case MessageType::kPeerJoin:
      return "PeerJoin";
    case MessageType::kPeerAssignment:
      return "PeerAssignment";
    case MessageType::kNodeReport:
      return "NodeReport";
    case MessageType::kPeerHello:
      return "PeerHello";
    case MessageType::kPeerModel:
      return "PeerModel";
    case MessageType::kMetricsPlan:
      return "MetricsPlan";
    case MessageType::kMetricsModel:
      return "MetricsModel";
    case MessageType::kGlobalMetrics:
      return "GlobalMetrics";
    case MessageType::kCompressedModel:
      return "CompressedModel";
    case MessageType::kCompressedUpdate:
      return "CompressedUpdate";
    case MessageType::kGroupSum:
      return "GroupSum";
  }
  return "unknown";
}

void WriteFrameHeader(const FrameHeader& header, std::span<uint8_t, kFrameHeaderSize> out) {
  std::memcpy(out.data(), kMagic, 4);
  StoreLittle<uint16_t>(header.version, out.data() + 4);
  StoreLittle<uint16_t>(static_cast<uint16_t>(header.type), out.data() + 6);
  StoreLittle<uint32_t>(header.payload_length, out.data() + 8);
}

FrameHeader ParseFrameHeader(std::span<const uint8_t, kFrameHeaderSize> bytes,
                             uint32_t max_payload_bytes) {
  CheckMagicPrefix(bytes.first(4));
  FrameHeader header;
  header.version = LoadLittle<uint16_t>(bytes.data() + 4);
  const bool spoken =
      header.version >= kMinProtocolVersion && header.version <= kMaxProtocolVersion;
  const bool handshake_frame = header.version == kHandshakeFrameVersion;
  if (!spoken && !handshake_frame) {
    Fail("unsupported protocol version " + std::to_string(header.version) + " (this build speaks " +
         std::to_string(kMinProtocolVersion) + ".." + std::to_string(kMaxProtocolVersion) + ")");
  }
  const uint16_t type = LoadLittle<uint16_t>(bytes.data() + 6);
  if (!IsKnownMessageType(type)) {
    Fail("unknown message type " + std::to_string(type));
  }
  header.type = static_cast<MessageType>(type);
  if (!spoken && !IsHandshakeType(header.type)) {
    Fail("unsupported protocol version " + std::to_string(header.version) + " for " +
         std::string(MessageTypeName(header.type)) + " (this build speaks " +
         std::to_string(kMinProtocolVersion) + ".." + std::to_string(kMaxProtocolVersion) +
         "; only Hello, Welcome and Error may come in version-" +
         std::to_string(kHandshakeFrameVersion) + " frames)");
  }
  header.payload_length = LoadLittle<uint32_t>(bytes.data() + 8);
  if (header.payload_length > max_payload_bytes) {
    Fail(std::string(MessageTypeName(header.type)) + " length " + HumanSize(header.payload_length) +
         " over limit " + HumanSize(max_payload_bytes) + " (" +
         std::to_string(header.payload_length) + " > " + std::to_string(max_payload_bytes) +
         " bytes)");
  }
  return header;
}

std::vector<uint8_t> EncodeFrame(MessageType type, std::span<const uint8_t> payload) {
  std::vector<uint8_t> out(kFrameHeaderSize);
  out.reserve(kFrameHeaderSize + payload.size());
  WriteFrameHeader({FrameVersionOf(type), type, static_cast<uint32_t>(payload.size())},
                   std::span<uint8_t, kFrameHeaderSize>(out.data(), kFrameHeaderSize));
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

void FrameDecoder::Feed(std::span<const uint8_t> bytes) {
  if (failure_) throw ProtocolError(*failure_);
  try {
    while (!bytes.empty()) {
      if (!current_) {
        const size_t n = std::min(bytes.size(), kFrameHeaderSize - header_filled_);
        std::memcpy(header_ + header_filled_, bytes.data(), n);
        // Garbage is refused as soon as it differs from the magic.
        const size_t magic_seen = std::min<size_t>(header_filled_ + n, 4);
        if (header_filled_ < 4) CheckMagicPrefix({header_, magic_seen});
        header_filled_ += n;
        bytes = bytes.subspan(n);
        if (header_filled_ < kFrameHeaderSize) break;
        current_ = ParseFrameHeader(std::span<const uint8_t, kFrameHeaderSize>(header_),
                                    max_payload_bytes_);
        payload_.resize(current_->payload_length);  // bounded by the cap, checked above
        payload_filled_ = 0;
      }
      const size_t n = std::min(bytes.size(), payload_.size() - payload_filled_);
      if (n > 0) std::memcpy(payload_.data() + payload_filled_, bytes.data(), n);
      payload_filled_ += n;
      bytes = bytes.subspan(n);
      if (payload_filled_ == payload_.size()) {
        ready_.push_back(Frame{current_->version, current_->type, std::move(payload_)});
        payload_ = {};
        payload_filled_ = 0;
        header_filled_ = 0;
        current_.reset();
      }
    }
  } catch (const ProtocolError& e) {
    failure_ = e.what();
    throw;
  }
}

std::optional<Frame> FrameDecoder::Next() {
  if (ready_.empty()) return std::nullopt;
  Frame frame = std::move(ready_.front());
  ready_.pop_front();
  return frame;
}

size_t FrameDecoder::partial_bytes() const {
  return current_ ? kFrameHeaderSize + payload_filled_ : header_filled_;
}

void FrameDecoder::CheckEndOfStream() const {
  if (current_) {
    Fail("stream ended inside a " + std::string(MessageTypeName(current_->type)) + " frame, " +
         std::to_string(payload_filled_) + " of " + std::to_string(payload_.size()) +
         " payload bytes received");
  }
  if (header_filled_ > 0) {
    Fail("stream ended inside a frame header, " + std::to_string(header_filled_) + " of " +
         std::to_string(kFrameHeaderSize) + " bytes received");
  }
}

}  // namespace edgefl::wire
