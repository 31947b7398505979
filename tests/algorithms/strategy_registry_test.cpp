#include "algorithms/strategy_registry.h"

#include <doctest/doctest.h>

#include "algorithms/curriculum_selector.h"
#include "algorithms/fedavg.h"
#include "common/error.h"

namespace edgefl::algorithms {
namespace {

StrategyConfig StrategyRegistryConfig(const std::string& name, train::ParamMap params = {}) {
  StrategyConfig c;
  c.name = name;
  c.params = std::move(params);
  c.rounds = 50;
  return c;
}

const FedAvg& AsFedAvg(const std::unique_ptr<Strategy>& s) {
  const FedAvg* f = dynamic_cast<const FedAvg*>(s.get());
  REQUIRE(f != nullptr);
  return *f;
}

TEST_CASE("registry builds the FedAvg family with the algorithms.md defaults") {
  const auto fedavg = MakeStrategy(StrategyRegistryConfig("fedavg"));
  CHECK(fedavg->name() == "fedavg");
  CHECK(AsFedAvg(fedavg).options().server.kind == ServerOptimizerKind::kNone);
  CHECK(AsFedAvg(fedavg).options().server.learning_rate == 1.0);

  const auto fedavgm = MakeStrategy(StrategyRegistryConfig("fedavgm"));
  CHECK(AsFedAvg(fedavgm).options().server.kind == ServerOptimizerKind::kMomentum);
  CHECK(AsFedAvg(fedavgm).options().server.momentum == 0.9);

  const auto fedadam = MakeStrategy(StrategyRegistryConfig("fedadam", {{"server_lr", 0.01}}));
  const ServerOptimizerConfig& adam = AsFedAvg(fedadam).options().server;
  CHECK(adam.kind == ServerOptimizerKind::kAdam);
  CHECK(adam.learning_rate == 0.01);
  CHECK(adam.beta1 == 0.9);
  CHECK(adam.beta2 == 0.99);
  CHECK(adam.tau == 1e-3);
  CHECK_FALSE(adam.bias_correction);

  CHECK(AsFedAvg(MakeStrategy(StrategyRegistryConfig("fedyogi"))).options().server.kind ==
        ServerOptimizerKind::kYogi);
}

TEST_CASE("registry reads typed keys including strings from overrides") {
  const auto s =
      MakeStrategy(StrategyRegistryConfig("fedavg", {{"aggregator", std::string("trimmed_mean")},
                                                     {"trim_fraction", std::string("0.25")},
                                                     {"lr_schedule", std::string("cosine")},
                                                     {"lr_floor", 0.001},
                                                     {"qsr", true},
                                                     {"qsr_h_base", int64_t{2}},
                                                     {"qsr_alpha", 0.2},
                                                     {"qsr_total_steps", int64_t{400}},
                                                     {"lr_warmup_steps", int64_t{20}}}));
  const FedAvgOptions& o = AsFedAvg(s).options();
  CHECK(o.aggregator == AggregatorKind::kTrimmedMean);
  CHECK(o.trim_fraction == 0.25);
  CHECK(o.lr_schedule.kind == train::LrScheduleKind::kCosine);
  CHECK(o.lr_schedule.total == 400);  // with qsr: the step budget, not the 50 rounds
  CHECK(o.lr_schedule.warmup == 20);
  REQUIRE(o.qsr.has_value());
  CHECK(o.qsr->base_steps == 2);
  CHECK(o.qsr->alpha == 0.2);
}

TEST_CASE("client-side strategies are FedAvg with their objective and pass-through params") {
  const auto wafl =
      MakeStrategy(StrategyRegistryConfig("wafl", {{"gamma", 0.05}, {"adv_steps", int64_t{20}}}));
  const FedAvgOptions& o = AsFedAvg(wafl).options();
  CHECK(wafl->name() == "wafl");
  CHECK(o.server.kind == ServerOptimizerKind::kNone);
  CHECK(o.local.objective == "wafl");
  CHECK(o.local.params.at("gamma") == 0.05);
  CHECK(o.local.params.at("adv_steps") == 20.0);
  CHECK(AsFedAvg(MakeStrategy(StrategyRegistryConfig("fedbr", {{"mu", 0.5}})))
            .options()
            .local.objective == "fedbr");
  CHECK(AsFedAvg(MakeStrategy(StrategyRegistryConfig("deltasgd"))).options().local.objective ==
        "deltasgd");
  CHECK_THROWS_WITH_AS(
      MakeStrategy(StrategyRegistryConfig("wafl", {{"gamma", std::string("big")}})),
      doctest::Contains("gamma must be a number"), ConfigError);
}

TEST_CASE("registry sets the curriculum data order with its pacing") {
  const auto s =
      MakeStrategy(StrategyRegistryConfig("fedavg", {{"data_order", std::string("anti_curriculum")},
                                                     {"pacing", std::string("root")},
                                                     {"pacing_b", 0.4}}));
  const train::LocalAlgorithm& local = AsFedAvg(s).options().local;
  CHECK(local.data_order == "anti_curriculum");
  CHECK(PacingFromValue(local.params.at("pacing")) == PacingKind::kRoot);
  CHECK(local.params.count("pacing_a") == 0);  // the client's default applies
  CHECK(local.params.at("pacing_b") == 0.4);
  CHECK_THROWS_WITH_AS(
      MakeStrategy(StrategyRegistryConfig(
          "fedavg", {{"data_order", std::string("curriculum")}, {"pacing_a", -1.0}})),
      doctest::Contains("pacing_a"), ConfigError);
  // Pacing keys mean nothing to the shuffled order.
  CHECK_THROWS_WITH_AS(MakeStrategy(StrategyRegistryConfig("fedavg", {{"pacing_b", 0.4}})),
                       doctest::Contains("unknown key \"pacing_b\""), ConfigError);
}

TEST_CASE("registry errors name the strategy or the key") {
  CHECK_THROWS_WITH_AS(MakeStrategy(StrategyRegistryConfig("fedprox")),
                       doctest::Contains("unknown strategy \"fedprox\" (accepted: fedavg"),
                       ConfigError);
  CHECK_THROWS_WITH_AS(MakeStrategy(StrategyRegistryConfig("fedavg", {{"server_lrr", 1.0}})),
                       doctest::Contains("unknown key \"server_lrr\""), ConfigError);
  // Keys of another server optimizer are unknown here.
  CHECK_THROWS_WITH_AS(MakeStrategy(StrategyRegistryConfig("fedadam", {{"server_momentum", 0.9}})),
                       doctest::Contains("unknown key \"server_momentum\""), ConfigError);
  CHECK_THROWS_WITH_AS(
      MakeStrategy(StrategyRegistryConfig("fedavgm", {{"server_momentum", std::string("x")}})),
      doctest::Contains("server_momentum must be a number"), ConfigError);
  CHECK_THROWS_WITH_AS(MakeStrategy(StrategyRegistryConfig("fedavgm", {{"server_momentum", 1.5}})),
                       doctest::Contains("server_momentum must be in [0, 1)"), ConfigError);
  CHECK_THROWS_WITH_AS(
      MakeStrategy(StrategyRegistryConfig("fedavg", {{"aggregator", std::string("krum")}})),
      doctest::Contains("aggregator"), ConfigError);
  CHECK_THROWS_WITH_AS(MakeStrategy(StrategyRegistryConfig("fedavg", {{"qsr", int64_t{1}}})),
                       doctest::Contains("qsr must be true or false"), ConfigError);
  CHECK_THROWS_WITH_AS(
      MakeStrategy(StrategyRegistryConfig(
          "fedavg", {{"lr_schedule", std::string("step")}, {"lr_step_rounds", 2.5}})),
      doctest::Contains("lr_step_rounds must be an integer"), ConfigError);
  // The schedule's counts are in rounds without qsr and in global steps with it.
  CHECK_THROWS_WITH_AS(
      MakeStrategy(
          StrategyRegistryConfig("fedavg", {{"qsr", true}, {"lr_warmup_rounds", int64_t{5}}})),
      doctest::Contains("lr_warmup_rounds does not apply: with qsr the schedule runs on global "
                        "steps (use lr_warmup_steps)"),
      ConfigError);
  CHECK_THROWS_WITH_AS(
      MakeStrategy(StrategyRegistryConfig(
          "fedavg", {{"lr_schedule", std::string("step")}, {"lr_step_steps", int64_t{5}}})),
      doctest::Contains("lr_step_steps does not apply: without qsr"), ConfigError);
  CHECK_THROWS_WITH_AS(
      MakeStrategy(StrategyRegistryConfig("fedavg", {{"local_objective", std::string("sam")}})),
      doctest::Contains("local_objective"), ConfigError);
  CHECK_THROWS_WITH_AS(MakeStrategy(StrategyRegistryConfig(
                           "fedadam", {{"server_optimizer", std::string("momentum")}})),
                       doctest::Contains("server_optimizer"), ConfigError);
}

TEST_CASE("registry builds selectors and rejects unknown ones") {
  SelectorConfig uniform;
  CHECK(MakeSelector(uniform)->name() == "uniform");
  SelectorConfig curriculum;
  curriculum.name = "curriculum";
  curriculum.params = {{"order", std::string("anti")}, {"pacing_a", 0.5}};
  CHECK(MakeSelector(curriculum)->name() == "curriculum");
  curriculum.params = {{"pacing_b", 2.0}};
  CHECK_THROWS_WITH_AS(MakeSelector(curriculum), doctest::Contains("pacing_b"), ConfigError);
  curriculum.params = {{"speed", 1.0}};
  CHECK_THROWS_WITH_AS(MakeSelector(curriculum), doctest::Contains("unknown key \"speed\""),
                       ConfigError);
  uniform.params = {{"order", std::string("anti")}};
  CHECK_THROWS_WITH_AS(MakeSelector(uniform), doctest::Contains("unknown key \"order\""),
                       ConfigError);
  SelectorConfig other;
  other.name = "fedcs";
  CHECK_THROWS_WITH_AS(MakeSelector(other), doctest::Contains("uniform, curriculum"), ConfigError);
}

}  // namespace
}  // namespace edgefl::algorithms
