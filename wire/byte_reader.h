// ByteReader: reads the primitive field encodings of docs/protocol.md from
// one message payload, bounds-checked. Every failure is a ProtocolError
// naming the message and the field, e.g.
//   "TrainResult.round: truncated, 8 bytes needed but 3 left"
//   "TrainResult.parameters: 1000 floats declared but 12 bytes left"
//   "Hello.client_id: length 5000 over limit 256 bytes"
// A declared count is checked against the bytes left (and the field's limit)
// before anything is allocated, so hostile input cannot make the reader
// allocate more than the payload's own size.
//
// Thread-safety: none; one reader per payload. The payload must outlive it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <Eigen/Core>

namespace edgefl::wire {

class ByteReader {
 public:
  // `message` names the message in every error ("TrainTask").
  ByteReader(std::span<const uint8_t> payload, std::string_view message)
      : data_(payload), message_(message) {}

  // Each read names its field for the error message ("recipe.batch_size").
  uint8_t U8(std::string_view field);
  // Exactly 0 or 1; any other byte is a ProtocolError.
  bool Bool(std::string_view field);
  uint16_t U16(std::string_view field);
  uint32_t U32(std::string_view field);
  uint64_t U64(std::string_view field);
  int32_t I32(std::string_view field) { return static_cast<int32_t>(U32(field)); }
  int64_t I64(std::string_view field) { return static_cast<int64_t>(U64(field)); }
  // Any bit pattern, NaN and Inf included.
  float F32(std::string_view field);
  double F64(std::string_view field);
  // At most `max_bytes` bytes; not checked for UTF-8.
  std::string String(std::string_view field, size_t max_bytes);
  // Float arrays: count checked against the bytes left, then one memcpy
  // (little-endian hosts). NaN/Inf values are returned as they are.
  Eigen::VectorXf F32Vector(std::string_view field);
  // At most `max_count` elements.
  std::vector<double> F64Vector(std::string_view field, size_t max_count);
  // At most `max_count` elements, checked against the bytes left first.
  std::vector<uint32_t> U32Vector(std::string_view field, size_t max_count);

  // Throws ProtocolError if any byte is left ("Bye: 3 trailing bytes after
  // the last field").
  void ExpectEnd() const;

  // Throws ProtocolError "<message>.<field>: <what>". Used by message
  // decoders for semantic checks (duplicate keys, unknown tags).
  [[noreturn]] void Fail(std::string_view field, std::string_view what) const;

  size_t remaining() const { return data_.size() - pos_; }
  std::string_view message() const { return message_; }

 private:
  // Pointer to the next `n` bytes, advancing past them; throws if fewer left.
  const uint8_t* Take(std::string_view field, size_t n);

  std::span<const uint8_t> data_;
  size_t pos_ = 0;
  std::string_view message_;
};

}  // namespace edgefl::wire
