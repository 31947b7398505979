// Operating a real edgefl-coordinator with real signals: SIGHUP after a
// certificate rotation (a new CA, server certificate and key in place of
// the old files) makes new handshakes use the new certificates while the
// sessions already open go on, and reopens the log file logrotate moved
// away; log lines in JSON (coordinator log_format, edgefl-client
// --log-format) parse line by line.
#include <filesystem>
#include <signal.h>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "storage/experiment_log.h"
#include "tests/coordinator/federation_util.h"
#include "tests/coordinator/json_line.h"

namespace edgefl::coordinator {
namespace {

namespace fs = std::filesystem;
using edgefl::testing::Contains;
using edgefl::testing::FashionMnistDir;
using edgefl::testing::Federation;
using edgefl::testing::kRunTimeout;
using edgefl::testing::kStartTimeout;
using edgefl::testing::ParseFlatJsonObject;
using edgefl::testing::PollUntil;
using edgefl::testing::Process;
using edgefl::testing::ReadIfExists;
using edgefl::testing::ReadOnly;

std::vector<std::string> OperationsSignalsLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  return lines;
}

// edgefl-client as Federation::StartClientAs starts it, with the
// certificate files given.
std::unique_ptr<Process> StartClient(const Federation& fed, int k, int port, const fs::path& cert,
                                     const fs::path& key, const fs::path& ca,
                                     const std::string& tag,
                                     const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {edgefl::testing::BinaryDir() + "/client/edgefl-client",
                                   "--coordinator",
                                   "127.0.0.1:" + std::to_string(port),
                                   "--cert",
                                   cert.string(),
                                   "--key",
                                   key.string(),
                                   "--ca",
                                   ca.string(),
                                   "--data",
                                   fed.partition().string(),
                                   "--index",
                                   std::to_string(k),
                                   "--data-dir",
                                   FashionMnistDir().string()};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return std::make_unique<Process>(tag, std::move(argv), fed.dir() / (tag + ".out"),
                                   fed.dir() / (tag + ".log"));
}

}  // namespace

