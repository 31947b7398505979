#include "engine/round_engine.h"

#include <cmath>
#include <future>
#include <numeric>

#include <doctest/doctest.h>

#include "common/error.h"

namespace edgefl::engine {
namespace {

using algorithms::ClientInfo;
using train::FitFailure;
using train::FitInstructions;
using train::FitResult;

// A client whose answer the test decides: a fixed update, an error, or
// nothing at all (a client that never answers).
class ScriptedClient final : public ClientProxy {
 public:
  enum class Mode { kAnswer, kThrow, kSilent };

  ScriptedClient(std::string id, size_t samples, Eigen::VectorXf update, Mode mode = Mode::kAnswer)
      : update_(std::move(update)), mode_(mode) {
    info_.id = std::move(id);
    info_.num_samples = samples;
  }

  ClientInfo& info() override { return info_; }

  std::future<FitResult> Fit(SharedParameters global, const FitInstructions& ins) override {
    ++fit_calls;
    last_version = ins.model_version;
    last_global = *global;
    std::promise<FitResult> promise;
    if (mode_ == Mode::kThrow) {
      promise.set_exception(std::make_exception_ptr(Error("connection reset")));
    } else if (mode_ == Mode::kAnswer) {
      FitResult result;
      result.client = info_.id;
      result.base_version = ins.model_version;
      result.train.parameters = update_;
      result.train.num_samples = info_.num_samples;
      result.train.train_loss = 1.0;
      promise.set_value(std::move(result));
    } else {
      silent_.push_back(std::move(promise));  // never fulfilled during the round
      return silent_.back().get_future();
    }
    return promise.get_future();
  }

  std::future<train::EvalResult> Evaluate(SharedParameters) override {
    std::promise<train::EvalResult> promise;
    promise.set_value({});
    return promise.get_future();
  }

  int fit_calls = 0;
  int64_t last_version = -1;
  Eigen::VectorXf last_global;

