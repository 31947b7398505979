#include "privacy/shamir.h"

#include <algorithm>
#include <cstring>
#include <set>
#include <string>

#include "common/error.h"
#include "privacy/secagg_crypto.h"

namespace edgefl::privacy {
namespace {

constexpr size_t kChunkBytes = 7;

// GCC/Clang's 128-bit integer (__extension__: not ISO C++).
__extension__ typedef unsigned __int128 Uint128;

uint64_t Reduce(Uint128 v) {
  // p = 2^61 − 1: v = hi·2^61 + lo ≡ hi + lo.
  uint64_t lo = static_cast<uint64_t>(v) & kShamirPrime;
  uint64_t hi = static_cast<uint64_t>(v >> 61);
  uint64_t r = lo + hi;
  while (r >= kShamirPrime)
    r -= kShamirPrime;
  return r;
}

uint64_t Add(uint64_t a, uint64_t b) {
  uint64_t r = a + b;
  return r >= kShamirPrime ? r - kShamirPrime : r;
}

uint64_t Sub(uint64_t a, uint64_t b) {
  return a >= b ? a - b : a + kShamirPrime - b;
}

size_t ChunkCount(size_t bytes) {
  return (bytes + kChunkBytes - 1) / kChunkBytes;
}

uint64_t RandomFieldElement() {
  // 61 random bits, rejected until below p (a 2^-61 chance per draw).
  for (;;) {
    uint8_t bytes[8];
    SecureRandomBytes(bytes);
    uint64_t v = 0;
    std::memcpy(&v, bytes, sizeof(v));
    v &= kShamirPrime;
    if (v < kShamirPrime) return v;
  }
}

}  // namespace

uint64_t FieldMul(uint64_t a, uint64_t b) {
  return Reduce(static_cast<Uint128>(a) * static_cast<Uint128>(b));
}

uint64_t FieldInverse(uint64_t a) {
  if (a % kShamirPrime == 0) throw Error("shamir: 0 has no inverse");
  // a^(p−2) by square and multiply (Fermat).
  uint64_t result = 1;
  uint64_t base = a % kShamirPrime;
  for (uint64_t e = kShamirPrime - 2; e != 0; e >>= 1) {
    if (e & 1) result = FieldMul(result, base);
    base = FieldMul(base, base);
  }
  return result;
}

std::vector<ShamirShare> ShamirSplit(std::span<const uint8_t> secret, size_t threshold,
                                     std::span<const uint64_t> xs) {
  if (threshold == 0 || threshold > xs.size()) {
    throw Error("shamir: threshold " + std::to_string(threshold) + " must be in [1, " +
                std::to_string(xs.size()) + "] (the number of holders)");
  }
  std::set<uint64_t> seen;
  for (uint64_t x : xs) {
    if (x == 0 || x >= kShamirPrime || !seen.insert(x).second) {
      throw Error("shamir: evaluation point " + std::to_string(x) +
                  " is 0, outside the field or repeated");
    }
  }
  const size_t chunks = ChunkCount(secret.size());
  std::vector<ShamirShare> shares(xs.size());
  for (size_t h = 0; h < xs.size(); ++h) {
    shares[h].x = xs[h];
    shares[h].y.resize(chunks);
  }
  std::vector<uint64_t> coefficients(threshold);
  for (size_t c = 0; c < chunks; ++c) {
    uint64_t value = 0;
    for (size_t b = 0; b < kChunkBytes && c * kChunkBytes + b < secret.size(); ++b) {
      value |= uint64_t{secret[c * kChunkBytes + b]} << (8 * b);
    }
    coefficients[0] = value;
    for (size_t i = 1; i < threshold; ++i)
      coefficients[i] = RandomFieldElement();
    for (size_t h = 0; h < xs.size(); ++h) {
      // Horner's rule.
      uint64_t y = 0;
      for (size_t i = threshold; i-- > 0;)
        y = Add(FieldMul(y, xs[h]), coefficients[i]);
      shares[h].y[c] = y;
    }
  }
  std::fill(coefficients.begin(), coefficients.end(), 0);
  return shares;
}

std::vector<uint8_t> ShamirInterpolate(std::span<const ShamirShare> shares, size_t secret_bytes) {
  const size_t chunks = ChunkCount(secret_bytes);
  std::set<uint64_t> seen;
  for (const ShamirShare& s : shares) {
    if (s.y.size() != chunks) {
      throw Error("shamir: a share has " + std::to_string(s.y.size()) + " chunks, a " +
                  std::to_string(secret_bytes) + "-byte secret needs " + std::to_string(chunks));
    }
    if (s.x == 0 || s.x >= kShamirPrime || !seen.insert(s.x).second) {
      throw Error("shamir: share x " + std::to_string(s.x) +
                  " is 0, outside the field or repeated");
    }
  }
  // Lagrange basis at 0: l_j = Π_{m≠j} x_m / (x_m − x_j).
  std::vector<uint64_t> basis(shares.size());
  for (size_t j = 0; j < shares.size(); ++j) {
    uint64_t num = 1;
    uint64_t den = 1;
    for (size_t m = 0; m < shares.size(); ++m) {
      if (m == j) continue;
      num = FieldMul(num, shares[m].x);
      den = FieldMul(den, Sub(shares[m].x, shares[j].x));
    }
    basis[j] = FieldMul(num, FieldInverse(den));
  }
  std::vector<uint8_t> secret(secret_bytes, 0);
  for (size_t c = 0; c < chunks; ++c) {
    uint64_t value = 0;
    for (size_t j = 0; j < shares.size(); ++j)
      value = Add(value, FieldMul(basis[j], shares[j].y[c]));
    for (size_t b = 0; b < kChunkBytes && c * kChunkBytes + b < secret_bytes; ++b) {
      secret[c * kChunkBytes + b] = static_cast<uint8_t>(value >> (8 * b));
    }
  }
  return secret;
}

std::vector<uint8_t> ShamirReconstruct(std::span<const ShamirShare> shares, size_t threshold,
                                       size_t secret_bytes) {
  if (threshold == 0 || shares.size() < threshold) {
    throw Error("shamir: " + std::to_string(shares.size()) + " shares given, " +
                std::to_string(threshold) + " needed to reconstruct");
  }
  return ShamirInterpolate(shares.first(threshold), secret_bytes);
}

}  // namespace edgefl::privacy
