#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "algorithms/curriculum_selector.h"
#include "algorithms/uniform_selector.h"
#include "common/error.h"
#include "common/random.h"

namespace edgefl::algorithms {
namespace {

// n clients sim-00 .. with score = a permutation of 0..n-1 (so the
// curriculum order is known).
std::vector<ClientInfo> SelectorClients(size_t n) {
  std::vector<ClientInfo> clients(n);
  for (size_t i = 0; i < n; ++i) {
    clients[i].id = "sim-" + std::string(i < 10 ? "0" : "") + std::to_string(i);
    clients[i].num_samples = 100;
    clients[i].score = static_cast<double>((i * 7) % n);  // 7 coprime with n below
  }
  return clients;
}

TEST_CASE("uniform selector draws k distinct clients deterministically") {
  const std::vector<ClientInfo> clients = SelectorClients(20);
  UniformSelector selector;
  Rng a(5), b(5);
  const std::vector<size_t> first = selector.Select(0, clients, 6, a);
  CHECK(first == selector.Select(0, clients, 6, b));
  CHECK(first.size() == 6);
  CHECK(std::set<size_t>(first.begin(), first.end()).size() == 6);
  CHECK(selector.Select(0, clients, 50, a).size() == 20);
  CHECK_FALSE(selector.NeedsScores(0));
}

TEST_CASE("uniform selector is roughly uniform") {
  const std::vector<ClientInfo> clients = SelectorClients(10);
  UniformSelector selector;
  Rng rng(9);
  std::vector<int> counts(10, 0);
  for (int r = 0; r < 5000; ++r) {
    for (size_t i : selector.Select(r, clients, 3, rng))
      ++counts[i];
  }
  for (int c : counts)
    CHECK(std::abs(c - 1500) < 150);
}

CurriculumSelectorOptions SelectorOptions(SelectionOrder order, double a, double b,
                                          int64_t rounds) {
  CurriculumSelectorOptions o;
  o.order = order;
  o.pacing = Pacing{PacingKind::kLinear, a, b, 10.0};
  o.rounds = rounds;
  return o;
}

// Runs `rounds` rounds, returns the selected ids per round.
std::vector<std::vector<std::string>> SelectorRun(CurriculumSelector& selector,
                                                  const std::vector<ClientInfo>& clients, size_t k,
                                                  int64_t rounds, uint64_t seed) {
  Rng rng(seed);
  std::vector<std::vector<std::string>> out;
  for (int64_t r = 0; r < rounds; ++r) {
    std::vector<std::string> ids;
    for (size_t i : selector.Select(r, clients, k, rng))
      ids.push_back(clients[i].id);
    out.push_back(ids);
  }
  return out;
}

TEST_CASE("curriculum selector is deterministic given the seed") {
  const std::vector<ClientInfo> clients = SelectorClients(30);
  CurriculumSelector a(SelectorOptions(SelectionOrder::kCurriculum, 0.5, 0.2, 40));
  CurriculumSelector b(SelectorOptions(SelectionOrder::kCurriculum, 0.5, 0.2, 40));
  CHECK(SelectorRun(a, clients, 5, 40, 3) == SelectorRun(b, clients, 5, 40, 3));
}

TEST_CASE("curriculum selector pool starts with the easiest clients and grows with pacing") {
  const std::vector<ClientInfo> clients = SelectorClients(30);
  CurriculumSelector selector(SelectorOptions(SelectionOrder::kCurriculum, 0.5, 0.2, 40));
  Rng rng(1);
  CHECK(selector.NeedsScores(0));
  // First pass: pool = ⌊0.2 · 30⌋ = 6 easiest (scores 0..5), in groups of 4.
  std::set<double> scores;
  for (size_t i : selector.Select(0, clients, 4, rng))
    scores.insert(clients[i].score);
  CHECK_FALSE(selector.NeedsScores(1));
  for (size_t i : selector.Select(1, clients, 4, rng))
    scores.insert(clients[i].score);
  CHECK(selector.pool_size() == 6);
  CHECK(scores == std::set<double>{0, 1, 2, 3, 4, 5});
  CHECK(selector.NeedsScores(2));
  size_t previous = selector.pool_size();
  for (int64_t r = 2; r < 40; ++r) {
    selector.Select(r, clients, 4, rng);
    REQUIRE(selector.pool_size() >= previous);
    previous = selector.pool_size();
  }
  CHECK(previous == 30);  // u passed aT = 0.5 · 40 · 4 = 80 updates
}

TEST_CASE("curriculum selector walks each pool client once per pass") {
  const std::vector<ClientInfo> clients = SelectorClients(23);
  CurriculumSelector selector(SelectorOptions(SelectionOrder::kRandom, 1.0, 1.0, 100));
  Rng rng(2);
  CHECK_FALSE(selector.NeedsScores(0));  // random order needs no scores
  for (int pass = 0; pass < 3; ++pass) {
    std::multiset<std::string> seen;
    const int64_t before = selector.passes();
    while (true) {
      for (size_t i : selector.Select(0, clients, 5, rng))
        seen.insert(clients[i].id);
      if (selector.NeedsScores(0) || seen.size() == 23) break;
    }
    CHECK(selector.passes() == before + 1);
    CHECK(seen.size() == 23);
    CHECK(std::set<std::string>(seen.begin(), seen.end()).size() == 23);
  }
}

// The order a pass visits pool clients in is a shuffle; with a pool of all
// clients and one client per round, the pool is visible through the first
// selections only as a set. Use b = ε so that the pool is one client.
std::vector<double> FirstOfEachPass(SelectionOrder order, const std::vector<ClientInfo>& clients) {
  CurriculumSelector selector(SelectorOptions(order, 1.0, 0.0, 1000));
  Rng rng(4);
  std::vector<double> firsts;
  for (int r = 0; r < 3; ++r) {
    for (size_t i : selector.Select(r, clients, 1, rng))
      firsts.push_back(clients[i].score);
  }
  return firsts;
}

TEST_CASE("anti-curriculum takes the hardest clients first") {
  const std::vector<ClientInfo> clients = SelectorClients(11);
  CHECK(FirstOfEachPass(SelectionOrder::kCurriculum, clients) == std::vector<double>{0, 0, 0});
  CHECK(FirstOfEachPass(SelectionOrder::kAnti, clients) == std::vector<double>{10, 10, 10});
}

TEST_CASE("anti-curriculum pools are the reverse end of the curriculum order") {
  const std::vector<ClientInfo> clients = SelectorClients(30);
  for (double b : {0.1, 0.3, 0.5}) {
    CurriculumSelector easy(SelectorOptions(SelectionOrder::kCurriculum, 1.0, b, 1000));
    CurriculumSelector hard(SelectorOptions(SelectionOrder::kAnti, 1.0, b, 1000));
    Rng r1(1), r2(1);
    const size_t pool = static_cast<size_t>(b * 30);
    std::set<double> e, h;
    for (size_t i : easy.Select(0, clients, pool, r1))
      e.insert(clients[i].score);
    for (size_t i : hard.Select(0, clients, pool, r2))
      h.insert(clients[i].score);
    std::set<double> expected_e, expected_h;
    for (size_t s = 0; s < pool; ++s) {
      expected_e.insert(static_cast<double>(s));
      expected_h.insert(static_cast<double>(29 - s));
    }
    CHECK(e == expected_e);
    CHECK(h == expected_h);
  }
}

TEST_CASE("curriculum selector demands scores and skips unavailable clients") {
  std::vector<ClientInfo> clients = SelectorClients(10);
  clients[3].score = std::numeric_limits<double>::quiet_NaN();
  CurriculumSelector selector(SelectorOptions(SelectionOrder::kCurriculum, 1.0, 1.0, 10));
  Rng rng(1);
  CHECK_THROWS_WITH_AS(selector.Select(0, clients, 2, rng), doctest::Contains("sim-03"), Error);
  clients = SelectorClients(10);
  selector.Select(0, clients, 2, rng);  // starts a pass over all 10
  const std::vector<ClientInfo> fewer(clients.begin(), clients.begin() + 5);
  std::set<std::string> seen;
  while (!selector.NeedsScores(0)) {
    for (size_t i : selector.Select(1, fewer, 2, rng)) {
      REQUIRE(i < fewer.size());
      seen.insert(fewer[i].id);
    }
  }
  CHECK(seen.size() <= 5);
}

TEST_CASE("curriculum order names parse") {
  CHECK(ParseSelectionOrder("anti") == SelectionOrder::kAnti);
  CHECK_THROWS_WITH_AS(ParseSelectionOrder("reverse", "order"),
                       doctest::Contains("curriculum, anti, random"), ConfigError);
}

}  // namespace
}  // namespace edgefl::algorithms
