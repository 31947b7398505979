// Two devices holding the same client certificate, as real processes: an
// edgefl-coordinator and edgefl-client processes over mutual TLS on
// loopback. The newer connection keeps the id, the older device is told it
// was replaced and exits naming the cause instead of reconnecting (which
// replaced the other device in turn, every half second, for ever), and the
// operator sees a warning naming both addresses.
//
// Every wait is bounded; on a timeout or a failed check the test fails with
// the processes' logs, and every process still running is killed when the
// test's scope ends.
#include <regex>
#include <string>

#include <doctest/doctest.h>

#include "common/error.h"
#include "storage/experiment_log.h"
#include "tests/coordinator/federation_util.h"

namespace edgefl::coordinator {
namespace {

using namespace std::chrono_literals;
using edgefl::testing::Contains;
using edgefl::testing::Federation;
using edgefl::testing::kRunTimeout;
using edgefl::testing::kStartTimeout;
using edgefl::testing::Occurrences;
using edgefl::testing::PollUntil;
using edgefl::testing::Process;
using edgefl::testing::ReadIfExists;
using edgefl::testing::Scaled;
using edgefl::testing::ScaledSeconds;

TEST_CASE("federation: two devices with one certificate: the newer wins and the older exits") {
  constexpr int kRounds = 3;
  Federation fed(2);
  INFO(fed.Logs());
  Process& coordinator = fed.StartCoordinator(
      "coordinator",
      {"port=0", "run_name=duplicate", "rounds=" + std::to_string(kRounds), "clients_per_round=2",
       "min_clients=2", "quorum=0.5", "deadline=" + ScaledSeconds(30), "heartbeat=1",
       "local_epochs=1", "model=mlp:784-32-10"});
  const int port = fed.WaitListening(coordinator);
  // min_clients = 2: no round starts before client-0 joins, so the second
  // device surely finds the first one's session live.
  Process& first = fed.StartClient(1, port);
  REQUIRE_MESSAGE(PollUntil([&] { return Contains(coordinator.err(), "client-1 connected from"); },
                            kStartTimeout),
                  "client-1 did not connect");
  // A second device with client-1's certificate.
  Process& twin = fed.StartClientAs(1, port, "client-1-twin");
  REQUIRE_MESSAGE(
      PollUntil([&] { return Contains(coordinator.err(), "replaces the live session"); },
                kStartTimeout),
      "the second device did not replace the first");
  Process& other = fed.StartClient(0, port);

  REQUIRE_MESSAGE(coordinator.Wait(kRunTimeout), "the coordinator did not finish the run");
  REQUIRE(coordinator.ExitedWith(0));

  // The older device was told why and stopped: no reconnect loop, a clear
  // cause and a non-zero exit code.
  REQUIRE(first.Wait(Scaled(30s)));
  CHECK(first.ExitedWith(kExitUsage));
  const std::string first_log = ReadIfExists(first.err());
  CHECK(Contains(first.err(),
                 "another device is using this client's certificate (client id "
                 "client-1); each device needs its own certificate"));
  CHECK(Occurrences(first_log, "reconnecting in") == 0);
  // The newer one and the other client finished the run and left on Bye.
  REQUIRE(twin.Wait(Scaled(30s)));
  CHECK(twin.ExitedWith(0));
  CHECK(Contains(twin.err(), "coordinator said bye (run finished)"));
  REQUIRE(other.Wait(Scaled(30s)));
  CHECK(other.ExitedWith(0));

  // The operator sees a warning naming the id and both addresses, counted,
  // and the replacements stay bounded instead of flapping.
  const std::string coordinator_log = ReadIfExists(coordinator.err());
  const std::regex warning(
      R"(W [^\n]* client-1: new connection from 127\.0\.0\.1:(\d+) replaces the live session from 127\.0\.0\.1:(\d+) \(1st replacement in this run\))");
  std::smatch match;
  REQUIRE_MESSAGE(std::regex_search(coordinator_log, match, warning), coordinator_log);
  CHECK(match[1] != match[2]);
  const int replacements = Occurrences(coordinator_log, "replaces the live session from");
  CHECK(replacements >= 1);
  CHECK(replacements <= 2);

  storage::ExperimentLog log(fed.db());
  const auto run = log.FindRun("duplicate");
  REQUIRE(run.has_value());
  CHECK(run->status == storage::RunStatus::kCompleted);
  CHECK(log.Rounds(run->id).size() == static_cast<size_t>(kRounds));
}

}  // namespace
}  // namespace edgefl::coordinator
