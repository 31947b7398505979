// Helpers for the dataset loader tests: building IDX files in memory,
// writing them gzip-compressed, and capturing an exception's message.
#pragma once

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <zlib.h>

namespace edgefl::testing {

// The bytes of an IDX file: magic 0x00 0x00 <type> <ndims>, big-endian
// dimension sizes, then `data` as is (not checked against the dimensions).
inline std::string IdxBytes(const std::vector<uint32_t>& dims, std::string_view data,
                            uint8_t type = 0x08) {
  std::string out = {0, 0, static_cast<char>(type), static_cast<char>(dims.size())};
  for (uint32_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8)
      out.push_back(static_cast<char>(d >> shift));
  }
  out.append(data);
  return out;
}

// `n` deterministic, poorly compressible bytes.
inline std::string PseudoRandomBytes(size_t n, uint32_t seed = 1) {
  std::string out(n, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (char& c : out) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x >> 24);
  }
  return out;
}

// Writes `bytes` gzip-compressed to `path`.
inline void WriteGzFile(const std::filesystem::path& path, std::string_view bytes) {
  gzFile f = gzopen(path.string().c_str(), "wb");
  if (f == nullptr) throw std::runtime_error("gzopen failed: " + path.string());
  const int n = gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  const int rc = gzclose(f);
  if (n != static_cast<int>(bytes.size()) || rc != Z_OK) {
    throw std::runtime_error("gzwrite failed: " + path.string());
  }
}

// Runs `f` and returns the message of the exception of type E it throws, or
// "<no exception>" (which no message check will accept). Other exception
// types propagate and fail the test case.
template <typename E, typename F>
std::string ThrownMessage(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "<no exception>";
}

}  // namespace edgefl::testing
