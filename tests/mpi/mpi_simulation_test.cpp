// The real `mpirun --oversubscribe -n 3 edgefl sim`, as a user runs it: the
// run is bit for bit the single-process run of the same config, only rank 0
// writes the log, and a rank killed mid-run fails the run without a
// half-written round, after which the same command resumes it.
#include <algorithm>
#include <csignal>
#include <cstring>
#include <dirent.h>
#include <filesystem>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "common/child_process.h"
#include "storage/experiment_log.h"
#include "storage/log_check.h"
#include "tests/storage/log_test_util.h"
#include "tests/test_util.h"

namespace edgefl::mpi {
namespace {

using edgefl::testing::EdgeflTool;
using edgefl::testing::ReadFile;
using edgefl::testing::RunCommand;
using edgefl::testing::Scaled;
using edgefl::testing::TempDir;
using storage::test::Violations;
using namespace std::chrono_literals;

// We may run as root (CI containers): Open MPI refuses that unless told.
// Under ASan, Open MPI's own leaks (MPI_Init's components) are suppressed in
// the ranks (scripts/lsan-openmpi.supp); other builds ignore LSAN_OPTIONS.
std::vector<std::string> Mpirun() {
  return {"/usr/bin/env",
          "OMPI_ALLOW_RUN_AS_ROOT=1",
          "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1",
          "LSAN_OPTIONS=suppressions=" + edgefl::testing::SourceDir() +
              "/scripts/lsan-openmpi.supp:fast_unwind_on_malloc=0:print_suppressions=0",
          "mpirun",
          "--oversubscribe",
          "-n",
          "3"};
}

// A small run: synthetic(1, 1) data, an MLP, a cohort of 6 of 9 clients
// (so every rank trains some of each cohort and the selection matters).
std::vector<std::string> SimArgs(const std::filesystem::path& db, int64_t rounds,
                                 const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args = {EdgeflTool(), "sim",
                                   "--set",      "dataset=synthetic",
                                   "--set",      "partition=natural",
                                   "--set",      "model=mlp:60-32-10",
                                   "--set",      "clients=9",
                                   "--set",      "clients_per_round=6",
                                   "--set",      "batch_size=10",
                                   "--set",      "lr=0.05",
                                   "--set",      "seed=3",
                                   "--set",      "run_name=r",
                                   "--set",      "rounds=" + std::to_string(rounds),
                                   "--set",      "db=" + db.string()};
  for (const std::string& e : extra) {
    args.push_back("--set");
    args.push_back(e);
  }
  return args;
}

std::vector<std::string> OverMpi(std::vector<std::string> args) {
  std::vector<std::string> all = Mpirun();
  all.insert(all.end(), args.begin(), args.end());
  return all;
}

std::string Joined(const std::vector<std::string>& args) {
  std::string out;
  for (const std::string& a : args)
    out += (out.empty() ? "" : " ") + a;
  return out;
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
    ++n;
  return n;
}

bool MpiSimulationSameBits(const Eigen::VectorXf& a, const Eigen::VectorXf& b) {
  // memcmp of no bytes still wants non-null pointers (an empty vector's are null).
  return a.size() == b.size() &&
         (a.size() == 0 ||
          std::memcmp(a.data(), b.data(), sizeof(float) * static_cast<size_t>(a.size())) == 0);
}

// Run "r" of the two logs: the same rounds, updates, evaluations and final
// model, bit for bit (timings aside).
void CheckSameRun(const std::filesystem::path& a_path, const std::filesystem::path& b_path) {
  storage::ExperimentLog a(a_path), b(b_path);
  const storage::RunInfo ra = *a.FindRun("r"), rb = *b.FindRun("r");
  CHECK(ra.status == storage::RunStatus::kCompleted);
  CHECK(rb.status == storage::RunStatus::kCompleted);
  const std::optional<storage::Checkpoint> ca = a.LatestCheckpoint(ra.id);
  const std::optional<storage::Checkpoint> cb = b.LatestCheckpoint(rb.id);
  REQUIRE(ca.has_value());
  REQUIRE(cb.has_value());
  CHECK(ca->round == cb->round);
  CHECK(MpiSimulationSameBits(ca->parameters, cb->parameters));
  CHECK(MpiSimulationSameBits(ca->strategy_state, cb->strategy_state));
  CHECK(ca->selector_state == cb->selector_state);

  const auto ea = a.Evaluations(ra.id), eb = b.Evaluations(rb.id);
  REQUIRE(ea.size() == eb.size());
  for (size_t i = 0; i < ea.size(); ++i) {
    CAPTURE(ea[i].round);
    CHECK(ea[i].split == eb[i].split);
    CHECK(ea[i].loss == eb[i].loss);
    CHECK(ea[i].accuracy == eb[i].accuracy);
  }
  const auto rounds_a = a.Rounds(ra.id), rounds_b = b.Rounds(rb.id);
  REQUIRE(rounds_a.size() == rounds_b.size());
  for (size_t i = 0; i < rounds_a.size(); ++i) {
    CHECK(rounds_a[i].train_loss == rounds_b[i].train_loss);
    CHECK(rounds_a[i].completed == rounds_b[i].completed);
  }
  const auto ua = a.ClientUpdates(ra.id), ub = b.ClientUpdates(rb.id);
  REQUIRE(ua.size() == ub.size());
  for (size_t i = 0; i < ua.size(); ++i) {
    CHECK(ua[i].client_id == ub[i].client_id);
    CHECK(ua[i].status == ub[i].status);
    CHECK(ua[i].local_steps == ub[i].local_steps);
    CHECK(ua[i].loss_after == ub[i].loss_after);
    CHECK(ua[i].bytes_in == ub[i].bytes_in);
  }
}

// The pid of the child of `parent` that mpirun started as `rank`.
pid_t RankPid(pid_t parent, int rank) {
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return -1;
  pid_t found = -1;
  const std::string want = "OMPI_COMM_WORLD_RANK=" + std::to_string(rank);
  while (dirent* entry = readdir(proc)) {
    const pid_t pid = std::atoi(entry->d_name);
    if (pid <= 0) continue;
    std::string stat;
    try {
      stat = ReadFile(std::filesystem::path("/proc") / entry->d_name / "stat");
    } catch (const std::exception&) {
      continue;
    }
    // pid (comm) state ppid ...
    const size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    if (std::atoi(stat.c_str() + close + 4) != parent) continue;
    std::string environ;
    try {
      environ = ReadFile(std::filesystem::path("/proc") / entry->d_name / "environ");
    } catch (const std::exception&) {
      continue;
    }
    size_t at = 0;
    while (at < environ.size()) {
      const size_t end = std::min(environ.find('\0', at), environ.size());
      if (environ.compare(at, end - at, want) == 0) found = pid;
      at = end + 1;
    }
  }
  closedir(proc);
  return found;
}

}  // namespace

TEST_CASE("mpirun -n 3 edgefl sim: the single-process run bit for bit and one log writer") {
  TempDir dir;
  std::string single, over_mpi;
  REQUIRE_MESSAGE(
      RunCommand(Joined(SimArgs(dir / "single.db", 4, {"threads=2"})) + " 2>&1", &single) == 0,
      single);
  REQUIRE_MESSAGE(RunCommand(Joined(OverMpi(SimArgs(dir / "mpi.db", 4, {"threads=1"}))) + " 2>&1",
                             &over_mpi) == 0,
                  over_mpi);
  CHECK(over_mpi.find("over 3 MPI ranks") != std::string::npos);
  CheckSameRun(dir / "single.db", dir / "mpi.db");
  // Rank 0 alone prints and writes: one summary, one run in the log.
  CHECK(Count(over_mpi, "sim: run 'r' (id 1) done: rounds 1-4") == 1);
  CHECK(Count(over_mpi, "sim: run 'r': fedavg") == 1);
  storage::ExperimentLog log(dir / "mpi.db");
  CHECK(log.ListRuns().size() == 1);
  CHECK(Violations(storage::CheckLog(dir / "mpi.db")) == "");
}

TEST_CASE("mpirun -n 3 edgefl sim: compressed updates and Oort are bit for bit too") {
  // Client state that lives on the client's rank (top-k's error feedback,
  // the model delta) and what Oort learns from each update (loss_sq_before).
  const std::vector<std::string> extra = {"compression=topk", "compression_topk_fraction=0.2",
                                          "selector=oort"};
  TempDir dir;
  std::string single, over_mpi;
  REQUIRE_MESSAGE(RunCommand(Joined(SimArgs(dir / "single.db", 4, extra)) + " 2>&1", &single) == 0,
                  single);
  REQUIRE_MESSAGE(
      RunCommand(Joined(OverMpi(SimArgs(dir / "mpi.db", 4, extra))) + " 2>&1", &over_mpi) == 0,
      over_mpi);
  CheckSameRun(dir / "single.db", dir / "mpi.db");
}

TEST_CASE("mpirun -n 3 edgefl sim: an asynchronous run is bit for bit too") {
  // FedAsync on the virtual clock: the async engine sends one task at a
  // time as clients finish, through the same proxies.
  const std::vector<std::string> extra = {"mode=async", "strategy=fedasync", "speed_spread=4",
                                          "local_steps=5"};
  TempDir dir;
  std::string single, over_mpi;
  REQUIRE_MESSAGE(RunCommand(Joined(SimArgs(dir / "single.db", 12, extra)) + " 2>&1", &single) == 0,
                  single);
  REQUIRE_MESSAGE(
      RunCommand(Joined(OverMpi(SimArgs(dir / "mpi.db", 12, extra))) + " 2>&1", &over_mpi) == 0,
      over_mpi);
  CheckSameRun(dir / "single.db", dir / "mpi.db");
}

TEST_CASE("mpirun -n 3 edgefl sim: a killed rank fails the run cleanly and it resumes") {
  TempDir dir;
  const std::filesystem::path db = dir / "mpi.db";
  ChildProcess job("mpirun", OverMpi(SimArgs(db, 100000, {"threads=1"})), dir / "out", dir / "err");
  const auto output_has = [&](const std::string& text) {
    return std::filesystem::exists(job.out()) &&
           ReadFile(job.out()).find(text) != std::string::npos;
  };
  REQUIRE_MESSAGE(PollUntil([&] { return output_has("round 3/"); }, Scaled(60s)), job.Describe());
  const pid_t rank1 = RankPid(job.pid(), 1);
  REQUIRE(rank1 > 0);
  REQUIRE(::kill(rank1, SIGKILL) == 0);
  REQUIRE_MESSAGE(job.Wait(Scaled(30s)), job.Describe());
  CHECK_FALSE(job.ExitedWith(0));
  const std::string err = ReadFile(job.err()) + ReadFile(job.out());
  // mpirun names the rank that died; rank 0 says what became of the run
  // when it was waiting for that rank's updates.
  CHECK(err.find("exited on signal 9") != std::string::npos);

  int64_t done = 0;
  {
    storage::ExperimentLog log(db);
    const storage::RunInfo run = *log.FindRun("r");
    CHECK(run.status != storage::RunStatus::kCompleted);
    done = log.LastCompletedRound(run.id);
    CHECK(done >= 2);
    CHECK(log.Rounds(run.id).size() == static_cast<size_t>(done));
  }
  CHECK(Violations(storage::CheckLog(db)) == "");

  // The same command, asked for two more rounds, resumes after them and
  // ends where an uninterrupted single-process run of as many rounds ends.
  std::string resumed;
  REQUIRE_MESSAGE(
      RunCommand(Joined(OverMpi(SimArgs(db, done + 2, {"threads=1"}))) + " 2>&1", &resumed) == 0,
      resumed);
  CHECK(resumed.find("resuming run 'r' after round " + std::to_string(done)) != std::string::npos);
  CHECK(Violations(storage::CheckLog(db)) == "");
  std::string single;
  REQUIRE_MESSAGE(RunCommand(Joined(SimArgs(dir / "single.db", done + 2)) + " 2>&1", &single) == 0,
                  single);
  CheckSameRun(dir / "single.db", db);
}

TEST_CASE("mpirun -n 3 edgefl sim refuses a decentralized run before opening the log") {
  TempDir dir;
  std::string output;
  CHECK(RunCommand(
            Joined(OverMpi(SimArgs(dir / "mpi.db", 2, {"mode=decentralized", "strategy=dsgd"}))) +
                " 2>&1",
            &output) != 0);
  CHECK(output.find("does not run over MPI ranks") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir / "mpi.db"));
}

