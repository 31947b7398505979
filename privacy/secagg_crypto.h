// The cryptography of secure aggregation, all from OpenSSL 3 (EVP): ECDH on
// P-256 for key agreement, HKDF-SHA256 to turn agreed secrets into keys,
// AES-256-GCM for the Shamir shares clients send each other through the
// server, and AES-256-CTR as the pseudo-random generator that expands a
// 32-byte seed into a mask vector over Z_{2^32}. Nothing here is
// hand-rolled: this file only wraps the EVP calls and their errors.
//
// Every failure of OpenSSL throws Error naming the call; a ciphertext that
// does not authenticate throws SecAggError (secagg_messages.h) instead.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

typedef struct evp_pkey_st EVP_PKEY;

namespace edgefl::privacy {

using Bytes = std::vector<uint8_t>;
using Key256 = std::array<uint8_t, 32>;

inline constexpr size_t kP256PublicKeyBytes = 65;  // uncompressed point 04‖X‖Y
inline constexpr size_t kP256PrivateKeyBytes = 32;
inline constexpr size_t kAeadOverheadBytes = 12 + 16;  // nonce + GCM tag

// OpenSSL's CSPRNG (RAND_bytes); throws IoError when it cannot deliver.
void SecureRandomBytes(std::span<uint8_t> out);

// An ECDH key pair on NIST P-256. Move-only.
class EcdhKeyPair {
 public:
  // A fresh key pair from OpenSSL's CSPRNG.
  static EcdhKeyPair Generate();
  // The key pair of a reconstructed private scalar (32 bytes, big-endian)
  // and its public key (65 bytes). Throws Error when they are not a valid
  // P-256 key.
  static EcdhKeyPair FromPrivate(std::span<const uint8_t> private_key,
                                 std::span<const uint8_t> public_key);

  EcdhKeyPair(EcdhKeyPair&&) noexcept;
  EcdhKeyPair& operator=(EcdhKeyPair&&) noexcept;
  ~EcdhKeyPair();

  Bytes PublicKey() const;   // 65 bytes
  Bytes PrivateKey() const;  // 32 bytes: the secret to Shamir-share

  // ECDH with `peer_public` (65 bytes, validated to lie on the curve), then
  // HKDF-SHA256(shared x, salt = none, info) to 32 bytes. Both sides of a
  // pair get the same key for the same info.
  Key256 Agree(std::span<const uint8_t> peer_public, std::string_view info) const;

 private:
  explicit EcdhKeyPair(EVP_PKEY* key) : key_(key) {}
  EVP_PKEY* key_ = nullptr;
};

// HKDF-SHA256 (RFC 5869) of `secret` with `info`, `length` bytes.
Bytes HkdfSha256(std::span<const uint8_t> secret, std::string_view info, size_t length);

// AES-256-GCM with a fresh random 96-bit nonce: nonce ‖ ciphertext ‖ tag.
Bytes AeadSeal(const Key256& key, std::span<const uint8_t> aad, std::span<const uint8_t> plaintext);
// The plaintext of AeadSeal's output; throws SecAggError "does not
// authenticate" when the key, the aad or the bytes differ.
Bytes AeadOpen(const Key256& key, std::span<const uint8_t> aad, std::span<const uint8_t> sealed);

// The mask PRG: acc[i] += sign · m_i (mod 2^32) where m is the AES-256-CTR
// keystream of `seed` (IV 0) read as little-endian uint32 words. sign is
// +1 or −1. Each seed masks one vector of one round only.
void AddMask(const Key256& seed, int sign, std::span<uint32_t> acc);

// One mask of a sum: sign · PRG(seed), sign +1 or −1.
struct MaskTerm {
  Key256 seed;
  int sign = +1;
};

// acc[i] += Σ_j sign_j · PRG(seed_j)_i (mod 2^32), the same as AddMask for
// every term, on `threads` threads (0 = the hardware's). The accumulator is
// cut into tiles of kMaskTileWords that stay in cache; each thread takes
// the next tile and adds every term's keystream for it (AES-CTR started at
// the tile's block counter), so no temporary of the vector's size is made.
// The sums are modular integer adds: the result does not depend on the
// number of threads or the order of the terms.
inline constexpr size_t kMaskTileWords = size_t{1} << 15;
void AddMasks(std::span<const MaskTerm> terms, std::span<uint32_t> acc, unsigned threads);

}  // namespace edgefl::privacy
