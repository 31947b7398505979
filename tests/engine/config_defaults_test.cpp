// Defaults that follow the user: a key left unset never contradicts a key
// the user set (docs/settings.md, "Defaults that follow other keys"); and
// the printed config shows floats in their shortest round-trip form.
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "common/error.h"
#include "engine/experiment_config.h"
#include "tests/test_util.h"

namespace edgefl::engine {

TEST_CASE("config defaults: clients=4 alone gives 4 clients per round and says why") {
  const ExperimentConfig c = LoadExperimentConfig({}, {"clients=4"});
  CHECK(c.clients == 4);
  CHECK(c.clients_per_round == 4);
  CHECK(c.min_clients == 4);
  REQUIRE(c.followed_defaults.size() == 1);
  CHECK(c.followed_defaults[0] == "clients_per_round = 4 (default: min(10, clients))");
}

TEST_CASE("config defaults: clients above 10 keeps 10 per round and notes nothing") {
  const ExperimentConfig c = LoadExperimentConfig({}, {"clients=40"});
  CHECK(c.clients_per_round == 10);
  CHECK(c.followed_defaults.empty());
  CHECK(LoadExperimentConfig({}, {}).followed_defaults.empty());
}

TEST_CASE("config defaults: clients_per_round=20 alone gives 20 clients") {
  const ExperimentConfig c = LoadExperimentConfig({}, {"clients_per_round=20"});
  CHECK(c.clients == 20);
  CHECK(c.clients_per_round == 20);
  REQUIRE(c.followed_defaults.size() == 1);
  CHECK(c.followed_defaults[0] == "clients = 20 (default: max(10, clients_per_round))");
}

TEST_CASE("config defaults: a value the user set both ways is still checked") {
  CHECK_THROWS_WITH_AS(LoadExperimentConfig({}, {"clients=4", "clients_per_round=6"}),
                       doctest::Contains("clients_per_round (6) must be <= clients (4)"),
                       ConfigError);
}

TEST_CASE("config defaults: a file setting clients follows as --set does") {
  edgefl::testing::TempDir dir;
  edgefl::testing::WriteFile(dir / "c.toml", "clients = 3\n");
  const ExperimentConfig c = LoadExperimentConfig(dir / "c.toml", {"rounds=2"});
  CHECK(c.clients_per_round == 3);
  // The recorded config is read back as it was written: nothing follows.
  const ExperimentConfig again = ParseRecordedConfig(ToToml(c), "run 'x'");
  CHECK(again.clients_per_round == 3);
  CHECK(again.followed_defaults.empty());
}

TEST_CASE("config defaults: a fast heartbeat raises the default flood limit") {
  const ExperimentConfig c = LoadExperimentConfig({}, {"heartbeat=0.001"});
  CHECK(c.max_frames_per_second == 4000);
  REQUIRE(c.followed_defaults.size() == 1);
  CHECK(c.followed_defaults[0] ==
        "max_frames_per_second = 4000 (default: max(1000, 4 / heartbeat))");
  // Set by the user, the limit is theirs, and the conflict is an error.
  CHECK_THROWS_WITH_AS(
      LoadExperimentConfig({}, {"heartbeat=0.001", "max_frames_per_second=1000"}),
      doctest::Contains("heartbeat = 0.001 s makes clients send 1000 heartbeats a second"),
      ConfigError);
}

TEST_CASE("config printing: floats are written in their shortest round-trip form") {
  const ExperimentConfig c =
      LoadExperimentConfig({}, {"lr=0.05", "quorum=0.3", "server_lr=0.1", "momentum=0.9"});
  const std::string toml = ToToml(c);
  CHECK_MESSAGE(toml.find("lr = 0.05\n") != std::string::npos, toml);
  CHECK_MESSAGE(toml.find("quorum = 0.3\n") != std::string::npos, toml);
  CHECK_MESSAGE(toml.find("server_lr = 0.1\n") != std::string::npos, toml);
  CHECK_MESSAGE(toml.find("momentum = 0.9\n") != std::string::npos, toml);
  CHECK_MESSAGE(toml.find("heartbeat = 5.0\n") != std::string::npos, toml);
  CHECK_MESSAGE(toml.find("\nstrategy = ") != std::string::npos, toml);
  CHECK_MESSAGE(toml.find("\nrounds = 10\n") != std::string::npos, toml);
  CHECK(toml.find("0000000") == std::string::npos);
  // And it reads back to the same values.
  const ExperimentConfig again = ParseRecordedConfig(toml, "run 'x'");
  CHECK(again.lr == 0.05);
  CHECK(again.quorum == 0.3);
  CHECK(again.heartbeat == 5.0);
  CHECK(std::get<double>(again.algorithm_params.at("server_lr")) == 0.1);
  CHECK(ConfigChanges(toml, c).empty());
}

}  // namespace edgefl::engine