TEST_CASE("mpirun -n 3 edgefl sim refuses a lazy population before opening the log") {
  TempDir dir;
  std::string output;
  CHECK(RunCommand(Joined(OverMpi(SimArgs(dir / "mpi.db", 2, {"population=lazy"}))) + " 2>&1",
                   &output) != 0);
  CHECK(output.find("population = \"lazy\" does not run over MPI ranks yet") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir / "mpi.db"));
}

TEST_CASE("mpirun -n 3 edgefl sweep: the grid's runs spread over the ranks into one log") {
  TempDir dir;
  const auto sweep = [&](const std::filesystem::path& db) {
    return std::vector<std::string>{EdgeflTool(), "sweep",
                                    "--set",      "dataset=synthetic",
                                    "--set",      "model=mlp:60-16-10",
                                    "--set",      "clients=6",
                                    "--set",      "clients_per_round=3",
                                    "--set",      "rounds=3",
                                    "--set",      "threads=1",
                                    "--set",      "run_name=g",
                                    "--set",      "db=" + db.string(),
                                    "--grid",     "lr=0.01,0.05",
                                    "--grid",     "seed=1,2"};
  };
  std::string single, over_mpi;
  REQUIRE_MESSAGE(RunCommand(Joined(sweep(dir / "single.db")) + " 2>&1", &single) == 0, single);
  REQUIRE_MESSAGE(RunCommand(Joined(OverMpi(sweep(dir / "mpi.db"))) + " 2>&1", &over_mpi) == 0,
                  over_mpi);
  // Runs 1 and 2 of the grid on ranks 1 and 2, runs 0 and 3 on rank 0.
  CHECK(over_mpi.find("[rank 1] run 'g:lr=0.01:seed=2' done") != std::string::npos);
  CHECK(over_mpi.find("[rank 2] run 'g:lr=0.05:seed=1' done") != std::string::npos);
  CHECK(over_mpi.find("[rank 0] run 'g:lr=0.05:seed=2' done") != std::string::npos);
  storage::ExperimentLog a(dir / "single.db"), b(dir / "mpi.db");
  CHECK(b.ListRuns().size() == 4);
  for (const char* name :
       {"g:lr=0.01:seed=1", "g:lr=0.01:seed=2", "g:lr=0.05:seed=1", "g:lr=0.05:seed=2"}) {
    CAPTURE(name);
    const std::optional<storage::RunInfo> ra = a.FindRun(name), rb = b.FindRun(name);
    REQUIRE(ra.has_value());
    REQUIRE(rb.has_value());
    CHECK(rb->status == storage::RunStatus::kCompleted);
    CHECK(MpiSimulationSameBits(a.LatestCheckpoint(ra->id)->parameters,
                                b.LatestCheckpoint(rb->id)->parameters));
  }
  CHECK(Violations(storage::CheckLog(dir / "mpi.db")) == "");
}

}  // namespace edgefl::mpi
