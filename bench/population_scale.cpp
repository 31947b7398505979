// Large populations on one machine (issue 21, population = "lazy"): for
// each population size N and seed, one child process runs `rounds` sync
// rounds of a cohort of `cohort` clients drawn lazily from N
// (sim/population_simulation.h), and the parent reads the child's peak RSS
// and CPU seconds from wait4's rusage (as bench/client_memory.cpp does).
// Peak RSS holds under host load; CPU seconds roughly do; wall-clock does
// not on a shared machine, so rounds per hour are given both per CPU-hour
// (3600 / CPU seconds per round) and per wall-clock hour of the child's
// whole run (data loading included): the latter only means something on an
// otherwise idle machine. `--eager N` adds a
// reference row: the eager fleet (population = "eager") of N clients.
//
//   build/bench/population_scale [--dataset fmnist|synthetic] [--sizes 1000,100000,1000000]
//       [--seeds 1,2,3] [--rounds 5] [--cohort 100] [--model mlp:784-200-200-10]
//       [--share 60] [--eager 1000]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "bench/bench_args.h"
#include "engine/experiment_config.h"
#include "sim/population_simulation.h"
#include "sim/simulation.h"

namespace {

struct Setup {
  std::string dataset = "fmnist";
  std::string model;
  int64_t rounds = 5;
  int64_t cohort = 100;
  int64_t share = 60;
};

struct Figures {
  bool ok = false;
  double peak_rss_mb = 0.0;
  double cpu_seconds = 0.0;
  double wall_seconds = 0.0;  // fork to exit
  double accuracy = 0.0;
  double peak_materialised = 0.0;
  double remembered = 0.0;
  double data_mb = 0.0;
};

edgefl::engine::ExperimentConfig ConfigFor(const Setup& s, int64_t n, int64_t seed, bool lazy,
                                           const std::filesystem::path& db) {
  std::vector<std::string> o = {"clients=" + std::to_string(n),
                                "clients_per_round=" + std::to_string(s.cohort),
                                "rounds=" + std::to_string(s.rounds),
                                "eval_every=" + std::to_string(s.rounds),
                                "seed=" + std::to_string(seed),
                                "local_epochs=1",
                                "batch_size=20",
                                "lr=0.05",
                                "threads=1",
                                "db=" + db.string(),
                                "dataset=" + s.dataset};
  if (s.dataset == "synthetic") {
    o.push_back("partition=natural");
    o.push_back("model=" + (s.model.empty() ? std::string("mlp:60-200-200-10") : s.model));
    o.push_back("test_subset=2000");
  } else {
    o.push_back("partition=dirichlet");
    o.push_back("alpha=0.5");
    o.push_back("model=" + (s.model.empty() ? std::string("mlp:784-200-200-10") : s.model));
    o.push_back("test_subset=2000");
    o.push_back("share_size=" + std::to_string(s.share));
    if (!lazy) o.push_back("train_subset=" + std::to_string(n * s.share));
  }
  if (lazy) o.push_back("population=lazy");
  return edgefl::engine::LoadExperimentConfig({}, o);
}

Figures RunChild(const Setup& s, int64_t n, int64_t seed, bool lazy) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("edgefl-population-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::filesystem::path db = dir / (std::to_string(n) + "-" + std::to_string(seed) + ".db");
  std::filesystem::remove(db);
  int fds[2];
  if (pipe(fds) != 0) return {};
  std::fflush(stdout);
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid == 0) {
    try {
      close(fds[0]);
      const edgefl::engine::ExperimentConfig config = ConfigFor(s, n, seed, lazy, db);
      edgefl::sim::PopulationStats stats;
      const edgefl::sim::SimulationResult r =
          lazy ? edgefl::sim::RunPopulationSimulation(config, nullptr, nullptr, &stats)
               : edgefl::sim::RunSimulation(config, nullptr);
      char line[256];
      const int len = std::snprintf(line, sizeof line, "%.17g %zu %zu %zu\n", r.final_accuracy,
                                    stats.peak_materialised, stats.remembered, stats.data_bytes);
      if (write(fds[1], line, static_cast<size_t>(len)) != len) _exit(1);
      _exit(0);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "population_scale: %s\n", e.what());
      _exit(1);
    }
  }
  close(fds[1]);
  char text[256] = {};
  size_t got = 0;
  ssize_t k = 0;
  while (got + 1 < sizeof(text) && (k = read(fds[0], text + got, sizeof(text) - 1 - got)) > 0)
    got += static_cast<size_t>(k);
  close(fds[0]);
  int status = 0;
  rusage usage{};
  Figures f;
  std::filesystem::remove(db);
  std::filesystem::remove(db.string() + "-wal");
  std::filesystem::remove(db.string() + "-shm");
  if (wait4(pid, &status, 0, &usage) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return f;
  }
  size_t materialised = 0, remembered = 0, data_bytes = 0;
  std::sscanf(text, "%lf %zu %zu %zu", &f.accuracy, &materialised, &remembered, &data_bytes);
  f.ok = true;
  f.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  f.peak_materialised = static_cast<double>(materialised);
  f.remembered = static_cast<double>(remembered);
  f.data_mb = static_cast<double>(data_bytes) / 1e6;
  f.peak_rss_mb = static_cast<double>(usage.ru_maxrss) / 1024.0;  // KiB on Linux
  f.cpu_seconds = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                  1e-6 * static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
  return f;
}

