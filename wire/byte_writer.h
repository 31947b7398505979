// ByteWriter: appends the primitive field encodings of docs/protocol.md to a
// byte buffer. Every integer and float is little-endian; floats are
// IEEE-754 binary32/binary64. Strings and arrays carry a uint32 count first.
//
// The writer does not enforce the decoder's limits (kMaxIdBytes, ...):
// encoding an over-long field produces a message the peer will refuse, so
// callers that take strings from users check them first.
//
// Thread-safety: none; one writer per message being encoded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace edgefl::wire {

class ByteWriter {
 public:
  // Appends to `out` (not owned, must outlive the writer); existing contents
  // are kept, so a frame header can be reserved first.
  explicit ByteWriter(std::vector<uint8_t>* out) : out_(out) {}

  void U8(uint8_t v) { out_->push_back(v); }
  void Bool(bool v) { out_->push_back(v ? 1 : 0); }
  void U16(uint16_t v);
  void U32(uint32_t v);
  void U64(uint64_t v);
  void I32(int32_t v) { U32(static_cast<uint32_t>(v)); }
  void I64(int64_t v) { U64(static_cast<uint64_t>(v)); }
  void F32(float v);
  void F64(double v);
  // uint32 byte count, then the bytes (no terminator).
  void String(std::string_view v);
  // uint32 element count, then the elements; one memcpy on little-endian
  // hosts. REQUIRES: values.size() < 2^32.
  void F32Array(std::span<const float> values);
  void F64Array(std::span<const double> values);
  void U32Array(std::span<const uint32_t> values);

  // Bytes written so far, including whatever `out` held before.
  size_t size() const { return out_->size(); }

 private:
  void Append(const void* data, size_t n);

  std::vector<uint8_t>* out_;
};

}  // namespace edgefl::wire
