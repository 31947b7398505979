// The round engine's secure aggregation with clients that run the stages
// themselves (ClientProxy::secagg_party, as the coordinator's TLS sessions
// do): they are asked to keep their updates, send statistics only, and the
// engine's model equals — bit for bit — the simulator's secure round on the
// same updates, with and without a client lost after its masked input.
#include <future>
#include <memory>
#include <numeric>
#include <optional>

#include <doctest/doctest.h>

#include "algorithms/secagg_party.h"
#include "engine/round_engine.h"

namespace edgefl::engine {
namespace {

using algorithms::ClientInfo;
using train::FitFailure;
using train::FitInstructions;
using train::FitResult;

// Answers every task with global + `delta`. With `holds` it runs the
// stages itself: a secure task's answer carries no parameters, and its
// party (an in-process SecAggClientUpdate) holds the update.
class DeltaClient final : public ClientProxy {
 public:
  DeltaClient(std::string id, size_t samples, Eigen::VectorXf delta, bool holds,
              std::optional<algorithms::SecAggStage> drop_at = std::nullopt)
      : delta_(std::move(delta)), holds_(holds), drop_at_(drop_at) {
    info_.id = std::move(id);
    info_.num_samples = samples;
  }

  ClientInfo& info() override { return info_; }

  std::future<FitResult> Fit(SharedParameters global, const FitInstructions& ins) override {
    secure_asked = ins.secure_aggregation;
    FitResult result;
    result.client = info_.id;
    result.base_version = ins.model_version;
    result.train.num_samples = info_.num_samples;
    result.train.train_loss = 1.0;
    const Eigen::VectorXf trained = *global + delta_;
    if (ins.secure_aggregation) {
      std::vector<float> delta(static_cast<size_t>(trained.size()));
      for (Eigen::Index i = 0; i < trained.size(); ++i)
        delta[static_cast<size_t>(i)] = trained[i] - (*global)[i];
      party_ = std::make_unique<algorithms::InProcessSecAggParty>(
          std::move(delta), static_cast<int64_t>(info_.num_samples), drop_at_);
    } else {
      result.train.parameters = trained;
    }
    std::promise<FitResult> promise;
    promise.set_value(std::move(result));
    return promise.get_future();
  }

  std::future<train::EvalResult> Evaluate(SharedParameters) override {
    std::promise<train::EvalResult> promise;
    promise.set_value({});
    return promise.get_future();
  }

  algorithms::SecAggParty* secagg_party() override {
    if (!holds_) return nullptr;
    if (party_ == nullptr) {  // before the task: a handle that exists
      party_ = std::make_unique<algorithms::InProcessSecAggParty>(std::vector<float>{}, 0);
    }
    return party_.get();
  }

  bool secure_asked = false;

 private:
  ClientInfo info_;
  Eigen::VectorXf delta_;
  bool holds_;
  std::optional<algorithms::SecAggStage> drop_at_;
  std::unique_ptr<algorithms::InProcessSecAggParty> party_;
};

// FedAvg on the secure round's single result (its parameters are the mean).
class SecureMean final : public algorithms::Strategy {
 public:
  explicit SecureMean(algorithms::SecureAggregationOptions options) : options_(options) {}
  std::string name() const override { return "test-secure-mean"; }
  std::vector<FitInstructions> ConfigureFit(int64_t, std::span<const ClientInfo> cohort) override {
    return std::vector<FitInstructions>(cohort.size());
  }
  algorithms::AggregateOutcome AggregateFit(int64_t, const Eigen::VectorXf&,
                                            std::span<const FitResult> results,
                                            std::span<const FitFailure>) override {
    REQUIRE(results.size() == 1);
    algorithms::AggregateOutcome outcome;
    outcome.parameters = results[0].train.parameters;
    return outcome;
  }
  const algorithms::SecureAggregationOptions* secure_aggregation() const override {
    return &options_;
  }