// "mean ± std" (sample std; 0 for one value).
std::string MeanStd(const std::vector<double>& v, const char* format) {
  double mean = 0.0;
  for (double x : v)
    mean += x;
  mean /= static_cast<double>(v.size());
  double ss = 0.0;
  for (double x : v)
    ss += (x - mean) * (x - mean);
  const double sd = v.size() > 1 ? std::sqrt(ss / static_cast<double>(v.size() - 1)) : 0.0;
  char a[64], b[64];
  std::snprintf(a, sizeof a, format, mean);
  std::snprintf(b, sizeof b, format, sd);
  return std::string(a) + " ± " + b;
}

void Row(const Setup& s, int64_t n, const std::vector<int64_t>& seeds, bool lazy) {
  std::vector<double> rss, cpu, per_hour, per_wall_hour, acc, mat, rem, data;
  for (int64_t seed : seeds) {
    const Figures f = RunChild(s, n, seed, lazy);
    if (!f.ok) {
      std::printf("| %lld | %s | seed %lld failed |\n", static_cast<long long>(n),
                  lazy ? "lazy" : "eager", static_cast<long long>(seed));
      return;
    }
    rss.push_back(f.peak_rss_mb);
    cpu.push_back(f.cpu_seconds / static_cast<double>(s.rounds));
    per_hour.push_back(3600.0 * static_cast<double>(s.rounds) / f.cpu_seconds);
    per_wall_hour.push_back(3600.0 * static_cast<double>(s.rounds) / f.wall_seconds);
    acc.push_back(100.0 * f.accuracy);
    mat.push_back(f.peak_materialised);
    rem.push_back(f.remembered);
    data.push_back(f.data_mb);
  }
  std::printf("| %lld | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", static_cast<long long>(n),
              lazy ? "lazy" : "eager", MeanStd(rss, "%.1f").c_str(), MeanStd(cpu, "%.2f").c_str(),
              MeanStd(per_hour, "%.0f").c_str(), MeanStd(per_wall_hour, "%.0f").c_str(),
              lazy ? MeanStd(mat, "%.0f").c_str() : "all",
              lazy ? MeanStd(rem, "%.0f").c_str() : "—", lazy ? MeanStd(data, "%.1f").c_str() : "—",
              MeanStd(acc, "%.1f").c_str());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  Setup s;
  std::string sizes = "1000,100000,1000000", seeds_text = "1,2,3";
  int64_t eager = 0;
  edgefl::bench::Flags flags;
  flags.Add("--dataset", &s.dataset)
      .Add("--sizes", &sizes)
      .Add("--seeds", &seeds_text)
      .Add("--rounds", &s.rounds)
      .Add("--cohort", &s.cohort)
      .Add("--model", &s.model)
      .Add("--share", &s.share)
      .Add("--eager", &eager);
  if (!flags.Parse(argc, argv)) {
    std::fprintf(stderr,
                 "usage: population_scale [--dataset fmnist|synthetic] [--sizes 1000,100000] "
                 "[--seeds 1,2,3] [--rounds 5] [--cohort 100] [--model SPEC] [--share 60] "
                 "[--eager N]\n");
    return 2;
  }
  std::vector<int64_t> seeds;
  for (const std::string& t : edgefl::bench::SplitList(seeds_text))
    seeds.push_back(std::stoll(t));
  std::printf(
      "dataset %s, cohort %lld, %lld rounds, seeds %s; peak RSS of the child process "
      "(MB), CPU s per round (user + sys), rounds per CPU-hour = 3600 / CPU s per round "
      "(not wall-clock), rounds per wall-clock hour of the whole run (idle machines only), "
      "clients materialised at once at most, clients with a kept "
      "history, the population's fixed data (MB), test accuracy (%%)\n\n",
      s.dataset.c_str(), static_cast<long long>(s.cohort), static_cast<long long>(s.rounds),
      seeds_text.c_str());
  std::printf(
      "| N | population | peak RSS MB | CPU s / round | rounds / CPU-hour | rounds / hour | "
      "materialised | remembered | fixed data MB | accuracy %% |\n"
      "|---|---|---|---|---|---|---|---|---|---|\n");
  if (eager > 0) Row(s, eager, seeds, false);
  for (const std::string& t : edgefl::bench::SplitList(sizes))
    Row(s, std::stoll(t), seeds, true);
  return 0;
}
