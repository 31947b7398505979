#include "wire/peer_messages.h"

#include <cmath>
#include <span>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "tests/wire/wire_test_util.h"
#include "wire/protocol_error.h"

namespace edgefl::wire {
namespace {

PeerAssignment SampleAssignment() {
  PeerAssignment m;
  m.run_id = "dsgd-ring";
  m.node_index = 2;
  m.num_nodes = 4;
  m.rounds = 7;
  m.seed = 0x1234567890abcdefULL;
  m.topology = "ring";
  m.beta = 0.5;
  m.tau_alpha = 0.8;
  m.tau_beta = 0.3;
  m.update = "dgd";
  m.schedule = "paper";
  m.round_timeout_seconds = 2.5;
  m.eval_every = 3;
  m.test_subset = 500;
  m.task = testing::SampleTrainTask();
  m.neighbours = {{"node-1", 1, "127.0.0.1", 40001}, {"node-3", 3, "::1", 40003}};
  return m;
}

NodeReport SampleReport() {
  NodeReport m;
  m.round = 5;
  m.num_samples = 300;
  m.local_steps = 10;
  m.loss_before = 1.25;
  m.loss_after = 0.75;
  m.compute_seconds = 0.125;
  m.test_loss = 0.5;
  m.test_accuracy = testing::kNaN;
  m.test_samples = 1000;
  m.neighbourhood_loss = 0.625;
  m.neighbourhood_accuracy = 0.8125;
  m.local_consensus = 3e-4;
  m.bytes_sent = 123456;
  m.bytes_received = 654321;
  m.live_neighbours = 2;
  m.mixed_neighbours = 1;
  return m;
}

std::vector<PeerMessage> AllPeerMessages() {
  PeerModel model;
  model.round = 9;
  model.degree = 3;
  model.parameters = testing::SampleParameters(40);
  MetricsPlan plan;
  plan.metrics_node = {"node-0", 0, "127.0.0.1", 40000};
  plan.members = {{"node-1", 1, "", 0}, {"node-2", 2, "127.0.0.1", 40002}};
  MetricsModel gathered;
  gathered.round = 10;
  gathered.parameters = testing::SampleParameters(17);
  return {PeerJoin{kProtocolVersion, "edgefl-client 0.1", "127.0.0.1", 40002, 321},
          SampleAssignment(),
          SampleReport(),
          PeerHello{"node-2", "dsgd-ring", kProtocolVersion},
          model,
          plan,
          gathered,
          GlobalMetrics{10, 3, 0.625, testing::kNaN, 500, 1.5e-3}};
}

using testing::Payload;

TEST_CASE("Every D-SGD peer message round-trips in a version 2 frame") {
  for (const PeerMessage& m : AllPeerMessages()) {
    const std::vector<uint8_t> frame = EncodePeerMessage(m);
    const FrameHeader header = ParseFrameHeader(
        std::span<const uint8_t, kFrameHeaderSize>(frame.data(), kFrameHeaderSize));
    CAPTURE(MessageTypeName(header.type));
    CHECK(header.version == 2);
    CHECK(header.type == TypeOf(m));
    CHECK(header.payload_length == frame.size() - kFrameHeaderSize);
    const PeerMessage back = DecodePeerMessage(header.type, Payload(frame));
    CHECK(back.index() == m.index());
    CHECK(EncodePeerMessage(back) == frame);
  }
}

TEST_CASE("Peer message types are 32 to 39 and named") {
  CHECK(static_cast<uint16_t>(MessageType::kPeerJoin) == 32);
  CHECK(static_cast<uint16_t>(MessageType::kPeerModel) == 36);
  CHECK(static_cast<uint16_t>(MessageType::kMetricsPlan) == 37);
  CHECK(static_cast<uint16_t>(MessageType::kGlobalMetrics) == 39);
  CHECK(MessageTypeName(MessageType::kPeerAssignment) == "PeerAssignment");
  CHECK(MessageTypeName(MessageType::kMetricsModel) == "MetricsModel");
  CHECK(IsKnownMessageType(34));
  CHECK(IsKnownMessageType(39));
  CHECK(IsPeerMessageType(MessageType::kGlobalMetrics));
  CHECK_FALSE(IsKnownMessageType(43));  // 40-41: compressed updates, 42: GroupSum
  CHECK_FALSE(IsPeerMessageType(MessageType::kHello));
}

TEST_CASE("PeerAssignment keeps its fields and the training task") {
  const PeerAssignment m = SampleAssignment();
  const auto back = std::get<PeerAssignment>(
      DecodePeerMessage(MessageType::kPeerAssignment, Payload(EncodePeerMessage(m))));
  CHECK(back.run_id == "dsgd-ring");
  CHECK(back.node_index == 2);
  CHECK(back.num_nodes == 4);
  CHECK(back.rounds == 7);
  CHECK(back.seed == 0x1234567890abcdefULL);
  CHECK(back.update == "dgd");
  CHECK(back.schedule == "paper");
  CHECK(back.beta == 0.5);
  CHECK(back.round_timeout_seconds == 2.5);
  CHECK(back.test_subset == 500);
  CHECK(back.task.model_spec == m.task.model_spec);
  CHECK(back.task.recipe.batch_size == m.task.recipe.batch_size);
  CHECK(back.task.local.objective == m.task.local.objective);
  CHECK(back.task.parameters.size() == 0);  // never a model
  REQUIRE(back.neighbours.size() == 2);
  CHECK(back.neighbours[1].node_id == "node-3");
  CHECK(back.neighbours[1].index == 3);
  CHECK(back.neighbours[1].host == "::1");
  CHECK(back.neighbours[1].port == 40003);
}

TEST_CASE("PeerModel keeps round degree and parameters bit for bit") {
  PeerModel m;
  m.round = 4;
  m.degree = 2;
  m.parameters = testing::SampleParameters(12);
  const auto back = std::get<PeerModel>(
      DecodePeerMessage(MessageType::kPeerModel, Payload(EncodePeerMessage(m))));
  CHECK(back.round == 4);
  CHECK(back.degree == 2);
  CHECK(testing::SameBits(back.parameters, m.parameters));
}

TEST_CASE("MetricsPlan MetricsModel and GlobalMetrics keep their fields") {
  const std::vector<PeerMessage> all = AllPeerMessages();
  const auto plan = std::get<MetricsPlan>(
      DecodePeerMessage(MessageType::kMetricsPlan, Payload(EncodePeerMessage(all[5]))));
  CHECK(plan.metrics_node.node_id == "node-0");
  CHECK(plan.metrics_node.port == 40000);
  REQUIRE(plan.members.size() == 2);
  CHECK(plan.members[1].node_id == "node-2");
  CHECK(plan.members[1].index == 2);
  const auto model = std::get<MetricsModel>(
      DecodePeerMessage(MessageType::kMetricsModel, Payload(EncodePeerMessage(all[6]))));
  CHECK(model.round == 10);
  CHECK(testing::SameBits(model.parameters, std::get<MetricsModel>(all[6]).parameters));
  const auto global = std::get<GlobalMetrics>(
      DecodePeerMessage(MessageType::kGlobalMetrics, Payload(EncodePeerMessage(all[7]))));
  CHECK(global.round == 10);
  CHECK(global.nodes == 3);
  CHECK(global.average_loss == 0.625);
  CHECK(std::isnan(global.average_accuracy));
  CHECK(global.test_samples == 500);
  CHECK(global.consensus_distance == 1.5e-3);
}

TEST_CASE("A truncated or extended peer message is a ProtocolError") {
  for (const PeerMessage& m : AllPeerMessages()) {
    const std::vector<uint8_t> frame = EncodePeerMessage(m);
    std::vector<uint8_t> payload(frame.begin() + kFrameHeaderSize, frame.end());
    CAPTURE(MessageTypeName(TypeOf(m)));
    for (size_t cut : {size_t{0}, payload.size() / 2, payload.size() - 1}) {
      CHECK_THROWS_AS(DecodePeerMessage(TypeOf(m), std::span<const uint8_t>(payload.data(), cut)),
                      ProtocolError);
    }
    payload.push_back(0);
    CHECK_THROWS_WITH_AS(DecodePeerMessage(TypeOf(m), payload), doctest::Contains("trailing"),
                         ProtocolError);
  }
}

TEST_CASE("The session decoder refuses peer messages and the peer decoder session ones") {
  const std::vector<uint8_t> frame = EncodePeerMessage(PeerHello{"node-1", "run", 2});
  CHECK_THROWS_WITH_AS(DecodeMessage(MessageType::kPeerHello, Payload(frame)),
                       doctest::Contains("D-SGD peer message"), ProtocolError);
  CHECK_THROWS_AS(DecodePeerMessage(MessageType::kBye, {}), ProtocolError);
}

}  // namespace
}  // namespace edgefl::wire
