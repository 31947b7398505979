#include "train/params.h"

#include <doctest/doctest.h>

#include "common/error.h"

namespace edgefl::train {

TEST_CASE("ClosestKey: a misspelling finds its key, an unrelated word finds none") {
  const std::vector<std::string> keys = {"rounds", "clients", "lr", "server_lr", "batch_size"};
  CHECK(ClosestKey("roundz", keys) == "rounds");
  CHECK(ClosestKey("rouns", keys) == "rounds");
  CHECK(ClosestKey("server_lrr", keys) == "server_lr");
  CHECK(ClosestKey("batchsize", keys) == "batch_size");
  CHECK(ClosestKey("lrr", keys) == "lr");
  CHECK(ClosestKey("temperature", keys).empty());
  CHECK(ClosestKey("xy", keys).empty());
  CHECK(ClosestKey("rounds", {}).empty());
}

TEST_CASE("ParamReader: an unread key is unknown to the strategy and to the outer config") {
  const ParamMap params = {{"roundz", int64_t{3}}, {"server_lr", 0.5}};
  ParamReader plain(params, "strategy fedavg");
  plain.GetDouble("server_lr", 1.0);
  CHECK_THROWS_WITH_AS(plain.CheckAllUsed(),
                       "strategy fedavg: unknown key \"roundz\" (accepted here: server_lr)",
                       ConfigError);

  ParamReader reader(params, "strategy fedavg");
  reader.SetOuterKeys("the experiment config", {"clients", "rounds", "lr"});
  reader.GetDouble("server_lr", 1.0);
  CHECK_THROWS_WITH_AS(reader.CheckAllUsed(),
                       "strategy fedavg: unknown key \"roundz\": not a key of the experiment "
                       "config nor of strategy fedavg; did you mean 'rounds'? (accepted here: "
                       "server_lr)",
                       ConfigError);

  const ParamMap far = {{"temperature", 1.0}};
  ParamReader no_match(far, "strategy fedavg");
  no_match.SetOuterKeys("the experiment config", {"rounds"});
  CHECK_THROWS_WITH_AS(no_match.CheckAllUsed(),
                       "strategy fedavg: unknown key \"temperature\": not a key of the "
                       "experiment config nor of strategy fedavg (accepted here: none)",
                       ConfigError);
}

}  // namespace edgefl::train
