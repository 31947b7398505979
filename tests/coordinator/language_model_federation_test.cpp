// Next-character language modelling over TLS: an edgefl-coordinator and 3
// real edgefl-client processes train a GRU with FedAvg on Debian's fortunes
// split by category file; each device reads the corpus and keeps its share
// of the windows (the partition file names the corpus, seq_len and
// vocabulary: "fortunes:t32:v64:/usr/share/games/fortunes").
#include <cmath>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "datasets/text_corpus.h"
#include "storage/experiment_log.h"
#include "tests/coordinator/federation_util.h"

namespace edgefl::coordinator {
namespace {

using edgefl::testing::Federation;
using edgefl::testing::Process;

constexpr int kClients = 3;
constexpr const char* kModel = "rnn:gru-32-e16-t32-v64";

}  // namespace

TEST_CASE("language model federation: a GRU on fortunes by_source over TLS with 3 clients") {
  Federation fed(kClients);
  INFO(fed.Logs());
  // The deployment's partition file, replaced by the fortunes split (the
  // clients read it from the same path).
  std::string output;
  const int rc = edgefl::testing::RunCommand(
      edgefl::testing::EdgeflTool() + " partition --dataset fortunes --model " + kModel +
          " --scheme by_source -q --clients " + std::to_string(kClients) + " --out " +
          fed.partition().string(),
      &output);
  INFO(output);
  REQUIRE(rc == 0);
  CHECK(output.find("fortunes:t32:v64:" + std::string(datasets::kFortunesDefaultDir)) !=
        std::string::npos);

  Process& coordinator = fed.StartCoordinator(
      "coordinator",
      {"port=0", "run_name=fortunes-gru", "rounds=3", "dataset=fortunes",
       "data_path=" + std::string(datasets::kFortunesDefaultDir), "partition=by_source",
       std::string("model=") + kModel, "optimizer=adam", "lr=0.01", "local_steps=15",
       "batch_size=16", "test_subset=86", "min_clients=3", "clients_per_round=3", "heartbeat=1"});
  const int port = fed.WaitListening(coordinator);
  fed.StartClients(kClients, port);
  fed.RequireRunCompleted(coordinator);

  storage::ExperimentLog log(fed.db());
  const auto run = log.FindRun("fortunes-gru");
  REQUIRE(run.has_value());
  CHECK(run->status == storage::RunStatus::kCompleted);
  const auto evals = log.Evaluations(run->id);
  REQUIRE(evals.size() == 4);
  const double first = std::exp(evals.front().loss), last = std::exp(evals.back().loss);
  CAPTURE(first);
  CAPTURE(last);
  CHECK(first > 40.0);  // near uniform over 64 ids
  CHECK(last < 0.7 * first);
  CHECK(evals.back().accuracy > evals.front().accuracy + 0.05);
}

}  // namespace edgefl::coordinator