 private:
  algorithms::SecureAggregationOptions options_;
};

class All final : public algorithms::ClientSelector {
 public:
  std::string name() const override { return "all"; }
  std::vector<size_t> Select(int64_t, std::span<const ClientInfo> candidates, size_t k,
                             Rng&) override {
    std::vector<size_t> picked(std::min(k, candidates.size()));
    std::iota(picked.begin(), picked.end(), size_t{0});
    return picked;
  }
};

struct Outcome {
  RoundReport report;
  Eigen::VectorXf global;
  bool secure_asked = false;
};

// One round of 6 clients (client 5 optionally lost at `drop_at`), the
// clients holding their updates or not.
Outcome RunOne(bool holds, std::optional<algorithms::SecAggStage> drop_at) {
  algorithms::SecureAggregationOptions options;
  options.seed = 11;
  options.t = 3;
  SecureMean strategy(options);
  All selector;
  RoundOptions round_options;
  round_options.clients_per_round = 6;
  Eigen::VectorXf initial = Eigen::VectorXf::LinSpaced(50, -1.0f, 1.0f);
  RoundEngine engine(strategy, selector, round_options, initial);
  std::vector<std::unique_ptr<DeltaClient>> clients;
  std::vector<ClientProxy*> proxies;
  for (int c = 0; c < 6; ++c) {
    Eigen::VectorXf delta = Eigen::VectorXf::LinSpaced(50, 0.01f * c, -0.02f * c);
    const std::optional<algorithms::SecAggStage> drop = c == 5 ? drop_at : std::nullopt;
    clients.push_back(std::make_unique<DeltaClient>(std::string("c") + std::to_string(c),
                                                    size_t{10} + 7 * static_cast<size_t>(c), delta,
                                                    holds, drop));
    proxies.push_back(clients.back().get());
  }
  Outcome out;
  out.report = engine.RunRound(1, proxies);
  out.global = engine.global();
  out.secure_asked = clients[0]->secure_asked;
  return out;
}

// An edge aggregator as the root's session presents it: its answer is the
// group's mean global + `delta` with weight `samples`, flagged group_sum,
// whatever the instructions (it never runs the root's stages).
class GroupSumClient final : public ClientProxy {
 public:
  GroupSumClient(std::string id, size_t samples, Eigen::VectorXf delta) : delta_(std::move(delta)) {
    info_.id = std::move(id);
    info_.num_samples = samples;
  }
  ClientInfo& info() override { return info_; }
  std::future<FitResult> Fit(SharedParameters global, const FitInstructions& ins) override {
    FitResult result;
    result.client = info_.id;
    result.base_version = ins.model_version;
    result.train.num_samples = info_.num_samples;
    result.train.train_loss = 1.0;
    result.train.parameters = *global + delta_;
    result.group_sum = true;
    std::promise<FitResult> promise;
    promise.set_value(std::move(result));
    return promise.get_future();
  }
  std::future<train::EvalResult> Evaluate(SharedParameters) override {
    std::promise<train::EvalResult> promise;
    promise.set_value({});
    return promise.get_future();
  }
  algorithms::SecAggParty* secagg_party() override { return &unused_; }

 private:
  ClientInfo info_;
  Eigen::VectorXf delta_;
  algorithms::InProcessSecAggParty unused_{std::vector<float>{}, 0};
};

// FedAvg's weighted mean of whatever the engine hands it (the secure sum
// and the group sums); records how many inputs it got.
class SecureWeightedMean final : public algorithms::Strategy {
 public:
  explicit SecureWeightedMean(algorithms::SecureAggregationOptions options) : options_(options) {}
  std::string name() const override { return "test-secure-weighted-mean"; }
  std::vector<FitInstructions> ConfigureFit(int64_t, std::span<const ClientInfo> cohort) override {
    return std::vector<FitInstructions>(cohort.size());
  }
  algorithms::AggregateOutcome AggregateFit(int64_t, const Eigen::VectorXf& global,
                                            std::span<const FitResult> results,
                                            std::span<const FitFailure>) override {
    inputs = results.size();
    Eigen::VectorXd sum = Eigen::VectorXd::Zero(global.size());
    double weight = 0;
    for (const FitResult& r : results) {
      sum += static_cast<double>(r.train.num_samples) * r.train.parameters.cast<double>();
      weight += static_cast<double>(r.train.num_samples);
    }
    algorithms::AggregateOutcome outcome;
    outcome.parameters = (sum / weight).cast<float>();
    return outcome;
  }
  const algorithms::SecureAggregationOptions* secure_aggregation() const override {
    return &options_;
  }
  size_t inputs = 0;

