#include "wire/group_messages.h"

#include <string>

#include "wire/byte_reader.h"
#include "wire/byte_writer.h"
#include "wire/protocol_error.h"

namespace edgefl::wire {
namespace {

void Write(ByteWriter& w, const GroupSum& m) {
  w.I64(m.round);
  w.U32(m.clients);
  w.U32(m.dropped);
  w.U64(m.weight);
  w.F32Array(std::span<const float>(m.sum.data(), static_cast<size_t>(m.sum.size())));
}

GroupSum ReadGroupSum(ByteReader& r) {
  GroupSum m;
  m.round = r.I64("round");
  m.clients = r.U32("clients");
  if (m.clients == 0) r.Fail("clients", "a group sum of no client");
  m.dropped = r.U32("dropped");
  m.weight = r.U64("weight");
  if (m.weight == 0) r.Fail("weight", "a group sum of no samples");
  m.sum = r.F32Vector("sum");
  return m;
}

}  // namespace

bool IsGroupMessageType(MessageType type) {
  return type == MessageType::kGroupSum;
}

MessageType TypeOf(const GroupMessage& message) {
  (void)message;
  return MessageType::kGroupSum;
}

std::vector<uint8_t> EncodeGroupMessage(const GroupMessage& message) {
  std::vector<uint8_t> payload;
  ByteWriter w(&payload);
  std::visit([&w](const auto& m) { Write(w, m); }, message);
  return EncodeFrame(TypeOf(message), payload);
}

GroupMessage DecodeGroupMessage(MessageType type, std::span<const uint8_t> payload) {
  if (!IsGroupMessageType(type)) {
    throw ProtocolError("message: " + std::string(MessageTypeName(type)) +
                        " where an edge-aggregator message was expected");
  }
  ByteReader r(payload, MessageTypeName(type));
  GroupMessage message = ReadGroupSum(r);
  r.ExpectEnd();
  return message;
}

}  // namespace edgefl::wire
