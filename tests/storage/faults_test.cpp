// Failures the experiment log must survive: disk full, read-only files,
// concurrent readers and writers, a process killed mid-commit.
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include <doctest/doctest.h>

#include "common/error.h"
#include "storage/experiment_log.h"
#include "storage/run_summary.h"
#include "tests/storage/log_test_util.h"
#include "tests/test_util.h"

namespace edgefl::storage {
namespace {

using edgefl::testing::TempDir;
using test::CommitSampleRound;
using test::IntegrityCheck;
using test::ReadOnly;
using test::SampleCheckpoint;
using test::SampleRound;
using test::SampleRun;

TEST_CASE("Disk full fails the round commit with an IoError and keeps earlier rounds") {
  TempDir dir;
  const auto path = dir / "log.db";
  ExperimentLog log(path);
  const int64_t run = test::SampleRunWithRounds(log, "a", 2);

  // Leave room for a few pages only; a 400 KB checkpoint needs ~100.
  SqliteDb& db = log.TEST_db();
  const int64_t pages = db.QueryInt("PRAGMA page_count");
  db.QueryInt("PRAGMA max_page_count = " + std::to_string(pages + 2));
  const Checkpoint big = SampleCheckpoint(3, 100000);
  try {
    log.CommitRound(run, SampleRound(3), {}, {}, &big);
    FAIL("expected an IoError");
  } catch (const IoError& error) {
    const std::string message = error.what();
    MESSAGE(message);
    CHECK(message.find(path.string()) != std::string::npos);
    CHECK(message.find("full") != std::string::npos);
    CHECK(message.find("round 3") != std::string::npos);
  }
  CHECK_FALSE(db.InTransaction());
  CHECK(log.LastCompletedRound(run) == 2);
  CHECK(log.LatestCheckpoint(run)->round == 2);
  CHECK(IntegrityCheck(db) == "ok");
  {
    // Another connection sees the same intact log.
    ExperimentLog reader(path, ReadOnly());
    CHECK(reader.Rounds(run).size() == 2);
    CHECK(IntegrityCheck(reader.TEST_db()) == "ok");
  }
  // Once there is room again, the same round commits.
  db.QueryInt("PRAGMA max_page_count = 1073741823");
  log.CommitRound(run, SampleRound(3), {}, {}, &big);
  CHECK(log.LastCompletedRound(run) == 3);
}

TEST_CASE("Writing a log opened read-only is an IoError saying it is read-only") {
  TempDir dir;
  const auto path = dir / "log.db";
  int64_t run = 0;
  {
    ExperimentLog log(path);
    run = test::SampleRunWithRounds(log, "a", 1);
  }
  ExperimentLog log(path, ReadOnly());
  CHECK(log.Rounds(run).size() == 1);  // reading works
  CHECK(log.LatestCheckpoint(run).has_value());
  try {
    CommitSampleRound(log, run, 2);
    FAIL("expected an IoError");
  } catch (const IoError& error) {
    const std::string message = error.what();
    MESSAGE(message);
    CHECK(message.find(path.string()) != std::string::npos);
    CHECK(message.find("read-only") != std::string::npos);
    CHECK(message.find("round 2") != std::string::npos);
  }
  CHECK_THROWS_WITH_AS(log.BeginRun(SampleRun("b")), doctest::Contains("read-only"), IoError);
  CHECK_THROWS_AS(log.EndRun(run, RunStatus::kCompleted), IoError);
  CHECK(log.LastCompletedRound(run) == 1);
}

TEST_CASE("A read-only file or directory is an IoError when permissions apply") {
  TempDir dir;
  const auto sub = dir / "logs";
  std::filesystem::create_directory(sub);
  const auto path = sub / "log.db";
  {
    ExperimentLog log(path);
    log.BeginRun(SampleRun("a"));
  }
  if (geteuid() == 0) {
    // root ignores permission bits; this case is covered with read_only
    // above. A real failure root cannot bypass: the log's directory is gone.
    MESSAGE("running as root: chmod does not block writes, checking a missing directory instead");
    CHECK_THROWS_WITH_AS(ExperimentLog(dir / "no-such-dir" / "log.db"),
                         doctest::Contains("cannot open"), IoError);
    std::filesystem::create_directory(dir / "a-directory.db");
    CHECK_THROWS_AS(ExperimentLog(dir / "a-directory.db"), IoError);
    return;
  }
  chmod(path.c_str(), 0444);
  chmod(sub.c_str(), 0555);
  bool refused = false;
  try {
    ExperimentLog log(path);
    log.BeginRun(SampleRun("b"));
  } catch (const IoError& error) {
    refused = true;
    MESSAGE(std::string(error.what()));
    CHECK(std::string(error.what()).find(path.string()) != std::string::npos);
  }
  chmod(sub.c_str(), 0755);
  chmod(path.c_str(), 0644);
  CHECK(refused);
}

TEST_CASE("A damaged log is refused for writing before anything is written to it") {
  TempDir dir;
  const auto path = dir / "log.db";
  int64_t run = 0;
  {
    ExperimentLog log(path);
    run = test::SampleRunWithRounds(log, "a", 2);
  }
  test::DamageTablePage(path, "rounds");
  const std::string before = test::FileHash(path);

  for (const bool create : {true, false}) {
    ExperimentLog::Options options;
    options.create_if_missing = create;
    try {
      ExperimentLog log(path, options);
      log.BeginRun(SampleRun("b"));
      FAIL("expected a DataError");
    } catch (const DataError& error) {
      const std::string message = error.what();
      MESSAGE(message);
      CHECK(message.find("experiment log " + path.string() + ": the file is damaged") !=
            std::string::npos);
      CHECK(message.find("quick_check") != std::string::npos);  // what SQLite found
      CHECK(message.find("nothing was written to it") != std::string::npos);
      CHECK(message.find("backup") != std::string::npos);
      CHECK(message.find(".recover") != std::string::npos);
      CHECK(message.find("--db") != std::string::npos);
    }
    CHECK(test::FileHash(path) == before);
  }
  CHECK_THROWS_AS(UpgradeLog(path), DataError);
  CHECK(test::FileHash(path) == before);

  // Readers open it as before and read what is intact.
  {
    ExperimentLog reader(path, ReadOnly());
    REQUIRE(reader.FindRun("a").has_value());
    CHECK(reader.FindRun("a")->id == run);
    CHECK_FALSE(reader.FindRun("b").has_value());
  }
  CHECK(test::FileHash(path) == before);
}

TEST_CASE("A write that finds the log damaged makes every later write refuse to write") {
  TempDir dir;
  const auto path = dir / "log.db";
  ExperimentLog log(path);
  const int64_t run = test::SampleRunWithRounds(log, "a", 1);
  // The damage happens while the log is open (a failing disk): move the
  // committed pages into the file, damage it, and drop the cached pages.
  log.TEST_db().Execute("PRAGMA wal_checkpoint(TRUNCATE)");
  test::DamageTablePage(path, "rounds");
  log.TEST_db().Execute("PRAGMA shrink_memory");
  const std::string damaged = test::FileHash(path);

  CHECK_THROWS_WITH_AS(CommitSampleRound(log, run, 2), doctest::Contains("the file is corrupted"),
                       DataError);
  CHECK(log.TEST_db().damaged());
  // What an error path does next (engine::MarkRunFailed): each is refused.
  try {
    log.EndRun(run, RunStatus::kFailed, "the file is corrupted");
    FAIL("expected a DataError");
  } catch (const DataError& error) {
    const std::string message = error.what();
    MESSAGE(message);
    CHECK(message.find("experiment log " + path.string() + ": refusing to write") !=
          std::string::npos);
    CHECK(message.find("found damaged") != std::string::npos);
  }
  CHECK_THROWS_AS(log.RecordEvent(run, "resumed", ""), DataError);
  CHECK_THROWS_AS(log.BeginRun(SampleRun("b")), DataError);
  CHECK(log.GetRun(run)->status == RunStatus::kRunning);  // reads still work
  CHECK(test::FileHash(path) == damaged);
}

TEST_CASE("WAL lets a second connection read while the first has an open write transaction") {
  TempDir dir;
  const auto path = dir / "log.db";
  ExperimentLog writer(path);
  const int64_t run = writer.BeginRun(SampleRun("a"));
  CommitSampleRound(writer, run, 1);

  // The writer is in the middle of a round: write lock held, rows written.
  auto transaction = std::make_unique<Transaction>(writer.TEST_db());
  writer.TEST_db().Execute(
      "INSERT INTO rounds (run_id, round, model_version, selected, completed, dropped, rejected, "
      "started_at, ended_at) VALUES (1, 2, 2, 3, 3, 0, 0, 0, 0)");

  ExperimentLog::Options options = ReadOnly();
  options.busy_timeout_ms = 1000;
  // Were the readers blocked by the write lock, they would fail with
  // "locked" after the busy timeout.
  ExperimentLog reader(path, options);
  CHECK(reader.Rounds(run).size() == 1);  // the committed state only
  CHECK(reader.ListRuns().at(0).rounds_completed == 1);
  CHECK(reader.LatestCheckpoint(run)->round == 1);
  // A read-write connection (e.g. `edgefl runs` opened without read_only)
  // can open and read too.
  ExperimentLog::Options rw;
  rw.busy_timeout_ms = 1000;
  ExperimentLog second(path, rw);
  CHECK(second.LastCompletedRound(run) == 1);

  // A second writer waits for the lock, then fails with a clear message.
  CHECK_THROWS_WITH_AS(second.BeginRun(SampleRun("b")), doctest::Contains("locked"), IoError);

  transaction->Commit();
  transaction.reset();
  CHECK(reader.Rounds(run).size() == 2);
  second.BeginRun(SampleRun("b"));  // the lock is free again
}

TEST_CASE("A read snapshot sees one committed state while a writer commits") {
  TempDir dir;
  const auto path = dir / "log.db";
  ExperimentLog writer(path);
  const int64_t run = writer.BeginRun(SampleRun("a"));
  CommitSampleRound(writer, run, 1);
  ExperimentLog reader(path, ReadOnly());
  {
    const auto snapshot = reader.BeginSnapshot();
    CommitSampleRound(writer, run, 2);  // not blocked by the reader
    CHECK(reader.Rounds(run).size() == 1);
    CHECK(reader.ClientUpdates(run).size() == 3);
    CHECK(reader.Evaluations(run).size() == 1);
  }
  CHECK(reader.Rounds(run).size() == 2);
  CHECK(reader.ClientUpdates(run).size() == 6);
}

TEST_CASE("A process killed in the middle of a round commit loses only that round") {
  TempDir dir;
  const auto path = dir / "log.db";
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // Child: commit two rounds, then die with round 3 half written.
    try {
      ExperimentLog log(path);
      test::SampleRunWithRounds(log, "a", 2);
      Transaction transaction(log.TEST_db());
      log.TEST_db().Execute(
          "INSERT INTO rounds (run_id, round, model_version, selected, completed, dropped, "
          "rejected, started_at, ended_at) VALUES (1, 3, 3, 3, 3, 0, 0, 0, 0)");
      raise(SIGKILL);
    } catch (...) {
    }
    _exit(1);
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);

