#include "privacy/secagg_messages.h"

namespace edgefl::privacy {
namespace {

size_t ShareBytes(const ShamirShare& s) {
  return 8 + 4 + 8 * s.y.size();
}
size_t EncryptedBytes(const EncryptedShare& s) {
  return 4 + 4 + 4 + s.ciphertext.size();
}

}  // namespace

size_t WireBytes(const SecAggConfig&) {
  return 8 + 4 * 3 + 8 + 4 + 8 + 8 + 8 + 4 + 4;
}

size_t WireBytes(const PublicKeys& k) {
  return 4 + 4 + k.cipher_key.size() + 4 + k.mask_key.size();
}

size_t WireBytes(const NeighbourKeys& m) {
  size_t total = 4;
  for (const PublicKeys& k : m.neighbours)
    total += WireBytes(k);
  return total;
}

size_t WireBytes(const ShareKeys& m) {
  size_t total = 4 + 4;
  for (const EncryptedShare& s : m.shares)
    total += EncryptedBytes(s);
  return total;
}

size_t WireBytes(const RoutedShares& m) {
  size_t total = 4;
  for (const EncryptedShare& s : m.shares)
    total += EncryptedBytes(s);
  return total;
}

size_t WireBytes(const MaskedInput& m, uint32_t bits) {
  const size_t per_value = (bits + 7) / 8;
  return 4 + 8 + m.masked.size() * per_value;
}

size_t WireBytes(const UnmaskRequest& m) {
  return 4 + 4 + 4 * (m.survivors.size() + m.dropped.size());
}

size_t WireBytes(const UnmaskResponse& m) {
  size_t total = 4 + 4 + 4;
  for (const auto& [v, s] : m.self_mask_shares)
    total += 4 + ShareBytes(s);
  for (const auto& [v, s] : m.mask_key_shares)
    total += 4 + ShareBytes(s);
  return total;
}

}  // namespace edgefl::privacy
