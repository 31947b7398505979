#include "algorithms/oort_selector.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "common/error.h"

namespace edgefl::algorithms {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// m distinct indices into `weights`, drawn one at a time with probability
// ∝ weight among those left (numpy.random.choice(replace=False, p=...));
// a negative weight counts as 0, and when the weights left sum to 0 the
// draw is uniform among those left.
std::vector<size_t> DrawProportional(const std::vector<double>& weights, size_t m, Rng& rng) {
  std::vector<size_t> left(weights.size());
  std::iota(left.begin(), left.end(), size_t{0});
  std::vector<size_t> out;
  while (out.size() < m && !left.empty()) {
    double total = 0.0;
    for (size_t i : left)
      total += std::max(weights[i], 0.0);
    size_t at = left.size() - 1;
    if (total > 0.0) {
      double u = rng.Uniform() * total;
      for (size_t j = 0; j < left.size(); ++j) {
        const double w = std::max(weights[left[j]], 0.0);
        if (u < w) {
          at = j;
          break;
        }
        u -= w;
      }
      // Rounding can leave u just above the last weight: take the last
      // index with a positive weight.
      while (std::max(weights[left[at]], 0.0) <= 0.0 && at > 0)
        --at;
    } else {
      at = static_cast<size_t>(rng.UniformInt(left.size()));
    }
    out.push_back(left[at]);
    left.erase(left.begin() + static_cast<std::ptrdiff_t>(at));
  }
  return out;
}

void CheckIn(const char* name, double value, double lo, double hi) {
  if (!(value >= lo && value <= hi)) {
    throw ConfigError("selector oort: " + std::string(name) + " must be in [" + std::to_string(lo) +
                      ", " + std::to_string(hi) + "], got " + std::to_string(value));
  }
}

}  // namespace

double OortStatisticalUtility(const train::LocalTrainResult& result) {
  const double size = static_cast<double>(
      std::min<int64_t>(static_cast<int64_t>(result.num_samples), result.samples_processed));
  double mean_sq = result.loss_sq_before;
  if (!std::isfinite(mean_sq)) {
    const double loss = std::isfinite(result.loss_before) ? result.loss_before : result.train_loss;
    mean_sq = loss * loss;
  }
  if (!std::isfinite(mean_sq)) return 0.0;
  return std::max(size, 0.0) * std::sqrt(std::max(mean_sq, 0.0));
}

void OortOptions::Validate() const {
  CheckIn("exploration_factor", exploration_factor, 0.0, 1.0);
  CheckIn("exploration_decay", exploration_decay, 0.0, 1.0);
  CheckIn("exploration_min", exploration_min, 0.0, 1.0);
  CheckIn("round_threshold", round_threshold, 0.0, 100.0);
  CheckIn("round_penalty", round_penalty, 0.0, 100.0);
  if (pacer_step < 1) {
    throw ConfigError("selector oort: pacer_step must be >= 1, got " + std::to_string(pacer_step));
  }
  CheckIn("pacer_delta", pacer_delta, 0.0, 100.0);
  CheckIn("sample_window", sample_window, 1.0, 1e6);
  CheckIn("clip_bound", clip_bound, 0.0, 1.0);
  CheckIn("cut_off_util", cut_off_util, 0.0, 1.0);
  if (blacklist_rounds < -1) {
    throw ConfigError("selector oort: blacklist_rounds must be >= 0, or -1 (off), got " +
                      std::to_string(blacklist_rounds));
  }
  CheckIn("blacklist_max_len", blacklist_max_len, 0.0, 1.0);
  CheckIn("overcommit", overcommit, 1.0, 100.0);
}

OortSelector::OortSelector(OortOptions options)
    : options_(std::move(options)),
      exploration_(options_.exploration_factor),
      exploration_min_(options_.exploration_min),
      round_threshold_(options_.round_threshold),
      preferred_duration_(kInf) {
  options_.Validate();
}

double OortSelector::reward(const train::ClientId& id) const {
  const auto it = arms_.find(id);
  return it == arms_.end() ? std::nan("") : it->second.reward;
}

double OortSelector::duration(const train::ClientId& id) const {
  const auto it = arms_.find(id);
  return it == arms_.end() ? std::nan("") : it->second.duration;
}

void OortSelector::Register(const ClientInfo& client) {
  if (arms_.contains(client.id)) return;
  Arm arm;
  const int64_t planned = train::PlannedSamples(options_.recipe, client.num_samples);
  arm.reward =
      static_cast<double>(std::min<int64_t>(static_cast<int64_t>(client.num_samples), planned));
  arm.duration = client.samples_per_second > 0.0
                     ? static_cast<double>(planned) / client.samples_per_second
                     : 0.0;
  arms_.emplace(client.id, arm);
  registered_.push_back(client.id);
}