  ExperimentLog log(path);
  CHECK(IntegrityCheck(log.TEST_db()) == "ok");
  const auto run = log.FindRun("a");
  REQUIRE(run.has_value());
  CHECK(run->status == RunStatus::kRunning);
  CHECK(log.LastCompletedRound(run->id) == 2);
  CHECK(log.ClientUpdates(run->id).size() == 6);
  const auto checkpoint = log.LatestCheckpoint(run->id);
  REQUIRE(checkpoint.has_value());
  CHECK(checkpoint->round == 2);
  CHECK(std::memcmp(checkpoint->parameters.data(), SampleCheckpoint(2).parameters.data(),
                    sizeof(float) * 15) == 0);
}

}  // namespace
}  // namespace edgefl::storage

namespace edgefl::storage {
namespace {

TEST_CASE("A reader process polls the log while a writer process commits rounds") {
  TempDir dir;
  const auto path = dir / "log.db";
  int64_t run = 0;
  {
    ExperimentLog log(path);
    run = log.BeginRun(test::SampleRun("live"));
  }  // no connection may cross fork()
  constexpr int64_t kRounds = 25;
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    int code = 0;
    try {
      ExperimentLog log(path);
      for (int64_t round = 1; round <= kRounds; ++round)
        test::CommitSampleRound(log, run, round);
      log.EndRun(run, RunStatus::kCompleted);
    } catch (...) {
      code = 1;
    }
    _exit(code);
  }
  ExperimentLog::Options options;
  options.read_only = true;
  ExperimentLog reader(path, options);
  int64_t last_seen = 0;
  int reads = 0;
  int status = 0;
  bool failed = false;
  while (waitpid(child, &status, WNOHANG) == 0) {
    try {
      const int64_t last = reader.LastCompletedRound(run);
      // Rounds only ever appear, whole: the round, its updates, its checkpoint.
      CHECK(last >= last_seen);
      if (last > 0) {
        CHECK(reader.ClientUpdates(run).size() >= static_cast<size_t>(3 * last));
        CHECK(reader.LatestCheckpoint(run)->round >= last);
      }
      last_seen = last;
      ++reads;
    } catch (const std::exception& error) {
      failed = true;
      MESSAGE(std::string(error.what()));
    }
  }
  CHECK_FALSE(failed);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  MESSAGE("reads while the writer ran: " << reads);
  CHECK(reader.LastCompletedRound(run) == kRounds);
  CHECK(reader.GetRun(run)->status == RunStatus::kCompleted);
}

}  // namespace
}  // namespace edgefl::storage

