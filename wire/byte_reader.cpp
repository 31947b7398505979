#include "wire/byte_reader.h"

#include <bit>
#include <cstring>
#include <string>

#include "wire/endian.h"
#include "wire/protocol_error.h"

namespace edgefl::wire {

using internal::kHostIsLittleEndian;
using internal::LoadLittle;

void ByteReader::Fail(std::string_view field, std::string_view what) const {
  std::string msg(message_);
  if (!field.empty()) {
    msg += '.';
    msg += field;
  }
  msg += ": ";
  msg += what;
  throw ProtocolError(msg);
}

const uint8_t* ByteReader::Take(std::string_view field, size_t n) {
  if (n > remaining()) {
    Fail(field, "truncated, " + std::to_string(n) + " bytes needed but " +
                    std::to_string(remaining()) + " left");
  }
  const uint8_t* p = data_.data() + pos_;
  pos_ += n;
  return p;
}

uint8_t ByteReader::U8(std::string_view field) {
  return *Take(field, 1);
}

bool ByteReader::Bool(std::string_view field) {
  const uint8_t b = U8(field);
  if (b > 1) Fail(field, "bool must be 0 or 1, got " + std::to_string(b));
  return b == 1;
}

uint16_t ByteReader::U16(std::string_view field) {
  return LoadLittle<uint16_t>(Take(field, 2));
}
uint32_t ByteReader::U32(std::string_view field) {
  return LoadLittle<uint32_t>(Take(field, 4));
}
uint64_t ByteReader::U64(std::string_view field) {
  return LoadLittle<uint64_t>(Take(field, 8));
}
float ByteReader::F32(std::string_view field) {
  return std::bit_cast<float>(U32(field));
}
double ByteReader::F64(std::string_view field) {
  return std::bit_cast<double>(U64(field));
}

std::string ByteReader::String(std::string_view field, size_t max_bytes) {
  const uint32_t n = U32(field);
  if (n > max_bytes) {
    Fail(field,
         "length " + std::to_string(n) + " over limit " + std::to_string(max_bytes) + " bytes");
  }
  if (n > remaining()) {
    Fail(field, std::to_string(n) + " bytes declared but " + std::to_string(remaining()) + " left");
  }
  const uint8_t* p = Take(field, n);
  return std::string(reinterpret_cast<const char*>(p), n);
}

Eigen::VectorXf ByteReader::F32Vector(std::string_view field) {
  const uint32_t n = U32(field);
  // Checked before allocating: the floats must already be in the payload.
  if (static_cast<uint64_t>(n) * 4 > remaining()) {
    Fail(field,
         std::to_string(n) + " floats declared but " + std::to_string(remaining()) + " bytes left");
  }
  const uint8_t* p = Take(field, static_cast<size_t>(n) * 4);
  Eigen::VectorXf out(static_cast<Eigen::Index>(n));
  if constexpr (kHostIsLittleEndian) {
    if (n > 0) std::memcpy(out.data(), p, static_cast<size_t>(n) * 4);  // the one copy
  } else {
    for (uint32_t i = 0; i < n; ++i)
      out[i] = std::bit_cast<float>(LoadLittle<uint32_t>(p + 4 * i));
  }
  return out;
}

std::vector<uint32_t> ByteReader::U32Vector(std::string_view field, size_t max_count) {
  const uint32_t n = U32(field);
  if (n > max_count) {
    Fail(field, "count " + std::to_string(n) + " over limit " + std::to_string(max_count));
  }
  if (static_cast<uint64_t>(n) * 4 > remaining()) {
    Fail(field, std::to_string(n) + " integers declared but " + std::to_string(remaining()) +
                    " bytes left");
  }
  std::vector<uint32_t> out(n);
  for (uint32_t i = 0; i < n; ++i)
    out[i] = U32(field);
  return out;
}

std::vector<double> ByteReader::F64Vector(std::string_view field, size_t max_count) {
  const uint32_t n = U32(field);
  if (n > max_count) {
    Fail(field, "count " + std::to_string(n) + " over limit " + std::to_string(max_count));
  }
  if (static_cast<uint64_t>(n) * 8 > remaining()) {
    Fail(field, std::to_string(n) + " doubles declared but " + std::to_string(remaining()) +
                    " bytes left");
  }
  const uint8_t* p = Take(field, static_cast<size_t>(n) * 8);
  std::vector<double> out(n);
  if constexpr (kHostIsLittleEndian) {
    if (n > 0) std::memcpy(out.data(), p, static_cast<size_t>(n) * 8);
  } else {
    for (uint32_t i = 0; i < n; ++i)
      out[i] = std::bit_cast<double>(LoadLittle<uint64_t>(p + 8 * i));
  }
  return out;
}

void ByteReader::ExpectEnd() const {
  if (remaining() != 0) {
    Fail("", std::to_string(remaining()) + " trailing bytes after the last field");
  }
}

}  // namespace edgefl::wire
