#include "wire/frame.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include "common/random.h"
#include "tests/wire/alloc_tracker.h"
#include "tests/wire/wire_test_util.h"
#include "wire/messages.h"
#include "wire/protocol_error.h"

namespace edgefl::wire {
namespace {

using FrameBytes = std::vector<uint8_t>;

FrameBytes Header(uint16_t version, uint16_t type, uint32_t length, const char* magic = "EDFL") {
  FrameBytes h = {static_cast<uint8_t>(magic[0]),     static_cast<uint8_t>(magic[1]),
                  static_cast<uint8_t>(magic[2]),     static_cast<uint8_t>(magic[3]),
                  static_cast<uint8_t>(version),      static_cast<uint8_t>(version >> 8),
                  static_cast<uint8_t>(type),         static_cast<uint8_t>(type >> 8),
                  static_cast<uint8_t>(length),       static_cast<uint8_t>(length >> 8),
                  static_cast<uint8_t>(length >> 16), static_cast<uint8_t>(length >> 24)};
  return h;
}

// The message of the ProtocolError that feeding `bytes` throws ("" if none).
std::string FeedError(FrameDecoder& decoder, const FrameBytes& bytes) {
  try {
    decoder.Feed(bytes);
  } catch (const ProtocolError& e) {
    return e.what();
  }
  return "";
}

std::string FeedError(const FrameBytes& bytes, uint32_t cap = kDefaultMaxPayloadBytes) {
  FrameDecoder decoder(cap);
  return FeedError(decoder, bytes);
}

// Every sample message as a frame, plus an empty-payload frame, concatenated.
std::pair<FrameBytes, std::vector<Frame>> SampleStream() {
  FrameBytes stream;
  std::vector<Frame> frames;
  for (const Message& m : testing::AllSampleMessages()) {
    const FrameBytes frame = EncodeMessage(m);
    stream.insert(stream.end(), frame.begin(), frame.end());
    frames.push_back(Frame{FrameVersionOf(TypeOf(m)), TypeOf(m), EncodePayload(m)});
  }
  const FrameBytes empty = EncodeFrame(MessageType::kBye, {});
  stream.insert(stream.end(), empty.begin(), empty.end());
  frames.push_back(Frame{kProtocolVersion, MessageType::kBye, {}});
  return {stream, frames};
}

std::vector<Frame> Drain(FrameDecoder& decoder) {
  std::vector<Frame> out;
  while (auto frame = decoder.Next())
    out.push_back(std::move(*frame));
  return out;
}

void CheckSameFrames(const std::vector<Frame>& got, const std::vector<Frame>& want) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    CHECK(got[i].version == want[i].version);
    CHECK(got[i].type == want[i].type);
    CHECK(got[i].payload == want[i].payload);
  }
}

TEST_CASE("EncodeFrame writes the documented 12-byte little-endian header") {
  const FrameBytes payload = {1, 2, 3};
  const FrameBytes frame = EncodeFrame(MessageType::kTrainResult, payload);
  const FrameBytes want = {'E', 'D', 'F', 'L', 2, 0, 4, 0, 3, 0, 0, 0, 1, 2, 3};
  CHECK(frame == want);
  CHECK(kFrameHeaderSize == 12);
  const FrameHeader header =
      ParseFrameHeader(std::span<const uint8_t, kFrameHeaderSize>(frame.data(), kFrameHeaderSize));
  CHECK(header.version == 2);
  CHECK(header.type == MessageType::kTrainResult);
  CHECK(header.payload_length == 3);
}

TEST_CASE("The decoder gives the same frames fed whole or one byte at a time") {
  const auto [stream, want] = SampleStream();
  FrameDecoder whole;
  whole.Feed(stream);
  CheckSameFrames(Drain(whole), want);
  whole.CheckEndOfStream();

  FrameDecoder bytewise;
  std::vector<Frame> got;
  for (uint8_t b : stream) {
    bytewise.Feed(std::span<const uint8_t>(&b, 1));
    for (Frame& f : Drain(bytewise))
      got.push_back(std::move(f));
  }
  CheckSameFrames(got, want);
  bytewise.CheckEndOfStream();
  CHECK(bytewise.partial_bytes() == 0);
}

TEST_CASE("The decoder gives the same frames for random chunk sizes") {
  const auto [stream, want] = SampleStream();
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Rng rng(seed);
    FrameDecoder decoder;
    std::vector<Frame> got;
    size_t pos = 0;
    while (pos < stream.size()) {
      // Mostly small chunks, sometimes large ones spanning several frames.
      const size_t limit = rng.UniformInt(4) == 0 ? 4096 : 40;
      const size_t n = std::min(stream.size() - pos, 1 + rng.UniformInt(limit));
      decoder.Feed(std::span<const uint8_t>(stream.data() + pos, n));
      pos += n;
      if (rng.UniformInt(3) != 0) {
        for (Frame& f : Drain(decoder))
          got.push_back(std::move(f));
      }
    }
    for (Frame& f : Drain(decoder))
      got.push_back(std::move(f));
    CheckSameFrames(got, want);
    decoder.CheckEndOfStream();
  }
}

TEST_CASE("Bad magic is a ProtocolError as soon as a byte differs") {
  CHECK(FeedError(Header(kProtocolVersion, 1, 0, "EDFX")) ==
        "frame: bad magic 45 44 46 58 (expected 45 44 46 4c, \"EDFL\")");
  // Refused on the first wrong byte, without waiting for the whole header.
  CHECK(FeedError(FrameBytes{'G', 'E'}).find("frame: bad magic 47 45") == 0);
  CHECK(FeedError(FrameBytes{'G', 'E', 'T', ' ', '/'}).find("text protocol") != std::string::npos);
  CHECK(FeedError(FrameBytes{0x16, 0x03, 0x01}).find("TLS") != std::string::npos);
}

