// The compressed-update frames (types 40-41): round trips, and refusals that
// name the message and the field (wire/compressed_messages.h).
#include "wire/compressed_messages.h"

#include <span>
#include <vector>

#include <doctest/doctest.h>

#include "common/random.h"
#include "tests/wire/wire_test_util.h"
#include "wire/protocol_error.h"

namespace edgefl::wire {
namespace {

using testing::Payload;

std::vector<uint8_t> UpdateFrame(const std::vector<uint8_t>& update) {
  return EncodeCompressedMessage(CompressedUpdate{7, compress::Codec::kTopK, update});
}

}  // namespace

TEST_CASE("compressed messages: CompressedModel and CompressedUpdate round-trip") {
  CHECK(static_cast<uint16_t>(MessageType::kCompressedModel) == 40);
  CHECK(IsKnownMessageType(41));
  CHECK_FALSE(IsKnownMessageType(43));
  CHECK(MessageTypeName(MessageType::kCompressedUpdate) == "CompressedUpdate");

  compress::CompressionConfig config;
  config.codec = compress::Codec::kInt8;
  config.int8_block = 3;
  compress::ModelDeltaSender sender;
  Rng rng(1);
  sender.Encode(std::vector<float>{1, 2, 3, 4}, 1, config, rng);
  CompressedModel model{5, config,
                        sender.Encode(std::vector<float>{1, 2.5f, 3, 4}, 2, config, rng)};
  const std::vector<uint8_t> frame = EncodeCompressedMessage(model);
  const auto decoded = std::get<CompressedModel>(
      DecodeCompressedMessage(MessageType::kCompressedModel, Payload(frame)));
  CHECK(decoded.round == 5);
  CHECK(decoded.upload.codec == compress::Codec::kInt8);
  CHECK(decoded.upload.int8_block == 3);
  CHECK(decoded.model.delta);
  CHECK(decoded.model.base_version == 1);
  CHECK(decoded.model.version == 2);
  CHECK(decoded.model.bytes == model.model.bytes);

  const std::vector<uint8_t> update = {2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0x80, 0x3F};
  const auto back = std::get<CompressedUpdate>(
      DecodeCompressedMessage(MessageType::kCompressedUpdate, Payload(UpdateFrame(update))));
  CHECK(back.round == 7);
  CHECK(back.update == update);
}

TEST_CASE("compressed messages: a top-k update too small for its declared k is refused") {
  // n = 10, k = 5 declared: 48 bytes needed, 40 sent.
  std::vector<uint8_t> update = {10, 0, 0, 0, 5, 0, 0, 0};
  update.resize(40, 0);
  CHECK_THROWS_WITH_AS(
      DecodeCompressedMessage(MessageType::kCompressedUpdate, Payload(UpdateFrame(update))),
      doctest::Contains("CompressedUpdate.update: top-k: k = 5 needs 48 bytes but has 40"),
      ProtocolError);
}

TEST_CASE("compressed messages: an unknown codec, a bad upload config and trailing bytes") {
  std::vector<uint8_t> frame = UpdateFrame({0, 0, 0, 0, 0, 0, 0, 0});
  frame[kFrameHeaderSize + 8] = 9;  // the codec byte
  CHECK_THROWS_WITH_AS(DecodeCompressedMessage(MessageType::kCompressedUpdate, Payload(frame)),
                       doctest::Contains("CompressedUpdate.codec"), ProtocolError);

  compress::CompressionConfig config;
  config.codec = compress::Codec::kTopK;
  config.topk_fraction = 0.0;
  CompressedModel model;
  model.upload = config;
  model.model.bytes = {0, 0, 0, 0};  // an empty fp32 model
  CHECK_THROWS_WITH_AS(DecodeCompressedMessage(MessageType::kCompressedModel,
                                               Payload(EncodeCompressedMessage(model))),
                       doctest::Contains("CompressedModel.upload.topk_fraction"), ProtocolError);
  model.upload.topk_fraction = 0.5;
  model.model.codec = compress::Codec::kFp16;  // a full model must be fp32
  CHECK_THROWS_WITH_AS(DecodeCompressedMessage(MessageType::kCompressedModel,
                                               Payload(EncodeCompressedMessage(model))),
                       doctest::Contains("CompressedModel.model.codec"), ProtocolError);

  std::vector<uint8_t> longer = UpdateFrame({0, 0, 0, 0, 0, 0, 0, 0});
  longer.push_back(0);
  CHECK_THROWS_AS(DecodeCompressedMessage(MessageType::kCompressedUpdate, Payload(longer)),
                  ProtocolError);
  CHECK_THROWS_AS(DecodeCompressedMessage(MessageType::kTrainTask, Payload(longer)), ProtocolError);
}

}  // namespace edgefl::wire
