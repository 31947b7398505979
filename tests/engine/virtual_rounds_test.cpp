// Sync rounds on the simulated virtual clock: stragglers past the deadline
// are cut without training, simulated drop-outs are recorded, and an
// over-committed cohort keeps the first clients_per_round to finish.
#include <limits>

#include <doctest/doctest.h>

#include "algorithms/speed_aware_selector.h"
#include "algorithms/uniform_selector.h"
#include "engine/round_engine.h"

namespace edgefl::engine {
namespace {

using algorithms::ClientInfo;
using train::FitFailure;
using train::FitInstructions;
using train::FitResult;

class CountingClient final : public ClientProxy {
 public:
  CountingClient(std::string id, double speed) {
    info_.id = std::move(id);
    info_.num_samples = 10;
    info_.samples_per_second = speed;
  }
  ClientInfo& info() override { return info_; }
  std::future<FitResult> Fit(SharedParameters global, const FitInstructions& ins) override {
    ++fit_calls;
    FitResult r;
    r.client = info_.id;
    r.base_version = ins.model_version;
    r.train.parameters = global->array() + 1.0f;
    r.train.num_samples = info_.num_samples;
    std::promise<FitResult> p;
    p.set_value(std::move(r));
    return p.get_future();
  }
  std::future<train::EvalResult> Evaluate(SharedParameters) override {
    std::promise<train::EvalResult> p;
    p.set_value({});
    return p.get_future();
  }
  int fit_calls = 0;

