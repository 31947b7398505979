#include "algorithms/oort_selector.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
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

namespace {

// The state's text: whitespace-separated tokens; a double as a hex float
// (exact), an id as <bytes>:<id> (ids may hold any byte).
class StateWriter {
 public:
  void Word(const std::string& w) { out_ += w + " "; }
  void Number(double v) {
    char text[64];
    std::snprintf(text, sizeof text, "%a ", v);
    out_ += text;
  }
  void Integer(int64_t v) { out_ += std::to_string(v) + " "; }
  void Id(const std::string& id) { out_ += std::to_string(id.size()) + ":" + id + " "; }
  void Ids(const std::vector<train::ClientId>& ids) {
    Integer(static_cast<int64_t>(ids.size()));
    for (const train::ClientId& id : ids)
      Id(id);
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

class StateReader {
 public:
  explicit StateReader(const std::string& text) : text_(text) {}
  std::string Word() {
    Skip();
    const size_t from = at_;
    while (at_ < text_.size() && text_[at_] != ' ' && text_[at_] != '\n')
      ++at_;
    if (at_ == from) Fail("a word");
    return text_.substr(from, at_ - from);
  }
  void Expect(const std::string& word) {
    if (Word() != word) Fail("'" + word + "'");
  }
  double Number() {
    const std::string w = Word();
    char* end = nullptr;
    const double v = std::strtod(w.c_str(), &end);
    if (end != w.c_str() + w.size()) Fail("a number, got '" + w + "'");
    return v;
  }
  int64_t Integer() {
    const std::string w = Word();
    char* end = nullptr;
    const long long v = std::strtoll(w.c_str(), &end, 10);
    if (end != w.c_str() + w.size()) Fail("an integer, got '" + w + "'");
    return v;
  }
  size_t Count() {
    const int64_t n = Integer();
    if (n < 0 || static_cast<size_t>(n) > text_.size()) Fail("a count");
    return static_cast<size_t>(n);
  }
  std::string Id() {
    Skip();
    const size_t colon = text_.find(':', at_);
    if (colon == std::string::npos) Fail("an id");
    char* end = nullptr;
    const unsigned long long n = std::strtoull(text_.c_str() + at_, &end, 10);
    if (end != text_.c_str() + colon || colon + 1 + n > text_.size()) Fail("an id");
    std::string id = text_.substr(colon + 1, n);
    at_ = colon + 1 + n;
    return id;
  }
  std::vector<train::ClientId> Ids() {
    std::vector<train::ClientId> ids(Count());
    for (train::ClientId& id : ids)
      id = Id();
    return ids;
  }
  void End() {
    Skip();
    if (at_ != text_.size()) Fail("the end");
  }

 private:
  void Skip() {
    while (at_ < text_.size() && (text_[at_] == ' ' || text_[at_] == '\n'))
      ++at_;
  }
  [[noreturn]] void Fail(const std::string& expected) const {
    throw DataError("oort: the saved selector state is damaged (expected " + expected +
                    " at byte " + std::to_string(at_) + ")");
  }
  const std::string& text_;
  size_t at_ = 0;
};

constexpr const char* kStateFormat = "oort-state-1";

}  // namespace

std::string OortSelector::SaveState() const {
  StateWriter w;
  w.Word(kStateFormat);
  w.Number(exploration_);
  w.Number(exploration_min_);
  w.Number(round_threshold_);
  w.Number(preferred_duration_);
  w.Integer(static_cast<int64_t>(exploit_history_.size()));
  for (double u : exploit_history_)
    w.Number(u);
  w.Integer(static_cast<int64_t>(registered_.size()));
  for (const train::ClientId& id : registered_) {  // registration order
    const Arm& arm = arms_.at(id);
    w.Id(id);
    w.Number(arm.reward);
    w.Number(arm.duration);
    w.Integer(arm.time_stamp);
    w.Integer(arm.count);
  }
  w.Ids(exploit_clients_);
  w.Ids(explore_clients_);
  w.Ids(std::vector<train::ClientId>(successful_.begin(), successful_.end()));
  w.Integer(static_cast<int64_t>(last_scores_.size()));
  for (const auto& [id, score] : last_scores_) {
    w.Id(id);
    w.Number(score);
  }
  return w.Take();
}

void OortSelector::RestoreState(const std::string& state) {
  StateReader r(state);
  r.Expect(kStateFormat);
  const double exploration = r.Number();
  const double exploration_min = r.Number();
  const double round_threshold = r.Number();
  const double preferred_duration = r.Number();
  std::deque<double> history(r.Count());
  for (double& u : history)
    u = r.Number();
  std::map<train::ClientId, Arm> arms;
  std::vector<train::ClientId> registered(r.Count());
  for (train::ClientId& id : registered) {
    id = r.Id();
    Arm arm;
    arm.reward = r.Number();
    arm.duration = r.Number();
    arm.time_stamp = r.Integer();
    arm.count = r.Integer();
    if (!arms.emplace(id, arm).second) {
      throw DataError("oort: the saved selector state names client '" + id + "' twice");
    }
  }
  std::vector<train::ClientId> exploit = r.Ids();
  std::vector<train::ClientId> explore = r.Ids();
  const std::vector<train::ClientId> successful = r.Ids();
  std::map<train::ClientId, double> scores;
  for (size_t n = r.Count(); n > 0; --n) {
    train::ClientId id = r.Id();
    scores[std::move(id)] = r.Number();
  }
  r.End();
  // All read: replace the state at once.
  exploration_ = exploration;
  exploration_min_ = exploration_min;
  round_threshold_ = round_threshold;
  preferred_duration_ = preferred_duration;
  exploit_history_ = std::move(history);
  arms_ = std::move(arms);
  registered_ = std::move(registered);
  exploit_clients_ = std::move(exploit);
  explore_clients_ = std::move(explore);
  successful_ = std::set<train::ClientId>(successful.begin(), successful.end());
  last_scores_ = std::move(scores);
}

}  // namespace edgefl::algorithms
