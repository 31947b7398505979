// The value types SecAgg+ exchanges, stage by stage (Bonawitz et al.
// CCS'17 §4 and Fig. 4; Bell et al. CCS'20 §4; the stage names follow
// Flower's SecAggPlusWorkflow): the round's configuration, then
//   1 advertise keys   client → server: PublicKeys
//                      server → client: NeighbourKeys (its neighbours' keys)
//   2 share keys       client → server: ShareKeys (one ciphertext per neighbour)
//                      server → client: RoutedShares (those addressed to it)
//   3 masked input     client → server: MaskedInput
//   4 unmasking        server → client: UnmaskRequest
//                      client → server: UnmaskResponse
// Clients are numbered 0 … n−1 within the round. WireBytes gives the size
// each message has on the wire (docs/protocol.md), for the byte counts of
// the simulator and the benchmark.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"
#include "privacy/secagg_crypto.h"
#include "privacy/shamir.h"

namespace edgefl::privacy {

// A round that cannot complete (too few clients or shares at a stage, with
// the stage and the counts in the message) or a request an honest client
// refuses (naming the client it concerns).
class SecAggError : public Error {
 public:
  using Error::Error;
};

// What the server tells every client of the round at setup.
struct SecAggConfig {
  int64_t round = 0;
  uint32_t n = 0;              // clients in the round's cohort
  uint32_t k = 0;              // graph degree (n − 1: complete)
  uint32_t t = 0;              // Shamir threshold
  uint64_t graph_seed = 0;     // the Harary graph's permutation
  uint32_t bits = 32;          // masked values live in Z_{2^bits}, 1 ≤ bits ≤ 32
  uint64_t dimension = 0;      // d: the update's length (the vector carries d + 1)
  double clip = 8.0;           // ω·x is clipped to [−clip, clip]
  uint64_t levels = 0;         // quantisation levels L: values map to {0, …, L}
  uint32_t max_weight = 1000;  // W: the weight coordinate is min(w, W), ω = min(w, W)/W
  uint32_t min_survivors = 2;  // fewer masked inputs: the round fails
};

struct PublicKeys {
  uint32_t client = 0;
  Bytes cipher_key;  // P-256, for the shares' encryption
  Bytes mask_key;    // P-256, for the pairwise masks
};

struct NeighbourKeys {
  std::vector<PublicKeys> neighbours;  // the client's neighbours that advertised
};

struct EncryptedShare {
  uint32_t from = 0;
  uint32_t to = 0;
  Bytes ciphertext;  // AES-256-GCM of (from, to, round, share of b, share of s)
};

struct ShareKeys {
  uint32_t client = 0;
  std::vector<EncryptedShare> shares;  // one per neighbour with keys
};

struct RoutedShares {
  std::vector<EncryptedShare> shares;  // those addressed to the client
};

struct MaskedInput {
  uint32_t client = 0;
  std::vector<uint32_t> masked;  // d + 1 values in Z_{2^bits}
};

// For each listed neighbour v, the share the server asks for: of v's
// self-mask seed b_v when v sent its masked input (survivors), of v's mask
// key s_v when it did not (dropped). A client in both lists is refused.
struct UnmaskRequest {
  std::vector<uint32_t> survivors;
  std::vector<uint32_t> dropped;
};

struct UnmaskResponse {
  uint32_t client = 0;
  std::vector<std::pair<uint32_t, ShamirShare>> self_mask_shares;  // (v, share of b_v)
  std::vector<std::pair<uint32_t, ShamirShare>> mask_key_shares;   // (v, share of s_v)
};

// Wire sizes in bytes (the payload of the frame, docs/protocol.md).
size_t WireBytes(const SecAggConfig&);
size_t WireBytes(const PublicKeys&);
size_t WireBytes(const NeighbourKeys&);
size_t WireBytes(const ShareKeys&);
size_t WireBytes(const RoutedShares&);
size_t WireBytes(const MaskedInput&, uint32_t bits);
size_t WireBytes(const UnmaskRequest&);
size_t WireBytes(const UnmaskResponse&);

}  // namespace edgefl::privacy
