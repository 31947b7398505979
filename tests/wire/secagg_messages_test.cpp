#include "wire/secagg_messages.h"

#include <span>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "tests/wire/wire_test_util.h"
#include "wire/messages.h"
#include "wire/protocol_error.h"

namespace edgefl::wire {
namespace {

privacy::Bytes Key(uint8_t first) {
  privacy::Bytes key(65);
  for (size_t i = 0; i < key.size(); ++i)
    key[i] = static_cast<uint8_t>(first + i);
  return key;
}

std::vector<SecAggMessage> AllSecAggMessages() {
  SecAggSetup setup;
  setup.config.round = 7;
  setup.config.n = 5;
  setup.config.k = 4;
  setup.config.t = 3;
  setup.config.graph_seed = 0xfeedface12345678ULL;
  setup.config.bits = 24;
  setup.config.dimension = 3;
  setup.config.clip = 2.5;
  setup.config.levels = 3355443;
  setup.config.max_weight = 1000;
  setup.config.min_survivors = 3;
  setup.client = 2;
  setup.rounding_seed = 0x0123456789abcdefULL;
  setup.dp_clip = 0.5;
  setup.dp_noise_std = 0.25;
  const privacy::PublicKeys keys{2, Key(1), Key(100)};
  const privacy::EncryptedShare share{2, 4, privacy::Bytes{9, 8, 7, 6, 5}};
  privacy::UnmaskResponse response;
  response.client = 2;
  response.self_mask_shares = {{1, privacy::ShamirShare{3, {11, 12, 13}}}};
  response.mask_key_shares = {{4, privacy::ShamirShare{3, {21, 22}}}};
  return {SecAggTrain{7},
          setup,
          SecAggKeys{7, keys},
          SecAggNeighbourKeys{
              7, privacy::NeighbourKeys{{keys, privacy::PublicKeys{4, Key(3), Key(4)}}}},
          SecAggShares{7, privacy::ShareKeys{2, {share}}},
          SecAggRoutedShares{7, privacy::RoutedShares{{share, share}}},
          SecAggMaskedInput{7, 24, privacy::MaskedInput{2, {0xabcdef, 0, 0xffffff, 1}}},
          SecAggUnmaskRequest{7, privacy::UnmaskRequest{{0, 1, 3}, {4}}},
          SecAggUnmaskResponse{7, response},
          SecAggDone{7, false, "secagg: unmasking: 2 shares of client 4's mask key arrived"},
          SecAggCohort{7, 123, 0.5, true}};
}

using testing::Payload;

}  // namespace

TEST_CASE("Every secure-aggregation message round-trips in a version 2 frame") {
  for (const SecAggMessage& m : AllSecAggMessages()) {
    const std::vector<uint8_t> frame = EncodeSecAggMessage(m);
    const FrameHeader header = ParseFrameHeader(
        std::span<const uint8_t, kFrameHeaderSize>(frame.data(), kFrameHeaderSize));
    CAPTURE(MessageTypeName(header.type));
    CHECK(header.version == 2);
    CHECK(header.type == TypeOf(m));
    CHECK(IsSecAggMessageType(header.type));
    const SecAggMessage back = DecodeSecAggMessage(header.type, Payload(frame));
    CHECK(back.index() == m.index());
    CHECK(EncodeSecAggMessage(back) == frame);
  }
}

TEST_CASE("Secure-aggregation types are 16 to 26 and named - the session decoder refuses them") {
  CHECK(static_cast<uint16_t>(MessageType::kSecAggTrain) == 16);
  CHECK(static_cast<uint16_t>(MessageType::kSecAggDone) == 25);
  CHECK(static_cast<uint16_t>(MessageType::kSecAggCohort) == 26);
  CHECK(MessageTypeName(MessageType::kSecAggMaskedInput) == "SecAggMaskedInput");
  CHECK(MessageTypeName(MessageType::kSecAggCohort) == "SecAggCohort");
  CHECK(IsKnownMessageType(16));
  CHECK(IsKnownMessageType(26));
  CHECK_FALSE(IsKnownMessageType(27));
  CHECK_FALSE(IsSecAggMessageType(MessageType::kTrainTask));
  const std::vector<uint8_t> frame = EncodeSecAggMessage(SecAggTrain{3});
  CHECK_THROWS_WITH_AS(DecodeMessage(MessageType::kSecAggTrain, Payload(frame)),
                       doctest::Contains("secure-aggregation message"), ProtocolError);
  CHECK_THROWS_AS(DecodeSecAggMessage(MessageType::kBye, Payload(frame)), ProtocolError);
}

TEST_CASE("SecAggCohort keeps every field and refuses a scale that is not positive or above 1") {
  const auto cohort = std::get<SecAggCohort>(DecodeSecAggMessage(
      MessageType::kSecAggCohort, Payload(EncodeSecAggMessage(SecAggCohort{9, 41, 0.25, true}))));
  CHECK(cohort.round == 9);
  CHECK(cohort.task_round == 41);
  CHECK(cohort.scale == 0.25);
  CHECK(cohort.uniform_weight);
  for (double bad : {0.0, 1.5, -0.5}) {
    CAPTURE(bad);
    CHECK_THROWS_WITH_AS(
        DecodeSecAggMessage(MessageType::kSecAggCohort,
                            Payload(EncodeSecAggMessage(SecAggCohort{9, 41, bad, false}))),
        doctest::Contains("scale"), ProtocolError);
  }
}

TEST_CASE("SecAggSetup and the masked input keep every field") {
  const std::vector<SecAggMessage> all = AllSecAggMessages();
  const auto setup = std::get<SecAggSetup>(
      DecodeSecAggMessage(MessageType::kSecAggSetup, Payload(EncodeSecAggMessage(all[1]))));
  CHECK(setup.config.round == 7);
  CHECK(setup.config.n == 5);
  CHECK(setup.config.k == 4);
  CHECK(setup.config.t == 3);
  CHECK(setup.config.graph_seed == 0xfeedface12345678ULL);
  CHECK(setup.config.bits == 24);
  CHECK(setup.config.dimension == 3);
  CHECK(setup.config.clip == 2.5);
  CHECK(setup.config.levels == 3355443);
  CHECK(setup.config.max_weight == 1000);
  CHECK(setup.config.min_survivors == 3);
  CHECK(setup.client == 2);
  CHECK(setup.rounding_seed == 0x0123456789abcdefULL);
  CHECK(setup.dp_clip == 0.5);
  CHECK(setup.dp_noise_std == 0.25);
  // 24 bits: three bytes a value on the wire.
  const std::vector<uint8_t> frame = EncodeSecAggMessage(all[6]);
  CHECK(frame.size() == kFrameHeaderSize + 8 + 4 + 1 + 4 + 4 * 3);
  const auto masked = std::get<SecAggMaskedInput>(
      DecodeSecAggMessage(MessageType::kSecAggMaskedInput, Payload(frame)));
  CHECK(masked.input.client == 2);
  CHECK(masked.input.masked == std::vector<uint32_t>{0xabcdef, 0, 0xffffff, 1});
  const auto response = std::get<SecAggUnmaskResponse>(DecodeSecAggMessage(
      MessageType::kSecAggUnmaskResponse, Payload(EncodeSecAggMessage(all[8]))));
  REQUIRE(response.response.self_mask_shares.size() == 1);
  CHECK(response.response.self_mask_shares[0].first == 1);
  CHECK(response.response.self_mask_shares[0].second == privacy::ShamirShare{3, {11, 12, 13}});
  CHECK(response.response.mask_key_shares[0].second == privacy::ShamirShare{3, {21, 22}});
}

TEST_CASE("A truncated or extended secure-aggregation message is a ProtocolError") {
  for (const SecAggMessage& m : AllSecAggMessages()) {
    const std::vector<uint8_t> frame = EncodeSecAggMessage(m);
    std::vector<uint8_t> payload(frame.begin() + kFrameHeaderSize, frame.end());
    CAPTURE(MessageTypeName(TypeOf(m)));
    for (size_t cut : {size_t{0}, payload.size() / 2, payload.size() - 1}) {
      CHECK_THROWS_AS(DecodeSecAggMessage(TypeOf(m), std::span<const uint8_t>(payload.data(), cut)),
                      ProtocolError);
    }
    payload.push_back(0);
    CHECK_THROWS_WITH_AS(DecodeSecAggMessage(TypeOf(m), payload), doctest::Contains("trailing"),
                         ProtocolError);
  }
}

TEST_CASE("A secure-aggregation count over its limit is refused before allocating") {
  // SecAggNeighbourKeys: round, then a count of 2^20 neighbours.
  std::vector<uint8_t> payload(8, 0);
  for (uint8_t b : {0x00, 0x00, 0x10, 0x00})
    payload.push_back(b);
  CHECK_THROWS_WITH_AS(DecodeSecAggMessage(MessageType::kSecAggNeighbourKeys, payload),
                       doctest::Contains("over limit"), ProtocolError);
  // SecAggMaskedInput with value_bytes 5.
  std::vector<uint8_t> masked(12, 0);
  masked.push_back(5);
  for (int i = 0; i < 4; ++i)
    masked.push_back(0);
  CHECK_THROWS_WITH_AS(DecodeSecAggMessage(MessageType::kSecAggMaskedInput, masked),
                       doctest::Contains("value_bytes"), ProtocolError);
}

}  // namespace edgefl::wire
