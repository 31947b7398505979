// The server side of SecAgg+ (Bell et al. CCS'20; Bonawitz et al. CCS'17
// Fig. 4), semi-honest: it routes keys and encrypted shares between
// neighbours, collects the masked inputs, asks each survivor for one share
// of each neighbour (of b_v for a v whose masked input arrived, of s_v for
// one that dropped after sharing), rebuilds those secrets from t shares and
// removes their masks from the sum.
//
// Each stage: Receive* the clients' messages (any order; a client that sends
// nothing has dropped), then Finish* checks that the stage can go on and
// returns the messages for the next one. FinishUnmask rebuilds the secrets
// and expands the masks on several threads (AddMasks, secagg_crypto.h). A
// stage that cannot go on throws SecAggError naming the stage, the client
// concerned and the counts (e.g. "secagg: unmasking: 2 shares of client
// 7's self-mask seed arrived, the threshold is 3"); the round then has no
// aggregate.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <vector>

#include "privacy/secagg_graph.h"
#include "privacy/secagg_messages.h"

namespace edgefl::privacy {

struct SecAggOutcome {
  std::vector<uint32_t> sum;           // Σ q over the contributors, mod 2^bits (d + 1 values)
  std::vector<uint32_t> contributors;  // U3: whose masked input is in the sum
  std::vector<uint32_t> dropped;       // U2 \ U3: masks removed via their mask keys
};

class SecAggServer {
 public:
  // `threads`: how many threads the unmasking uses (0 = the hardware's);
  // the outcome does not depend on it.
  explicit SecAggServer(SecAggConfig config, unsigned threads = 0);

  const SecAggConfig& config() const { return config_; }
  const SecAggGraph& graph() const { return graph_; }

  void ReceiveKeys(const PublicKeys& keys);
  // U1 = those whose keys arrived; each needs ≥ t neighbours in U1.
  std::map<uint32_t, NeighbourKeys> FinishAdvertise();

  void ReceiveShares(const ShareKeys& shares);
  // U2 = those of U1 whose shares arrived; each needs ≥ t neighbours in U2.
  std::map<uint32_t, RoutedShares> FinishShareKeys();

  void ReceiveMaskedInput(const MaskedInput& input);
  // U3 = those of U2 whose masked input arrived; |U3| ≥ min_survivors.
  std::map<uint32_t, UnmaskRequest> FinishMaskedInput();

  void ReceiveUnmask(const UnmaskResponse& response);
  // Every needed secret needs t shares from U4 (those who answered).
  SecAggOutcome FinishUnmask();

 private:
  enum class Stage { kAdvertise, kShare, kMask, kUnmask, kDone };
  void Expect(Stage stage, const char* name) const;
  size_t NeighboursIn(uint32_t u, const std::set<uint32_t>& set) const;

  SecAggConfig config_;
  SecAggGraph graph_;
  unsigned threads_ = 0;
  Stage stage_ = Stage::kAdvertise;
  std::map<uint32_t, PublicKeys> keys_;                     // U1
  std::map<uint32_t, std::vector<EncryptedShare>> shares_;  // U2: sender → its ciphertexts
  std::set<uint32_t> u1_, u2_;
  std::vector<uint32_t> acc_;  // Σ y mod 2^32
  std::set<uint32_t> u3_;
  std::map<uint32_t, std::vector<ShamirShare>> self_mask_shares_;  // v → shares of b_v
  std::map<uint32_t, std::vector<ShamirShare>> mask_key_shares_;   // v → shares of s_v
  std::set<uint32_t> responded_;
};

}  // namespace edgefl::privacy
