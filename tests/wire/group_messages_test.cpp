// The edge aggregators' frame (type 42): its byte layout, and refusals that
// name the message and the field (wire/group_messages.h).
#include "wire/group_messages.h"

#include <span>
#include <vector>

#include <doctest/doctest.h>

#include "tests/wire/wire_test_util.h"
#include "wire/messages.h"
#include "wire/protocol_error.h"

namespace edgefl::wire {
namespace {

using testing::Payload;

std::string Refusal(const std::vector<uint8_t>& payload) {
  try {
    DecodeGroupMessage(MessageType::kGroupSum, payload);
  } catch (const ProtocolError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("group messages: GroupSum round-trips with the documented layout") {
  CHECK(static_cast<uint16_t>(MessageType::kGroupSum) == 42);
  CHECK(IsKnownMessageType(42));
  CHECK(MessageTypeName(MessageType::kGroupSum) == "GroupSum");
  GroupSum sum;
  sum.round = 3;
  sum.clients = 4;
  sum.dropped = 1;
  sum.weight = 600;
  sum.sum = Eigen::VectorXf::LinSpaced(3, 1.0f, 3.0f);
  const std::vector<uint8_t> frame = EncodeGroupMessage(sum);
  // round 8, clients 4, dropped 4, weight 8, count 4 + 3 floats.
  REQUIRE(frame.size() == kFrameHeaderSize + 8 + 4 + 4 + 8 + 4 + 12);
  const std::vector<uint8_t> head(frame.begin() + kFrameHeaderSize,
                                  frame.begin() + kFrameHeaderSize + 16);
  CHECK(head == std::vector<uint8_t>{3, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0});
  const auto back = std::get<GroupSum>(DecodeGroupMessage(MessageType::kGroupSum, Payload(frame)));
  CHECK(back.round == 3);
  CHECK(back.clients == 4);
  CHECK(back.dropped == 1);
  CHECK(back.weight == 600);
  CHECK(back.sum == sum.sum);
}

TEST_CASE("group messages: a sum of no samples or no client and trailing bytes are refused") {
  GroupSum sum;
  sum.round = 1;
  sum.clients = 1;
  sum.weight = 10;
  sum.sum = Eigen::VectorXf::Ones(2);
  const std::vector<uint8_t> frame = EncodeGroupMessage(sum);
  const std::vector<uint8_t> payload(frame.begin() + kFrameHeaderSize, frame.end());
  CHECK(Refusal(payload).empty());

  std::vector<uint8_t> no_weight = payload;
  for (size_t i = 16; i < 24; ++i)
    no_weight[i] = 0;
  CHECK(Refusal(no_weight).find("GroupSum.weight") != std::string::npos);

  std::vector<uint8_t> no_client = payload;
  for (size_t i = 8; i < 12; ++i)
    no_client[i] = 0;
  CHECK(Refusal(no_client).find("GroupSum.clients") != std::string::npos);

  std::vector<uint8_t> trailing = payload;
  trailing.push_back(0);
  CHECK_FALSE(Refusal(trailing).empty());

  std::vector<uint8_t> short_sum(payload.begin(), payload.end() - 1);
  CHECK(Refusal(short_sum).find("GroupSum.sum") != std::string::npos);
}

TEST_CASE("group messages: the session decoder refuses GroupSum and the group decoder the rest") {
  GroupSum sum;
  sum.clients = 1;
  sum.weight = 1;
  const std::vector<uint8_t> frame = EncodeGroupMessage(sum);
  CHECK_THROWS_AS(DecodeMessage(MessageType::kGroupSum, Payload(frame)), ProtocolError);
  CHECK_THROWS_AS(DecodeGroupMessage(MessageType::kTrainResult, Payload(frame)), ProtocolError);
}

}  // namespace edgefl::wire
