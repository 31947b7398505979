// Little-endian load/store helpers shared by the codec (internal to wire/).
// The wire format is little-endian; on little-endian hosts these are plain
// memcpys, on big-endian hosts they byte-swap. Mixed-endian hosts are not
// supported.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace edgefl::wire::internal {

static_assert(std::endian::native == std::endian::little || std::endian::native == std::endian::big,
              "edgefl's wire codec needs a little- or big-endian host");
static_assert(sizeof(float) == 4 && sizeof(double) == 8, "IEEE-754 binary32/binary64 expected");

inline constexpr bool kHostIsLittleEndian = std::endian::native == std::endian::little;

template <typename UInt>
constexpr UInt ByteSwap(UInt v) {
  UInt out = 0;
  for (size_t i = 0; i < sizeof(UInt); ++i) {
    out = static_cast<UInt>((out << 8) | ((v >> (8 * i)) & 0xFF));
  }
  return out;
}

// Reads a little-endian unsigned integer from `p` (any alignment).
template <typename UInt>
UInt LoadLittle(const uint8_t* p) {
  UInt v;
  std::memcpy(&v, p, sizeof(UInt));
  if constexpr (!kHostIsLittleEndian) v = ByteSwap(v);
  return v;
}

// Writes `v` little-endian to `p` (any alignment).
template <typename UInt>
void StoreLittle(UInt v, uint8_t* p) {
  if constexpr (!kHostIsLittleEndian) v = ByteSwap(v);
  std::memcpy(p, &v, sizeof(UInt));
}

}  // namespace edgefl::wire::internal
