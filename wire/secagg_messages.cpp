#include "wire/secagg_messages.h"

#include <string>
#include <utility>

#include "wire/byte_reader.h"
#include "wire/byte_writer.h"
#include "wire/messages.h"
#include "wire/protocol_error.h"

namespace edgefl::wire {
namespace {

void WriteBytes(ByteWriter& w, const privacy::Bytes& b) {
  w.String(std::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
}

privacy::Bytes ReadBytes(ByteReader& r, std::string_view field, size_t max_bytes) {
  const std::string s = r.String(field, max_bytes);
  return privacy::Bytes(s.begin(), s.end());
}

// A count of entries each at least `min_bytes` long, checked against the
// limit and the bytes left before anything is allocated.
uint32_t ReadCount(ByteReader& r, std::string_view field, size_t limit, size_t min_bytes) {
  const uint32_t count = r.U32(field);
  if (count > limit) {
    r.Fail(field, std::to_string(count) + " over limit " + std::to_string(limit));
  }
  if (static_cast<size_t>(count) * min_bytes > r.remaining()) {
    r.Fail(field, std::to_string(count) + " declared but " + std::to_string(r.remaining()) +
                      " bytes left");
  }
  return count;
}

void WriteKeys(ByteWriter& w, const privacy::PublicKeys& k) {
  w.U32(k.client);
  WriteBytes(w, k.cipher_key);
  WriteBytes(w, k.mask_key);
}

privacy::PublicKeys ReadKeys(ByteReader& r) {
  privacy::PublicKeys k;
  k.client = r.U32("client");
  k.cipher_key = ReadBytes(r, "cipher_key", kMaxSecAggKeyBytes);
  k.mask_key = ReadBytes(r, "mask_key", kMaxSecAggKeyBytes);
  return k;
}

void WriteShares(ByteWriter& w, const std::vector<privacy::EncryptedShare>& shares) {
  w.U32(static_cast<uint32_t>(shares.size()));
  for (const privacy::EncryptedShare& s : shares) {
    w.U32(s.from);
    w.U32(s.to);
    WriteBytes(w, s.ciphertext);
  }
}

std::vector<privacy::EncryptedShare> ReadShares(ByteReader& r) {
  const uint32_t count = ReadCount(r, "shares", kMaxSecAggClients, 12);
  std::vector<privacy::EncryptedShare> out(count);
  for (privacy::EncryptedShare& s : out) {
    s.from = r.U32("shares.from");
    s.to = r.U32("shares.to");
    s.ciphertext = ReadBytes(r, "shares.ciphertext", kMaxSecAggCiphertextBytes);
  }
  return out;
}

void WriteIndexedShares(ByteWriter& w,
                        const std::vector<std::pair<uint32_t, privacy::ShamirShare>>& shares) {
  w.U32(static_cast<uint32_t>(shares.size()));
  for (const auto& [v, s] : shares) {
    w.U32(v);
    w.U64(s.x);
    w.U32(static_cast<uint32_t>(s.y.size()));
    for (uint64_t y : s.y)
      w.U64(y);
  }
}

std::vector<std::pair<uint32_t, privacy::ShamirShare>> ReadIndexedShares(ByteReader& r,
                                                                         std::string_view field) {
  const uint32_t count = ReadCount(r, field, kMaxSecAggClients, 16);
  std::vector<std::pair<uint32_t, privacy::ShamirShare>> out(count);
  for (auto& [v, s] : out) {
    v = r.U32(field);
    s.x = r.U64(field);
    const uint32_t words = ReadCount(r, field, kMaxSecAggShareWords, 8);
    s.y.resize(words);
    for (uint64_t& y : s.y)
      y = r.U64(field);
  }
  return out;
}

size_t ValueBytes(uint32_t bits) {
  return (bits + 7) / 8;
}

void Write(ByteWriter& w, const SecAggTrain& m) {
  w.I64(m.round);
}

void Write(ByteWriter& w, const SecAggSetup& m) {
  const privacy::SecAggConfig& c = m.config;
  w.I64(c.round);
  w.U32(c.n);
  w.U32(c.k);
  w.U32(c.t);
  w.U64(c.graph_seed);
  w.U32(c.bits);
  w.U64(c.dimension);
  w.F64(c.clip);
  w.U64(c.levels);
  w.U32(c.max_weight);
  w.U32(c.min_survivors);
  w.U32(m.client);
  w.U64(m.rounding_seed);
  w.F64(m.dp_clip);
  w.F64(m.dp_noise_std);
}

void Write(ByteWriter& w, const SecAggKeys& m) {
  w.I64(m.round);
  WriteKeys(w, m.keys);
}

void Write(ByteWriter& w, const SecAggNeighbourKeys& m) {
  w.I64(m.round);
  w.U32(static_cast<uint32_t>(m.keys.neighbours.size()));
  for (const privacy::PublicKeys& k : m.keys.neighbours)
    WriteKeys(w, k);
}

void Write(ByteWriter& w, const SecAggShares& m) {
  w.I64(m.round);
  w.U32(m.shares.client);
  WriteShares(w, m.shares.shares);
}

void Write(ByteWriter& w, const SecAggRoutedShares& m) {
  w.I64(m.round);
  WriteShares(w, m.shares.shares);
}

void Write(ByteWriter& w, const SecAggMaskedInput& m) {
  w.I64(m.round);
  w.U32(m.input.client);
  const size_t width = ValueBytes(m.bits);
  w.U8(static_cast<uint8_t>(width));
  w.U32(static_cast<uint32_t>(m.input.masked.size()));
  for (uint32_t v : m.input.masked) {
    for (size_t b = 0; b < width; ++b)
      w.U8(static_cast<uint8_t>(v >> (8 * b)));
  }
}

void Write(ByteWriter& w, const SecAggUnmaskRequest& m) {
  w.I64(m.round);
  w.U32Array(m.request.survivors);
  w.U32Array(m.request.dropped);
}

void Write(ByteWriter& w, const SecAggUnmaskResponse& m) {
  w.I64(m.round);
  w.U32(m.response.client);
  WriteIndexedShares(w, m.response.self_mask_shares);
  WriteIndexedShares(w, m.response.mask_key_shares);
}

void Write(ByteWriter& w, const SecAggDone& m) {
  w.I64(m.round);
  w.Bool(m.ok);
  w.String(m.reason);
}

void Write(ByteWriter& w, const SecAggCohort& m) {
  w.I64(m.round);
  w.I64(m.task_round);
  w.F64(m.scale);
  w.Bool(m.uniform_weight);
}

SecAggSetup ReadSetup(ByteReader& r) {
  SecAggSetup m;
  privacy::SecAggConfig& c = m.config;
  c.round = r.I64("round");
  c.n = r.U32("n");
  c.k = r.U32("k");
  c.t = r.U32("t");
  c.graph_seed = r.U64("graph_seed");
  c.bits = r.U32("bits");
  if (c.bits < 1 || c.bits > 32) r.Fail("bits", std::to_string(c.bits) + " not in [1, 32]");
  c.dimension = r.U64("dimension");
  if (c.dimension >= kMaxSecAggValues) r.Fail("dimension", "over limit");
  c.clip = r.F64("clip");
  c.levels = r.U64("levels");
  c.max_weight = r.U32("max_weight");
  c.min_survivors = r.U32("min_survivors");
  m.client = r.U32("client");
  m.rounding_seed = r.U64("rounding_seed");
  m.dp_clip = r.F64("dp_clip");
  m.dp_noise_std = r.F64("dp_noise_std");
  return m;
}

SecAggNeighbourKeys ReadNeighbourKeys(ByteReader& r) {
  SecAggNeighbourKeys m;
  m.round = r.I64("round");
  const uint32_t count = ReadCount(r, "neighbours", kMaxSecAggClients, 12);
  m.keys.neighbours.reserve(count);
  for (uint32_t i = 0; i < count; ++i)
    m.keys.neighbours.push_back(ReadKeys(r));
  return m;
}

SecAggMaskedInput ReadMaskedInput(ByteReader& r) {
  SecAggMaskedInput m;
  m.round = r.I64("round");
  m.input.client = r.U32("client");
  const uint8_t width = r.U8("value_bytes");
  if (width < 1 || width > 4) r.Fail("value_bytes", std::to_string(width) + " not in [1, 4]");
  m.bits = 8u * width;
  const uint32_t count = ReadCount(r, "masked", kMaxSecAggValues, width);
  m.input.masked.resize(count);
  for (uint32_t& v : m.input.masked) {
    v = 0;
    for (size_t b = 0; b < width; ++b)
      v |= uint32_t{r.U8("masked")} << (8 * b);
  }
  return m;
}

SecAggUnmaskResponse ReadUnmaskResponse(ByteReader& r) {
  SecAggUnmaskResponse m;
  m.round = r.I64("round");
  m.response.client = r.U32("client");
  m.response.self_mask_shares = ReadIndexedShares(r, "self_mask_shares");
  m.response.mask_key_shares = ReadIndexedShares(r, "mask_key_shares");
  return m;
}

SecAggMessage Read(MessageType type, ByteReader& r) {
  switch (type) {
    case MessageType::kSecAggTrain:
      return SecAggTrain{r.I64("round")};
    case MessageType::kSecAggSetup:
      return ReadSetup(r);
    case MessageType::kSecAggKeys: {
      SecAggKeys m;
      m.round = r.I64("round");
      m.keys = ReadKeys(r);
      return m;
    }
    case MessageType::kSecAggNeighbourKeys:
      return ReadNeighbourKeys(r);
    case MessageType::kSecAggShares: {
      SecAggShares m;
      m.round = r.I64("round");
      m.shares.client = r.U32("client");
      m.shares.shares = ReadShares(r);
      return m;
    }
    case MessageType::kSecAggRoutedShares: {
      SecAggRoutedShares m;
      m.round = r.I64("round");
      m.shares.shares = ReadShares(r);
      return m;
    }
    case MessageType::kSecAggMaskedInput:
      return ReadMaskedInput(r);
    case MessageType::kSecAggUnmaskRequest: {
      SecAggUnmaskRequest m;
      m.round = r.I64("round");
      m.request.survivors = r.U32Vector("survivors", kMaxSecAggClients);
      m.request.dropped = r.U32Vector("dropped", kMaxSecAggClients);
      return m;
    }
    case MessageType::kSecAggUnmaskResponse:
      return ReadUnmaskResponse(r);
    case MessageType::kSecAggCohort: {
      SecAggCohort m;
      m.round = r.I64("round");
      m.task_round = r.I64("task_round");
      m.scale = r.F64("scale");
      if (!(m.scale > 0.0 && m.scale <= 1.0)) r.Fail("scale", "not in (0, 1]");
      m.uniform_weight = r.Bool("uniform_weight");
      return m;
    }
    default: {
      SecAggDone m;
      m.round = r.I64("round");
      m.ok = r.Bool("ok");
      m.reason = r.String("reason", kMaxTextBytes);
      return m;
    }
  }
}

}  // namespace

bool IsSecAggMessageType(MessageType type) {
  const auto raw = static_cast<uint16_t>(type);
  return raw >= static_cast<uint16_t>(MessageType::kSecAggTrain) &&
         raw <= static_cast<uint16_t>(MessageType::kSecAggCohort);
}

MessageType TypeOf(const SecAggMessage& message) {
  return static_cast<MessageType>(static_cast<uint16_t>(MessageType::kSecAggTrain) +
                                  message.index());
}

std::vector<uint8_t> EncodeSecAggPayload(const SecAggMessage& message) {
  std::vector<uint8_t> payload;
  ByteWriter w(&payload);
  std::visit([&w](const auto& m) { Write(w, m); }, message);
  return payload;
}

std::vector<uint8_t> EncodeSecAggMessage(const SecAggMessage& message) {
  return EncodeFrame(TypeOf(message), EncodeSecAggPayload(message));
}

SecAggMessage DecodeSecAggMessage(MessageType type, std::span<const uint8_t> payload) {
  if (!IsSecAggMessageType(type)) {
    throw ProtocolError("message: " + std::string(MessageTypeName(type)) +
                        " where a secure-aggregation message was expected");
  }
  ByteReader r(payload, MessageTypeName(type));
  SecAggMessage message = Read(type, r);
  r.ExpectEnd();
  return message;
}

}  // namespace edgefl::wire
