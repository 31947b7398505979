// The client side of SecAgg+ (Bell et al. CCS'20 Alg. 2 in its semi-honest
// form; the stages of Bonawitz et al. CCS'17 Fig. 4 restricted to the
// client's neighbours in the round's Harary graph), as a message-in /
// message-out state machine: the transport (in-process driver, TLS frames)
// calls the stages in order and carries their messages.
//
// Secrets: two fresh P-256 key pairs per round (c for encrypting shares, s
// for pairwise masks) and a 32-byte self-mask seed b, all from OpenSSL's
// CSPRNG. b and s's private key are Shamir-shared with threshold t among
// the neighbours that advertised keys (share x = holder id + 1).
//
// The masked input is y = q + PRG(b) + Σ_{v ∈ N(u) ∩ U2} ±PRG(s_uv) mod
// 2^bits, + when u < v, with s_uv = HKDF(ECDH(s_u, s_v)) and U2 the
// neighbours whose shares arrived.
//
// The refusal: for each neighbour v the client reveals at most one of its
// two shares of v in a round, ever — a request naming v as survivor and as
// dropped, or asking for the other share after one was given, throws
// SecAggError naming v (a server that got both could unmask v's input).
//
// Every stage throws SecAggError when called out of order or when it cannot
// go on safely (fewer than t neighbours at that stage, a share that does
// not authenticate, a request about a non-neighbour).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>

#include "privacy/secagg_crypto.h"
#include "privacy/secagg_graph.h"
#include "privacy/secagg_messages.h"

namespace edgefl::privacy {

class SecAggClient {
 public:
  SecAggClient(SecAggConfig config, uint32_t id);

  uint32_t id() const { return id_; }

  // Stage 1.
  PublicKeys AdvertiseKeys();
  // Stage 2: needs at least t neighbours' keys.
  ShareKeys ShareSecrets(const NeighbourKeys& keys);
  // Stage 3: `quantized` is the QuantizeUpdate vector (d + 1 values). Needs
  // shares from at least t neighbours.
  MaskedInput MaskInput(const RoutedShares& routed, std::span<const uint32_t> quantized);
  // Stage 4 (may be asked again; the refusal above holds across requests).
  UnmaskResponse Unmask(const UnmaskRequest& request);

 private:
  enum class Stage { kAdvertise, kShare, kMask, kUnmask };
  enum class Revealed { kSelfMask, kMaskKey };
  void Expect(Stage stage, const char* name) const;

  SecAggConfig config_;
  uint32_t id_;
  SecAggGraph graph_;
  Stage stage_ = Stage::kAdvertise;
  std::optional<EcdhKeyPair> cipher_key_;
  std::optional<EcdhKeyPair> mask_key_;
  Key256 self_seed_{};
  std::map<uint32_t, PublicKeys> neighbour_keys_;  // U1 ∩ N(u)
  // Shares held for each neighbour v ∈ U2 ∩ N(u): (of b_v, of s_v).
  std::map<uint32_t, std::pair<ShamirShare, ShamirShare>> held_;
  std::map<uint32_t, Revealed> revealed_;
};

// The pairwise-mask and share-encryption key derivations, shared with the
// server's reconstruction (HKDF info strings).
inline constexpr const char* kSecAggMaskInfo = "edgefl secagg v1 pairwise mask";
inline constexpr const char* kSecAggShareInfo = "edgefl secagg v1 share encryption";

// The seed of the pairwise mask of u and v from s_u's private key and s_v's
// public key; equal for both orders.
Key256 PairwiseMaskSeed(const EcdhKeyPair& own_mask_key, std::span<const uint8_t> peer_mask_key);

}  // namespace edgefl::privacy
