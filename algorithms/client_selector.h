// Chooses the cohort of a synchronous round from the available clients.
// Deterministic given the Rng. Thread-safety: used by one engine at a time.
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "algorithms/client_info.h"
#include "common/random.h"

namespace edgefl::algorithms {

// What the engine tells a selector about one cohort member after its round.
struct CohortOutcome {
  train::ClientId id;
  // Its accepted result (valid during Observe only); null when it was
  // dropped or its update rejected.
  const train::LocalTrainResult* result = nullptr;
  // How long its task took: virtual seconds on a simulated clock (also for
  // a member cut by the deadline or over-commit, when known), otherwise the
  // client's reported compute seconds; NaN when unknown.
  double seconds = std::numeric_limits<double>::quiet_NaN();
};

class ClientSelector {
 public:
  virtual ~ClientSelector() = default;
  virtual std::string name() const = 0;

  // Indices into `candidates` of the clients to train in `round`, at most
  // `k` (fewer when fewer are available), without repetition.
  virtual std::vector<size_t> Select(int64_t round, std::span<const ClientInfo> candidates,
                                     size_t k, Rng& rng) = 0;

  // Whether Select needs ClientInfo::score (the engine then has every
  // candidate score its data with the global model first).
  virtual bool NeedsScores(int64_t /*round*/) const { return false; }

  // Feedback after round `round`: one entry per member of the cohort Select
  // returned, in that order. Selectors that learn from outcomes (Oort)
  // override it; the default ignores it.
  virtual void Observe(int64_t /*round*/, std::span<const CohortOutcome> /*cohort*/) {}

  // What a selector learned, for the checkpoint: text, empty when
  // stateless. RestoreState(SaveState()) must make the next selections
  // equal to those the saved selector would make. RestoreState throws
  // DataError for text it did not write.
  virtual std::string SaveState() const { return ""; }
  virtual void RestoreState(const std::string& /*state*/) {}
};

}  // namespace edgefl::algorithms