std::set<train::ClientId> OortSelector::Blacklist() const {
  std::set<train::ClientId> out;
  if (options_.blacklist_rounds < 0) return out;
  std::vector<train::ClientId> by_count = registered_;
  std::stable_sort(by_count.begin(), by_count.end(),
                   [this](const train::ClientId& a, const train::ClientId& b) {
                     return arms_.at(a).count > arms_.at(b).count;
                   });
  const auto cap =
      static_cast<size_t>(options_.blacklist_max_len * static_cast<double>(registered_.size()));
  for (const train::ClientId& id : by_count) {
    if (arms_.at(id).count <= options_.blacklist_rounds || out.size() >= cap) break;
    out.insert(id);
  }
  return out;
}

// The code's calculateSumUtil: the mean reward of those of `clients` that
// reported since the last selection (divided by 1e-4 + their number).
double OortSelector::MeanReward(const std::vector<train::ClientId>& clients) const {
  double count = 1e-4, sum = 0.0;
  for (const train::ClientId& id : clients) {
    if (!successful_.contains(id)) continue;
    count += 1.0;
    sum += arms_.at(id).reward;
  }
  return sum / count;
}

void OortSelector::Pace(int64_t t) {
  const auto window = static_cast<size_t>(options_.pacer_step);
  exploit_history_.push_back(MeanReward(exploit_clients_));
  while (exploit_history_.size() > 2 * window)
    exploit_history_.pop_front();
  successful_.clear();
  if (t < 2 * options_.pacer_step || t % options_.pacer_step != 0) return;
  // Python's sum(h[-2W:-W]) and sum(h[-W:]) on the kept history.
  const size_t n = exploit_history_.size();
  const size_t current_from = n - std::min(n, window);
  const size_t previous_from = n - std::min(n, 2 * window);
  double previous = 0.0, current = 0.0;
  for (size_t i = previous_from; i < current_from; ++i)
    previous += exploit_history_[i];
  for (size_t i = current_from; i < n; ++i)
    current += exploit_history_[i];
  const double change = std::abs(current - previous);
  if (change <= 0.1 * previous) {
    round_threshold_ = std::min(100.0, round_threshold_ + options_.pacer_delta);
  } else if (change >= 5.0 * previous) {
    round_threshold_ = std::max(options_.pacer_delta, round_threshold_ - options_.pacer_delta);
  }
}

double OortSelector::Penalty(double duration) const {
  if (!(duration > preferred_duration_)) return 1.0;
  return std::pow(preferred_duration_ / std::max(1e-4, duration), options_.round_penalty);
}

