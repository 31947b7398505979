// Aggregation throughput: FedAvg's weighted mean of K client updates of P
// float parameters (default 100 x 1M), in GB/s of update data consumed,
// next to plain memory-copy bandwidths measured in the same run:
//   - memcpy of the same total bytes into one destination of one update's
//     size (reads K·P floats from memory, writes stay in cache: the same
//     traffic shape as the aggregation, the bound it can approach);
//   - memcpy of the same total bytes into a destination as large (read +
//     write streams, the usual "copy bandwidth").
// Also, for reference: a naive per-client Eigen axpy (out += p_k x_k, which
// re-reads and re-writes the output for every client), and the robust
// aggregators (median, trimmed mean, norm clipping), once each.
//
//   build/bench/aggregate_throughput [--updates K] [--params P] [--reps R] [--no-robust]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "algorithms/aggregate.h"

namespace {

using Clock = std::chrono::steady_clock;
using edgefl::algorithms::ParameterSpan;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

// Best time of `reps` runs of f (after one warm-up run).
template <typename F>
double BestSeconds(int reps, F f) {
  f();
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const auto start = Clock::now();
    f();
    best = std::min(best, Seconds(start));
  }
  return best;
}

volatile float g_sink = 0.0f;  // keeps results alive

}  // namespace

int main(int argc, char** argv) {
  size_t updates = 100;
  size_t params = 1'000'000;
  int reps = 5;
  bool robust = true;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--updates" && i + 1 < argc) {
      updates = std::strtoul(argv[++i], nullptr, 10);
    } else if (arg == "--params" && i + 1 < argc) {
      params = std::strtoul(argv[++i], nullptr, 10);
    } else if (arg == "--reps" && i + 1 < argc) {
      reps = std::atoi(argv[++i]);
    } else if (arg == "--no-robust") {
      robust = false;
    } else {
      std::fprintf(stderr,
                   "usage: aggregate_throughput [--updates K] [--params P] [--reps R] "
                   "[--no-robust]\n");
      return 2;
    }
  }
  if (updates == 0 || params == 0 || reps <= 0) {
    std::fprintf(stderr, "aggregate_throughput: --updates, --params and --reps must be > 0\n");
    return 2;
  }

  const double total_bytes = static_cast<double>(updates) * params * sizeof(float);
  const auto eigen_size = static_cast<Eigen::Index>(params);
  std::vector<Eigen::VectorXf> clients(updates);
  std::vector<ParameterSpan> spans;
  std::vector<double> weights;
  for (size_t k = 0; k < updates; ++k) {
    clients[k].resize(eigen_size);
    float* x = clients[k].data();
    for (size_t i = 0; i < params; ++i) {
      x[i] = static_cast<float>(k) * 1e-3f + static_cast<float>(i % 1024) * 1e-4f;
    }
    spans.emplace_back(x, params);
    weights.push_back(100.0 + static_cast<double>(k % 7));
  }
  const Eigen::VectorXf global = Eigen::VectorXf::Zero(eigen_size);
  Eigen::VectorXf out(eigen_size);

  std::printf(
      "aggregate_throughput: %zu updates x %zu float parameters (%.0f MB of updates), "
      "best of %d\n",
      updates, params, total_bytes / 1e6, reps);

  const double t_mean = BestSeconds(reps, [&] {
    edgefl::algorithms::WeightedMean(spans, weights, std::span<float>(out.data(), params));
    g_sink = out[0];
  });

  Eigen::VectorXf one(eigen_size);
  const double t_copy_one = BestSeconds(reps, [&] {
    for (size_t k = 0; k < updates; ++k) {
      std::memcpy(one.data(), clients[k].data(), params * sizeof(float));
      g_sink = one[static_cast<Eigen::Index>(k % params)];
    }
  });

  std::vector<float> big(updates * params);
  const double t_copy_all = BestSeconds(reps, [&] {
    for (size_t k = 0; k < updates; ++k) {
      std::memcpy(big.data() + k * params, clients[k].data(), params * sizeof(float));
    }
    g_sink = big[params / 2];
  });
  big.clear();
  big.shrink_to_fit();

  const double t_axpy = BestSeconds(reps, [&] {
    double total = 0.0;
    for (double w : weights)
      total += w;
    out.setZero();
    for (size_t k = 0; k < updates; ++k) {
      out.noalias() += static_cast<float>(weights[k] / total) * clients[k];
    }
    g_sink = out[0];
  });

  auto gbs = [&](double seconds) { return total_bytes / seconds / 1e9; };
  const double mean_gbs = gbs(t_mean);
  const double copy_one_gbs = gbs(t_copy_one);
  const double copy_all_gbs = gbs(t_copy_all);
  std::printf("  %-44s %8.1f ms  %6.2f GB/s\n", "weighted mean (FedAvg, edgefl)", t_mean * 1e3,
              mean_gbs);
  std::printf("  %-44s %8.1f ms  %6.2f GB/s\n", "memcpy, same bytes, into one update's buffer",
              t_copy_one * 1e3, copy_one_gbs);
  std::printf("  %-44s %8.1f ms  %6.2f GB/s\n", "memcpy, same bytes, into as large a buffer",
              t_copy_all * 1e3, copy_all_gbs);
  std::printf("  %-44s %8.1f ms  %6.2f GB/s\n", "naive per-client Eigen axpy (float)", t_axpy * 1e3,
              gbs(t_axpy));
  std::printf(
      "  weighted mean / memcpy (one buffer): %.0f%%   / memcpy (as large): %.0f%%  "
      "(target >= 50%%)\n",
      100.0 * mean_gbs / copy_one_gbs, 100.0 * mean_gbs / copy_all_gbs);

  if (robust) {
    const auto once = [&](const char* name, auto f) {
      const auto start = Clock::now();
      f();
      const double s = Seconds(start);
      std::printf("  %-44s %8.1f ms  %6.2f GB/s\n", name, s * 1e3, gbs(s));
    };
    once("coordinate-wise median",
         [&] { g_sink = edgefl::algorithms::CoordinateMedian(spans)[0]; });
    once("trimmed mean (beta 0.1)",
         [&] { g_sink = edgefl::algorithms::TrimmedMean(spans, 0.1)[0]; });
    once("norm clipping (median bound) + mean", [&] {
      g_sink = edgefl::algorithms::NormClippedMean(ParameterSpan(global.data(), params), spans,
                                                   weights, {})
                   .mean[0];
    });
  }
  return 0;
}
