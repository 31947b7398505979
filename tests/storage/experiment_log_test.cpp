#include "storage/experiment_log.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "common/error.h"
#include "tests/storage/log_test_util.h"
#include "tests/test_util.h"

namespace edgefl::storage {
namespace {

using edgefl::testing::TempDir;
using test::CommitSampleRound;
using test::SampleCheckpoint;
using test::SampleEvaluation;
using test::SampleRound;
using test::SampleRun;
using test::SampleUpdate;

bool BitIdentical(const Eigen::VectorXf& a, const Eigen::VectorXf& b) {
  return a.size() == b.size() &&
         std::memcmp(a.data(), b.data(), static_cast<size_t>(a.size()) * sizeof(float)) == 0;
}

TEST_CASE("BeginRun and FindRun round-trip every run field") {
  TempDir dir;
  ExperimentLog log(dir / "log.db");
  const int64_t id = log.BeginRun(SampleRun("a"));
  const auto run = log.FindRun("a");
  REQUIRE(run.has_value());
  CHECK(run->id == id);
  CHECK(run->spec.name == "a");
  CHECK(run->spec.config == SampleRun("a").config);
  CHECK(run->spec.strategy == "fedavg");
  CHECK(run->spec.mode == "sync");
  CHECK(run->spec.model_spec == "mlp:4-3");
  CHECK(run->spec.seed == 42);
  CHECK(run->spec.planned_rounds == 5);
  CHECK(run->started_at > 1.6e9);
  CHECK_FALSE(run->ended_at.has_value());
  CHECK(run->status == RunStatus::kRunning);
  CHECK_FALSE(log.FindRun("b").has_value());
  CHECK_FALSE(log.GetRun(id + 1).has_value());
  CHECK(log.GetRun(id)->spec.name == "a");

  log.EndRun(id, RunStatus::kFailed, "disk full");
  const auto ended = log.GetRun(id);
  CHECK(ended->status == RunStatus::kFailed);
  CHECK(ended->status_reason == "disk full");
  REQUIRE(ended->ended_at.has_value());
  CHECK(*ended->ended_at >= ended->started_at);
  CHECK_THROWS_AS(log.EndRun(id + 7, RunStatus::kCompleted), ConfigError);
  CHECK_THROWS_AS(log.BeginRun(SampleRun("")), ConfigError);
}

TEST_CASE("A second run with the same name is a DuplicateError") {
  TempDir dir;
  ExperimentLog log(dir / "log.db");
  log.BeginRun(SampleRun("a"));
  CHECK_THROWS_AS(log.BeginRun(SampleRun("a")), DuplicateError);
  CHECK(log.ListRuns().size() == 1);
}

TEST_CASE("CommitRound round-trips rounds and updates and evaluations and checkpoints") {
  TempDir dir;
  ExperimentLog log(dir / "log.db");
  const int64_t run = log.BeginRun(SampleRun("a"));
  CommitSampleRound(log, run, 1);
  CommitSampleRound(log, run, 2);

  const auto rounds = log.Rounds(run);
  REQUIRE(rounds.size() == 2);
  const RoundRecord expected = SampleRound(2);
  CHECK(rounds[1].round == 2);
  CHECK(rounds[1].model_version == expected.model_version);
  CHECK(rounds[1].selected == 3);
  CHECK(rounds[1].completed == 2);
  CHECK(rounds[1].dropped == 1);
  CHECK(rounds[1].rejected == 0);
  CHECK(rounds[1].started_at == expected.started_at);
  CHECK(rounds[1].ended_at == expected.ended_at);
  CHECK(rounds[1].virtual_time == expected.virtual_time);
  CHECK(rounds[1].train_loss == expected.train_loss);
  CHECK(rounds[1].metrics == expected.metrics);  // the strategy's metrics, exactly

  const auto updates = log.ClientUpdates(run);
  REQUIRE(updates.size() == 6);
  CHECK(updates[0].round == 1);
  CHECK(updates[0].client_id == "c1");
  CHECK(updates[0].num_samples == 600);
  CHECK(updates[0].local_steps == 10);
  CHECK(updates[0].loss_before == 2.25);
  CHECK(updates[0].loss_after == 1.5);
  CHECK(updates[0].bytes_in == 4096);
  CHECK(updates[0].bytes_out == 4100);
  CHECK(updates[0].compute_seconds == 0.75);
  CHECK(updates[0].staleness == 0);
  CHECK(updates[0].status == UpdateStatus::kAccepted);
  CHECK(updates[2].client_id == "c3");
  CHECK(updates[2].status == UpdateStatus::kDropped);
  CHECK(updates[2].reason == "deadline passed");
  CHECK(updates[5].round == 2);

  const auto evaluations = log.Evaluations(run);
  REQUIRE(evaluations.size() == 2);
  CHECK(evaluations[1].round == 2);
  CHECK(evaluations[1].split == "test");
  CHECK(evaluations[1].loss == SampleEvaluation(2).loss);
  CHECK(evaluations[1].accuracy == SampleEvaluation(2).accuracy);
  CHECK(evaluations[1].per_class_accuracy == std::vector<double>{0.25, 0.5, 0.875});
  CHECK(evaluations[1].num_samples == 10000);

  const auto checkpoint = log.ReadCheckpoint(run, 1);
  REQUIRE(checkpoint.has_value());
  CHECK(checkpoint->round == 1);
  CHECK(checkpoint->spec == "mlp:4-3");
  CHECK(BitIdentical(checkpoint->parameters, SampleCheckpoint(1).parameters));
  CHECK_FALSE(log.ReadCheckpoint(run, 3).has_value());
}

TEST_CASE("Unmeasured values round-trip as NaN and unset virtual time") {
  TempDir dir;
  ExperimentLog log(dir / "log.db");
  const int64_t run = log.BeginRun(SampleRun("a"));
  RoundRecord round = SampleRound(1);
  round.virtual_time.reset();
  round.train_loss = std::numeric_limits<double>::quiet_NaN();
  ClientUpdateRecord update = SampleUpdate(1, "c1");
  update.status = UpdateStatus::kRejected;
  update.reason = "update contains NaN";
  update.loss_after = std::numeric_limits<double>::quiet_NaN();
  update.compute_seconds = std::numeric_limits<double>::quiet_NaN();
  EvaluationRecord evaluation = SampleEvaluation(1);
  evaluation.per_class_accuracy = {0.5, std::numeric_limits<double>::quiet_NaN()};
  log.CommitRound(run, round, std::vector{update}, std::vector{evaluation}, nullptr);

  const auto rounds = log.Rounds(run);
  REQUIRE(rounds.size() == 1);
  CHECK_FALSE(rounds[0].virtual_time.has_value());
  CHECK(std::isnan(rounds[0].train_loss));
  const auto updates = log.ClientUpdates(run);
  REQUIRE(updates.size() == 1);
  CHECK(updates[0].status == UpdateStatus::kRejected);
  CHECK(updates[0].reason == "update contains NaN");
  CHECK(updates[0].loss_before == 2.25);
  CHECK(std::isnan(updates[0].loss_after));
  CHECK(std::isnan(updates[0].compute_seconds));
  const auto evaluations = log.Evaluations(run);
  REQUIRE(evaluations[0].per_class_accuracy.size() == 2);
  CHECK(std::isnan(evaluations[0].per_class_accuracy[1]));
  CHECK_FALSE(log.LatestCheckpoint(run).has_value());
}

TEST_CASE("CommitRound is atomic: a duplicate client inside the round leaves no trace of it") {
  TempDir dir;
  ExperimentLog log(dir / "log.db");
  const int64_t run = log.BeginRun(SampleRun("a"));
  CommitSampleRound(log, run, 1);

  // The second update repeats c1: the insert fails after the round row, the
  // first update and before the checkpoint were written.
  const std::vector<ClientUpdateRecord> updates = {SampleUpdate(2, "c1"), SampleUpdate(2, "c2"),
                                                   SampleUpdate(2, "c1")};
  const std::vector<EvaluationRecord> evaluations = {SampleEvaluation(2)};
  const Checkpoint checkpoint = SampleCheckpoint(2);
  try {
    log.CommitRound(run, SampleRound(2), updates, evaluations, &checkpoint);
    FAIL("expected a DuplicateError");
  } catch (const DuplicateError& error) {
    const std::string message = error.what();
    CHECK(message.find("duplicate") != std::string::npos);
    CHECK(message.find("round 2") != std::string::npos);
    CHECK(message.find("'c1'") != std::string::npos);
  }
  CHECK(log.LastCompletedRound(run) == 1);
  CHECK(log.Rounds(run).size() == 1);
  CHECK(log.ClientUpdates(run).size() == 3);
  CHECK_FALSE(log.HasUpdate(run, 2, "c1"));
  CHECK(log.Evaluations(run).size() == 1);
  CHECK(log.LatestCheckpoint(run)->round == 1);

  // The log is usable afterwards: the same round commits when corrected.
  CommitSampleRound(log, run, 2);
  CHECK(log.LastCompletedRound(run) == 2);
}

TEST_CASE("A duplicate run round client key is detected and never recorded twice") {
  TempDir dir;
  ExperimentLog log(dir / "log.db");
  const int64_t run = log.BeginRun(SampleRun("a"));
  CommitSampleRound(log, run, 1);
  CHECK(log.HasUpdate(run, 1, "c1"));
  CHECK(log.HasUpdate(run, 1, "c3"));  // dropped counts too
  CHECK_FALSE(log.HasUpdate(run, 1, "c9"));
  CHECK_FALSE(log.HasUpdate(run, 2, "c1"));

  CHECK_THROWS_AS(log.RecordClientUpdate(run, SampleUpdate(1, "c1")), DuplicateError);
  CHECK_THROWS_AS(CommitSampleRound(log, run, 1), DuplicateError);  // round already committed
  CHECK_THROWS_AS(log.RecordEvaluation(run, SampleEvaluation(1)), DuplicateError);
  CHECK(log.ClientUpdates(run).size() == 3);

  // Async style: an update recorded on arrival, then a commit without it.
  log.RecordClientUpdate(run, SampleUpdate(2, "c1"));
  CHECK(log.HasUpdate(run, 2, "c1"));
  CHECK_THROWS_AS(log.RecordClientUpdate(run, SampleUpdate(2, "c1")), DuplicateError);
  log.CommitRound(run, SampleRound(2), {}, {}, nullptr);
  CHECK(log.ClientUpdates(run).size() == 4);
  // The same client in another run is a different key.
  const int64_t other = log.BeginRun(SampleRun("b"));
  log.RecordClientUpdate(other, SampleUpdate(1, "c1"));
}

TEST_CASE("CommitRound rejects impossible arguments before writing") {
  TempDir dir;
  ExperimentLog log(dir / "log.db");
  const int64_t run = log.BeginRun(SampleRun("a"));
  CHECK_THROWS_AS(log.CommitRound(run, SampleRound(0), {}, {}, nullptr), ConfigError);
  CHECK_THROWS_AS(
      log.CommitRound(run, SampleRound(1), std::vector{SampleUpdate(2, "c1")}, {}, nullptr),
      ConfigError);
  CHECK_THROWS_AS(
      log.CommitRound(run, SampleRound(1), {}, std::vector{SampleEvaluation(2)}, nullptr),
      ConfigError);
  CHECK_THROWS_AS(log.CommitRound(run + 1, SampleRound(1), {}, {}, nullptr), ConfigError);
  CHECK_THROWS_AS(log.RecordClientUpdate(run + 1, SampleUpdate(1, "c1")), ConfigError);
  CHECK_THROWS_AS(log.RecordEvaluation(run, SampleEvaluation(-1)), ConfigError);
  CHECK(log.Rounds(run).empty());
}

TEST_CASE("Resume finds the last committed round and its checkpoint bit-identical") {
  TempDir dir;
  const auto path = dir / "log.db";
  int64_t run = 0;
  const Checkpoint big = SampleCheckpoint(3, 100000);
  {
    ExperimentLog log(path);
    run = log.BeginRun(SampleRun("a"));
    log.RecordEvaluation(run, SampleEvaluation(0));  // the initial model
    CommitSampleRound(log, run, 1);
    CommitSampleRound(log, run, 2);
    log.CommitRound(run, SampleRound(3), {}, {}, &big);
    log.CommitRound(run, SampleRound(4), {}, {}, nullptr);  // no checkpoint this round
    // Round 5 was under way when the process died: an update and an
    // evaluation were recorded, the round never committed.
    log.RecordClientUpdate(run, SampleUpdate(5, "c1"));
    log.RecordEvaluation(run, SampleEvaluation(5));
  }  // "crash": the connection goes away without EndRun

  ExperimentLog log(path);
  const auto found = log.FindRun("a");
  REQUIRE(found.has_value());
  CHECK(found->id == run);
  CHECK(found->status == RunStatus::kRunning);
  CHECK(log.LastCompletedRound(run) == 4);
  const auto checkpoint = log.LatestCheckpoint(run);
  REQUIRE(checkpoint.has_value());
  CHECK(checkpoint->round == 3);
  CHECK(checkpoint->spec == "mlp:4-3");
  CHECK(BitIdentical(checkpoint->parameters, big.parameters));

  CHECK(log.ResumeRun(run) == 4);
  CHECK_FALSE(log.HasUpdate(run, 5, "c1"));
  CHECK(log.Evaluations(run).size() == 3);  // rounds 0, 1, 2
  CHECK(log.Evaluations(run).front().round == 0);
  CommitSampleRound(log, run, 5);  // the redone round commits cleanly
  CHECK(log.LastCompletedRound(run) == 5);
  CHECK(log.LatestCheckpoint(run)->round == 5);

  log.EndRun(run, RunStatus::kInterrupted, "SIGTERM");
  log.ResumeRun(run);
  CHECK(log.GetRun(run)->status == RunStatus::kRunning);
  CHECK_FALSE(log.GetRun(run)->ended_at.has_value());
  CHECK(log.LastCompletedRound(run + 9) == 0);
  CHECK_THROWS_AS(log.ResumeRun(run + 9), ConfigError);
}

TEST_CASE("Checkpoint floats survive bit for bit including NaN payloads and signed zero") {
  TempDir dir;
  ExperimentLog log(dir / "log.db");
  const int64_t run = log.BeginRun(SampleRun("a"));
  Checkpoint checkpoint;
  checkpoint.spec = "cnn:lenet";
  checkpoint.parameters.resize(6);
  checkpoint.parameters << -0.0f, std::numeric_limits<float>::denorm_min(),
      std::numeric_limits<float>::max(), std::numeric_limits<float>::infinity(), 1.0f / 3.0f,
      std::bit_cast<float>(0x7fc01234u);
  log.CommitRound(run, SampleRound(1), {}, {}, &checkpoint);
  const auto read = log.LatestCheckpoint(run);
  REQUIRE(read.has_value());
  CHECK(read->spec == "cnn:lenet");
  CHECK(BitIdentical(read->parameters, checkpoint.parameters));

  Checkpoint empty;
  empty.spec = "none";
  log.CommitRound(run, SampleRound(2), {}, {}, &empty);
  CHECK(log.LatestCheckpoint(run)->parameters.size() == 0);
}

TEST_CASE("A corrupted checkpoint blob is a DataError naming the run and round") {
  TempDir dir;
  ExperimentLog log(dir / "log.db");
  const int64_t run = log.BeginRun(SampleRun("exp-a"));
  CommitSampleRound(log, run, 1);
  CommitSampleRound(log, run, 2);
  // Flip one bit of one byte of round 2's model blob.
  {
    Statement read(log.TEST_db(), "SELECT model FROM checkpoints WHERE run_id = ?1 AND round = 2");
    read.Bind(1, run);
    REQUIRE(read.Step());
    std::string blob = read.ColumnBlob(0);
    blob[7] = static_cast<char>(blob[7] ^ 0x01);
    Statement write(log.TEST_db(),
                    "UPDATE checkpoints SET model = ?2 WHERE run_id = ?1 AND round = 2");
    write.Bind(1, run).BindBlob(2, blob.data(), blob.size());
    write.Run();
  }
  try {
    log.LatestCheckpoint(run);
    FAIL("expected a DataError");
  } catch (const DataError& error) {
    const std::string message = error.what();
    CHECK(message.find("'exp-a'") != std::string::npos);
    CHECK(message.find("round 2") != std::string::npos);
    CHECK(message.find("corrupted") != std::string::npos);
    CHECK(message.find("SHA-256") != std::string::npos);
  }
  // The intact round still reads.
  CHECK(log.ReadCheckpoint(run, 1).has_value());

  // A truncated blob is reported too.
  log.TEST_db().Execute("UPDATE checkpoints SET model = substr(model, 1, 10) WHERE round = 1");
  CHECK_THROWS_WITH_AS(log.ReadCheckpoint(run, 1), doctest::Contains("10 bytes"), DataError);
}

TEST_CASE("PruneCheckpoints keeps the most recent checkpoints") {
  TempDir dir;
  ExperimentLog log(dir / "log.db");
  const int64_t run = log.BeginRun(SampleRun("a"));
  const int64_t other = log.BeginRun(SampleRun("b"));
  for (int64_t round = 1; round <= 4; ++round)
    CommitSampleRound(log, run, round);
  CommitSampleRound(log, other, 1);
  CHECK(log.PruneCheckpoints(run, 2) == 2);
  CHECK_FALSE(log.ReadCheckpoint(run, 2).has_value());
  CHECK(log.ReadCheckpoint(run, 3).has_value());
  CHECK(log.LatestCheckpoint(run)->round == 4);
  CHECK(log.LatestCheckpoint(other)->round == 1);  // other runs untouched
  CHECK(log.PruneCheckpoints(run, 2) == 0);
  CHECK_THROWS_AS(log.PruneCheckpoints(run, 0), ConfigError);
}

TEST_CASE("ListRuns summarises rounds accuracy and clients") {
  TempDir dir;
  ExperimentLog log(dir / "log.db");
  const int64_t a = log.BeginRun(SampleRun("a"));
  const int64_t b = log.BeginRun(SampleRun("b"));
  CommitSampleRound(log, a, 1);
  CommitSampleRound(log, a, 2);
  CommitSampleRound(log, a, 3);
  // A worse last evaluation: best and final differ.
  EvaluationRecord last = SampleEvaluation(4);
  last.accuracy = 0.55;
  log.CommitRound(a, SampleRound(4), std::vector{SampleUpdate(4, "c7")}, std::vector{last},
                  nullptr);
  log.RecordEvaluation(a, SampleEvaluation(4, "train"));
  log.EndRun(a, RunStatus::kCompleted);

  const auto runs = log.ListRuns();
  REQUIRE(runs.size() == 2);
  CHECK(runs[0].run.id == a);
  CHECK(runs[0].run.status == RunStatus::kCompleted);
  CHECK(runs[0].rounds_completed == 4);
  CHECK(runs[0].last_round == 4);
  CHECK(runs[0].best_accuracy == doctest::Approx(0.65));
  CHECK(runs[0].final_accuracy == doctest::Approx(0.55));
  CHECK(runs[0].distinct_clients == 4);
  CHECK(runs[1].run.id == b);
  CHECK(runs[1].rounds_completed == 0);
  CHECK(runs[1].last_round == 0);
  CHECK_FALSE(runs[1].best_accuracy.has_value());
  CHECK_FALSE(runs[1].final_accuracy.has_value());
  CHECK(runs[1].distinct_clients == 0);

  const auto train = log.ListRuns("train");
  CHECK(train[0].final_accuracy == doctest::Approx(SampleEvaluation(4, "train").accuracy));
}

TEST_CASE("UpsertClient keeps first seen and updates profile and last seen") {
  TempDir dir;
  ExperimentLog log(dir / "log.db");
  log.UpsertClient({"phone-2", R"({"cores":4})", 100.0, 100.0});
  log.UpsertClient({"phone-1", R"({"cores":8})", 50.0, 60.0});
  log.UpsertClient({"phone-2", R"({"cores":4,"memory_mb":2048})", 150.0, 150.0});
  const auto clients = log.Clients();
  REQUIRE(clients.size() == 2);
  CHECK(clients[0].client_id == "phone-1");
  CHECK(clients[1].client_id == "phone-2");
  CHECK(clients[1].profile == R"({"cores":4,"memory_mb":2048})");
  CHECK(clients[1].first_seen == 100.0);
  CHECK(clients[1].last_seen == 150.0);
  log.UpsertClient({"phone-3", "{}", 0.0, 0.0});  // 0 = now
  CHECK(log.Clients()[2].first_seen > 1.6e9);
}

}  // namespace
}  // namespace edgefl::storage