 private:
  algorithms::SecureAggregationOptions options_;
};

// A round of `devices` clients holding their updates (SecAgg+ over them)
// and `groups` edge aggregators' group sums; the expected weighted mean.
struct MixedOutcome {
  RoundReport report;
  Eigen::VectorXf global;
  Eigen::VectorXd expected;
  size_t inputs = 0;
};

MixedOutcome RunMixed(int devices, int groups) {
  algorithms::SecureAggregationOptions options;
  options.seed = 11;
  options.t = 2;
  SecureWeightedMean strategy(options);
  All selector;
  RoundOptions round_options;
  round_options.clients_per_round = static_cast<size_t>(devices + groups);
  const Eigen::VectorXf initial = Eigen::VectorXf::LinSpaced(50, -1.0f, 1.0f);
  RoundEngine engine(strategy, selector, round_options, initial);
  std::vector<std::unique_ptr<ClientProxy>> clients;
  std::vector<ClientProxy*> proxies;
  Eigen::VectorXd sum = Eigen::VectorXd::Zero(50);
  double total = 0;
  for (int c = 0; c < devices + groups; ++c) {
    const Eigen::VectorXf delta = Eigen::VectorXf::LinSpaced(50, 0.01f * c, -0.02f * c);
    const size_t samples = size_t{10} + 7 * static_cast<size_t>(c);
    // Groups first in the cohort: the engine must not depend on the order.
    if (c < groups) {
      clients.push_back(
          std::make_unique<GroupSumClient>(std::string("g") + std::to_string(c), samples, delta));
    } else {
      clients.push_back(std::make_unique<DeltaClient>(std::string("c") + std::to_string(c), samples,
                                                      delta,
                                                      /*holds=*/true));
    }
    proxies.push_back(clients.back().get());
    sum += static_cast<double>(samples) * delta.cast<double>();
    total += static_cast<double>(samples);
  }
  MixedOutcome out;
  out.report = engine.RunRound(1, proxies);
  out.global = engine.global();
  out.expected = initial.cast<double>() + sum / total;
  out.inputs = strategy.inputs;
  return out;
}

}  // namespace

TEST_CASE("secure round: edge aggregators' group sums join the mean and never the stages") {
  // Only groups (a root over aggregators): no stage runs at the root.
  const MixedOutcome groups = RunMixed(0, 3);
  REQUIRE(groups.report.model_updated);
  CHECK(groups.inputs == 3);
  CHECK(groups.report.metrics.count("secagg_contributors") == 0);
  CHECK((groups.global.cast<double>() - groups.expected).cwiseAbs().maxCoeff() < 1e-6);
  // Devices beside groups: SecAgg+ over the 3 devices only, its sum and
  // the 2 group sums weighted by their samples.
  const MixedOutcome mixed = RunMixed(3, 2);
  REQUIRE(mixed.report.model_updated);
  CHECK(mixed.inputs == 3);
  CHECK(mixed.report.metrics.at("secagg_contributors") == 3);
  CHECK(mixed.report.results.size() == 5);
  CHECK((mixed.global.cast<double>() - mixed.expected).cwiseAbs().maxCoeff() < 1e-5);
}

TEST_CASE("secure round: clients that hold their updates give the simulator's model bit for bit") {
  const Outcome sim = RunOne(/*holds=*/false, std::nullopt);
  const Outcome remote = RunOne(/*holds=*/true, std::nullopt);
  CHECK_FALSE(sim.secure_asked);
  CHECK(remote.secure_asked);
  REQUIRE(sim.report.model_updated);
  REQUIRE(remote.report.model_updated);
  CHECK(remote.global == sim.global);
  CHECK(remote.report.metrics.at("secagg_contributors") == 6);
  CHECK(remote.report.metrics.at("secagg_bytes_up") == sim.report.metrics.at("secagg_bytes_up"));
  // The plain weighted mean, within quantisation (32 bits: far below 1e-5).
  Eigen::VectorXd mean = Eigen::VectorXd::Zero(50);
  double total = 0;
  for (int c = 0; c < 6; ++c) {
    const double w = 10.0 + 7.0 * c;
    mean += w * Eigen::VectorXd::LinSpaced(50, 0.01 * c, -0.02 * c);
    total += w;
  }
  const Eigen::VectorXd expected =
      Eigen::VectorXf::LinSpaced(50, -1.0f, 1.0f).cast<double>() + mean / total;
  CHECK((remote.global.cast<double>() - expected).cwiseAbs().maxCoeff() < 1e-5);
}

TEST_CASE(
    "secure round: a client lost after its masked input is recovered - one lost before is "
    "not summed") {
  const Outcome after = RunOne(true, algorithms::SecAggStage::kUnmask);
  REQUIRE(after.report.model_updated);
  CHECK(after.report.metrics.at("secagg_contributors") == 6);  // its input is in the sum
  CHECK(after.report.failures.empty());
  CHECK(after.global == RunOne(true, std::nullopt).global);

  const Outcome before = RunOne(true, algorithms::SecAggStage::kMask);
  REQUIRE(before.report.model_updated);
  CHECK(before.report.metrics.at("secagg_contributors") == 5);
  CHECK(before.report.metrics.at("secagg_recovered") == 1);
  REQUIRE(before.report.failures.size() == 1);
  CHECK(before.report.failures[0].client == "c5");
  CHECK(before.report.failures[0].reason.find("masked input") != std::string::npos);
  CHECK(before.report.results.size() == 5);
}

}  // namespace edgefl::engine
