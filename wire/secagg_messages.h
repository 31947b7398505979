// The messages of secure aggregation between real processes
// (docs/protocol.md, "Secure aggregation messages", types 16-25): the
// SecAgg+ stages of privacy/secagg_messages.h carried between the
// coordinator and edgefl-client on their ordinary session. They travel in
// frames of protocol version 2 and have their own decoder, so the session
// messages (messages.h) are untouched. A secure round:
//
//   coordinator -> client: SecAggTrain{round}, TrainTask   (the client keeps
//   client -> coordinator: TrainResult with no parameters   its update)
//   coordinator -> client: SecAggSetup           -> SecAggKeys
//                          SecAggNeighbourKeys   -> SecAggShares
//                          SecAggRoutedShares    -> SecAggMaskedInput
//                          SecAggUnmaskRequest   -> SecAggUnmaskResponse
//   coordinator -> client: SecAggDone{round, ok, reason}
//
// In async mode (FedBuff's secure cohorts, types 16-26) the TrainTask's
// round is the task number and the stages run later, over a cohort of K
// clients that reported ready: SecAggCohort{round = the cohort's number,
// task_round, scale, uniform_weight} comes right before that cohort's
// SecAggSetup and rebinds the update kept from task `task_round` to the
// cohort's round, scaled by the client's staleness weight.
//
// Every message names its round; the answer to a stage must name the round
// and the client index of the setup. Decoding checks the encoding only
// (lengths, limits, no trailing bytes); privacy::SecAggServer/SecAggClient
// check the meaning (a neighbour, a share that authenticates).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "privacy/secagg_messages.h"
#include "wire/frame.h"

namespace edgefl::wire {

inline constexpr size_t kMaxSecAggClients = 1u << 16;        // n, list entries
inline constexpr size_t kMaxSecAggKeyBytes = 256;            // a public key (P-256: 65)
inline constexpr size_t kMaxSecAggCiphertextBytes = 4096;    // an encrypted share
inline constexpr size_t kMaxSecAggShareWords = 64;           // a Shamir share's y values
inline constexpr size_t kMaxSecAggValues = size_t{1} << 28;  // d + 1

// Coordinator -> client, right before the TrainTask of a secure round: keep
// the update of that task for the stages; send a TrainResult whose
// parameters are empty.
struct SecAggTrain {
  int64_t round = 0;
};

// Coordinator -> client: the round's configuration, the client's index and
// the seed of its stochastic rounding (algorithms/secagg_party.h).
struct SecAggSetup {
  privacy::SecAggConfig config;  // config.round is the round
  uint32_t client = 0;
  uint64_t rounding_seed = 0;
  // Distributed DP (0 = off): clip Δ to this L2 norm, add Gaussian noise of
  // this std-dev per coordinate from the client's own CSPRNG-seeded
  // generator, weight W (algorithms/secagg_party.h).
  double dp_clip = 0.0;
  double dp_noise_std = 0.0;
};

struct SecAggKeys {
  int64_t round = 0;
  privacy::PublicKeys keys;
};

struct SecAggNeighbourKeys {
  int64_t round = 0;
  privacy::NeighbourKeys keys;
};

struct SecAggShares {
  int64_t round = 0;
  privacy::ShareKeys shares;
};

struct SecAggRoutedShares {
  int64_t round = 0;
  privacy::RoutedShares shares;
};

// The masked values travel in ⌈bits/8⌉ bytes each (`bits` of the setup,
// sent along as value_bytes).
struct SecAggMaskedInput {
  int64_t round = 0;
  uint32_t bits = 32;
  privacy::MaskedInput input;
};

struct SecAggUnmaskRequest {
  int64_t round = 0;
  privacy::UnmaskRequest request;
};

struct SecAggUnmaskResponse {
  int64_t round = 0;
  privacy::UnmaskResponse response;
};

// Coordinator -> client: the round is over (ok: aggregated; else reason);
// the client forgets its update and secrets.
struct SecAggDone {
  int64_t round = 0;
  bool ok = false;
  std::string reason;
};

// Coordinator -> client (async mode), right before a cohort's SecAggSetup:
// the update kept from the task of round `task_round` joins cohort `round`
// (the setup's config.round); the client multiplies it by `scale`, its
// staleness weight in (0, 1], after any DP clipping and before its noise
// and the quantisation, and with `uniform_weight` counts with weight W
// (the mean is over updates: algorithms/secagg_party.h).
struct SecAggCohort {
  int64_t round = 0;
  int64_t task_round = 0;
  double scale = 1.0;
  bool uniform_weight = false;
};

// The variant's index + 16 is the message type (SecAggCohort, the last, is 26).
using SecAggMessage =
    std::variant<SecAggTrain, SecAggSetup, SecAggKeys, SecAggNeighbourKeys, SecAggShares,
                 SecAggRoutedShares, SecAggMaskedInput, SecAggUnmaskRequest, SecAggUnmaskResponse,
                 SecAggDone, SecAggCohort>;

// True for types 16-26.
bool IsSecAggMessageType(MessageType type);

MessageType TypeOf(const SecAggMessage& message);

// The payload (no frame header), and a complete frame (version 2).
std::vector<uint8_t> EncodeSecAggPayload(const SecAggMessage& message);
std::vector<uint8_t> EncodeSecAggMessage(const SecAggMessage& message);

// Decodes the payload of a frame of a secure-aggregation type. Throws
// ProtocolError naming the message and field, as DecodeMessage does, also
// for another type.
SecAggMessage DecodeSecAggMessage(MessageType type, std::span<const uint8_t> payload);

}  // namespace edgefl::wire
