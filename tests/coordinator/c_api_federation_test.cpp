// An application embedding the client through the C API joins a real
// federation: examples/c_client/edgefl_c_client (a C program) next to an
// edgefl-client process, both over mutual TLS with an edgefl-coordinator.
#include <csignal>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "client/local_data.h"
#include "storage/experiment_log.h"
#include "tests/coordinator/federation_util.h"

namespace edgefl::coordinator {
namespace {

using namespace edgefl::testing;  // NOLINT: test helpers

// The C app's own sample file (its layout: examples/c_client/edgefl_c_client.c).
void WriteAppSamples(const datasets::Dataset& data, const std::filesystem::path& path) {
  std::ofstream out(path, std::ios::binary);
  const uint64_t n = data.size();
  const uint32_t rank = static_cast<uint32_t>(data.sample_shape.size());
  out.write(reinterpret_cast<const char*>(&n), sizeof n);
  out.write(reinterpret_cast<const char*>(&rank), sizeof rank);
  for (const int d : data.sample_shape) {
    const int32_t d32 = d;
    out.write(reinterpret_cast<const char*>(&d32), sizeof d32);
  }
  const int32_t classes = data.num_classes;
  out.write(reinterpret_cast<const char*>(&classes), sizeof classes);
  out.write(reinterpret_cast<const char*>(data.features.data()),
            static_cast<std::streamsize>(sizeof(float) * data.features.size()));
  out.write(reinterpret_cast<const char*>(data.labels.data()),
            static_cast<std::streamsize>(sizeof(int32_t) * n));
  REQUIRE(out.good());
}

}  // namespace

TEST_CASE("C API federation: a C app with its samples in memory trains next to edgefl-client") {
  constexpr int kRounds = 2;
  Federation fed(2);
  INFO(fed.Logs());
  const datasets::Dataset share = client::LoadClientData(fed.partition(), 1, FashionMnistDir());
  WriteAppSamples(share, fed.dir() / "app.samples");

  Process& coordinator = fed.StartCoordinator(
      "coordinator", {"port=0", "run_name=c-api", "rounds=" + std::to_string(kRounds),
                      "model=mlp:784-32-10", "clients_per_round=2", "min_clients=2"});
  const int port = fed.WaitListening(coordinator);
  fed.StartClient(0, port);
  const std::filesystem::path certs = fed.dir() / "certs";
  Process app(
      "edgefl_c_client",
      {BinaryDir() + "/examples/c_client/edgefl_c_client", "127.0.0.1:" + std::to_string(port),
       (certs / "client-1.crt").string(), (certs / "client-1.key").string(),
       (certs / "ca.crt").string(), (fed.dir() / "app.samples").string()},
      fed.dir() / "app.out", fed.dir() / "app.log");

  REQUIRE_MESSAGE(coordinator.Wait(kRunTimeout), "the coordinator did not finish");
  CHECK(coordinator.ExitedWith(0));
  REQUIRE(app.Wait(kStartTimeout));
  CHECK_MESSAGE(app.ExitedWith(0), ReadIfExists(app.err()));
  REQUIRE(fed.clients()[0]->Wait(kStartTimeout));
  CHECK(fed.clients()[0]->ExitedWith(0));
  // Every task the coordinator sent it: kRounds trainings and the evaluations.
  CHECK_MESSAGE(Contains(app.err(), "session ended: status 0"), ReadIfExists(app.err()));

  storage::ExperimentLog log(fed.db(), ReadOnly());
  const auto run = log.FindRun("c-api");
  REQUIRE(run.has_value());
  CHECK(run->status == storage::RunStatus::kCompleted);
  int app_updates = 0;
  for (const auto& u : log.ClientUpdates(run->id)) {
    if (u.client_id != Federation::ClientName(1)) continue;
    ++app_updates;
    CHECK(u.status == storage::UpdateStatus::kAccepted);
    CHECK(u.num_samples == static_cast<int64_t>(share.size()));  // the app's own samples
  }
  CHECK(app_updates == kRounds);
  const auto evals = log.Evaluations(run->id);
  REQUIRE(evals.size() == kRounds + 1);
  CHECK(evals.back().accuracy > evals.front().accuracy + 0.3);
}

TEST_CASE("C API federation: SIGTERM stops the C app from its signal thread with exit 3") {
  Federation fed(1);
  INFO(fed.Logs());
  WriteAppSamples(client::LoadClientData(fed.partition(), 0, FashionMnistDir()),
                  fed.dir() / "app.samples");
  // Two clients needed, one present: the app stays connected, waiting.
  Process& coordinator =
      fed.StartCoordinator("coordinator", {"port=0", "run_name=c-api-stop", "model=mlp:784-32-10",
                                           "clients=2", "clients_per_round=2", "min_clients=2"});
  const int port = fed.WaitListening(coordinator);
  const std::filesystem::path certs = fed.dir() / "certs";
  Process app(
      "edgefl_c_client",
      {BinaryDir() + "/examples/c_client/edgefl_c_client", "127.0.0.1:" + std::to_string(port),
       (certs / "client-0.crt").string(), (certs / "client-0.key").string(),
       (certs / "ca.crt").string(), (fed.dir() / "app.samples").string()},
      fed.dir() / "app.out", fed.dir() / "app.log");
  REQUIRE(
      PollUntil([&] { return Contains(app.err(), "welcomed by the coordinator"); }, kStartTimeout));
  app.Signal(SIGTERM);
  REQUIRE(app.Wait(kStartTimeout));
  CHECK_MESSAGE(app.ExitedWith(3), ReadIfExists(app.err()));
  CHECK(Contains(app.err(), "stopped by the application"));
}

}  // namespace edgefl::coordinator