TEST_CASE("An unsupported protocol version is a ProtocolError") {
  CHECK(FeedError(Header(3, 1, 0)) ==
        "frame: unsupported protocol version 3 (this build speaks 2..2)");
  CHECK(FeedError(Header(0, 1, 0)).find("unsupported protocol version 0") != std::string::npos);
  // A version-1 peer's TrainTask/TrainResult has the old layout: refused by
  // name from the header, before its payload is read.
  CHECK(FeedError(Header(1, 4, 0)) ==
        "frame: unsupported protocol version 1 for TrainResult (this build speaks 2..2; only "
        "Hello, Welcome and Error may come in version-1 frames)");
  CHECK(FeedError(Header(1, 3, 0)).find("version 1 for TrainTask") != std::string::npos);
}

TEST_CASE("The handshake travels in version-1 frames so any peer can refuse it by name") {
  // Hello, Welcome and Error keep their version-1 layout and frame version,
  // so an older peer reads them and answers unsupported_version.
  for (MessageType type : {MessageType::kHello, MessageType::kWelcome, MessageType::kError}) {
    CHECK(IsHandshakeType(type));
    CHECK(FrameVersionOf(type) == 1);
    CHECK(FeedError(Header(1, static_cast<uint16_t>(type), 0)).empty());
    CHECK(FeedError(Header(2, static_cast<uint16_t>(type), 0)).empty());
  }
  for (MessageType type :
       {MessageType::kTrainTask, MessageType::kTrainResult, MessageType::kEvalTask,
        MessageType::kEvalResult, MessageType::kHeartbeat, MessageType::kBye}) {
    CHECK_FALSE(IsHandshakeType(type));
    CHECK(FrameVersionOf(type) == kProtocolVersion);
  }
  const FrameBytes hello = EncodeMessage(Message{Hello{"client-1", kProtocolVersion, "test", {}}});
  CHECK(hello[4] == 1);
  CHECK(hello[5] == 0);
}

TEST_CASE("An unknown message type is a ProtocolError") {
  for (uint16_t type : {0, 10, 0xFFFF}) {
    CHECK(FeedError(Header(kProtocolVersion, type, 0)) ==
          "frame: unknown message type " + std::to_string(type));
  }
}

TEST_CASE("A length over the cap is refused from the header before allocating") {
  constexpr uint32_t kCap = 1u << 20;       // 1 MB
  constexpr uint32_t kDeclared = 1u << 30;  // 1 GB
  FrameDecoder decoder(kCap);
  std::string error;
  size_t largest = 0;
  {
    testing::LargestAllocation tracker;
    error = FeedError(decoder, Header(kProtocolVersion, 4, kDeclared));
    largest = tracker.bytes();
  }
  CHECK(error == "frame: TrainResult length 1024 MB over limit 1 MB (1073741824 > 1048576 bytes)");
  CHECK(largest < 64 * 1024);  // the message text, never the payload

  CHECK(FeedError(Header(kProtocolVersion, 3, 80u << 20)) ==
        "frame: TrainTask length 80 MB over limit 64 MB (83886080 > 67108864 bytes)");
  // Exactly at the cap is fine.
  FrameDecoder at_cap(16);
  FrameBytes frame = Header(kProtocolVersion, 8, 16);
  frame.resize(frame.size() + 16);
  at_cap.Feed(frame);
  CHECK(at_cap.ready_frames() == 1);
}

TEST_CASE("The cap can be changed between frames") {
  FrameDecoder decoder(8);
  const FrameBytes small = EncodeFrame(MessageType::kBye, FrameBytes(8, 0));
  const FrameBytes large = EncodeFrame(MessageType::kBye, FrameBytes(100, 0));
  decoder.Feed(small);
  decoder.set_max_payload_bytes(100);
  decoder.Feed(large);
  CHECK(Drain(decoder).size() == 2);
  decoder.set_max_payload_bytes(99);
  CHECK(FeedError(decoder, large).find("over limit 99 bytes") != std::string::npos);
}

TEST_CASE("A decoder stays failed after a ProtocolError") {
  FrameDecoder decoder;
  const std::string first = FeedError(decoder, Header(9, 1, 0));
  CHECK(!first.empty());
  CHECK(FeedError(decoder, EncodeFrame(MessageType::kBye, {})) == first);
}

TEST_CASE("A stream that ends inside a frame is a ProtocolError at end of stream") {
  FrameDecoder decoder;
  FrameBytes partial = Header(kProtocolVersion, 4, 400);
  partial.resize(partial.size() + 100);
  decoder.Feed(partial);
  CHECK(decoder.ready_frames() == 0);
  CHECK(decoder.partial_bytes() == 112);
  CHECK_THROWS_WITH_AS(decoder.CheckEndOfStream(),
                       "frame: stream ended inside a TrainResult frame, 100 of 400 payload bytes "
                       "received",
                       ProtocolError);

  FrameDecoder in_header;
  in_header.Feed(FrameBytes{'E', 'D', 'F', 'L', 1});
  CHECK_THROWS_WITH_AS(in_header.CheckEndOfStream(),
                       "frame: stream ended inside a frame header, 5 of 12 bytes received",
                       ProtocolError);
}

TEST_CASE("ProtocolError is a DataError") {
  CHECK_THROWS_AS(FrameDecoder().Feed(Header(kProtocolVersion, 0, 0)), DataError);
}

}  // namespace
}  // namespace edgefl::wire
