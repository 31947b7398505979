#include "algorithms/curriculum_selector.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_map>

#include "common/error.h"

namespace edgefl::algorithms {

SelectionOrder ParseSelectionOrder(const std::string& name, const std::string& key) {
  if (name == "curriculum") return SelectionOrder::kCurriculum;
  if (name == "anti") return SelectionOrder::kAnti;
  if (name == "random") return SelectionOrder::kRandom;
  throw ConfigError(key + ": unknown client order \"" + name +
                    "\" (accepted: curriculum, anti, random)");
}

std::string SelectionOrderName(SelectionOrder order) {
  switch (order) {
    case SelectionOrder::kCurriculum:
      return "curriculum";
    case SelectionOrder::kAnti:
      return "anti";
    case SelectionOrder::kRandom:
      return "random";
  }
  return "?";
}

void CurriculumSelectorOptions::Validate() const {
  pacing.Validate("pacing_");
  if (rounds <= 0) {
    throw ConfigError("curriculum selector: rounds must be > 0, got " + std::to_string(rounds));
  }
}

CurriculumSelector::CurriculumSelector(const CurriculumSelectorOptions& options)
    : options_(options) {
  options_.Validate();
}

bool CurriculumSelector::NeedsScores(int64_t /*round*/) const {
  return queue_.empty() && options_.order != SelectionOrder::kRandom;
}

void CurriculumSelector::StartPass(std::span<const ClientInfo> candidates, size_t k, Rng& rng) {
  const size_t n = candidates.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  if (options_.order == SelectionOrder::kRandom) {
    rng.Shuffle(order);
  } else {
    for (const ClientInfo& c : candidates) {
      if (std::isnan(c.score)) {
        throw Error("curriculum selector: client " + c.id +
                    " has no score; the engine must score every candidate when NeedsScores() "
                    "is true");
      }
    }
    // Ascending score, ties by id: a total order, so the result does not
    // depend on the candidates' order.
    std::sort(order.begin(), order.end(), [&](size_t x, size_t y) {
      const ClientInfo& a = candidates[x];
      const ClientInfo& b = candidates[y];
      if (a.score != b.score) return a.score < b.score;
      return a.id < b.id;
    });
    if (options_.order == SelectionOrder::kAnti) std::reverse(order.begin(), order.end());
  }
  const int64_t budget = options_.rounds * static_cast<int64_t>(std::max<size_t>(k, 1));
  pool_size_ = options_.pacing.Size(updates_, budget, n);
  order.resize(pool_size_);
  rng.Shuffle(order);  // the pass walks the pool as a shuffled loader
  queue_.clear();
  for (size_t i : order)
    queue_.push_back(candidates[i].id);
  ++passes_;
}

std::vector<size_t> CurriculumSelector::Select(int64_t /*round*/,
                                               std::span<const ClientInfo> candidates, size_t k,
                                               Rng& rng) {
  std::vector<size_t> selected;
  if (candidates.empty() || k == 0) return selected;
  if (queue_.empty()) StartPass(candidates, k, rng);
  std::unordered_map<train::ClientId, size_t> index;
  for (size_t i = 0; i < candidates.size(); ++i)
    index.emplace(candidates[i].id, i);
  const size_t group = options_.group_size > 0 ? options_.group_size : k;
  const size_t want = std::min(group, k);
  while (selected.size() < want && !queue_.empty()) {
    auto it = index.find(queue_.front());
    queue_.pop_front();
    if (it != index.end()) selected.push_back(it->second);
  }
  updates_ += static_cast<int64_t>(selected.size());
  return selected;
}

}  // namespace edgefl::algorithms
