// The real deployment on loopback: edgefl certs, edgefl partition, an
// edgefl-coordinator process and edgefl-client processes talking mutual TLS
// (scripts/federation.sh), then the SQLite log as a user would read it.
#include <string>

#include <doctest/doctest.h>

#include "storage/experiment_log.h"
#include "tests/test_util.h"

namespace edgefl::coordinator {

TEST_CASE("federation: a coordinator and 3 client processes over TLS train and log every round") {
  edgefl::testing::TempDir dir;
  const std::string command = std::string("EDGEFL_BUILD_DIR=") + edgefl::testing::BinaryDir() +
                              " EDGEFL_DATA_DIR=" + edgefl::testing::FashionMnistDir().string() +
                              " bash " + edgefl::testing::SourceDir() + "/scripts/federation.sh " +
                              dir.path().string() + " 3 --set rounds=3 --set model=mlp:784-64-10";
  std::string output;
  const int rc = edgefl::testing::RunCommand(command, &output);
  INFO(output);
  REQUIRE(rc == 0);
  CHECK(output.find("round 3/3") != std::string::npos);

  storage::ExperimentLog log(dir / "federation.db");
  const auto run = log.FindRun("federation");
  REQUIRE(run.has_value());
  CHECK(run->status == storage::RunStatus::kCompleted);
  // The script's EDGEFL_DATA_DIR reached the coordinator (the run's config).
  CHECK(run->spec.config.find("data_path = '" + edgefl::testing::FashionMnistDir().string() +
                              "'") != std::string::npos);
  const auto rounds = log.Rounds(run->id);
  REQUIRE(rounds.size() == 3);
  for (const auto& r : rounds) {
    CHECK(r.selected == 3);
    CHECK(r.completed == 3);
  }
  const auto updates = log.ClientUpdates(run->id);
  CHECK(updates.size() == 9);
  for (const auto& u : updates) {
    CHECK(u.client_id.rfind("client-", 0) == 0);  // the certificates' CNs
    CHECK(u.num_samples > 0);
    // The frames actually sent and received: the model (4 bytes a parameter)
    // plus a few hundred bytes of header and recipe each way.
    const int64_t model_bytes = 4 * (784 * 64 + 64 + 64 * 10 + 10);
    CHECK(u.bytes_out > model_bytes);
    CHECK(u.bytes_out < model_bytes + model_bytes / 100);
    CHECK(u.bytes_in > model_bytes);
    CHECK(u.bytes_in < model_bytes + model_bytes / 100);
  }
  const auto evals = log.Evaluations(run->id);
  REQUIRE(evals.size() == 4);
  CHECK(evals.back().accuracy > evals.front().accuracy + 0.4);
  CHECK(evals.back().accuracy > 0.7);
  CHECK(log.LatestCheckpoint(run->id)->round == 3);
}

}  // namespace edgefl::coordinator
