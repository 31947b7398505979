#include "wire/byte_writer.h"

#include <bit>

#include "wire/endian.h"

namespace edgefl::wire {

using internal::kHostIsLittleEndian;
using internal::StoreLittle;

void ByteWriter::Append(const void* data, size_t n) {
  if (n == 0) return;
  const auto* p = static_cast<const uint8_t*>(data);
  out_->insert(out_->end(), p, p + n);  // one copy, no zero-fill first
}

void ByteWriter::U16(uint16_t v) {
  uint8_t b[2];
  StoreLittle(v, b);
  Append(b, sizeof b);
}

void ByteWriter::U32(uint32_t v) {
  uint8_t b[4];
  StoreLittle(v, b);
  Append(b, sizeof b);
}

void ByteWriter::U64(uint64_t v) {
  uint8_t b[8];
  StoreLittle(v, b);
  Append(b, sizeof b);
}

void ByteWriter::F32(float v) {
  U32(std::bit_cast<uint32_t>(v));
}
void ByteWriter::F64(double v) {
  U64(std::bit_cast<uint64_t>(v));
}

void ByteWriter::String(std::string_view v) {
  U32(static_cast<uint32_t>(v.size()));
  Append(v.data(), v.size());
}

void ByteWriter::F32Array(std::span<const float> values) {
  U32(static_cast<uint32_t>(values.size()));
  if constexpr (kHostIsLittleEndian) {
    Append(values.data(), values.size_bytes());  // the one copy of the parameters
  } else {
    for (float v : values)
      F32(v);
  }
}

void ByteWriter::F64Array(std::span<const double> values) {
  U32(static_cast<uint32_t>(values.size()));
  if constexpr (kHostIsLittleEndian) {
    Append(values.data(), values.size_bytes());
  } else {
    for (double v : values)
      F64(v);
  }
}

void ByteWriter::U32Array(std::span<const uint32_t> values) {
  U32(static_cast<uint32_t>(values.size()));
  for (uint32_t v : values)
    U32(v);
}

}  // namespace edgefl::wire
