#include "storage/checkpoint.h"

#include <bit>
#include <cstdint>
#include <cstring>
#include <limits>

#include <openssl/evp.h>

#include "common/error.h"

namespace edgefl::storage {

namespace {

static_assert(sizeof(float) == 4 && std::numeric_limits<float>::is_iec559);

// Used only on big-endian hosts (a discarded branch elsewhere).
[[maybe_unused]] uint32_t ToLittleEndian(uint32_t value) {
  if constexpr (std::endian::native == std::endian::little) {
    return value;
  } else {
    return ((value & 0xffu) << 24) | ((value & 0xff00u) << 8) | ((value >> 8) & 0xff00u) |
           (value >> 24);
  }
}

}  // namespace

std::string EncodeParameters(const Eigen::VectorXf& parameters) {
  std::string bytes(static_cast<size_t>(parameters.size()) * 4, '\0');
  if constexpr (std::endian::native == std::endian::little) {
    if (!bytes.empty()) std::memcpy(bytes.data(), parameters.data(), bytes.size());
  } else {
    for (Eigen::Index i = 0; i < parameters.size(); ++i) {
      const uint32_t word = ToLittleEndian(std::bit_cast<uint32_t>(parameters[i]));
      std::memcpy(bytes.data() + 4 * i, &word, 4);
    }
  }
  return bytes;
}

std::string Sha256Hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    throw IoError("OpenSSL: SHA-256 failed");
  }
  static const char* kDigits = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * length);
  for (unsigned int i = 0; i < length; ++i) {
    hex += kDigits[digest[i] >> 4];
    hex += kDigits[digest[i] & 0xf];
  }
  return hex;
}

Eigen::VectorXf DecodeParameters(std::string_view blob, const std::string& what) {
  if (blob.size() % 4 != 0) {
    throw DataError(what + " is corrupted: its blob has " + std::to_string(blob.size()) +
                    " bytes, not a whole number of float32 values");
  }
  const auto count = static_cast<Eigen::Index>(blob.size() / 4);
  Eigen::VectorXf values(count);
  if constexpr (std::endian::native == std::endian::little) {
    if (!blob.empty()) std::memcpy(values.data(), blob.data(), blob.size());
  } else {
    for (Eigen::Index i = 0; i < count; ++i) {
      uint32_t word = 0;
      std::memcpy(&word, blob.data() + 4 * i, 4);
      values[i] = std::bit_cast<float>(ToLittleEndian(word));
    }
  }
  return values;
}

Eigen::VectorXf DecodeVerifiedParameters(std::string_view blob, int64_t num_parameters,
                                         std::string_view sha256_hex, const std::string& what) {
  if (num_parameters < 0 || blob.size() != static_cast<uint64_t>(num_parameters) * 4) {
    throw DataError(what + " is corrupted: the model blob has " + std::to_string(blob.size()) +
                    " bytes, expected 4 * " + std::to_string(num_parameters) + " parameters");
  }
  const std::string actual = Sha256Hex(blob);
  if (actual != sha256_hex) {
    throw DataError(what + " is corrupted: the SHA-256 of the model blob is " + actual +
                    ", the recorded one is " + std::string(sha256_hex));
  }
  return DecodeParameters(blob, what);
}

}  // namespace edgefl::storage