 private:
  ClientInfo info_;
  Eigen::VectorXf update_;
  Mode mode_;
  std::vector<std::promise<FitResult>> silent_;
};

// Sample-weighted mean of the results: FedAvg's rule, written out here so
// the engine is tested on its own.
class RoundEngineMeanStrategy final : public algorithms::Strategy {
 public:
  std::string name() const override { return "test-mean"; }
  std::vector<FitInstructions> ConfigureFit(int64_t, std::span<const ClientInfo> cohort) override {
    return std::vector<FitInstructions>(cohort.size());
  }
  algorithms::AggregateOutcome AggregateFit(int64_t, const Eigen::VectorXf& global,
                                            std::span<const FitResult> results,
                                            std::span<const FitFailure> failures) override {
    seen_failures = failures.size();
    Eigen::VectorXf sum = Eigen::VectorXf::Zero(global.size());
    double total = 0;
    for (const FitResult& r : results) {
      sum += static_cast<float>(r.train.num_samples) * r.train.parameters;
      total += static_cast<double>(r.train.num_samples);
    }
    algorithms::AggregateOutcome outcome;
    outcome.parameters = sum / static_cast<float>(total);
    return outcome;
  }
  size_t seen_failures = 0;
};

// Picks the first k candidates.
class FirstK final : public algorithms::ClientSelector {
 public:
  std::string name() const override { return "first-k"; }
  std::vector<size_t> Select(int64_t, std::span<const ClientInfo> candidates, size_t k,
                             Rng&) override {
    std::vector<size_t> picked(std::min(k, candidates.size()));
    std::iota(picked.begin(), picked.end(), size_t{0});
    return picked;
  }
};

Eigen::VectorXf Vec(std::initializer_list<float> values) {
  Eigen::VectorXf v(static_cast<Eigen::Index>(values.size()));
  Eigen::Index i = 0;
  for (float x : values)
    v[i++] = x;
  return v;
}

}  // namespace

TEST_CASE("RoundEngine: sample-weighted mean of the cohort - version advances") {
  RoundEngineMeanStrategy strategy;
  FirstK selector;
  RoundOptions options;
  options.clients_per_round = 2;
  RoundEngine engine(strategy, selector, options, Vec({0, 0}));
  ScriptedClient a("a", 1, Vec({1, 2}));
  ScriptedClient b("b", 3, Vec({5, 6}));
  ScriptedClient c("c", 1, Vec({100, 100}));  // not selected: k = 2
  std::vector<ClientProxy*> clients = {&a, &b, &c};

  const RoundReport report = engine.RunRound(0, clients);
  CHECK(report.model_updated);
  CHECK(report.model_version == 1);
  CHECK(report.selected == std::vector<std::string>{"a", "b"});
  CHECK(report.results.size() == 2);
  CHECK(report.failures.empty());
  CHECK(engine.global()[0] == doctest::Approx(0.25 * 1 + 0.75 * 5));
  CHECK(engine.global()[1] == doctest::Approx(0.25 * 2 + 0.75 * 6));
  CHECK(c.fit_calls == 0);
  CHECK(a.info().rounds_participated == 1);
  CHECK(a.info().last_round == 0);

  // The next round starts from the new model and names its version.
  engine.RunRound(1, clients);
  CHECK(a.last_version == 1);
  CHECK(a.last_global[0] == doctest::Approx(4.0));
}

TEST_CASE("RoundEngine: NaN and mis-sized updates are rejected with a reason - never aggregated") {
  RoundEngineMeanStrategy strategy;
  FirstK selector;
  RoundOptions options;
  options.clients_per_round = 3;
  options.quorum = 0.3;
  RoundEngine engine(strategy, selector, options, Vec({0, 0}));
  ScriptedClient good("good", 1, Vec({2, 4}));
  ScriptedClient nan("nan", 1, Vec({1, std::nanf("")}));
  ScriptedClient wrong("wrong", 1, Vec({1, 2, 3}));
  std::vector<ClientProxy*> clients = {&good, &nan, &wrong};

  const RoundReport report = engine.RunRound(0, clients);
  CHECK(report.model_updated);
  CHECK(engine.global() == Vec({2, 4}));
  REQUIRE(report.failures.size() == 2);
  CHECK(report.rejected() == 2);
  CHECK(report.failures[0].client == "nan");
  CHECK(report.failures[0].reason.find("NaN at index 1") != std::string::npos);
  CHECK(report.failures[1].reason.find("3 parameters") != std::string::npos);
  CHECK(strategy.seen_failures == 2);
}

TEST_CASE("RoundEngine: a client that fails is dropped - the round goes on") {
  RoundEngineMeanStrategy strategy;
  FirstK selector;
  RoundOptions options;
  options.clients_per_round = 2;
  options.quorum = 0.5;
  RoundEngine engine(strategy, selector, options, Vec({0}));
  ScriptedClient ok("ok", 1, Vec({3}));
  ScriptedClient gone("gone", 1, Vec({9}), ScriptedClient::Mode::kThrow);
  std::vector<ClientProxy*> clients = {&ok, &gone};
  const RoundReport report = engine.RunRound(0, clients);
  CHECK(report.model_updated);
  CHECK(engine.global()[0] == 3.0f);
  REQUIRE(report.dropped() == 1);
  CHECK(report.failures[0].reason == "connection reset");
}

TEST_CASE("RoundEngine: quorum_by_samples counts the reported dataset sizes - not the clients") {
  // A big group that reports and two small ones that fail: one client of
  // three is below a 0.5 quorum of clients, but 80 of 100 samples meet it.
  RoundEngineMeanStrategy strategy;
  FirstK selector;
  RoundOptions options;
  options.clients_per_round = 3;
  options.quorum = 0.5;
  ScriptedClient big("big", 80, Vec({3}));
  ScriptedClient small1("small1", 10, Vec({9}), ScriptedClient::Mode::kThrow);
  ScriptedClient small2("small2", 10, Vec({9}), ScriptedClient::Mode::kThrow);
  std::vector<ClientProxy*> clients = {&big, &small1, &small2};
  {
    RoundEngine by_clients(strategy, selector, options, Vec({0}));
    const RoundReport report = by_clients.RunRound(1, clients);
    CHECK_FALSE(report.model_updated);
    CHECK(report.outcome == "quorum not reached: 1 of 2 needed usable updates");
  }
  options.quorum_by_samples = true;
  RoundEngine by_samples(strategy, selector, options, Vec({0}));
  CHECK(by_samples.RunRound(1, clients).model_updated);
  CHECK(by_samples.global()[0] == 3.0f);
  // The two small ones alone (20 of 100 samples) do not.
  ScriptedClient big_gone("big", 80, Vec({3}), ScriptedClient::Mode::kThrow);
  ScriptedClient small_ok1("small1", 10, Vec({9}));
  ScriptedClient small_ok2("small2", 10, Vec({9}));
  std::vector<ClientProxy*> smalls = {&big_gone, &small_ok1, &small_ok2};
  const RoundReport report = by_samples.RunRound(2, smalls);
  CHECK_FALSE(report.model_updated);
  CHECK(report.outcome == "quorum not reached: usable updates of 20 of 50 needed samples");
}

TEST_CASE("RoundEngine: a silent client is cut at the deadline - below quorum the model is kept") {
  RoundEngineMeanStrategy strategy;
  FirstK selector;
  RoundOptions options;
  options.clients_per_round = 2;
  options.deadline = std::chrono::milliseconds(50);

  SUBCASE("quorum met") {
    options.quorum = 0.5;
    RoundEngine engine(strategy, selector, options, Vec({0}));
    ScriptedClient ok("ok", 1, Vec({3}));
    ScriptedClient silent("silent", 1, Vec({9}), ScriptedClient::Mode::kSilent);
    std::vector<ClientProxy*> clients = {&ok, &silent};
    const RoundReport report = engine.RunRound(0, clients);
    CHECK(report.model_updated);
    CHECK(engine.global()[0] == 3.0f);
    REQUIRE(report.dropped() == 1);
    CHECK(report.failures[0].reason == "deadline passed");
  }
  SUBCASE("quorum missed") {
    options.quorum = 1.0;
    RoundEngine engine(strategy, selector, options, Vec({7}));
    ScriptedClient ok("ok", 1, Vec({3}));
    ScriptedClient silent("silent", 1, Vec({9}), ScriptedClient::Mode::kSilent);
    std::vector<ClientProxy*> clients = {&ok, &silent};
    const RoundReport report = engine.RunRound(0, clients);
    CHECK_FALSE(report.model_updated);
    CHECK(engine.global()[0] == 7.0f);
    CHECK(engine.model_version() == 0);
    CHECK(report.results.size() == 1);
  }
}

TEST_CASE("RoundEngine: bad options are ConfigErrors") {
  RoundEngineMeanStrategy strategy;
  FirstK selector;
  RoundOptions options;
  options.quorum = 0;
  CHECK_THROWS_AS(RoundEngine(strategy, selector, options, Vec({0})), ConfigError);
  options = {};
  options.clients_per_round = 0;
  CHECK_THROWS_AS(RoundEngine(strategy, selector, options, Vec({0})), ConfigError);
  options = {};
  CHECK_THROWS_AS(RoundEngine(strategy, selector, options, Eigen::VectorXf()), ConfigError);
}

}  // namespace edgefl::engine
