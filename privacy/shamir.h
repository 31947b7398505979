// Shamir secret sharing (Shamir 1979) of byte strings over the prime field
// GF(p), p = 2^61 − 1, as SecAgg uses it for the self-mask seed and the
// mask key of each client (Bonawitz et al. CCS'17 §4; Bell et al. CCS'20).
//
// A secret of B bytes is cut into ⌈B/7⌉ chunks of 7 bytes (56 bits < 61);
// each chunk is the constant term of its own random polynomial of degree
// threshold − 1, all evaluated at the holder's x. Any `threshold` shares
// give the secret back by Lagrange interpolation at 0; fewer reveal
// nothing about it (every secret is equally consistent with them).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace edgefl::privacy {

inline constexpr uint64_t kShamirPrime = (uint64_t{1} << 61) - 1;

// One holder's share: its evaluation point x (≠ 0, < p) and the value of
// each chunk's polynomial at x.
struct ShamirShare {
  uint64_t x = 0;
  std::vector<uint64_t> y;
  bool operator==(const ShamirShare&) const = default;
};

// Shares of `secret` for the holders at `xs` (distinct, in [1, p)), any
// `threshold` of which reconstruct it. The polynomial coefficients come
// from OpenSSL's CSPRNG. Throws Error when threshold is 0 or above
// xs.size(), an x is 0, ≥ p or repeated.
std::vector<ShamirShare> ShamirSplit(std::span<const uint8_t> secret, size_t threshold,
                                     std::span<const uint64_t> xs);

// The secret of `secret_bytes` bytes from `shares`. Throws Error when fewer
// than `threshold` shares are given (naming both counts), when two shares
// have the same x, or when their chunk counts do not fit `secret_bytes`.
// Uses the first `threshold` shares.
std::vector<uint8_t> ShamirReconstruct(std::span<const ShamirShare> shares, size_t threshold,
                                       size_t secret_bytes);

// The raw Lagrange interpolation at 0 of the given shares' chunks, without
// the threshold check: what an attacker holding these shares could compute.
// With fewer than threshold shares it is not the secret (except by chance).
std::vector<uint8_t> ShamirInterpolate(std::span<const ShamirShare> shares, size_t secret_bytes);

// Field arithmetic mod p (exposed for tests).
uint64_t FieldMul(uint64_t a, uint64_t b);
uint64_t FieldInverse(uint64_t a);

}  // namespace edgefl::privacy