std::vector<size_t> OortSelector::Select(int64_t round, std::span<const ClientInfo> candidates,
                                         size_t k, Rng& rng) {
  for (const ClientInfo& c : candidates)
    Register(c);
  const size_t want =
      std::min(candidates.size(),
               static_cast<size_t>(std::ceil(options_.overcommit * static_cast<double>(k) - 1e-9)));
  const int64_t t = std::max<int64_t>(round, 1);
  const std::set<train::ClientId> blacklist = Blacklist();
  Pace(t);

  // The feasible clients (candidates not blacklisted), in registration order.
  std::map<train::ClientId, size_t> index;
  for (size_t i = 0; i < candidates.size(); ++i)
    index.emplace(candidates[i].id, i);
  std::vector<train::ClientId> feasible;
  for (const train::ClientId& id : registered_) {
    if (index.contains(id) && !blacklist.contains(id)) feasible.push_back(id);
  }

  // T: the round_threshold percentile of every arm's duration.
  if (round_threshold_ < 100.0) {
    std::vector<double> durations;
    for (const auto& [id, arm] : arms_)
      durations.push_back(arm.duration);
    std::sort(durations.begin(), durations.end());
    const auto at =
        static_cast<size_t>(static_cast<double>(durations.size()) * round_threshold_ / 100.0);
    preferred_duration_ = durations[std::min(at, durations.size() - 1)];
  } else {
    preferred_duration_ = kInf;
  }

  // get_norm over the feasible positive rewards.
  std::vector<double> rewards;
  for (const train::ClientId& id : feasible) {
    if (arms_.at(id).reward > 0.0) rewards.push_back(arms_.at(id).reward);
  }
  double clip = kInf, r_min = 0.0, range = 1e-4;
  if (!rewards.empty()) {
    std::sort(rewards.begin(), rewards.end());
    const auto at = static_cast<size_t>(static_cast<double>(rewards.size()) * options_.clip_bound);
    clip = rewards[std::min(at, rewards.size() - 1)];
    r_min = rewards.front() * 0.999;
    range = std::max(rewards.back() - r_min, 1e-4);
  }

  // Scores of the explored arms.
  last_scores_.clear();
  std::vector<train::ClientId> scored;
  std::vector<double> scores;
  for (const train::ClientId& id : feasible) {
    const Arm& arm = arms_.at(id);
    if (arm.count == 0) continue;
    double score = (std::min(arm.reward, clip) - r_min) / range +
                   std::sqrt(0.1 * std::log(static_cast<double>(t)) /
                             static_cast<double>(std::max<int64_t>(arm.time_stamp, 1)));
    score *= Penalty(arm.duration);
    scored.push_back(id);
    scores.push_back(score);
    last_scores_[id] = score;
  }

  // Exploit.
  exploration_ = std::max(exploration_ * options_.exploration_decay, exploration_min_);
  const size_t exploit_len = std::min(
      static_cast<size_t>(static_cast<double>(want) * (1.0 - exploration_)), scored.size());
  std::vector<train::ClientId> picked;
  exploit_clients_.clear();
  if (!scored.empty()) {
    std::vector<size_t> by_score(scored.size());
    std::iota(by_score.begin(), by_score.end(), size_t{0});
    std::stable_sort(by_score.begin(), by_score.end(),
                     [&](size_t a, size_t b) { return scores[a] > scores[b]; });
    const double cut_off =
        scores[by_score[std::min(exploit_len, scored.size() - 1)]] * options_.cut_off_util;
    std::vector<size_t> pool;
    std::vector<double> weights;
    for (size_t i : by_score) {
      if (scores[i] < cut_off) break;
      pool.push_back(i);
      weights.push_back(scores[i]);
    }
    for (size_t j : DrawProportional(weights, exploit_len, rng))
      exploit_clients_.push_back(scored[pool[j]]);
    picked = exploit_clients_;
  }

  // Explore.
  explore_clients_.clear();
  const bool any_unexplored = std::any_of(
      arms_.begin(), arms_.end(), [](const auto& entry) { return entry.second.count == 0; });
  if (any_unexplored) {
    std::vector<train::ClientId> fresh;
    std::vector<double> initial;
    for (const train::ClientId& id : feasible) {
      const Arm& arm = arms_.at(id);
      if (arm.count != 0) continue;
      fresh.push_back(id);
      initial.push_back(arm.reward * Penalty(arm.duration));
    }
    const size_t explore_len = std::min(fresh.size(), want - std::min(want, picked.size()));
    std::vector<size_t> by_reward(fresh.size());
    std::iota(by_reward.begin(), by_reward.end(), size_t{0});
    std::stable_sort(by_reward.begin(), by_reward.end(),
                     [&](size_t a, size_t b) { return initial[a] > initial[b]; });
    by_reward.resize(std::min(fresh.size(), static_cast<size_t>(options_.sample_window *
                                                                static_cast<double>(explore_len))));
    std::vector<double> weights;
    for (size_t i : by_reward)
      weights.push_back(initial[i]);
    for (size_t j : DrawProportional(weights, explore_len, rng))
      explore_clients_.push_back(fresh[by_reward[j]]);
    picked.insert(picked.end(), explore_clients_.begin(), explore_clients_.end());
  } else {
    exploration_min_ = 0.0;
    exploration_ = 0.0;
  }

  // Fill up uniformly.
  std::vector<train::ClientId> rest;
  for (const train::ClientId& id : feasible) {
    if (std::find(picked.begin(), picked.end(), id) == picked.end()) rest.push_back(id);
  }
  while (picked.size() < want && !rest.empty()) {
    const auto at = static_cast<size_t>(rng.UniformInt(rest.size()));
    picked.push_back(rest[at]);
    rest.erase(rest.begin() + static_cast<std::ptrdiff_t>(at));
  }

  std::vector<size_t> out;
  out.reserve(picked.size());
  for (const train::ClientId& id : picked)
    out.push_back(index.at(id));
  return out;
}

void OortSelector::Observe(int64_t round, std::span<const CohortOutcome> cohort) {
  double sum = 0.0;
  size_t completed = 0;
  for (const CohortOutcome& member : cohort) {
    if (member.result == nullptr) continue;
    sum += OortStatisticalUtility(*member.result);
    ++completed;
  }
  for (const CohortOutcome& member : cohort) {
    const auto it = arms_.find(member.id);
    if (it == arms_.end()) continue;  // never a candidate here
    Arm& arm = it->second;
    if (member.result != nullptr) {
      arm.reward = OortStatisticalUtility(*member.result);
    } else if (completed > 0) {
      arm.reward = sum / static_cast<double>(completed);
    }
    if (std::isfinite(member.seconds)) arm.duration = member.seconds;
    arm.time_stamp = round;
    ++arm.count;
    successful_.insert(member.id);
  }
}

}  // namespace edgefl::algorithms
