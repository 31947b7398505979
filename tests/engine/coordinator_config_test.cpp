// The coordinator's keys in the experiment config.
#include <doctest/doctest.h>

#include "common/error.h"
#include "engine/experiment_config.h"
#include "tests/test_util.h"

namespace edgefl::engine {

TEST_CASE("ExperimentConfig: coordinator keys have defaults") {
  const ExperimentConfig c = LoadExperimentConfig({}, {"clients_per_round=4"});
  CHECK(c.listen == "127.0.0.1");
  CHECK(c.port == 7443);
  CHECK(c.cert == "certs/server.crt");
  CHECK(c.key == "certs/server.key");
  CHECK(c.ca == "certs/ca.crt");
  CHECK(c.min_clients == 4);  // = clients_per_round
  CHECK(c.deadline == 0.0);
  CHECK(c.quorum == 1.0);
  CHECK(c.heartbeat == 5.0);
  CHECK(c.max_connections == 1024);
  CHECK(c.handshake_timeout == 10.0);
  CHECK(c.max_frame_bytes == 64 << 20);
}

TEST_CASE("ExperimentConfig: coordinator keys from a file and --set - round trip") {
  edgefl::testing::TempDir dir;
  edgefl::testing::WriteFile(dir / "coord.toml",
                             "listen = \"0.0.0.0\"\nport = 0\nmin_clients = 3\ndeadline = 30\n"
                             "quorum = 0.5\nheartbeat = 2.5\ncert = \"a.crt\"\n");
  const ExperimentConfig c =
      LoadExperimentConfig(dir / "coord.toml", {"max_connections=10", "handshake_timeout=1"});
  CHECK(c.listen == "0.0.0.0");
  CHECK(c.port == 0);
  CHECK(c.min_clients == 3);
  CHECK(c.deadline == 30.0);
  CHECK(c.quorum == 0.5);
  CHECK(c.heartbeat == 2.5);
  CHECK(c.cert == "a.crt");
  CHECK(c.max_connections == 10);
  CHECK(c.handshake_timeout == 1.0);
  CHECK(c.algorithm_params.empty());  // none of them leaks to the strategy

  edgefl::testing::WriteFile(dir / "again.toml", ToToml(c));
  const ExperimentConfig again = LoadExperimentConfig(dir / "again.toml", {});
  CHECK(again.quorum == 0.5);
  CHECK(again.min_clients == 3);
  CHECK(again.listen == "0.0.0.0");
}

TEST_CASE("ExperimentConfig: bad coordinator values name the key") {
  CHECK_THROWS_WITH_AS(LoadExperimentConfig({}, {"port=70000"}), doctest::Contains("port"),
                       ConfigError);
  CHECK_THROWS_WITH_AS(LoadExperimentConfig({}, {"quorum=0"}), doctest::Contains("quorum"),
                       ConfigError);
  CHECK_THROWS_WITH_AS(LoadExperimentConfig({}, {"quorum=1.5"}), doctest::Contains("quorum"),
                       ConfigError);
  CHECK_THROWS_WITH_AS(LoadExperimentConfig({}, {"heartbeat=0"}), doctest::Contains("heartbeat"),
                       ConfigError);
  CHECK_THROWS_WITH_AS(LoadExperimentConfig({}, {"max_frame_bytes=100"}),
                       doctest::Contains("max_frame_bytes"), ConfigError);
  CHECK_THROWS_WITH_AS(LoadExperimentConfig({}, {"port=\"x\""}),
                       doctest::Contains("port must be an integer"), ConfigError);
  CHECK_THROWS_WITH_AS(LoadExperimentConfig({}, {"deadline=-1"}), doctest::Contains("deadline"),
                       ConfigError);
}

}  // namespace edgefl::engine
