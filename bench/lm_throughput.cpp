// Language-model training throughput of edgefl against PyTorch, one thread:
// tokens/s of Adam (lr 1e-3) on next-character prediction for the GRU, the
// LSTM and the transformer (nn/char_rnn.h, nn/transformer_lm.h), and the
// same models, batch and sequence length trained by PyTorch
// (bench/pytorch_lm_throughput.py, run with /usr/bin/python3 in this
// invocation: torch.set_num_threads(1)), with the ratio edgefl / PyTorch.
//
// A step is one batch of B windows of T + 1 token ids: the model reads T
// and predicts T, so a step counts B·T tokens. Ids are uniform over the
// vocabulary from a fixed seed (the work per step does not depend on their
// values); both sides report their last loss, which starts near log V.
//
// This machine's speed drifts by up to 2x within minutes (a shared host), so
// each repeat runs, in turn, a probe of the core's peak FMA rate, then for
// every model edgefl and PyTorch back to back; the table gives the median
// over the repeats of each side and the range of the per-repeat ratios.
// The work per token (FlopsPerToken: 6 FLOPs per weight that a token's
// forward pass multiplies, plus the attention's) turns tokens/s into
// GFLOP/s and a share of the probed peak: how far either side is from what
// the core can do.
//
//   build/bench/lm_throughput [--tokens N] [--batch B] [--repeats R] [--no-pytorch]
//                             [--only SUBSTRING]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "common/random.h"
#include "nn/adaptive.h"
#include "nn/model.h"

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

// tokens/s of Adam training of `spec` on batches of `batch` random windows.
double EdgeflTokensPerSecond(const std::string& spec, int batch, long tokens, float* final_loss) {
  edgefl::nn::Model model(spec);
  model.Initialize(1);
  const int steps_per_window = static_cast<int>(model.input_dim()) - 1;  // T
  const int vocab = model.num_classes();
  edgefl::nn::AdaptiveOptimizer adam(edgefl::nn::AdamOptions(1e-3f));
  edgefl::Rng rng(1);
  // A pool of 16 batches, reused in turn (data loading is not measured).
  std::vector<Eigen::MatrixXf> pool(16, Eigen::MatrixXf(steps_per_window + 1, batch));
  for (Eigen::MatrixXf& windows : pool) {
    for (Eigen::Index i = 0; i < windows.size(); ++i) {
      windows.data()[i] = static_cast<float>(rng.UniformInt(static_cast<uint64_t>(vocab)));
    }
  }
  const std::vector<int32_t> labels(static_cast<size_t>(batch), 0);  // unused by a language model
  size_t next = 0;
  auto step = [&]() {
    const float loss = model.LossAndGradient(pool[next++ % pool.size()], labels);
    adam.Step(model.parameters(), model.gradients());
    return loss;
  };
  for (int i = 0; i < 5; ++i)
    step();
  const long steps = std::max(1L, tokens / (static_cast<long>(batch) * steps_per_window));
  const auto start = Clock::now();
  float loss = 0;
  for (long i = 0; i < steps; ++i)
    loss = step();
  *final_loss = loss;
  return static_cast<double>(steps * batch * steps_per_window) / Seconds(start);
}

// The core's peak single-precision FMA rate right now (GFLOP/s): 12
// independent 8-lane multiply-add chains for ~0.3 s, as many as an AVX2
// core keeps in flight (two FMA units, latency 4-5 cycles).
double PeakGflops() {
  using Lanes = Eigen::Array<float, 8, 1>;
  Lanes acc[12];
  for (int i = 0; i < 12; ++i)
    acc[i].setConstant(0.001f * static_cast<float>(i));
  const Lanes a = Lanes::Constant(0.9999f), b = Lanes::Constant(1e-4f);
  constexpr long kIterations = 20'000'000;
  const auto start = Clock::now();
  for (long k = 0; k < kIterations; ++k) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i)
      acc[i] = acc[i] * a + b;
  }
  const double seconds = Seconds(start);
  float sum = 0;
  for (const Lanes& x : acc)
    sum += x.sum();
  if (!std::isfinite(sum)) std::printf("(probe: %f)\n", sum);  // keeps the loop
  return 2.0 * 8 * 12 * static_cast<double>(kIterations) / seconds / 1e9;
}