 private:
  ClientInfo info_;
};

class VirtualRoundsMeanStrategy final : public algorithms::Strategy {
 public:
  std::string name() const override { return "test-mean"; }
  std::vector<FitInstructions> ConfigureFit(int64_t, std::span<const ClientInfo> cohort) override {
    std::vector<FitInstructions> out(cohort.size());
    for (FitInstructions& i : out)
      i.recipe.epochs = 1;
    return out;
  }
  algorithms::AggregateOutcome AggregateFit(int64_t, const Eigen::VectorXf& global,
                                            std::span<const FitResult> results,
                                            std::span<const FitFailure>) override {
    algorithms::AggregateOutcome out;
    out.parameters = global;
    out.metrics["n"] = static_cast<double>(results.size());
    return out;
  }
};

// Task time = 10 samples / speed; client "drop" always drops out.
RoundOptions Timed(size_t per_round, double deadline) {
  RoundOptions o;
  o.clients_per_round = per_round;
  o.quorum = 0.5;
  o.virtual_deadline = deadline;
  o.virtual_seconds = [](int64_t, const ClientInfo& c,
                         const FitInstructions& ins) -> std::optional<double> {
    if (c.id == "drop") return std::nullopt;
    return static_cast<double>(train::PlannedSamples(ins.recipe, c.num_samples)) /
           c.samples_per_second;
  };
  return o;
}

std::string ReasonOf(const RoundReport& report, const std::string& id) {
  for (const FitFailure& f : report.failures) {
    if (f.client == id) return f.reason;
  }
  return "";
}

TEST_CASE("virtual rounds: a straggler past the deadline is cut and never trains") {
  CountingClient a("a", 10.0), b("b", 5.0), slow("slow", 1.0), drop("drop", 10.0);
  std::vector<ClientProxy*> clients{&a, &b, &slow, &drop};
  VirtualRoundsMeanStrategy strategy;
  algorithms::UniformSelector selector;
  RoundEngine engine(strategy, selector, Timed(4, 6.0), Eigen::VectorXf::Zero(2));
  const RoundReport report = engine.RunRound(1, clients);
  CHECK(report.results.size() == 2);
  CHECK(report.model_updated);
  CHECK(slow.fit_calls == 0);
  CHECK(drop.fit_calls == 0);
  CHECK(ReasonOf(report, "slow").find("missed the deadline") != std::string::npos);
  CHECK(ReasonOf(report, "drop").find("dropped out") != std::string::npos);
  REQUIRE(report.virtual_seconds.has_value());
  CHECK(*report.virtual_seconds == 6.0);  // the server waited until the deadline

  // Without a deadline the round lasts until the slowest finishes.
  RoundEngine no_deadline(strategy, selector, Timed(3, 0.0), Eigen::VectorXf::Zero(2));
  std::vector<ClientProxy*> three{&a, &b, &slow};
  const RoundReport all = no_deadline.RunRound(1, three);
  CHECK(all.results.size() == 3);
  CHECK(*all.virtual_seconds == 10.0);
}

TEST_CASE("virtual rounds: over-commitment keeps the first clients_per_round to finish") {
  CountingClient c0("c0", 10.0 / 3.0), c1("c1", 10.0), c2("c2", 2.5), c3("c3", 5.0);
  std::vector<ClientProxy*> clients{&c0, &c1, &c2, &c3};
  VirtualRoundsMeanStrategy strategy;
  algorithms::SpeedAwareOptions options;
  options.overcommit = 1.3;  // 3 wanted, ceil(3.9) = 4 selected
  options.fairness = 0.0;
  options.target = 100.0;
  options.recipe.epochs = 1;
  algorithms::SpeedAwareSelector selector(options);
  RoundEngine engine(strategy, selector, Timed(3, 0.0), Eigen::VectorXf::Zero(2));
  const RoundReport report = engine.RunRound(1, clients);
  CHECK(report.selected.size() == 4);
  CHECK(report.results.size() == 3);
  CHECK(c2.fit_calls == 0);  // 4 s: the last to finish
  CHECK(ReasonOf(report, "c2").find("over-committed") != std::string::npos);
  CHECK(*report.virtual_seconds == doctest::Approx(3.0));
}

TEST_CASE("virtual rounds: only clients on at the round start take part and off-line tasks drop") {
  CountingClient a("a", 10.0 / 6.0), b("b", 1.0);  // a: 6 s, b: 10 s
  std::vector<ClientProxy*> clients{&a, &b};
  VirtualRoundsMeanStrategy strategy;
  algorithms::UniformSelector selector;
  RoundOptions o = Timed(2, 0.0);
  bool a_away = false;
  // b is on in [0, 5) and from 20; a always, or (a_away) from 30.
  o.availability = [&a_away](const ClientInfo& c, double t) -> std::pair<double, double> {
    const double inf = std::numeric_limits<double>::infinity();
    if (c.id == "a") return a_away ? std::pair{std::max(t, 30.0), inf} : std::pair{t, inf};
    if (t < 5.0) return {t, 5.0};
    return {std::max(t, 20.0), inf};
  };
  RoundEngine engine(strategy, selector, o, Eigen::VectorXf::Zero(2));
  const RoundReport first = engine.RunRound(1, clients);
  CHECK(first.selected.size() == 2);
  CHECK(first.results.size() == 1);
  CHECK(b.fit_calls == 0);  // 10 s of work, off at 5
  CHECK(ReasonOf(first, "b").find("went off-line") != std::string::npos);
  CHECK(*first.virtual_seconds == doctest::Approx(6.0));
  CHECK(engine.virtual_now() == doctest::Approx(6.0));

  const RoundReport second = engine.RunRound(2, clients);
  CHECK(second.selected == std::vector<train::ClientId>{"a"});  // b is off until 20
  CHECK(engine.virtual_now() == doctest::Approx(12.0));

  // Nobody on: the clock moves to the first return (b at 20).
  a_away = true;
  const RoundReport third = engine.RunRound(3, clients);
  CHECK(third.selected == std::vector<train::ClientId>{"b"});
  CHECK(third.results.size() == 1);
  CHECK(engine.virtual_now() == doctest::Approx(30.0));  // 20 + b's 10 s
}

TEST_CASE("speed-aware selector: prefers clients on time with a fairness floor for late ones") {
  std::vector<ClientInfo> candidates;
  for (int i = 0; i < 10; ++i) {
    ClientInfo c;
    c.id = std::string(1, static_cast<char>('a' + i));
    c.num_samples = 100;
    c.samples_per_second = 10.0 * (i + 1);  // a takes 10 s, j takes 1 s
    c.rounds_participated = 5;
    candidates.push_back(c);
  }
  candidates[1].rounds_participated = 0;  // b (5 s) has never taken part
  algorithms::SpeedAwareOptions options;
  options.overcommit = 1.5;
  options.fairness = 0.2;
  options.target = 3.0;  // on time: d (2.5 s) and faster, 7 clients
  options.recipe.epochs = 1;
  algorithms::SpeedAwareSelector selector(options);
  CHECK(selector.ExpectedSeconds(candidates[0]) == doctest::Approx(10.0));
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Rng rng(seed);
    const std::vector<size_t> picked = selector.Select(1, candidates, 4, rng);
    REQUIRE(picked.size() == 6);  // ceil(1.5 · 4)
    CHECK(picked[0] == 1);        // round(0.2 · 6) = 1 late pick: the least-served
    for (size_t j = 1; j < picked.size(); ++j)
      CHECK(selector.ExpectedSeconds(candidates[picked[j]]) <= 3.0);
    std::vector<size_t> sorted = picked;
    std::sort(sorted.begin(), sorted.end());
    CHECK(std::unique(sorted.begin(), sorted.end()) == sorted.end());
  }
}

}  // namespace
}  // namespace edgefl::engine
