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
// The machine's 1-minute load average is printed with the header: on a
// shared machine compare ratios from one invocation, not absolute rates.
//
//   build/bench/lm_throughput [--tokens N] [--batch B] [--no-pytorch] [--only SUBSTRING]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
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
  int batch = 32;
  bool pytorch = true;
  std::string only;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--tokens") && i + 1 < argc) {
      tokens = std::atol(argv[++i]);
    } else if (!std::strcmp(argv[i], "--batch") && i + 1 < argc) {
      batch = std::atoi(argv[++i]);
    } else if (!std::strcmp(argv[i], "--no-pytorch")) {
      pytorch = false;
    } else if (!std::strcmp(argv[i], "--only") && i + 1 < argc) {
      only = argv[++i];
    } else {
      std::fprintf(stderr, "usage: %s [--tokens N] [--batch B] [--no-pytorch] [--only SUBSTRING]\n",
                   argv[0]);
      return 2;
    }
  }
  if (tokens <= 0 || batch <= 0) {
    std::fprintf(stderr, "lm_throughput: --tokens and --batch must be positive\n");
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
        "lm_throughput: Adam lr 1e-3, batch %d, one thread, %ld tokens per run, build %s\n", batch,
        tokens,
        EDGEFL_NATIVE_BUILD ? "-march=native (EDGEFL_NATIVE=ON)" : "portable (EDGEFL_NATIVE=OFF)");
    double load[1] = {0.0};
    if (getloadavg(load, 1) == 1) std::printf("load average at start: %.2f\n", load[0]);
    std::map<std::string, Baseline> baseline;
    if (pytorch) baseline = PyTorchTokensPerSecond(specs, batch, tokens);

    std::printf("%-36s %5s %13s %13s %7s %11s %11s\n", "model", "batch", "edgefl tok/s",
                "pytorch tok/s", "ratio", "edgefl loss", "torch loss");
    for (const std::string& spec : specs) {
      float loss = 0;
      const double rate = EdgeflTokensPerSecond(spec, batch, tokens, &loss);
      const auto it = baseline.find(spec + "@" + std::to_string(batch));
      if (it != baseline.end()) {
        std::printf("%-36s %5d %13.0f %13.0f %6.2fx %11.3f %11.3f\n", spec.c_str(), batch, rate,
                    it->second.tokens_per_second, rate / it->second.tokens_per_second, loss,
                    it->second.loss);
      } else {
        std::printf("%-36s %5d %13.0f %13s %7s %11.3f %11s\n", spec.c_str(), batch, rate, "-", "-",
                    loss, "-");
      }
      std::fflush(stdout);
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lm_throughput: %s\n", e.what());
    return 1;
  }
}