namespace edgefl::storage {
namespace {

// `mpirun -n 3 edgefl sweep` starts its ranks together, and each opens the
// same new log: the first opener creates the schema and switches the file to
// WAL while the others read it. No opener may fail with "locked".
TEST_CASE("Processes that open one new log at the same moment all open it and record a run") {
  constexpr int kProcesses = 4;
  constexpr int kAttempts = 12;  // fresh files: the race is at creation
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    TempDir dir;
    const auto path = dir / "log.db";
    int ready[2];
    REQUIRE(pipe(ready) == 0);
    std::vector<pid_t> children;
    for (int i = 0; i < kProcesses; ++i) {
      const pid_t child = fork();
      REQUIRE(child >= 0);
      if (child == 0) {
        close(ready[1]);
        char go = 0;
        const bool started = read(ready[0], &go, 1) == 0;  // all start when the pipe closes
        int code = started ? 0 : 2;
        try {
          ExperimentLog log(path);
          log.BeginRun(test::SampleRun("rank" + std::to_string(i)));
        } catch (const std::exception& e) {
          std::fprintf(stderr, "process %d: %s\n", i, e.what());
          code = 1;
        }
        _exit(code);
      }
      children.push_back(child);
    }
    close(ready[0]);
    close(ready[1]);
    for (const pid_t child : children) {
      int status = 0;
      REQUIRE(waitpid(child, &status, 0) == child);
      CHECK_MESSAGE(WIFEXITED(status), "attempt ", attempt);
      CHECK_MESSAGE(WEXITSTATUS(status) == 0, "attempt ", attempt);
    }
    ExperimentLog log(path, ReadOnly());
    CHECK(log.ListRuns().size() == static_cast<size_t>(kProcesses));
  }
}

}  // namespace
}  // namespace edgefl::storage
