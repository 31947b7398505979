#include "algorithms/oort_selector.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "algorithms/strategy_registry.h"
#include "common/error.h"
#include "common/random.h"

namespace edgefl::algorithms {
namespace {

std::string Id(size_t i) {
  std::string id = std::to_string(100 + i);
  id.insert(id.begin(), 'c');
  return id;
}

// n clients with 100 samples each and speed 100·(i + 1) samples/s.
std::vector<ClientInfo> OortSelectorFleet(size_t n) {
  std::vector<ClientInfo> clients(n);
  for (size_t i = 0; i < n; ++i) {
    clients[i].id = Id(i);
    clients[i].num_samples = 100;
    clients[i].samples_per_second = 100.0 * static_cast<double>(i + 1);
  }
  return clients;
}

// One epoch of batch 10 per round (PlannedSamples = num_samples).
OortOptions Defaults() {
  OortOptions o;
  o.recipe.epochs = 1;
  o.recipe.batch_size = 10;
  return o;
}

train::LocalTrainResult OortSelectorResult(size_t num_samples, int64_t processed, double loss_sq) {
  train::LocalTrainResult r;
  r.num_samples = num_samples;
  r.samples_processed = processed;
  r.loss_sq_before = loss_sq;
  return r;
}

// Reports every picked client as completed, with utility from `loss_sq`
// and duration from `seconds` (by candidate index).
void Report(OortSelector& selector, int64_t round, const std::vector<ClientInfo>& candidates,
            const std::vector<size_t>& picked, const std::vector<double>& loss_sq,
            const std::vector<double>& seconds) {
  std::vector<train::LocalTrainResult> results;
  results.reserve(picked.size());
  std::vector<CohortOutcome> outcomes;
  for (size_t i : picked)
    results.push_back(OortSelectorResult(candidates[i].num_samples, 100, loss_sq[i]));
  for (size_t j = 0; j < picked.size(); ++j)
    outcomes.push_back({candidates[picked[j]].id, &results[j], seconds[picked[j]]});
  selector.Observe(round, outcomes);
}

}  // namespace

TEST_CASE("Oort: statistical utility is |B| times the root mean squared loss") {
  // |B| = min(num_samples, samples processed): 50 · sqrt(0.36) and 64 · sqrt(0.25).
  CHECK(OortStatisticalUtility(OortSelectorResult(50, 64, 0.36)) == doctest::Approx(30.0));
  CHECK(OortStatisticalUtility(OortSelectorResult(200, 64, 0.25)) == doctest::Approx(32.0));
  // Not measured (a remote client): loss_before, else the training loss.
  train::LocalTrainResult remote = OortSelectorResult(100, 100, std::nan(""));
  remote.loss_before = 0.5;
  CHECK(OortStatisticalUtility(remote) == doctest::Approx(50.0));
  remote.loss_before = std::nan("");
  remote.train_loss = 0.2;
  CHECK(OortStatisticalUtility(remote) == doctest::Approx(20.0));
}

TEST_CASE("Oort: the score of a hand example, with the (T/t)^alpha penalty for slow clients") {
  for (const double alpha : {2.0, 3.0}) {
    INFO("alpha " << alpha);
    OortOptions options = Defaults();
    options.round_penalty = alpha;
    OortSelector selector(options);
    const std::vector<ClientInfo> clients = OortSelectorFleet(3);
    Rng rng(1);
    // Round 1: nobody is explored, all three are explored.
    const std::vector<size_t> first = selector.Select(1, clients, 3, rng);
    REQUIRE(first.size() == 3);
    CHECK(selector.last_explored().size() == 3);
    // Utilities 100·sqrt(.09) = 30, 100·sqrt(.1024) = 32, 100·sqrt(.01) = 10;
    // durations 1, 2, 4 s.
    Report(selector, 1, clients, first, {0.09, 0.1024, 0.01}, {1.0, 2.0, 4.0});
    CHECK(selector.reward(Id(0)) == doctest::Approx(30.0));
    CHECK(selector.duration(Id(2)) == doctest::Approx(4.0));

    selector.Select(2, clients, 3, rng);
    // T = the 10th percentile of {1, 2, 4} = sorted[int(3 · 0.1)] = 1 s.
    CHECK(selector.preferred_duration() == doctest::Approx(1.0));
    // Rewards {10, 30, 32}: clip = sorted[min(int(3·0.98), 2)] = 32,
    // r_min = 9.99, range = 22.01; staleness sqrt(0.1 · ln 2 / 1).
    const double bonus = std::sqrt(0.1 * std::log(2.0) / 1.0);
    const double r_min = 0.999 * 10.0, range = 32.0 - r_min;
    const std::map<train::ClientId, double>& scores = selector.last_scores();
    REQUIRE(scores.size() == 3);
    CHECK(scores.at(Id(0)) == doctest::Approx((30.0 - r_min) / range + bonus));
    CHECK(scores.at(Id(1)) ==
          doctest::Approx(((32.0 - r_min) / range + bonus) * std::pow(1.0 / 2.0, alpha)));
    CHECK(scores.at(Id(2)) ==
          doctest::Approx(((10.0 - r_min) / range + bonus) * std::pow(1.0 / 4.0, alpha)));
  }
}

TEST_CASE(
    "Oort: a client no slower than T is not penalised, and round_threshold 100 penalises none") {
  OortOptions options = Defaults();
  options.round_threshold = 100.0;
  OortSelector selector(options);
  const std::vector<ClientInfo> clients = OortSelectorFleet(3);
  Rng rng(2);
  Report(selector, 1, clients, selector.Select(1, clients, 3, rng), {0.09, 0.09, 0.09},
         {1.0, 2.0, 40.0});
  selector.Select(2, clients, 3, rng);
  CHECK(std::isinf(selector.preferred_duration()));
  const std::map<train::ClientId, double>& scores = selector.last_scores();
  CHECK(scores.at(Id(0)) == doctest::Approx(scores.at(Id(2))));
}

TEST_CASE("Oort: exploration starts at the factor, decays each round and stops at its minimum") {
  const OortOptions options = Defaults();  // 0.9, 0.95, min 0.2
  OortSelector selector(options);
  const std::vector<ClientInfo> clients = OortSelectorFleet(400);
  const size_t k = 10;
  double epsilon = options.exploration_factor;
  size_t explored = 0;
  for (int64_t round = 1; round <= 40; ++round) {
    Rng rng = Rng::Derive(7, {static_cast<uint64_t>(round)});
    const std::vector<size_t> picked = selector.Select(round, clients, k, rng);
    epsilon = std::max(epsilon * options.exploration_decay, options.exploration_min);
    INFO("round " << round);
    CHECK(selector.exploration() == doctest::Approx(epsilon));
    CHECK(selector.exploration() >= options.exploration_min);
    const size_t exploit =
        std::min(static_cast<size_t>(static_cast<double>(k) * (1.0 - epsilon)), explored);
    CHECK(selector.last_exploited().size() == exploit);
    CHECK(selector.last_explored().size() == k - exploit);
    CHECK(picked.size() == k);
    explored += selector.last_explored().size();
    std::vector<double> loss_sq(clients.size(), 0.5), seconds(clients.size(), 1.0);
    Report(selector, round, clients, picked, loss_sq, seconds);
  }
  CHECK(epsilon == doctest::Approx(0.2));  // reached the floor by round 30
}

TEST_CASE("Oort: once every client is explored, exploration is 0 and all slots exploit") {
  OortSelector selector(Defaults());
  const std::vector<ClientInfo> clients = OortSelectorFleet(12);
  const std::vector<double> loss_sq(12, 0.3), seconds(12, 1.0);
  for (int64_t round = 1; round <= 8; ++round) {
    Rng rng = Rng::Derive(3, {static_cast<uint64_t>(round)});
    const std::vector<size_t> picked = selector.Select(round, clients, 4, rng);
    Report(selector, round, clients, picked, loss_sq, seconds);
  }
  Rng rng(4);
  selector.Select(9, clients, 4, rng);
  CHECK(selector.exploration() == 0.0);
  CHECK(selector.last_exploited().size() == 4);
  CHECK(selector.last_explored().empty());
}

TEST_CASE("Oort: the pacer moves round_threshold by delta at the window ends") {
  // ε = 0: every slot exploits once a client is explored, so the exploit
  // utility history is 0, 0, u, u, u, ... (rounds 1, 2 have no exploited
  // clients that reported).
  OortOptions options = Defaults();
  options.exploration_factor = 0.0;
  options.exploration_min = 0.0;
  options.pacer_step = 2;
  options.pacer_delta = 5.0;
  options.round_threshold = 10.0;
  OortSelector selector(options);
  // 20 clients with durations 1..20 s; T is the threshold percentile of them.
  // Their speeds give the same expected durations before they report.
  std::vector<ClientInfo> clients = OortSelectorFleet(20);
  std::vector<double> seconds(20);
  for (size_t i = 0; i < 20; ++i) {
    seconds[i] = static_cast<double>(i + 1);
    clients[i].samples_per_second = 100.0 / seconds[i];
  }
  const std::vector<double> loss_sq(20, 0.25);  // every utility 50
  // round → round_threshold after that round's Select.
  const std::map<int64_t, double> expected = {
      {1, 10}, {2, 10}, {3, 10},
      {4, 5},            // windows (0 + 0) → (u + u): a jump of more than 5 × 0: tighten
      {5, 5},  {6, 10},  // (u + u) → (u + u): flat: relax by δ
      {7, 10}, {8, 15}, {10, 20}};
  for (int64_t round = 1; round <= 10; ++round) {
    Rng rng = Rng::Derive(5, {static_cast<uint64_t>(round)});
    const std::vector<size_t> picked = selector.Select(round, clients, 4, rng);
    INFO("round " << round);
    if (expected.contains(round)) CHECK(selector.round_threshold() == expected.at(round));
    // T = sorted durations[int(20 · threshold / 100)].
    const auto at = static_cast<size_t>(20.0 * selector.round_threshold() / 100.0);
    CHECK(selector.preferred_duration() == doctest::Approx(seconds[at]));
    Report(selector, round, clients, picked, loss_sq, seconds);
  }
}

TEST_CASE("Oort: the same seed and feedback give the same cohorts") {
  auto run = [](uint64_t seed) {
    OortSelector selector(Defaults());
    const std::vector<ClientInfo> clients = OortSelectorFleet(30);
    std::vector<double> loss_sq(30), seconds(30);
    for (size_t i = 0; i < 30; ++i) {
      loss_sq[i] = 0.1 + 0.05 * static_cast<double>(i % 7);
      seconds[i] = 30.0 / static_cast<double>(i + 1);
    }
    std::vector<std::vector<size_t>> cohorts;
    for (int64_t round = 1; round <= 15; ++round) {
      Rng rng = Rng::Derive(seed, {static_cast<uint64_t>(round)});
      cohorts.push_back(selector.Select(round, clients, 5, rng));
      Report(selector, round, clients, cohorts.back(), loss_sq, seconds);
    }
    return cohorts;
  };
  CHECK(run(11) == run(11));
  CHECK(run(11) != run(12));
}

TEST_CASE("Oort: picks only available clients, each at most once, and never a blacklisted one") {
  OortOptions options = Defaults();
  options.blacklist_rounds = 2;
  options.blacklist_max_len = 0.5;
  options.overcommit = 1.3;
  OortSelector selector(options);
  const std::vector<ClientInfo> fleet = OortSelectorFleet(40);
  std::map<train::ClientId, int64_t> rounds;
  std::set<train::ClientId> seen;
  Rng availability(99);
  for (int64_t round = 1; round <= 30; ++round) {
    std::vector<ClientInfo> on;
    for (const ClientInfo& c : fleet) {
      if (availability.Uniform() < 0.6) on.push_back(c);
    }
    for (const ClientInfo& c : on)
      seen.insert(c.id);
    // Blacklisted: more than 2 rounds, while at most half the clients seen.
    std::set<train::ClientId> blacklisted;
    for (const auto& [id, count] : rounds) {
      if (count > 2) blacklisted.insert(id);
    }
    Rng rng = Rng::Derive(8, {static_cast<uint64_t>(round)});
    const std::vector<size_t> picked = selector.Select(round, on, 6, rng);
    INFO("round " << round);
    CHECK(picked.size() <= 8);  // ⌈1.3 · 6⌉
    std::set<size_t> distinct;
    for (size_t i : picked) {
      REQUIRE(i < on.size());
      distinct.insert(i);
      if (2 * blacklisted.size() <= seen.size()) CHECK_FALSE(blacklisted.contains(on[i].id));
    }
    CHECK(distinct.size() == picked.size());
    std::vector<double> loss_sq(on.size(), 0.4), seconds(on.size(), 2.0);
    Report(selector, round, on, picked, loss_sq, seconds);
    for (size_t i : picked)
      ++rounds[on[i].id];
  }
}

TEST_CASE("Oort: a member that did not report gets the round's mean utility and its duration") {
  OortSelector selector(Defaults());
  const std::vector<ClientInfo> clients = OortSelectorFleet(3);
  Rng rng(3);
  selector.Select(1, clients, 3, rng);
  const train::LocalTrainResult a = OortSelectorResult(100, 100, 0.04),
                                b = OortSelectorResult(100, 100, 0.16);
  const std::vector<CohortOutcome> outcomes = {
      {Id(0), &a, 1.0}, {Id(1), &b, 2.0}, {Id(2), nullptr, 9.0}};
  selector.Observe(1, outcomes);
  CHECK(selector.reward(Id(0)) == doctest::Approx(20.0));
  CHECK(selector.reward(Id(1)) == doctest::Approx(40.0));
  CHECK(selector.reward(Id(2)) == doctest::Approx(30.0));
  CHECK(selector.duration(Id(2)) == doctest::Approx(9.0));
}

TEST_CASE("Oort: registry builds it from selector keys and refuses bad values") {
  SelectorConfig config;
  config.name = "oort";
  config.params = {{"exploration_factor", 0.5}, {"round_penalty", 3.0}, {"pacer_step", int64_t{5}}};
  CHECK(MakeSelector(config)->name() == "oort");
  config.params = {{"exploration_factor", 1.5}};
  CHECK_THROWS_AS(MakeSelector(config), ConfigError);
  config.params = {{"pacer_step", int64_t{0}}};
  CHECK_THROWS_AS(MakeSelector(config), ConfigError);
  config.params = {{"explore_factor", 0.5}};
  CHECK_THROWS_WITH_AS(MakeSelector(config), doctest::Contains("explore_factor"), ConfigError);
  OortOptions options;
  options.sample_window = 0.5;
  CHECK_THROWS_AS(OortSelector{options}, ConfigError);
}

}  // namespace edgefl::algorithms

