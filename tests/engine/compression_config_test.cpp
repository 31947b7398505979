// The compression keys of the experiment config: read in one place with
// their ranges, and refused with secure aggregation and decentralized mode.
#include <doctest/doctest.h>

#include "common/error.h"
#include "engine/experiment_config.h"

namespace edgefl::engine {

TEST_CASE("compression config: the keys reach CompressionFrom and the log's TOML") {
  const ExperimentConfig c = LoadExperimentConfig(
      {}, {"compression=topk", "compression_topk_fraction=0.02", "compression_int8_block=64"});
  const compress::CompressionConfig cc = CompressionFrom(c);
  CHECK(cc.codec == compress::Codec::kTopK);
  CHECK(cc.topk_fraction == 0.02);
  CHECK(cc.int8_block == 64);
  CHECK(ToToml(c).find("compression = 'topk'") != std::string::npos);
  // Off (the default): nothing is written, so older logs compare equal.
  CHECK(ToToml(LoadExperimentConfig({}, {})).find("compression") == std::string::npos);
  CHECK_FALSE(CompressionFrom(LoadExperimentConfig({}, {})).enabled());
}

TEST_CASE("compression config: unknown codecs and values out of range are refused") {
  CHECK_THROWS_WITH_AS(LoadExperimentConfig({}, {"compression=gzip"}),
                       doctest::Contains("compression 'gzip' is not known"), ConfigError);
  CHECK_THROWS_WITH_AS(LoadExperimentConfig({}, {"compression_topk_fraction=0"}),
                       doctest::Contains("compression_topk_fraction must be in (0, 1]"),
                       ConfigError);
  CHECK_THROWS_WITH_AS(LoadExperimentConfig({}, {"compression_int8_block=0"}),
                       doctest::Contains("compression_int8_block must be in [1, 1048576]"),
                       ConfigError);
}

TEST_CASE("compression config: refused with secure aggregation and in decentralized mode") {
  CHECK_THROWS_WITH_AS(LoadExperimentConfig({}, {"compression=int8", "secure_aggregation=true"}),
                       doctest::Contains("is refused with secure_aggregation = true"), ConfigError);
  CHECK_THROWS_WITH_AS(LoadExperimentConfig({}, {"compression=fp16", "mode=decentralized"}),
                       doctest::Contains("decentralized mode exchanges whole models"), ConfigError);
  CHECK_NOTHROW(LoadExperimentConfig({}, {"compression=none", "secure_aggregation=true"}));
}

}  // namespace edgefl::engine