// Training FLOPs per token: 2 FLOPs per multiply-add, 3 passes (forward,
// and the backward pass's input and weight gradients), over every weight
// matrix a token's forward pass multiplies once (the embeddings are
// lookups), plus the attention's products, which both implementations
// compute over the full T x T scores before the causal mask: 2·d·T
// multiply-adds per token and layer (scores, then the weighted values).
// Norms, activations, softmax and the optimizer are left out.
double FlopsPerToken(const std::string& spec) {
  int hidden = 0, layers = 1, embed = 32, steps = 64, vocab = 96, width = 0, heads = 0;
  char cell[8] = {0};
  double macs = 0;
  if (std::sscanf(spec.c_str(), "rnn:%4[a-z]-%dx%d-e%d-t%d-v%d", cell, &hidden, &layers, &embed,
                  &steps, &vocab) == 6) {
    const double gates = std::strcmp(cell, "gru") == 0 ? 3 : 4;
    for (int l = 0; l < layers; ++l)
      macs += gates * hidden * ((l == 0 ? embed : hidden) + hidden);
    macs += static_cast<double>(hidden) * vocab;
  } else if (std::sscanf(spec.c_str(), "lm:transformer-d%d-h%d-l%d-t%d-v%d", &width, &heads,
                         &layers, &steps, &vocab) == 5) {
    const double d = width;
    macs = layers * (12 * d * d + 2 * d * steps) + d * vocab;
  } else {
    throw std::runtime_error("no FLOP count for " + spec);
  }
  return 2 * 3 * macs;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

struct Baseline {
  double tokens_per_second = 0.0;
  double loss = 0.0;
};

// Runs the PyTorch baseline; results keyed by "spec@batch".
std::map<std::string, Baseline> PyTorchTokensPerSecond(const std::vector<std::string>& specs,
                                                       int batch, long tokens) {
  std::string command = "/usr/bin/python3 " EDGEFL_SOURCE_DIR "/bench/pytorch_lm_throughput.py " +
                        std::to_string(tokens);
  for (const std::string& spec : specs)
    command += " " + spec + "@" + std::to_string(batch);
  std::map<std::string, Baseline> result;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char line[512];
  while (std::fgets(line, sizeof line, pipe) != nullptr) {
    char spec[160];
    int b;
    Baseline base;
    if (std::sscanf(line, "pytorch %159s %d %lf %lf", spec, &b, &base.tokens_per_second,
                    &base.loss) == 4) {
      result[std::string(spec) + "@" + std::to_string(b)] = base;
    }
  }
  if (pclose(pipe) != 0) std::fprintf(stderr, "warning: the PyTorch baseline failed\n");
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  long tokens = 200000;
  int batch = 32, repeats = 3;
  bool pytorch = true;
  std::string only;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--tokens") && i + 1 < argc) {
      tokens = std::atol(argv[++i]);
    } else if (!std::strcmp(argv[i], "--batch") && i + 1 < argc) {
      batch = std::atoi(argv[++i]);
    } else if (!std::strcmp(argv[i], "--repeats") && i + 1 < argc) {
      repeats = std::atoi(argv[++i]);
    } else if (!std::strcmp(argv[i], "--no-pytorch")) {
      pytorch = false;
    } else if (!std::strcmp(argv[i], "--only") && i + 1 < argc) {
      only = argv[++i];
    } else {
      std::fprintf(stderr,
                   "usage: %s [--tokens N] [--batch B] [--repeats R] [--no-pytorch] "
                   "[--only SUBSTRING]\n",
                   argv[0]);
      return 2;
    }
  }
  if (tokens <= 0 || batch <= 0 || repeats <= 0) {
    std::fprintf(stderr, "lm_throughput: --tokens, --batch and --repeats must be positive\n");
    return 2;
  }
  try {
    Eigen::setNbThreads(1);
    std::vector<std::string> specs;
    for (const char* spec : {"rnn:gru-256x2-e32-t64-v96", "rnn:lstm-256x2-e32-t64-v96",
                             "lm:transformer-d128-h4-l2-t64-v96"}) {
      if (std::string(spec).find(only) != std::string::npos) specs.push_back(spec);
    }
    std::printf(
        "lm_throughput: Adam lr 1e-3, batch %d, one thread, %ld tokens per run, %d repeats, "
        "build %s\n",
        batch, tokens, repeats,
        EDGEFL_NATIVE_BUILD ? "-march=native (EDGEFL_NATIVE=ON)" : "portable (EDGEFL_NATIVE=OFF)");
    double load[1] = {0.0};
    if (getloadavg(load, 1) == 1) std::printf("load average at start: %.2f\n", load[0]);

    struct Runs {
      std::vector<double> edgefl, torch, ratio;
      float edgefl_loss = 0;
      double torch_loss = 0;
    };
    std::map<std::string, Runs> runs;
    std::vector<double> peaks;
    for (int r = 0; r < repeats; ++r) {
      peaks.push_back(PeakGflops());
      std::printf("repeat %d: FMA peak %.1f GFLOP/s\n", r + 1, peaks.back());
      for (const std::string& spec : specs) {
        Runs& run = runs[spec];
        run.edgefl.push_back(EdgeflTokensPerSecond(spec, batch, tokens, &run.edgefl_loss));
        std::printf("  %-36s edgefl %8.0f tok/s", spec.c_str(), run.edgefl.back());
        if (pytorch) {
          const auto base = PyTorchTokensPerSecond({spec}, batch, tokens);
          const auto it = base.find(spec + "@" + std::to_string(batch));
          if (it == base.end()) throw std::runtime_error("the PyTorch baseline failed for " + spec);
          run.torch.push_back(it->second.tokens_per_second);
          run.torch_loss = it->second.loss;
          run.ratio.push_back(run.edgefl.back() / run.torch.back());
          std::printf("   pytorch %8.0f tok/s   %.2fx", run.torch.back(), run.ratio.back());
        }
        std::printf("\n");
        std::fflush(stdout);
      }
    }

    const double peak = Median(peaks);
    std::printf("\nmedians over %d repeats; FMA peak %.1f GFLOP/s (range %.1f-%.1f)\n", repeats,
                peak, *std::min_element(peaks.begin(), peaks.end()),
                *std::max_element(peaks.begin(), peaks.end()));
    std::printf("%-36s %9s %11s %11s %7s %11s %11s %11s\n", "model", "MFLOP/tok", "edgefl tok/s",
                "torch tok/s", "ratio", "ratio range", "edgefl peak", "torch peak");
    for (const std::string& spec : specs) {
      const Runs& run = runs[spec];
      const double flops = FlopsPerToken(spec);
      const double e = Median(run.edgefl);
      std::printf("%-36s %9.2f %11.0f", spec.c_str(), flops / 1e6, e);
      if (pytorch) {
        const double t = Median(run.torch);
        std::printf(" %11.0f %6.2fx %5.2f-%.2fx %10.0f%% %10.0f%%", t, e / t,
                    *std::min_element(run.ratio.begin(), run.ratio.end()),
                    *std::max_element(run.ratio.begin(), run.ratio.end()),
                    100 * e * flops / 1e9 / peak, 100 * t * flops / 1e9 / peak);
      } else {
        std::printf(" %11s %7s %11s %10.0f%% %11s", "-", "-", "-", 100 * e * flops / 1e9 / peak,
                    "-");
      }
      std::printf("\n");
    }
    if (pytorch) {
      for (const std::string& spec : specs) {
        std::printf("%s: last loss edgefl %.3f, PyTorch %.3f\n", spec.c_str(),
                    runs[spec].edgefl_loss, runs[spec].torch_loss);
      }
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lm_throughput: %s\n", e.what());
    return 1;
  }
}
