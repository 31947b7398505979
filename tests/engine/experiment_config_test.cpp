#include "engine/experiment_config.h"

#include <filesystem>
#include <unistd.h>

#include <doctest/doctest.h>

#include "algorithms/async_strategy_registry.h"
#include "algorithms/strategy_registry.h"
#include "common/error.h"
#include "tests/test_util.h"

namespace edgefl::engine {

using edgefl::testing::TempDir;
using edgefl::testing::WriteFile;

TEST_CASE("ExperimentConfig: defaults without a file") {
  const ExperimentConfig c = LoadExperimentConfig({}, {});
  CHECK(c.strategy == "fedavg");
  CHECK(c.rounds == 10);
  CHECK(c.run_name == "fedavg-fmnist-iid-s1");
  CHECK(c.algorithm_params.empty());
}

TEST_CASE("ExperimentConfig: file values then --set overrides - unknown keys go to the algorithm") {
  TempDir dir;
  WriteFile(dir / "exp.toml",
            "strategy = \"fedavgm\"\nrounds = 5\nlr = 1\nmodel = \"cnn:lenet\"\n"
            "server_momentum = 0.9\npartition = \"dirichlet\"\nalpha = 0.1\n");
  const ExperimentConfig c = LoadExperimentConfig(
      dir / "exp.toml", {"rounds=7", "model=mlp:784-10", "server_lr=0.5", "run_name=x"});
  CHECK(c.strategy == "fedavgm");
  CHECK(c.rounds == 7);
  CHECK(c.lr == 1.0);              // an integer is a fine number
  CHECK(c.model == "mlp:784-10");  // not TOML: taken as a string
  CHECK(c.alpha == doctest::Approx(0.1));
  CHECK(c.run_name == "x");
  CHECK(std::get<double>(c.algorithm_params.at("server_momentum")) == 0.9);
  CHECK(std::get<double>(c.algorithm_params.at("server_lr")) == 0.5);

  // Round trip through the recorded TOML.
  WriteFile(dir / "again.toml", ToToml(c));
  const ExperimentConfig again = LoadExperimentConfig(dir / "again.toml", {});
  CHECK(again.rounds == 7);
  CHECK(again.model == "mlp:784-10");
  CHECK(std::get<double>(again.algorithm_params.at("server_lr")) == 0.5);
}

TEST_CASE(
    "ExperimentConfig: a misspelt common key is unknown to both and the closest is suggested") {
  TempDir dir;
  WriteFile(dir / "typo.toml", "roundz = 3\n");
  for (const ExperimentConfig& c :
       {LoadExperimentConfig({}, {"roundz=3"}), LoadExperimentConfig(dir / "typo.toml", {})}) {
    CHECK_THROWS_WITH_AS(algorithms::MakeStrategy(StrategyConfigFrom(c)),
                         doctest::Contains("strategy fedavg: unknown key \"roundz\": not a key of "
                                           "the experiment config nor of strategy fedavg; did you "
                                           "mean 'rounds'?"),
                         ConfigError);
  }
  // A strategy's own key is suggested as well.
  CHECK_THROWS_WITH_AS(algorithms::MakeStrategy(StrategyConfigFrom(
                           LoadExperimentConfig({}, {"strategy=fedavgm", "server_momentun=0.9"}))),
                       doctest::Contains("did you mean 'server_momentum'?"), ConfigError);
  CHECK_THROWS_WITH_AS(
      algorithms::MakeAsyncStrategy(StrategyConfigFrom(LoadExperimentConfig(
                                        {}, {"mode=async", "strategy=fedbuff", "bufer_size=4"})),
                                    4),
      doctest::Contains("did you mean 'buffer_size'?"), ConfigError);
  CHECK(ExperimentConfigKeys().size() > 40);
}

TEST_CASE("ExperimentConfig: threads is refused outside 0 to 256, naming the key and the range") {
  CHECK(LoadExperimentConfig({}, {"threads=256"}).threads == 256);
  CHECK(LoadExperimentConfig({}, {"threads=0"}).threads == 0);
  CHECK_THROWS_WITH_AS(LoadExperimentConfig({}, {"threads=40000"}),
                       "--set threads must be in [0, 256] (0 = one per core), got 40000",
                       ConfigError);
  CHECK_THROWS_WITH_AS(LoadExperimentConfig({}, {"threads=-1"}),
                       "--set threads must be in [0, 256] (0 = one per core), got -1", ConfigError);
}

TEST_CASE("ExperimentConfig: wrong types and impossible values name the key") {
  TempDir dir;
  WriteFile(dir / "bad.toml", "rounds = \"ten\"\n");
  CHECK_THROWS_WITH_AS(LoadExperimentConfig(dir / "bad.toml", {}),
                       doctest::Contains("'rounds' must be an integer, got string"), ConfigError);
  CHECK_THROWS_WITH_AS(LoadExperimentConfig({}, {"lr=-1"}), doctest::Contains("--set lr"),
                       ConfigError);
  CHECK_THROWS_WITH_AS(LoadExperimentConfig({}, {"clients=5", "clients_per_round=6"}),
                       doctest::Contains("clients_per_round"), ConfigError);
  CHECK_THROWS_WITH_AS(LoadExperimentConfig({}, {"rounds"}), doctest::Contains("key=value"),
                       ConfigError);
  CHECK_THROWS_WITH_AS(LoadExperimentConfig({}, {"batch_size=0"}), doctest::Contains("batch_size"),
                       ConfigError);
  WriteFile(dir / "syntax.toml", "rounds = 3\nlr = = 2\n");
  CHECK_THROWS_WITH_AS(LoadExperimentConfig(dir / "syntax.toml", {}),
                       doctest::Contains("syntax.toml:2"), ConfigError);
  CHECK_THROWS_WITH_AS(LoadExperimentConfig(dir / "missing.toml", {}),
                       doctest::Contains("missing.toml"), IoError);
}

TEST_CASE("ExperimentConfig: a config path that is not a readable file says what it is") {
  TempDir dir;
  const std::string is_directory = dir.path().string() + ": is a directory, not a config file";
  CHECK_THROWS_WITH_AS(LoadExperimentConfig(dir.path(), {}),
                       doctest::Contains(is_directory.c_str()), ConfigError);
  CHECK_THROWS_WITH_AS(LoadExperimentConfig("/dev/zero", {}),
                       doctest::Contains("config /dev/zero: is not a regular file"), ConfigError);
  CHECK_THROWS_WITH_AS(LoadExperimentConfig(dir / "missing.toml", {}),
                       doctest::Contains("missing.toml: no such file"), IoError);
  WriteFile(dir / "locked.toml", "rounds = 3\n");
  std::filesystem::permissions(dir / "locked.toml", std::filesystem::perms::none);
  if (geteuid() != 0) {  // root reads any file
    CHECK_THROWS_WITH_AS(LoadExperimentConfig(dir / "locked.toml", {}),
                         doctest::Contains("locked.toml: cannot be read: Permission denied"),
                         IoError);
  }
}

TEST_CASE(
    "ExperimentConfig: a heartbeat too fast for the flood limit is refused naming both keys") {
  CHECK(LoadExperimentConfig({}, {}).max_frames_per_second == 1000);
  CHECK(LoadExperimentConfig({}, {"heartbeat=0.01"}).heartbeat == 0.01);  // 100 a second is fine
  // Both set by the user (left unset, the limit follows the heartbeat:
  // config_defaults_test.cpp).
  CHECK_THROWS_WITH_AS(LoadExperimentConfig({}, {"heartbeat=0.001", "max_frames_per_second=1000"}),
                       doctest::Contains("max_frames_per_second = 1000"), ConfigError);
  CHECK_THROWS_WITH_AS(LoadExperimentConfig({}, {"heartbeat=0.001", "max_frames_per_second=1000"}),
                       doctest::Contains("heartbeat = 0.001"), ConfigError);
  CHECK(LoadExperimentConfig({}, {"heartbeat=0.001", "max_frames_per_second=0"}).heartbeat ==
        0.001);  // no limit
  CHECK_THROWS_WITH_AS(LoadExperimentConfig({}, {"max_frames_per_second=-1"}),
                       doctest::Contains("max_frames_per_second"), ConfigError);
}

TEST_CASE("ExperimentConfig: byzantine keys - and a string key takes a --set value verbatim") {
  const ExperimentConfig c = LoadExperimentConfig(
      {}, {"byzantine_fraction=0.2", "byzantine_mode=nan", "byzantine_factor=10", "run_name=2024"});
  CHECK(c.byzantine_fraction == doctest::Approx(0.2));
  CHECK(c.byzantine_mode == "nan");  // not the TOML float nan
  CHECK(c.byzantine_factor == 10.0);
  CHECK(c.run_name == "2024");
  CHECK(LoadExperimentConfig({}, {}).byzantine_mode == "none");
  CHECK_THROWS_WITH_AS(LoadExperimentConfig({}, {"byzantine_fraction=1"}),
                       doctest::Contains("byzantine_fraction must be in [0, 1)"), ConfigError);
  CHECK_THROWS_WITH_AS(LoadExperimentConfig({}, {"byzantine_mode=flip"}),
                       doctest::Contains("byzantine_mode: unknown Byzantine mode \"flip\""),
                       ConfigError);
}

TEST_CASE(
    "ExperimentConfig: nesterov and reset_optimizer in the TOML reach every client's recipe") {
  TempDir dir;
  WriteFile(dir / "entropy.toml",
            "strategy = \"fedavg\"\nlocal_objective = \"entropy_sgd\"\nlr = 1.0\n"
            "momentum = 0.9\nnesterov = true\nreset_optimizer = false\n"
            "local_steps = 5\ngamma1 = 0.001\n");
  const ExperimentConfig c = LoadExperimentConfig(dir / "entropy.toml", {});
  const std::unique_ptr<algorithms::Strategy> strategy =
      algorithms::MakeStrategy(StrategyConfigFrom(c));
  algorithms::ClientInfo client;
  client.id = "sim-0";
  const train::FitInstructions fit =
      strategy->ConfigureFit(3, std::span<const algorithms::ClientInfo>(&client, 1)).at(0);
  CHECK(fit.local.objective == "entropy_sgd");
  CHECK(fit.recipe.optimizer.nesterov);
  CHECK(fit.recipe.optimizer.momentum == doctest::Approx(0.9));
  CHECK_FALSE(fit.recipe.reset_optimizer);
  CHECK(fit.recipe.step_offset == 10);  // two rounds of 5 steps before round 3
  // The optimizer the client builds from it is Nesterov SGD.
  CHECK(train::MakeOptimizer(fit.recipe.optimizer, 1)->Describe().find("nesterov") !=
        std::string::npos);
  // Defaults: plain momentum, state reset every round.
  const std::unique_ptr<algorithms::Strategy> plain =
      algorithms::MakeStrategy(StrategyConfigFrom(LoadExperimentConfig({}, {"momentum=0.9"})));
  const train::FitInstructions fit_plain =
      plain->ConfigureFit(1, std::span<const algorithms::ClientInfo>(&client, 1)).at(0);
  CHECK_FALSE(fit_plain.recipe.optimizer.nesterov);
  CHECK(fit_plain.recipe.reset_optimizer);
  // Nesterov needs momentum.
  CHECK_THROWS_WITH_AS(
      algorithms::MakeStrategy(StrategyConfigFrom(LoadExperimentConfig({}, {"nesterov=true"}))),
      doctest::Contains("nesterov = true needs optimizer = \"sgd\" and momentum > 0"), ConfigError);
}

}  // namespace edgefl::engine
