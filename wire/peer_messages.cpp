#include "wire/peer_messages.h"

#include <string>
#include <utility>

#include "wire/byte_reader.h"
#include "wire/byte_writer.h"
#include "wire/protocol_error.h"

namespace edgefl::wire {
namespace {

void Write(ByteWriter& w, const PeerJoin& m) {
  w.U16(m.protocol_version);
  w.String(m.agent);
  w.String(m.listen_host);
  w.U16(m.listen_port);
  w.U64(m.dataset_size);
}

void Write(ByteWriter& w, const PeerAssignment& m) {
  w.String(m.run_id);
  w.U32(m.node_index);
  w.U32(m.num_nodes);
  w.I64(m.rounds);
  w.U64(m.seed);
  w.String(m.topology);
  w.F64(m.beta);
  w.F64(m.tau_alpha);
  w.F64(m.tau_beta);
  w.String(m.update);
  w.String(m.schedule);
  w.F64(m.round_timeout_seconds);
  w.I64(m.eval_every);
  w.I64(m.test_subset);
  // The training task as a TrainTask payload (messages.h), length-prefixed.
  TrainTask task = m.task;
  task.parameters.resize(0);
  const std::vector<uint8_t> payload = EncodePayload(task);
  w.U32(static_cast<uint32_t>(payload.size()));
  for (uint8_t b : payload)
    w.U8(b);
  w.U32(static_cast<uint32_t>(m.neighbours.size()));
  for (const PeerAddress& a : m.neighbours) {
    w.String(a.node_id);
    w.U32(a.index);
    w.String(a.host);
    w.U16(a.port);
  }
}

void Write(ByteWriter& w, const NodeReport& m) {
  w.I64(m.round);
  w.U64(m.num_samples);
  w.I64(m.local_steps);
  w.F64(m.loss_before);
  w.F64(m.loss_after);
  w.F64(m.compute_seconds);
  w.F64(m.test_loss);
  w.F64(m.test_accuracy);
  w.U64(m.test_samples);
  w.F64(m.neighbourhood_loss);
  w.F64(m.neighbourhood_accuracy);
  w.F64(m.local_consensus);
  w.U64(m.bytes_sent);
  w.U64(m.bytes_received);
  w.U32(m.live_neighbours);
  w.U32(m.mixed_neighbours);
}

void Write(ByteWriter& w, const PeerHello& m) {
  w.String(m.node_id);
  w.String(m.run_id);
  w.U16(m.protocol_version);
}

void Write(ByteWriter& w, const PeerModel& m) {
  w.I64(m.round);
  w.U32(m.degree);
  w.F32Array(std::span<const float>(m.parameters.data(), static_cast<size_t>(m.parameters.size())));
}

void Write(ByteWriter& w, const PeerAddress& a) {
  w.String(a.node_id);
  w.U32(a.index);
  w.String(a.host);
  w.U16(a.port);
}

void Write(ByteWriter& w, const MetricsPlan& m) {
  Write(w, m.metrics_node);
  w.U32(static_cast<uint32_t>(m.members.size()));
  for (const PeerAddress& a : m.members)
    Write(w, a);
}

void Write(ByteWriter& w, const MetricsModel& m) {
  w.I64(m.round);
  w.F32Array(std::span<const float>(m.parameters.data(), static_cast<size_t>(m.parameters.size())));
}

void Write(ByteWriter& w, const GlobalMetrics& m) {
  w.I64(m.round);
  w.U32(m.nodes);
  w.F64(m.average_loss);
  w.F64(m.average_accuracy);
  w.U64(m.test_samples);
  w.F64(m.consensus_distance);
}

PeerJoin ReadPeerJoin(ByteReader& r) {
  PeerJoin m;
  m.protocol_version = r.U16("protocol_version");
  m.agent = r.String("agent", kMaxIdBytes);
  m.listen_host = r.String("listen_host", kMaxIdBytes);
  m.listen_port = r.U16("listen_port");
  m.dataset_size = r.U64("dataset_size");
  return m;
}

PeerAssignment ReadPeerAssignment(ByteReader& r) {
  PeerAssignment m;
  m.run_id = r.String("run_id", kMaxIdBytes);
  m.node_index = r.U32("node_index");
  m.num_nodes = r.U32("num_nodes");
  m.rounds = r.I64("rounds");
  m.seed = r.U64("seed");
  m.topology = r.String("topology", kMaxIdBytes);
  m.beta = r.F64("beta");
  m.tau_alpha = r.F64("tau_alpha");
  m.tau_beta = r.F64("tau_beta");
  m.update = r.String("update", kMaxIdBytes);
  m.schedule = r.String("schedule", kMaxIdBytes);
  m.round_timeout_seconds = r.F64("round_timeout_seconds");
  m.eval_every = r.I64("eval_every");
  m.test_subset = r.I64("test_subset");
  const uint32_t task_bytes = r.U32("task");
  if (task_bytes > r.remaining()) {
    r.Fail("task", std::to_string(task_bytes) + " bytes declared but " +
                       std::to_string(r.remaining()) + " left");
  }
  std::vector<uint8_t> payload(task_bytes);
  for (uint8_t& b : payload)
    b = r.U8("task");
  try {
    m.task = std::get<TrainTask>(DecodeMessage(MessageType::kTrainTask, payload));
  } catch (const ProtocolError& e) {
    r.Fail("task", e.what());
  }
  const uint32_t count = r.U32("neighbours");
  if (count > kMaxNeighbours) {
    r.Fail("neighbours", std::to_string(count) + " over limit " + std::to_string(kMaxNeighbours));
  }
  // Each entry takes at least 4 + 4 + 4 + 2 bytes.
  if (static_cast<size_t>(count) * 14 > r.remaining()) {
    r.Fail("neighbours", std::to_string(count) + " declared but " + std::to_string(r.remaining()) +
                             " bytes left");
  }
  m.neighbours.resize(count);
  for (PeerAddress& a : m.neighbours) {
    a.node_id = r.String("neighbours.node_id", kMaxIdBytes);
    a.index = r.U32("neighbours.index");
    a.host = r.String("neighbours.host", kMaxIdBytes);
    a.port = r.U16("neighbours.port");
  }
  return m;
}

NodeReport ReadNodeReport(ByteReader& r) {
  NodeReport m;
  m.round = r.I64("round");
  m.num_samples = r.U64("num_samples");
  m.local_steps = r.I64("local_steps");
  m.loss_before = r.F64("loss_before");
  m.loss_after = r.F64("loss_after");
  m.compute_seconds = r.F64("compute_seconds");
  m.test_loss = r.F64("test_loss");
  m.test_accuracy = r.F64("test_accuracy");
  m.test_samples = r.U64("test_samples");
  m.neighbourhood_loss = r.F64("neighbourhood_loss");
  m.neighbourhood_accuracy = r.F64("neighbourhood_accuracy");
  m.local_consensus = r.F64("local_consensus");
  m.bytes_sent = r.U64("bytes_sent");
  m.bytes_received = r.U64("bytes_received");
  m.live_neighbours = r.U32("live_neighbours");
  m.mixed_neighbours = r.U32("mixed_neighbours");
  return m;
}

PeerHello ReadPeerHello(ByteReader& r) {
  PeerHello m;
  m.node_id = r.String("node_id", kMaxIdBytes);
  m.run_id = r.String("run_id", kMaxIdBytes);
  m.protocol_version = r.U16("protocol_version");
  return m;
}

PeerModel ReadPeerModel(ByteReader& r) {
  PeerModel m;
  m.round = r.I64("round");
  m.degree = r.U32("degree");
  m.parameters = r.F32Vector("parameters");
  return m;
}

PeerAddress ReadPeerAddress(ByteReader& r, const std::string& field) {
  PeerAddress a;
  a.node_id = r.String(field + ".node_id", kMaxIdBytes);
  a.index = r.U32(field + ".index");
  a.host = r.String(field + ".host", kMaxIdBytes);
  a.port = r.U16(field + ".port");
  return a;
}

MetricsPlan ReadMetricsPlan(ByteReader& r) {
  MetricsPlan m;
  m.metrics_node = ReadPeerAddress(r, "metrics_node");
  const uint32_t count = r.U32("members");
  if (count > kMaxNeighbours) {
    r.Fail("members", std::to_string(count) + " over limit " + std::to_string(kMaxNeighbours));
  }
  // Each entry takes at least 4 + 4 + 4 + 2 bytes.
  if (static_cast<size_t>(count) * 14 > r.remaining()) {
    r.Fail("members", std::to_string(count) + " declared but " + std::to_string(r.remaining()) +
                          " bytes left");
  }
  m.members.resize(count);
  for (PeerAddress& a : m.members)
    a = ReadPeerAddress(r, "members");
  return m;
}

MetricsModel ReadMetricsModel(ByteReader& r) {
  MetricsModel m;
  m.round = r.I64("round");
  m.parameters = r.F32Vector("parameters");
  return m;
}

GlobalMetrics ReadGlobalMetrics(ByteReader& r) {
  GlobalMetrics m;
  m.round = r.I64("round");
  m.nodes = r.U32("nodes");
  m.average_loss = r.F64("average_loss");
  m.average_accuracy = r.F64("average_accuracy");
  m.test_samples = r.U64("test_samples");
  m.consensus_distance = r.F64("consensus_distance");
  return m;
}

template <typename M>
PeerMessage FinishPeer(const ByteReader& r, M message) {
  r.ExpectEnd();
  return PeerMessage(std::move(message));
}

}  // namespace

bool IsPeerMessageType(MessageType type) {
  const auto raw = static_cast<uint16_t>(type);
  return raw >= static_cast<uint16_t>(MessageType::kPeerJoin) &&
         raw <= static_cast<uint16_t>(MessageType::kGlobalMetrics);
}

MessageType TypeOf(const PeerMessage& message) {
  static constexpr MessageType kTypes[] = {MessageType::kPeerJoin,     MessageType::kPeerAssignment,
                                           MessageType::kNodeReport,   MessageType::kPeerHello,
                                           MessageType::kPeerModel,    MessageType::kMetricsPlan,
                                           MessageType::kMetricsModel, MessageType::kGlobalMetrics};
  return kTypes[message.index()];
}

std::vector<uint8_t> EncodePeerMessage(const PeerMessage& message) {
  std::vector<uint8_t> frame(kFrameHeaderSize);
  ByteWriter w(&frame);
  std::visit([&w](const auto& m) { Write(w, m); }, message);
  FrameHeader header;
  header.version = kProtocolVersion;
  header.type = TypeOf(message);
  header.payload_length = static_cast<uint32_t>(frame.size() - kFrameHeaderSize);
  WriteFrameHeader(header, std::span<uint8_t, kFrameHeaderSize>(frame.data(), kFrameHeaderSize));
  return frame;
}

PeerMessage DecodePeerMessage(MessageType type, std::span<const uint8_t> payload) {
  if (!IsPeerMessageType(type)) {
    throw ProtocolError("message: " + std::string(MessageTypeName(type)) +
                        " where a D-SGD peer message was expected");
  }
  ByteReader r(payload, MessageTypeName(type));
  switch (type) {
    case MessageType::kPeerJoin:
      return FinishPeer(r, ReadPeerJoin(r));
    case MessageType::kPeerAssignment:
      return FinishPeer(r, ReadPeerAssignment(r));
    case MessageType::kNodeReport:
      return FinishPeer(r, ReadNodeReport(r));
    case MessageType::kPeerHello:
      return FinishPeer(r, ReadPeerHello(r));
    case MessageType::kMetricsPlan:
      return FinishPeer(r, ReadMetricsPlan(r));
    case MessageType::kMetricsModel:
      return FinishPeer(r, ReadMetricsModel(r));
    case MessageType::kGlobalMetrics:
      return FinishPeer(r, ReadGlobalMetrics(r));
    default:
      return FinishPeer(r, ReadPeerModel(r));
  }
}

}  // namespace edgefl::wire
