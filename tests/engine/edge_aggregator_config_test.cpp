// The edge-aggregator keys of the experiment config (docs/edge-aggregators.md):
// role, upstream and its certificates, quorum_unit; bad combinations are
// refused naming the key, and only the sum-based FedAvg family composes.
#include <doctest/doctest.h>

#include "common/error.h"
#include "engine/experiment_config.h"

namespace edgefl::engine {
namespace {

const std::vector<std::string> kAggregator = {"role=aggregator", "upstream=127.0.0.1:7443",
                                              "upstream_cert=certs/agg-0.crt",
                                              "upstream_key=certs/agg-0.key"};

std::vector<std::string> With(std::vector<std::string> base, const std::string& extra) {
  base.push_back(extra);
  return base;
}

}  // namespace

TEST_CASE("edge aggregator config: an aggregator's keys load and reach the log's TOML") {
  const ExperimentConfig c = LoadExperimentConfig({}, kAggregator);
  CHECK(c.role == "aggregator");
  CHECK(c.upstream == "127.0.0.1:7443");
  CHECK(c.upstream_ca.empty());
  CHECK(ToToml(c).find("role = 'aggregator'") != std::string::npos);
  // The defaults are not written, so older logs compare equal on resume.
  const ExperimentConfig root = LoadExperimentConfig({}, {});
  CHECK(root.role == "coordinator");
  CHECK(root.quorum_unit == "clients");
  CHECK(ToToml(root).find("role") == std::string::npos);
  CHECK(ToToml(root).find("quorum_unit") == std::string::npos);
  CHECK(LoadExperimentConfig({}, {"quorum_unit=samples"}).quorum_unit == "samples");
}

TEST_CASE("edge aggregator config: bad combinations are refused naming the key") {
  CHECK_THROWS_WITH_AS(LoadExperimentConfig({}, {"role=edge"}),
                       doctest::Contains("role 'edge' is not known"), ConfigError);
  CHECK_THROWS_WITH_AS(LoadExperimentConfig({}, {"quorum_unit=bytes"}),
                       doctest::Contains("quorum_unit 'bytes' is not known"), ConfigError);
  CHECK_THROWS_WITH_AS(LoadExperimentConfig({}, {"role=aggregator"}),
                       doctest::Contains("needs upstream = \"host:port\""), ConfigError);
  CHECK_THROWS_WITH_AS(LoadExperimentConfig({}, {"role=aggregator", "upstream=127.0.0.1:7443"}),
                       doctest::Contains("upstream_cert is not set"), ConfigError);
  CHECK_THROWS_WITH_AS(LoadExperimentConfig({}, {"role=aggregator", "upstream=127.0.0.1:7443",
                                                 "upstream_cert=a.crt"}),
                       doctest::Contains("upstream_key is not set"), ConfigError);
  CHECK_THROWS_WITH_AS(LoadExperimentConfig({}, {"upstream=127.0.0.1:7443"}),
                       doctest::Contains("upstream is set but role is \"coordinator\""),
                       ConfigError);
  CHECK_THROWS_WITH_AS(LoadExperimentConfig({}, {"upstream_cert=a.crt"}),
                       doctest::Contains("upstream_cert is set but role"), ConfigError);
  CHECK_THROWS_WITH_AS(LoadExperimentConfig({}, With(kAggregator, "mode=async")),
                       doctest::Contains("mode = \"async\" with role = \"aggregator\""),
                       ConfigError);
}

TEST_CASE("edge aggregator config: only the sum-based FedAvg family composes with group sums") {
  for (const char* strategy : {"fedavg", "fedavgm", "fedadam", "fedyogi"}) {
    CAPTURE(strategy);
    CHECK_NOTHROW(LoadExperimentConfig({}, With(kAggregator, std::string("strategy=") + strategy)));
    CHECK(GroupSumProblem(LoadExperimentConfig({}, {std::string("strategy=") + strategy})).empty());
  }
  CHECK_THROWS_WITH_AS(LoadExperimentConfig({}, With(kAggregator, "aggregator=median")),
                       doctest::Contains("aggregator = \"median\" needs each client's update"),
                       ConfigError);
  CHECK_THROWS_WITH_AS(LoadExperimentConfig({}, With(kAggregator, "aggregator=trimmed_mean")),
                       doctest::Contains("aggregator = \"trimmed_mean\""), ConfigError);
  CHECK_THROWS_WITH_AS(LoadExperimentConfig({}, With(kAggregator, "strategy=fedbr")),
                       doctest::Contains("strategy = \"fedbr\" needs each client's update"),
                       ConfigError);
  CHECK_THROWS_WITH_AS(LoadExperimentConfig({}, With(kAggregator, "dp=true")),
                       doctest::Contains("dp = true"), ConfigError);
  // SecAgg+ runs within each group; with DP (per-client clipping) or
  // compression it is still refused, naming the key.
  CHECK_NOTHROW(LoadExperimentConfig({}, With(kAggregator, "secure_aggregation=true")));
  CHECK(GroupSumProblem(LoadExperimentConfig({}, {"secure_aggregation=true"})).empty());
  CHECK_THROWS_WITH_AS(
      LoadExperimentConfig({}, With(With(kAggregator, "secure_aggregation=true"), "dp=true")),
      doctest::Contains("dp = true"), ConfigError);
  CHECK_THROWS_WITH_AS(LoadExperimentConfig({}, With(kAggregator, "compression=fp16")),
                       doctest::Contains("compression = \"fp16\""), ConfigError);
  // A root says why in Welcome (run_config "group_sums_refused").
  CHECK(GroupSumProblem(LoadExperimentConfig({}, {"aggregator=median"}))
            .find("aggregator = \"median\"") != std::string::npos);
}

}  // namespace edgefl::engine