TEST_CASE(
    "operations: SIGHUP reloads rotated certificates for new handshakes and reopens the log") {
  Federation fed(2);
  INFO(fed.Logs());
  const fs::path certs = fed.dir() / "certs";
  const fs::path log_file = fed.dir() / "coordinator.jsonl";
  // Two rounds with two clients: client-0 (old CA) joins before the
  // rotation, client-1 (new CA) after it; the rounds need both.
  Process& coordinator = fed.StartCoordinator(
      "coordinator", {"port=0", "run_name=rotation", "rounds=2", "clients_per_round=2",
                      "min_clients=2", "heartbeat=1", "local_steps=2", "test_subset=200",
                      "model=logreg:784-10", "log_format=json", "log_file=" + log_file.string()});
  const int port = fed.WaitListening(coordinator);
  Process& old_client = fed.StartClient(0, port);
  REQUIRE(PollUntil([&] { return Contains(log_file, "client-0 connected from"); }, kStartTimeout));

  // The rotation: a new CA, and the coordinator's files replaced by a
  // server certificate and key it issued; logrotate moves the log away.
  const fs::path next = fed.dir() / "certs-next";
  std::string output;
  REQUIRE_MESSAGE(
      edgefl::testing::RunCommand(edgefl::testing::EdgeflTool() + " certs init --dir " +
                                      next.string() + " && " + edgefl::testing::EdgeflTool() +
                                      " certs issue-server 127.0.0.1 --dir " + next.string() +
                                      " && " + edgefl::testing::EdgeflTool() +
                                      " certs issue-client client-1 --dir " + next.string(),
                                  &output) == 0,
      output);
  // A half-done rotation (the new key with the old certificate) is refused
  // and the current certificates are kept.
  fs::copy_file(next / "server.key", certs / "server.key", fs::copy_options::overwrite_existing);
  fs::permissions(certs / "server.key", fs::perms::owner_read | fs::perms::owner_write);
  coordinator.Signal(SIGHUP);
  REQUIRE_MESSAGE(PollUntil([&] { return Contains(log_file, "SIGHUP: certificates not reloaded"); },
                            kStartTimeout),
                  (ReadIfExists(log_file) + ReadIfExists(coordinator.err())));
  CHECK(Contains(log_file, "does not match certificate"));
  CHECK(coordinator.Running());

  // Both CAs, for a client that trusts the new coordinator but still has
  // a certificate of the old CA.
  edgefl::testing::WriteFile(
      fed.dir() / "both-cas.crt",
      edgefl::testing::ReadFile(certs / "ca.crt") + edgefl::testing::ReadFile(next / "ca.crt"));
  for (const char* file : {"server.crt", "server.key", "ca.crt"}) {
    fs::copy_file(next / file, certs / file, fs::copy_options::overwrite_existing);
  }
  fs::permissions(certs / "server.key", fs::perms::owner_read | fs::perms::owner_write);
  fs::rename(log_file, fed.dir() / "coordinator.jsonl.1");

  coordinator.Signal(SIGHUP);
  REQUIRE_MESSAGE(
      PollUntil([&] { return Contains(log_file, "SIGHUP: certificates reloaded"); }, kStartTimeout),
      (ReadIfExists(log_file) + ReadIfExists(coordinator.err())));
  CHECK(coordinator.Running());

  // A client with a certificate of the old CA is refused now (it gives up
  // at once) ...
  auto stale = StartClient(fed, 0, port, certs / "client-0.crt", certs / "client-0.key",
                           fed.dir() / "both-cas.crt", "stale-client", {"--retry-for", "0"});
  REQUIRE(stale->Wait(kStartTimeout));
  CHECK_FALSE(stale->ExitedWith(0));
  CHECK(PollUntil([&] { return Contains(log_file, "refused: certificate from an unknown CA"); },
                  kStartTimeout));
  // ... one of the new CA joins, and the session opened before the
  // rotation goes on: both train the two rounds.
  auto fresh =
      StartClient(fed, 1, port, next / "client-1.crt", next / "client-1.key", next / "ca.crt",
                  "client-1", {"--retry-for", "60", "--log-format", "json"});
  REQUIRE(coordinator.Wait(kRunTimeout));
  CHECK(coordinator.ExitedWith(0));
  REQUIRE(fresh->Wait(std::chrono::seconds(30)));
  CHECK(fresh->ExitedWith(0));
  REQUIRE(old_client.Wait(std::chrono::seconds(30)));
  CHECK(old_client.ExitedWith(0));
  {
    storage::ExperimentLog log(fed.db(), ReadOnly());
    const auto run = log.FindRun("rotation");
    REQUIRE(run.has_value());
    CHECK(run->status == storage::RunStatus::kCompleted);
    int from_old = 0;
    int from_new = 0;
    for (const auto& u : log.ClientUpdates(run->id)) {
      if (u.status != storage::UpdateStatus::kAccepted) continue;
      from_old += u.client_id == "client-0";
      from_new += u.client_id == "client-1";
    }
    CHECK(from_old == 2);
    CHECK(from_new == 2);
  }

  // Every line of both log files (before and after the reopen) is a JSON
  // object with the four fields; the rotated file ends before the SIGHUP.
  const std::string rotated = ReadIfExists(fed.dir() / "coordinator.jsonl.1");
  CHECK(rotated.find("client-0 connected from") != std::string::npos);
  CHECK(rotated.find("\"level\":\"error\",\"component\":\"coordinator\",\"msg\":\"SIGHUP: "
                     "certificates not reloaded") != std::string::npos);
  CHECK(rotated.find("certificates reloaded from") == std::string::npos);
  int lines = 0;
  for (const std::string& text : {rotated, ReadIfExists(log_file)}) {
    for (const std::string& line : OperationsSignalsLines(text)) {
      CAPTURE(line);
      const auto fields = ParseFlatJsonObject(line);
      CHECK(fields.size() == 4);
      CHECK(fields.at("component") == "coordinator");
      CHECK((fields.at("level") == "info" || fields.at("level") == "warning" ||
             fields.at("level") == "error"));
      CHECK(fields.at("time").size() == 24);  // 2026-12-06T12:20:01.123Z
      CHECK(fields.at("time").back() == 'Z');
      ++lines;
    }
  }
  CHECK(lines > 5);
  CHECK(ReadIfExists(log_file).find("\"level\":\"warning\",\"component\":\"coordinator\",\"msg\":"
                                    "\"client 127.0.0.1:") != std::string::npos);
  CHECK(ReadIfExists(log_file).find("run 'rotation' completed") != std::string::npos);
  // The client's stderr in JSON: its component is its id.
  const std::vector<std::string> client_lines = OperationsSignalsLines(ReadIfExists(fresh->err()));
  REQUIRE(!client_lines.empty());
  for (const std::string& line : client_lines) {
    CAPTURE(line);
    const auto fields = ParseFlatJsonObject(line);
    CHECK(fields.at("component") == "client-1");
    CHECK(!fields.at("msg").empty());
  }
  CHECK(ReadIfExists(fresh->err()).find("\"msg\":\"coordinator said bye") != std::string::npos);
}

}  // namespace edgefl::coordinator
