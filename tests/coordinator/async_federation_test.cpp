// Asynchronous federation (mode = async) in the real deployment on loopback:
// an edgefl-coordinator process and edgefl-client processes over mutual TLS,
// some of them slowed (--slowdown), one killed mid-task, the coordinator
// killed and restarted, then the SQLite log as a user would read it.
//
// Every wait is bounded; every process still running is killed when the
// test's scope ends.
#include <algorithm>
#include <cctype>
#include <map>
#include <signal.h>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "storage/experiment_log.h"
#include "storage/log_check.h"
#include "tests/coordinator/federation_util.h"

namespace edgefl::coordinator {
namespace {

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
using edgefl::testing::Violations;

constexpr int64_t kAsyncFederationVersions = 12;

// The settings every run here shares: a small model, fixed local steps (so
// DyLU has steps to scale), a test subset, evaluation every 4 versions.
std::vector<std::string> AsyncSettings(const std::string& run, std::vector<std::string> more) {
  std::vector<std::string> s = {"port=0",
                                "run_name=" + run,
                                "mode=async",
                                "rounds=" + std::to_string(kAsyncFederationVersions),
                                "model=mlp:784-32-10",
                                "local_steps=40",
                                "batch_size=32",
                                "lr=0.05",
                                "momentum=0",
                                "eval_every=4",
                                "test_subset=2000",
                                "heartbeat=1"};
  s.insert(s.end(), more.begin(), more.end());
  return s;
}

// Checks what every async run logs: `rounds` rows, one per model version in
// order, accepted updates with a staleness below their version, accuracy
// rising. Returns the updates.
std::vector<storage::ClientUpdateRecord> CheckAsyncLog(const Federation& fed,
                                                       const std::string& run_name) {
  storage::ExperimentLog log(fed.db());
  const auto run = log.FindRun(run_name);
  REQUIRE(run.has_value());
  CHECK(run->status == storage::RunStatus::kCompleted);
  CHECK(log.ListRuns().front().run.spec.mode == "async");
  const auto rounds = log.Rounds(run->id);
  REQUIRE(rounds.size() == static_cast<size_t>(kAsyncFederationVersions));
  for (size_t i = 0; i < rounds.size(); ++i) {
    CHECK(rounds[i].round == static_cast<int64_t>(i + 1));
    CHECK(rounds[i].model_version == static_cast<int64_t>(i + 1));
  }
  const auto updates = log.ClientUpdates(run->id);
  for (const auto& u : updates) {
    if (u.status != storage::UpdateStatus::kAccepted) continue;
    CHECK(u.staleness >= 0);
    CHECK(u.staleness < u.round);
    CHECK(u.num_samples > 0);
  }
  const auto evals = log.Evaluations(run->id);
  REQUIRE(evals.size() == 4);  // versions 0, 4, 8, 12
  CHECK(evals.back().accuracy > evals.front().accuracy + 0.2);
  CHECK(log.LatestCheckpoint(run->id)->round == kAsyncFederationVersions);
  return updates;
}

TEST_CASE("async federation: fedbuff over TLS with a slow client and one killed mid-task") {
  constexpr int kClients = 4;
  constexpr int kVictim = 3;
  Federation fed(kClients);
  INFO(fed.Logs());
  Process& coordinator = fed.StartCoordinator(
      "coordinator", AsyncSettings("async-fedbuff", {"strategy=fedbuff", "buffer_size=2",
                                                     "min_clients=4", "clients_per_round=4"}));
  const int port = fed.WaitListening(coordinator);
  fed.StartClient(0, port);
  fed.StartClient(1, port);
  fed.StartClient(2, port, {"--slowdown", "4"});
  // So slow that it is always mid-task when it is killed.
  Process& victim = fed.StartClient(kVictim, port, {"--slowdown", "200"});

  // Once versions are being made, kill the victim while it trains.
  const bool versions =
      PollUntil([&] { return Contains(coordinator.out(), "version 2/") || !coordinator.Running(); },
                kStartTimeout);
  REQUIRE(versions);
  REQUIRE(coordinator.Running());
  const std::string victim_log = ReadIfExists(fed.ClientLog(kVictim));
  REQUIRE(Occurrences(victim_log, ": training") > Occurrences(victim_log, ": done"));
  victim.Signal(SIGKILL);

  REQUIRE_MESSAGE(coordinator.Wait(kRunTimeout), "the coordinator did not finish");
  CHECK(coordinator.ExitedWith(0));
  for (int k = 0; k < 3; ++k) {
    REQUIRE(fed.clients()[k]->Wait(kStartTimeout));
    CHECK(fed.clients()[k]->ExitedWith(0));  // told Bye
  }

  const auto updates = CheckAsyncLog(fed, "async-fedbuff");
  std::map<std::string, int> accepted;
  int stale = 0, victim_dropped = 0;
  for (const auto& u : updates) {
    if (u.status == storage::UpdateStatus::kAccepted) {
      ++accepted[u.client_id];
      stale += u.staleness > 0;
    } else if (u.client_id == Federation::ClientName(kVictim) &&
               u.status == storage::UpdateStatus::kDropped) {
      ++victim_dropped;
      CHECK(u.reason.find("disconnected") != std::string::npos);
    }
  }
  CHECK(victim_dropped == 1);
  CHECK(accepted.count(Federation::ClientName(kVictim)) == 0);
  CHECK(accepted[Federation::ClientName(0)] > 0);
  CHECK(accepted[Federation::ClientName(1)] > 0);
  CHECK(stale > 0);  // the slow client's updates come back after others made versions
  int total = 0;
  for (const auto& [id, n] : accepted)
    total += n;
  CHECK(total == 2 * kAsyncFederationVersions);  // every version buffers exactly two updates
}

TEST_CASE("async federation: a client mid-task when the run ends reads the Bye and exits 0") {
  Federation fed(3);
  INFO(fed.Logs());
  Process& coordinator = fed.StartCoordinator(
      "coordinator", AsyncSettings("async-bye", {"strategy=fedasync", "rounds=100000",
                                                 "min_clients=3", "clients_per_round=3"}));
  const int port = fed.WaitListening(coordinator);
  fed.StartClient(0, port);
  fed.StartClient(1, port);
  // Each of its tasks takes 1000x its compute time, so it is mid-task when
  // the run ends; a Bye ends that wait early.
  Process& slow = fed.StartClient(2, port, {"--slowdown", "1000"});
  REQUIRE(PollUntil(
      [&] {
        const std::string log = ReadIfExists(fed.ClientLog(2));
        return (Contains(coordinator.out(), "version 3/") &&
                Occurrences(log, ": training") > Occurrences(log, ": done")) ||
               !coordinator.Running();
      },
      kStartTimeout));
  REQUIRE(coordinator.Running());
  coordinator.Signal(SIGTERM);
  REQUIRE_MESSAGE(coordinator.Wait(kStartTimeout), "the coordinator did not stop");
  CHECK(coordinator.ExitedWith(0));
  // It learns of the end while training (not after, from a connection
  // that is gone) and stops without retrying a finished run.
  REQUIRE(slow.Wait(kStartTimeout));
  CHECK(slow.ExitedWith(0));
  CHECK(Contains(fed.ClientLog(2), "coordinator said bye (shutting down) during the task"));
  CHECK_FALSE(Contains(fed.ClientLog(2), "reconnecting"));
}

TEST_CASE("async federation: a client joining mid-run gets work and SIGTERM ends the run") {
  constexpr int kClients = 3;
  Federation fed(kClients);
  INFO(fed.Logs());
  Process& coordinator = fed.StartCoordinator(
      "coordinator", AsyncSettings("async-stop", {"strategy=fedasync", "rounds=100000",
                                                  "min_clients=2", "clients_per_round=3"}));
  const int port = fed.WaitListening(coordinator);
  fed.StartClient(0, port);
  fed.StartClient(1, port, {"--slowdown", "3"});
  REQUIRE(PollUntil([&] { return Contains(coordinator.out(), "version 3/"); }, kStartTimeout));
  // The late joiner is given a task without waiting for anything, and its
  // update goes into a version (read from the live log).
  fed.StartClient(2, port);
  const auto joiner_accepted = [&](storage::ExperimentLog& log, int64_t run) {
    for (const auto& u : log.ClientUpdates(run)) {
      if (u.client_id == Federation::ClientName(2) && u.status == storage::UpdateStatus::kAccepted)
        return true;
    }
    return false;
  };
  REQUIRE(PollUntil(
      [&] {
        storage::ExperimentLog log(fed.db(), ReadOnly());
        const auto run = log.FindRun("async-stop");
        return run && joiner_accepted(log, run->id);
      },
      kStartTimeout));
  coordinator.Signal(SIGTERM);
  REQUIRE_MESSAGE(coordinator.Wait(kStartTimeout), "the coordinator did not stop");
  CHECK(coordinator.ExitedWith(0));
  for (Process* client : fed.clients()) {
    REQUIRE(client->Wait(kStartTimeout));
    CHECK(client->ExitedWith(0));  // told Bye
  }

  storage::ExperimentLog log(fed.db());
  const auto run = log.FindRun("async-stop");
  REQUIRE(run.has_value());
  CHECK(run->status == storage::RunStatus::kInterrupted);
  CHECK(run->status_reason.find("stop requested") != std::string::npos);
  const auto rounds = log.Rounds(run->id);
  REQUIRE(rounds.size() >= 3);
  for (size_t i = 0; i < rounds.size(); ++i)
    CHECK(rounds[i].model_version == static_cast<int64_t>(i + 1));
  CHECK(joiner_accepted(log, run->id));
}

// The task numbers (the TrainTasks' round field) in a coordinator's log
// lines "NAME: round N result in ...".
std::vector<int64_t> TaskNumbers(const std::string& log) {
  std::vector<int64_t> numbers;
  const std::string mark = ": round ";
  for (size_t at = log.find(mark); at != std::string::npos; at = log.find(mark, at + 1)) {
    const size_t digits = at + mark.size();
    size_t end = digits;
    while (end < log.size() && std::isdigit(static_cast<unsigned char>(log[end])))
      ++end;
    if (end > digits && log.compare(end, 11, " result in ") == 0) {
      numbers.push_back(std::stoll(log.substr(digits, end - digits)));
    }
  }
  return numbers;
}

TEST_CASE(
    "async federation: kill -9 the coordinator mid-run: a restart resumes at the next version "
    "with none lost or repeated") {
  constexpr int kClients = 3;
  const std::string run_name = "async-kill";
  Federation fed(kClients);
  INFO(fed.Logs());
  // A fixed port (the clients reconnect to it after the restart); slowed
  // clients, so the kill comes well before the last version.
  const int port = FreePort();
  const std::vector<std::string> settings =
      AsyncSettings(run_name, {"port=" + std::to_string(port), "strategy=async_dn", "buffer_size=2",
                               "min_clients=3", "clients_per_round=3"});
  Process& first = fed.StartCoordinator("coordinator-1", settings);
  REQUIRE(fed.WaitListening(first) == port);
  for (int k = 0; k < kClients; ++k)
    fed.StartClient(k, port, {"--slowdown", "20"});

  // Version 3 committed (its progress line follows the commit): kill.
  REQUIRE_MESSAGE(PollUntil([&] { return Contains(first.out(), "version 3/") || !first.Running(); },
                            kRunTimeout),
                  "version 3 was not committed");
  REQUIRE(first.Running());
  first.Signal(SIGKILL);
  REQUIRE(first.Wait(Scaled(std::chrono::seconds(10))));
  REQUIRE(first.KilledBy(SIGKILL));

  int64_t committed = 0, tasks_logged = 0;
  {
    storage::ExperimentLog log(fed.db(), ReadOnly());
    const auto run = log.FindRun(run_name);
    REQUIRE(run.has_value());
    CHECK(run->status == storage::RunStatus::kRunning);  // crashed, not ended
    committed = log.LastCompletedRound(run->id);
    for (const storage::RoundRecord& r : log.Rounds(run->id))
      tasks_logged += r.selected;
  }
  REQUIRE(committed >= 3);
  REQUIRE(committed < kAsyncFederationVersions);
  for (Process* client : fed.clients())
    CHECK_MESSAGE(client->Running(), client->Describe());  // retrying

  Process& second = fed.StartCoordinator("coordinator-2", settings);
  fed.RequireRunCompleted(second);

  const std::string output = ReadIfExists(second.out());
  CHECK(output.find("resuming run '" + run_name + "' after version " + std::to_string(committed)) !=
        std::string::npos);
  CHECK(output.find("version " + std::to_string(committed + 1) + "/") != std::string::npos);
  CHECK(output.find("version " + std::to_string(committed) + "/") == std::string::npos);
  // Task numbers go on after those the log accounts for.
  const std::vector<int64_t> numbers = TaskNumbers(ReadIfExists(second.err()));
  REQUIRE(!numbers.empty());
  CHECK(*std::min_element(numbers.begin(), numbers.end()) > tasks_logged);

  // Versions 1..N once each, evaluations of 0, 4, 8, 12 once each.
  CheckAsyncLog(fed, run_name);
  CHECK(Violations(storage::CheckLog(fed.db())) == "");
  storage::ExperimentLog log(fed.db());
  CHECK(IntegrityCheck(log.TEST_db()) == "ok");
  const auto run = log.FindRun(run_name);
  REQUIRE(run.has_value());
  // async_dn's arrival counter (one version per arrival) went on from the
  // checkpoint instead of starting again at 0.
  CHECK(log.LatestCheckpoint(run->id)->strategy_state[0] ==
        static_cast<float>(kAsyncFederationVersions));
}

TEST_CASE("async federation: async_dn with DyLU gives a slowed client fewer local steps") {
  constexpr int kClients = 3;
  constexpr int kSlow = 2;
  Federation fed(kClients);
  INFO(fed.Logs());
  Process& coordinator = fed.StartCoordinator(
      "coordinator", AsyncSettings("async-dn", {"strategy=async_dn", "dylu=true", "buffer_size=2",
                                                "clients_per_round=3", "min_clients=3"}));
  const int port = fed.WaitListening(coordinator);
  fed.StartClient(0, port);
  fed.StartClient(1, port);
  fed.StartClient(kSlow, port, {"--slowdown", "8"});
  REQUIRE_MESSAGE(coordinator.Wait(kRunTimeout), "the coordinator did not finish");
  CHECK(coordinator.ExitedWith(0));

  const auto updates = CheckAsyncLog(fed, "async-dn");
  int64_t fast_steps = 0, slow_steps = 0;
  for (const auto& u : updates) {
    if (u.status != storage::UpdateStatus::kAccepted) continue;
    (u.client_id == Federation::ClientName(kSlow) ? slow_steps : fast_steps) = std::max(
        u.local_steps, u.client_id == Federation::ClientName(kSlow) ? slow_steps : fast_steps);
  }
  // The speed each client reported in Hello (the slowed one divided by 8).
  CHECK(fast_steps == 40);
  CHECK(slow_steps > 0);
  CHECK(slow_steps < 20);
}

}  // namespace
}  // namespace edgefl::coordinator
