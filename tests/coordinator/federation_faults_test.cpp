// Faults of the real deployment on loopback: an edgefl-coordinator process
// and edgefl-client processes over mutual TLS (certificates and partition
// made with the `edgefl` tool), one of them killed with SIGKILL mid-run,
// then the SQLite log as a user would read it.
//
// Every wait is bounded; on a timeout or a failed check the test fails with
// the processes' logs, and every process still running is killed when the
// test's scope ends (and by the kernel if the test process dies:
// PR_SET_PDEATHSIG).
#include <set>
#include <signal.h>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "storage/experiment_log.h"
#include "storage/sqlite_db.h"
#include "tests/coordinator/federation_util.h"

namespace edgefl::coordinator {
namespace {

using namespace std::chrono_literals;
using edgefl::testing::Contains;
using edgefl::testing::Federation;
using edgefl::testing::FreePort;
using edgefl::testing::IntegrityCheck;
using edgefl::testing::kRunTimeout;
using edgefl::testing::kStartTimeout;
using edgefl::testing::Occurrences;
using edgefl::testing::PollUntil;
using edgefl::testing::Process;
using edgefl::testing::ReadIfExists;
using edgefl::testing::ReadOnly;
using edgefl::testing::Scaled;
using edgefl::testing::ScaledSeconds;
using edgefl::testing::TimeScale;

TEST_CASE("federation faults: kill -9 one client mid-round: the round completes on quorum") {
  constexpr int kClients = 4;
  constexpr int kRounds = 4;
  constexpr int kVictim = 3;  // the largest share of the seed-1 split: the longest training
  Federation fed(kClients, /*train_subset=*/12000);
  INFO(fed.Logs());

  // min_clients = 3 lets the rounds after the kill run with the survivors;
  // the quorum (3 of 4) lets the round of the kill complete without it.
  Process& coordinator = fed.StartCoordinator(
      "coordinator",
      {"port=0", "run_name=kill-client", "rounds=" + std::to_string(kRounds), "clients_per_round=4",
       "min_clients=3", "quorum=0.75", "deadline=" + ScaledSeconds(20), "heartbeat=1",
       "local_epochs=2", "model=mlp:784-200-200-10"});
  const int port = fed.WaitListening(coordinator);
  fed.StartClients(kClients, port);
  Process& victim = *fed.clients()[kVictim];

  // The first round whose task all four clients train (round 1, or round 2
  // when a client connected after the first three had started round 1):
  // kill the victim while it trains.
  int64_t kill_round = 0;
  for (int64_t r = 1; r <= kRounds && kill_round == 0; ++r) {
    const std::string training = "round " + std::to_string(r) + ": training";
    const std::string committed = "round " + std::to_string(r) + "/";
    bool all_training = false;
    const bool seen = PollUntil(
        [&] {
          all_training = true;
          for (int k = 0; k < kClients; ++k)
            all_training = all_training && Contains(fed.ClientLog(k), training);
          return all_training || Contains(coordinator.out(), committed) || !coordinator.Running();
        },
        kStartTimeout);
    REQUIRE_MESSAGE(seen, "round " << r << " did not start");
    REQUIRE(coordinator.Running());
    if (all_training &&
        !Contains(fed.ClientLog(kVictim), "round " + std::to_string(r) + ": done")) {
      victim.Signal(SIGKILL);
      kill_round = r;
    }
  }
  REQUIRE_MESSAGE(kill_round > 0, "no round had all four clients training");
  // At least one round after it runs with the survivors only.
  REQUIRE(kill_round < kRounds);
  REQUIRE(victim.Wait(Scaled(10s)));
  CHECK(victim.KilledBy(SIGKILL));
  // Killed mid-training, not after sending its update.
  REQUIRE_FALSE(Contains(fed.ClientLog(kVictim), "round " + std::to_string(kill_round) + ": done"));

  REQUIRE_MESSAGE(coordinator.Wait(kRunTimeout), "the coordinator did not finish the run");
  REQUIRE(coordinator.ExitedWith(0));
  for (int k = 0; k < kClients; ++k) {
    if (k == kVictim) continue;
    Process& client = *fed.clients()[static_cast<size_t>(k)];
    REQUIRE(client.Wait(Scaled(30s)));
    CHECK(client.ExitedWith(0));  // Bye after the run
  }

  // The coordinator's log names the dropped client.
  const std::string victim_id = Federation::ClientName(kVictim);
  CHECK(Contains(coordinator.err(), victim_id + " disconnected"));

  storage::ExperimentLog log(fed.db());
  const auto run = log.FindRun("kill-client");
  REQUIRE(run.has_value());
  CHECK(run->status == storage::RunStatus::kCompleted);
  const auto rounds = log.Rounds(run->id);
  REQUIRE(rounds.size() == static_cast<size_t>(kRounds));
  for (const storage::RoundRecord& r : rounds) {
    CAPTURE(r.round);
    CHECK(r.rejected == 0);
    if (r.round == kill_round) {
      CHECK(r.selected == 4);
      CHECK(r.completed == 3);
      CHECK(r.dropped == 1);
      CHECK(r.model_version == r.round);  // aggregated on quorum
      // Dropped at the disconnect, not by the deadline.
      CHECK(r.ended_at - r.started_at < 20.0 * TimeScale());
    } else {
      CHECK(r.completed == r.selected);
      CHECK(r.dropped == 0);
      if (r.round > kill_round) CHECK(r.selected == 3);  // the survivors
    }
  }
  const auto updates = log.ClientUpdates(run->id);
  int dropped = 0;
  for (const storage::ClientUpdateRecord& u : updates) {
    CAPTURE(u.round);
    CAPTURE(u.client_id);
    CAPTURE(u.reason);
    if (u.status == storage::UpdateStatus::kDropped) {
      ++dropped;
      CHECK(u.round == kill_round);
      CHECK(u.client_id == victim_id);
      CHECK(u.reason.find(victim_id) != std::string::npos);
      CHECK(u.reason.find("disconnected") != std::string::npos);
    } else {
      CHECK(u.status == storage::UpdateStatus::kAccepted);
      CHECK((u.client_id != victim_id || u.round < kill_round));
    }
  }
  CHECK(dropped == 1);
}

TEST_CASE(
    "federation faults: kill -9 the coordinator mid-run: a restart resumes at the next round "
    "with no round lost or repeated") {
  constexpr int kClients = 3;
  constexpr int kRounds = 5;
  const std::string run_name = "kill-coordinator";
  Federation fed(kClients, /*train_subset=*/6000);
  INFO(fed.Logs());

  // A fixed port: the clients reconnect to the same address after the
  // restart.
  const int port = FreePort();
  const std::vector<std::string> settings = {"port=" + std::to_string(port),
                                             "run_name=" + run_name,
                                             "rounds=" + std::to_string(kRounds),
                                             "clients_per_round=3",
                                             "min_clients=3",
                                             "heartbeat=1",
                                             "local_steps=100",
                                             "model=mlp:784-200-200-10"};
  Process& first = fed.StartCoordinator("coordinator-1", settings);
  REQUIRE(fed.WaitListening(first) == port);
  fed.StartClients(kClients, port);

  // Round 2 committed (its progress line follows the commit): kill.
  REQUIRE_MESSAGE(
      PollUntil([&] { return Contains(first.out(), "round 2/") || !first.Running(); }, kRunTimeout),
      "round 2 was not committed");
  REQUIRE(first.Running());
  first.Signal(SIGKILL);
  REQUIRE(first.Wait(Scaled(10s)));
  REQUIRE(first.KilledBy(SIGKILL));

  int64_t committed = 0;
  {
    storage::ExperimentLog log(fed.db(), ReadOnly());
    const auto run = log.FindRun(run_name);
    REQUIRE(run.has_value());
    CHECK(run->status == storage::RunStatus::kRunning);  // crashed, not ended
    committed = log.LastCompletedRound(run->id);
  }
  REQUIRE(committed >= 2);
  REQUIRE(committed < kRounds);
  for (Process* client : fed.clients())
    CHECK_MESSAGE(client->Running(), client->Describe());  // retrying

  Process& second = fed.StartCoordinator("coordinator-2", settings);
  fed.RequireRunCompleted(second);

  const std::string output = ReadIfExists(second.out());
  CHECK(output.find("resuming run '" + run_name + "' after round " + std::to_string(committed)) !=
        std::string::npos);
  CHECK(output.find("round " + std::to_string(committed + 1) + "/") != std::string::npos);
  CHECK(output.find("round " + std::to_string(committed) + "/") == std::string::npos);

  storage::ExperimentLog log(fed.db());
  CHECK(IntegrityCheck(log.TEST_db()) == "ok");
  const auto run = log.FindRun(run_name);
  REQUIRE(run.has_value());
  CHECK(run->status == storage::RunStatus::kCompleted);

  // Rounds 1..N, once each, each from the model of the one before.
  const auto rounds = log.Rounds(run->id);
  REQUIRE(rounds.size() == static_cast<size_t>(kRounds));
  for (size_t i = 0; i < rounds.size(); ++i) {
    CAPTURE(i);
    CHECK(rounds[i].round == static_cast<int64_t>(i) + 1);
    CHECK(rounds[i].model_version == static_cast<int64_t>(i) + 1);
    CHECK(rounds[i].selected == kClients);
    CHECK(rounds[i].completed == kClients);
  }
  CHECK(log.TEST_db().QueryInt("SELECT COUNT(*) FROM rounds WHERE run_id = " +
                               std::to_string(run->id)) == kRounds);

  // clients x N updates, one per (round, client), all accepted.
  const auto updates = log.ClientUpdates(run->id);
  CHECK(updates.size() == static_cast<size_t>(kClients * kRounds));
  std::set<std::pair<int64_t, std::string>> keys;
  for (const storage::ClientUpdateRecord& u : updates) {
    CAPTURE(u.round);
    CAPTURE(u.client_id);
    CHECK(keys.insert({u.round, u.client_id}).second);
    CHECK(u.round >= 1);
    CHECK(u.round <= kRounds);
    CHECK(u.status == storage::UpdateStatus::kAccepted);
  }
  CHECK(keys.size() == static_cast<size_t>(kClients * kRounds));

  // The evaluations too: the initial model and one per round.
  const auto evals = log.Evaluations(run->id);
  CHECK(evals.size() == static_cast<size_t>(kRounds + 1));
  CHECK(log.LatestCheckpoint(run->id)->round == kRounds);
}

TEST_CASE("load mode: edgefl-client --load-sessions opens sessions the coordinator registers") {
  constexpr int kSessions = 20;
  Federation fed(kSessions);
  INFO(fed.Logs());
  // min_clients above the sessions: the coordinator only waits.
  Process& coordinator = fed.StartCoordinator(
      "coordinator", {"port=0", "run_name=load", "clients_per_round=10", "min_clients=1000",
                      "test_subset=100", "model=logreg:784-10"});
  const int port = fed.WaitListening(coordinator);
  Process& load = fed.StartLoad(kSessions, port);
  const bool up = PollUntil(
      [&] {
        return Contains(load.out(), "established 20 sessions") &&
               Occurrences(ReadIfExists(coordinator.err()), " connected from ") == kSessions;
      },
      kStartTimeout);
  CHECK_MESSAGE(up, fed.Logs());
  // SIGTERM: every session says Bye, the load process exits 0.
  load.Signal(SIGTERM);
  REQUIRE_MESSAGE(load.Wait(kStartTimeout), fed.Logs());
  CHECK_MESSAGE(load.ExitedWith(0), fed.Logs());
  CHECK(Contains(load.out(), "closed 20 sessions (0 failures)"));
  CHECK(PollUntil(
      [&] {
        return Occurrences(ReadIfExists(coordinator.err()), "said bye (load test over)") ==
               kSessions;
      },
      kStartTimeout));
  coordinator.Signal(SIGTERM);
  CHECK(coordinator.Wait(kStartTimeout));
}

TEST_CASE("load mode: --answer-tasks sessions take part in every round and the run completes") {
  constexpr int kSessions = 20;
  constexpr int kRounds = 2;
  Federation fed(kSessions);
  INFO(fed.Logs());
  // Every session in every round: the coordinator's side of a round over
  // the whole fleet (bench/coordinator_load --part fleet-round).
  Process& coordinator =
      fed.StartCoordinator("coordinator", {"port=0", "run_name=load-rounds", "clients_per_round=20",
                                           "min_clients=20", "rounds=" + std::to_string(kRounds),
                                           "test_subset=100", "model=logreg:784-10"});
  const int port = fed.WaitListening(coordinator);
  Process& load = fed.StartLoad(kSessions, port, {"--answer-tasks"});
  fed.RequireRunCompleted(coordinator);
  // The run's end says Bye to every session: the load process ends.
  REQUIRE_MESSAGE(load.Wait(kStartTimeout), fed.Logs());
  CHECK(load.ExitedWith(0));
  CHECK(Contains(load.out(), "answered 40 tasks"));
  CHECK(Contains(load.out(), "the coordinator said bye to 20 sessions"));
  CHECK(Contains(load.out(), "(0 failures)"));

  storage::ExperimentLog log(fed.db(), ReadOnly());
  const auto run = log.FindRun("load-rounds");
  REQUIRE(run.has_value());
  CHECK(run->status == storage::RunStatus::kCompleted);
  const auto rounds = log.Rounds(run->id);
  REQUIRE(rounds.size() == static_cast<size_t>(kRounds));
  for (const storage::RoundRecord& r : rounds) {
    CAPTURE(r.round);
    CHECK(r.selected == kSessions);
    CHECK(r.completed == kSessions);
    CHECK(r.dropped == 0);
  }
  const auto updates = log.ClientUpdates(run->id);
  CHECK(updates.size() == static_cast<size_t>(kSessions * kRounds));
  for (const storage::ClientUpdateRecord& u : updates) {
    CHECK(u.status == storage::UpdateStatus::kAccepted);
    CHECK(u.num_samples == 1);
  }
  // The sessions return the model they were sent: FedAvg keeps it.
  const auto evals = log.Evaluations(run->id);
  REQUIRE(evals.size() >= 2);
  CHECK(evals.back().accuracy == evals.front().accuracy);
}

TEST_CASE("one owner per run: a second coordinator of a live run is refused, naming the first") {
  Federation fed(2);
  INFO(fed.Logs());
  // min_clients above the clients: the first coordinator owns the run and waits.
  Process& first = fed.StartCoordinator(
      "coordinator-1", {"port=0", "run_name=owned", "min_clients=50", "clients_per_round=2",
                        "test_subset=100", "model=logreg:784-10"});
  fed.WaitListening(first);
  REQUIRE_MESSAGE(
      PollUntil([&] { return Contains(first.err(), "waiting for clients"); }, kStartTimeout),
      fed.Logs());
  Process& second = fed.StartCoordinator(
      "coordinator-2", {"port=0", "run_name=owned", "min_clients=50", "clients_per_round=2",
                        "test_subset=100", "model=logreg:784-10"});
  REQUIRE_MESSAGE(second.Wait(kStartTimeout), fed.Logs());
  CHECK_MESSAGE(second.ExitedWith(2), second.Describe());
  const std::string error = ReadIfExists(second.err());
  CHECK_MESSAGE(error.find("run 'owned' in " + fed.db().string() + " is being run by pid " +
                           std::to_string(first.pid())) != std::string::npos,
                error);
  CHECK(error.find("listening on") == std::string::npos);  // refused before binding the port
  CHECK(first.Running());
  first.Signal(SIGTERM);
  REQUIRE(first.Wait(kStartTimeout));
  CHECK(first.ExitedWith(0));
}

}  // namespace
}  // namespace edgefl::coordinator
