#include "wire/compressed_messages.h"

#include <cmath>
#include <limits>
#include <string>
#include <string_view>

#include "wire/byte_reader.h"
#include "wire/byte_writer.h"
#include "wire/protocol_error.h"

namespace edgefl::wire {
namespace {

void WriteBlob(ByteWriter& w, const std::vector<uint8_t>& bytes) {
  w.String(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

std::vector<uint8_t> ReadBlob(ByteReader& r, std::string_view field) {
  const std::string s = r.String(field, std::numeric_limits<size_t>::max());
  return std::vector<uint8_t>(s.begin(), s.end());
}

compress::Codec ReadCodec(ByteReader& r, std::string_view field) {
  const uint8_t value = r.U8(field);
  if (!compress::IsKnownCodec(value)) r.Fail(field, "unknown codec " + std::to_string(value));
  return static_cast<compress::Codec>(value);
}

// The codec's own layout (compress::Validate), as a ProtocolError.
void CheckEncoding(ByteReader& r, std::string_view field, compress::Codec codec,
                   const std::vector<uint8_t>& bytes) {
  try {
    compress::Validate(codec, bytes);
  } catch (const compress::CodecError& e) {
    r.Fail(field, e.what());
  }
}

void Write(ByteWriter& w, const CompressedModel& m) {
  w.I64(m.round);
  w.U8(static_cast<uint8_t>(m.upload.codec));
  w.F64(m.upload.topk_fraction);
  w.U32(m.upload.int8_block);
  w.Bool(m.model.delta);
  w.I64(m.model.base_version);
  w.I64(m.model.version);
  w.U8(static_cast<uint8_t>(m.model.codec));
  WriteBlob(w, m.model.bytes);
}

void Write(ByteWriter& w, const CompressedUpdate& m) {
  w.I64(m.round);
  w.U8(static_cast<uint8_t>(m.codec));
  WriteBlob(w, m.update);
}

CompressedModel ReadModel(ByteReader& r) {
  CompressedModel m;
  m.round = r.I64("round");
  m.upload.codec = ReadCodec(r, "upload.codec");
  m.upload.topk_fraction = r.F64("upload.topk_fraction");
  if (!(m.upload.topk_fraction > 0.0 && m.upload.topk_fraction <= 1.0)) {
    r.Fail("upload.topk_fraction",
           "must be in (0, 1], got " + std::to_string(m.upload.topk_fraction));
  }
  m.upload.int8_block = r.U32("upload.int8_block");
  if (m.upload.int8_block < 1 || m.upload.int8_block > (1u << 20)) {
    r.Fail("upload.int8_block",
           "must be in [1, 1048576], got " + std::to_string(m.upload.int8_block));
  }
  m.model.delta = r.Bool("model.delta");
  m.model.base_version = r.I64("model.base_version");
  m.model.version = r.I64("model.version");
  m.model.codec = ReadCodec(r, "model.codec");
  if (!m.model.delta && m.model.codec != compress::Codec::kNone) {
    r.Fail("model.codec", "a full model must be fp32 (codec none), got " +
                              std::string(compress::CodecName(m.model.codec)));
  }
  m.model.bytes = ReadBlob(r, "model.bytes");
  CheckEncoding(r, "model.bytes", m.model.codec, m.model.bytes);
  return m;
}

CompressedUpdate ReadUpdate(ByteReader& r) {
  CompressedUpdate m;
  m.round = r.I64("round");
  m.codec = ReadCodec(r, "codec");
  m.update = ReadBlob(r, "update");
  CheckEncoding(r, "update", m.codec, m.update);
  return m;
}

}  // namespace

bool IsCompressedMessageType(MessageType type) {
  return type == MessageType::kCompressedModel || type == MessageType::kCompressedUpdate;
}

MessageType TypeOf(const CompressedMessage& message) {
  return std::holds_alternative<CompressedModel>(message) ? MessageType::kCompressedModel
                                                          : MessageType::kCompressedUpdate;
}

std::vector<uint8_t> EncodeCompressedMessage(const CompressedMessage& message) {
  std::vector<uint8_t> payload;
  ByteWriter w(&payload);
  std::visit([&w](const auto& m) { Write(w, m); }, message);
  return EncodeFrame(TypeOf(message), payload);
}

CompressedMessage DecodeCompressedMessage(MessageType type, std::span<const uint8_t> payload) {
  if (!IsCompressedMessageType(type)) {
    throw ProtocolError("message: " + std::string(MessageTypeName(type)) +
                        " where a compressed-update message was expected");
  }
  ByteReader r(payload, MessageTypeName(type));
  CompressedMessage message;
  if (type == MessageType::kCompressedModel) {
    message = ReadModel(r);
  } else {
    message = ReadUpdate(r);
  }
  r.ExpectEnd();
  return message;
}

}  // namespace edgefl::wire
