// Curriculum-aware client selection (Vahidian et al., ICCV 2023, arXiv
// 2212.12712; code: sreevatsank1999/Curriculum-FL src/utils/
// client_scheduler.py). Training proceeds in passes:
//
//   1. Before a pass every candidate scores its data with the current global
//      model (ClientInfo::score, mean per-sample loss; NeedsScores() is true).
//   2. Clients are ordered by score: ascending (curriculum, easy first),
//      descending (anti-curriculum) or a random permutation (random; needs no
//      scores). Ties are broken by client id.
//   3. The pool is the first g_c(u) clients, g_c the pacing function over
//      N = number of candidates and T = the update budget R·m (R = rounds,
//      m = k clients per round), u = client updates handed out so far.
//   4. The pool is shuffled and walked in groups of group_size (default k):
//      one group per round, so each pool client trains once per pass; the
//      last group may be smaller. Then the next pass starts at step 1.
//
// Pool clients that are not among a round's candidates (unavailable) are
// skipped for the rest of the pass. Deterministic given the Rng passed to
// Select. Not thread-safe.
#pragma once

#include <deque>

#include "algorithms/client_selector.h"
#include "algorithms/pacing.h"

namespace edgefl::algorithms {

// The order a pass takes the clients in (the order of a client's own data is
// CurriculumOrder, curriculum_order.h).
enum class SelectionOrder { kCurriculum, kAnti, kRandom };

// Parses "curriculum", "anti", "random"; ConfigError naming `key` otherwise.
SelectionOrder ParseSelectionOrder(const std::string& name, const std::string& key = "order");
std::string SelectionOrderName(SelectionOrder order);

struct CurriculumSelectorOptions {
  SelectionOrder order = SelectionOrder::kCurriculum;
  Pacing pacing{PacingKind::kLinear, 0.2, 0.4, 10.0};  // the code's client defaults
  int64_t rounds = 100;                                // R > 0: the budget is R·k client updates
  size_t group_size = 0;                               // clients per round within a pass; 0 = k

  // Throws ConfigError naming the first invalid field.
  void Validate() const;
};

class CurriculumSelector final : public ClientSelector {
 public:
  explicit CurriculumSelector(const CurriculumSelectorOptions& options);

  std::string name() const override { return "curriculum"; }
  // Throws Error if a pass must start and a candidate has no score (NaN)
  // while the order needs scores.
  std::vector<size_t> Select(int64_t round, std::span<const ClientInfo> candidates, size_t k,
                             Rng& rng) override;
  // True before each pass (unless the order is random).
  bool NeedsScores(int64_t round) const override;

  // Client updates handed out so far (u), the current pass's pool size and
  // number of passes started; for logs and tests.
  int64_t updates() const { return updates_; }
  size_t pool_size() const { return pool_size_; }
  int64_t passes() const { return passes_; }

 private:
  void StartPass(std::span<const ClientInfo> candidates, size_t k, Rng& rng);

  CurriculumSelectorOptions options_;
  std::deque<train::ClientId> queue_;  // the rest of the current pass, in walk order
  int64_t updates_ = 0;
  size_t pool_size_ = 0;
  int64_t passes_ = 0;
};

}  // namespace edgefl::algorithms