namespace edgefl::algorithms {

TEST_CASE("Oort: a selector restored from SaveState picks what the saved one would") {
  // 15 rounds straight; and 7 rounds, SaveState, a fresh selector that
  // restores it and runs rounds 8..15. A fresh selector without the state
  // (the resumed run before schema 7) explores anew and picks otherwise.
  OortOptions options = Defaults();
  options.pacer_step = 2;  // the pacer moves within the run
  const std::vector<ClientInfo> clients = OortSelectorFleet(30);
  std::vector<double> loss_sq(30), seconds(30);
  for (size_t i = 0; i < 30; ++i) {
    loss_sq[i] = 0.1 + 0.05 * static_cast<double>(i % 7);
    seconds[i] = 30.0 / static_cast<double>(i + 1);
  }
  auto rounds = [&](OortSelector& selector, int64_t from, int64_t to) {
    std::vector<std::vector<size_t>> cohorts;
    for (int64_t round = from; round <= to; ++round) {
      Rng rng = Rng::Derive(11, {static_cast<uint64_t>(round)});
      cohorts.push_back(selector.Select(round, clients, 5, rng));
      Report(selector, round, clients, cohorts.back(), loss_sq, seconds);
    }
    return cohorts;
  };
  OortSelector straight(options);
  const std::vector<std::vector<size_t>> all = rounds(straight, 1, 15);

  OortSelector first(options);
  rounds(first, 1, 7);
  const std::string state = first.SaveState();
  CHECK(state.rfind("oort-state-1 ", 0) == 0);
  OortSelector resumed(options);
  resumed.RestoreState(state);
  CHECK(resumed.SaveState() == state);
  CHECK(resumed.exploration() == first.exploration());
  CHECK(resumed.round_threshold() == first.round_threshold());
  CHECK(resumed.reward(Id(3)) == first.reward(Id(3)));
  const std::vector<std::vector<size_t>> after = rounds(resumed, 8, 15);
  CHECK(after == std::vector<std::vector<size_t>>(all.begin() + 7, all.end()));
  CHECK(resumed.SaveState() == straight.SaveState());

  OortSelector forgetful(options);
  CHECK(rounds(forgetful, 8, 15) != after);

  // Ids with spaces and colons survive; damaged text is refused, the state kept.
  OortSelector odd(options);
  std::vector<ClientInfo> named = OortSelectorFleet(3);
  named[0].id = "a b:c";
  Rng rng = Rng::Derive(1, {1});
  odd.Select(1, named, 2, rng);
  OortSelector copy(options);
  copy.RestoreState(odd.SaveState());
  CHECK(copy.reward("a b:c") == odd.reward("a b:c"));
  CHECK_THROWS_AS(copy.RestoreState("oort-state-1 0x1p+0"), DataError);
  CHECK_THROWS_AS(copy.RestoreState("fedavg"), DataError);
  CHECK(copy.reward("a b:c") == odd.reward("a b:c"));
}

}  // namespace edgefl::algorithms
