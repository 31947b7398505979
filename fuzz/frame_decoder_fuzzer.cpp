// libFuzzer target for the wire codec (wire/frame.h, wire/messages.h): the
// bytes a hostile peer can send inside TLS.
//
// Input: byte 0 picks the mode, the rest is the peer's data.
//   even: a byte stream fed to a FrameDecoder in chunks of (byte 1 + 1)
//         bytes; every complete frame is decoded as a message.
//   odd:  one message payload decoded directly as type byte 1, so the
//         fuzzer reaches the message fields without building a header.
// Every family of messages is decoded by its own decoder: the session's
// (types 1-9, messages.h), SecAgg+'s (16-26, secagg_messages.h), D-SGD's
// peer links (32-39, peer_messages.h), compressed updates (40-41,
// compressed_messages.h) and edge aggregators' group sums (42,
// group_messages.h).
//
// Properties checked (a violation aborts, which libFuzzer reports):
//   - only ProtocolError escapes the decoder (no other exception, no crash,
//     no sanitizer report);
//   - a payload that decodes re-encodes to a payload that decodes again and
//     re-encodes to the same bytes (the codec is a round trip; maps come
//     back sorted and int64 numbers as float64, so the first re-encoding
//     may differ from the input, the second may not); for the session's
//     messages the first re-encoding also has the input's size;
//   - the frame decoder gives back exactly the frames whose bytes it got:
//     re-framing each frame reproduces the consumed input byte for byte.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <vector>

#include "wire/compressed_messages.h"
#include "wire/frame.h"
#include "wire/group_messages.h"
#include "wire/messages.h"
#include "wire/peer_messages.h"
#include "wire/protocol_error.h"
#include "wire/secagg_messages.h"

namespace {

using edgefl::wire::DecodeMessage;
using edgefl::wire::EncodePayload;
using edgefl::wire::Frame;
using edgefl::wire::FrameDecoder;
using edgefl::wire::Message;
using edgefl::wire::MessageType;
using edgefl::wire::ProtocolError;

// Small cap so a 12-byte header cannot make each run allocate 64 MiB.
constexpr uint32_t kFuzzMaxPayload = 1u << 20;

[[noreturn]] void Violated(const char* what) {
  std::fprintf(stderr, "frame_decoder_fuzzer: property violated: %s\n", what);
  std::abort();
}

// The payload of a complete frame (the peer and compressed encoders make
// frames).
std::vector<uint8_t> PayloadOf(const std::vector<uint8_t>& frame) {
  return {frame.begin() + edgefl::wire::kFrameHeaderSize, frame.end()};
}

// The round-trip property for one family: decode, encode, decode, encode.
template <typename Decode, typename Encode>
void RoundTrip(MessageType type, std::span<const uint8_t> payload, Decode decode, Encode encode,
               bool same_size) {
  std::vector<uint8_t> encoded;
  try {
    const auto first = decode(type, payload);
    if (edgefl::wire::TypeOf(first) != type) Violated("decoded message has another type");
    encoded = encode(first);
  } catch (const ProtocolError&) {
    return;  // refused: the expected outcome for most inputs
  }
  if (same_size && encoded.size() != payload.size())
    Violated("re-encoded payload has another size");
  std::vector<uint8_t> again;
  try {
    again = encode(decode(type, encoded));
  } catch (const ProtocolError&) {
    Violated("re-encoded payload does not decode");
  }
  if (again != encoded) Violated("second re-encoding differs from the first");
}

void CheckRoundTrip(MessageType type, std::span<const uint8_t> payload) {
  namespace wire = edgefl::wire;
  if (wire::IsSecAggMessageType(type)) {
    RoundTrip(
        type, payload,
        [](MessageType t, std::span<const uint8_t> p) { return wire::DecodeSecAggMessage(t, p); },
        [](const wire::SecAggMessage& m) { return wire::EncodeSecAggPayload(m); }, false);
  } else if (wire::IsPeerMessageType(type)) {
    RoundTrip(
        type, payload,
        [](MessageType t, std::span<const uint8_t> p) { return wire::DecodePeerMessage(t, p); },
        [](const wire::PeerMessage& m) { return PayloadOf(wire::EncodePeerMessage(m)); }, false);
  } else if (wire::IsCompressedMessageType(type)) {
    RoundTrip(
        type, payload,
        [](MessageType t, std::span<const uint8_t> p) {
          return wire::DecodeCompressedMessage(t, p);
        },
        [](const wire::CompressedMessage& m) {
          return PayloadOf(wire::EncodeCompressedMessage(m));
        },
        false);
  } else if (wire::IsGroupMessageType(type)) {
    RoundTrip(
        type, payload,
        [](MessageType t, std::span<const uint8_t> p) { return wire::DecodeGroupMessage(t, p); },
        [](const wire::GroupMessage& m) { return PayloadOf(wire::EncodeGroupMessage(m)); }, true);
  } else {
    RoundTrip(
        type, payload,
        [](MessageType t, std::span<const uint8_t> p) { return DecodeMessage(t, p); },
        [](const Message& m) { return EncodePayload(m); }, true);
  }
}

void FuzzStream(size_t chunk, std::span<const uint8_t> bytes) {
  FrameDecoder decoder(kFuzzMaxPayload);
  std::vector<uint8_t> reframed;
  size_t fed = 0;
  try {
    while (fed < bytes.size()) {
      const size_t n = std::min(chunk, bytes.size() - fed);
      decoder.Feed(bytes.subspan(fed, n));
      fed += n;
      while (std::optional<Frame> frame = decoder.Next()) {
        if (frame->payload.size() > kFuzzMaxPayload) Violated("frame over the payload cap");
        // Reframed in the version it came in (a handshake type may come in
        // either of two versions).
        std::vector<uint8_t> whole(edgefl::wire::kFrameHeaderSize);
        edgefl::wire::WriteFrameHeader(
            {frame->version, frame->type, static_cast<uint32_t>(frame->payload.size())},
            std::span<uint8_t, edgefl::wire::kFrameHeaderSize>(whole.data(),
                                                               edgefl::wire::kFrameHeaderSize));
        whole.insert(whole.end(), frame->payload.begin(), frame->payload.end());
        reframed.insert(reframed.end(), whole.begin(), whole.end());
        CheckRoundTrip(frame->type, frame->payload);
      }
    }
    decoder.CheckEndOfStream();
  } catch (const ProtocolError&) {
    // The stream is failed; every later Feed must fail again.
    bool threw = false;
    try {
      decoder.Feed(bytes.subspan(0, 0));
    } catch (const ProtocolError&) {
      threw = true;
    }
    if (!threw && fed < bytes.size()) Violated("a failed decoder accepted more bytes");
    return;
  }
  // Everything was consumed and no frame was left open: the frames account
  // for every input byte.
  if (reframed.size() != bytes.size() ||
      !std::equal(reframed.begin(), reframed.end(), bytes.begin())) {
    Violated("frames do not reproduce the stream");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const std::span<const uint8_t> rest(data + 2, size - 2);
  if (data[0] % 2 == 1) {
    CheckRoundTrip(static_cast<MessageType>(data[1]), rest);
  } else {
    FuzzStream(size_t{data[1]} + 1, rest);
  }
  return 0;
}
