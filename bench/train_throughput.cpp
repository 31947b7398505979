// Training throughput of edgefl's engine against PyTorch, one thread.
//
// For mlp:784-200-200-10 and cnn:lenet at batch 32 and 64: samples/s of SGD
// (momentum 0.9) on real Fashion-MNIST, the achieved GFLOP/s, a plain Eigen
// GEMM's GFLOP/s measured in the same run (the practical limit of this
// machine), and the same models, data and batches trained by PyTorch
// (bench/pytorch_train_throughput.py, run with /usr/bin/python3 in this
// invocation), with the ratio edgefl / PyTorch.
//
// With --tpsgd, also tpSGD's samples/s on the same model, data and batch
// (train/tpsgd_trainer.h: forward passes only, plain SGD lr 0.01, no loss
// passes), and its ratio to edgefl's backprop.
//
// The machine's 1-minute load average is printed with the header: on a
// shared machine compare ratios from one invocation, not absolute rates.
//
//   build/bench/train_throughput [--samples N] [--no-pytorch] [--tpsgd] [--data-dir DIR]
//                                [--only SUBSTRING]   (runs whose model contains it)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <numeric>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "common/random.h"
#include "datasets/fashion_mnist.h"
#include "nn/model.h"
#include "nn/sgd.h"
#include "train/tpsgd_trainer.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Run {
  std::string spec;
  int batch;
};

// Multiply-adds x2 of one forward pass, per sample; training is counted as
// 3x forward (forward, gradient w.r.t. inputs, gradient w.r.t. weights).
double TrainFlopsPerSample(const std::string& spec) {
  if (spec == "cnn:lenet") {
    const double conv1 = 2.0 * 1 * 25 * 6 * 28 * 28;
    const double conv2 = 2.0 * 6 * 25 * 16 * 10 * 10;
    const double fc = 2.0 * (400 * 120 + 120 * 84 + 84 * 10);
    return 3.0 * (conv1 + conv2 + fc);
  }
  // mlp:a-b-c-...
  std::vector<double> dims;
  for (size_t pos = spec.find(':') + 1; pos < spec.size();) {
    size_t dash = spec.find('-', pos);
    if (dash == std::string::npos) dash = spec.size();
    dims.push_back(std::stod(spec.substr(pos, dash - pos)));
    pos = dash + 1;
  }
  double flops = 0;
  for (size_t i = 0; i + 1 < dims.size(); ++i)
    flops += 2.0 * dims[i] * dims[i + 1];
  return 3.0 * flops;
}

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

// Best GFLOP/s of C = A * B over a few shapes typical of these models.
double EigenGemmGflops() {
  struct Shape {
    int m, k, n;
  };
  double best = 0;
  for (Shape s : {Shape{200, 784, 64}, Shape{256, 256, 256}, Shape{512, 512, 512}}) {
    Eigen::MatrixXf a = Eigen::MatrixXf::Random(s.m, s.k);
    Eigen::MatrixXf b = Eigen::MatrixXf::Random(s.k, s.n);
    Eigen::MatrixXf c(s.m, s.n);
    c.noalias() = a * b;  // warm-up
    const double flops = 2.0 * s.m * s.k * s.n;
    int reps = std::max(1, static_cast<int>(2e9 / flops));
    const auto start = Clock::now();
    for (int r = 0; r < reps; ++r)
      c.noalias() = a * b;
    best = std::max(best, flops * reps / Seconds(start) / 1e9);
  }
  return best;
}

// samples/s of SGD training on `data`, after a warm-up.
double EdgeflSamplesPerSecond(const Run& run, const edgefl::datasets::Dataset& data, long samples,
                              float* final_loss) {
  edgefl::nn::Model model(run.spec);
  model.Initialize(1);
  edgefl::nn::Sgd sgd({.learning_rate = 0.01f, .momentum = 0.9f});
  edgefl::Rng rng(1);
  std::vector<uint32_t> order(data.size());
  std::iota(order.begin(), order.end(), 0u);
  rng.Shuffle(order);
  const Eigen::Index d = data.features.cols();
  Eigen::MatrixXf x(d, run.batch);
  std::vector<int32_t> y(static_cast<size_t>(run.batch));
  size_t position = 0;
  auto step = [&]() {
    if (position + static_cast<size_t>(run.batch) > order.size()) position = 0;
    for (int b = 0; b < run.batch; ++b) {
      const uint32_t i = order[position + static_cast<size_t>(b)];
      std::memcpy(x.data() + b * d, data.features.data() + i * d, sizeof(float) * d);
      y[static_cast<size_t>(b)] = data.labels[i];
    }
    position += static_cast<size_t>(run.batch);
    const float loss = model.LossAndGradient(x, y);
    sgd.Step(model.parameters(), model.gradients());
    return loss;
  };
  for (int i = 0; i < 20; ++i)
    step();
  const long steps = std::max(1L, samples / run.batch);
  const auto start = Clock::now();
  float loss = 0;
  for (long i = 0; i < steps; ++i)
    loss = step();
  *final_loss = loss;
  return static_cast<double>(steps * run.batch) / Seconds(start);
}

// samples/s of tpSGD (layer-wise, forward only) over `samples` samples, after
// a warm-up of 20 steps; the trainer is built before the clock starts.
double TpsgdSamplesPerSecond(const Run& run, const edgefl::datasets::Dataset& data, long samples) {
  edgefl::nn::Model model(run.spec);
  model.Initialize(1);
  const Eigen::VectorXf initial = model.parameters();
  const std::span<const float> global(initial.data(), static_cast<size_t>(initial.size()));
  edgefl::train::TpsgdTrainer trainer(run.spec, data);
  edgefl::train::TrainRecipe recipe;
  recipe.batch_size = run.batch;
  recipe.optimizer.learning_rate = 0.01f;
  recipe.measure_loss = false;
  recipe.seed = 1;
  const edgefl::train::TpsgdOptions options{.projection_seed = 7};
  recipe.local_steps = 20;
  trainer.Train(global, recipe, options);
  recipe.local_steps = std::max(1L, samples / run.batch);
  const auto start = Clock::now();
  const edgefl::train::LocalTrainResult result = trainer.Train(global, recipe, options);
  return static_cast<double>(result.samples_processed) / Seconds(start);
}

// Runs the PyTorch baseline; returns samples/s keyed by "spec@batch".
std::map<std::string, double> PyTorchSamplesPerSecond(const std::vector<Run>& runs,
                                                      const std::string& data_dir, long samples) {
  std::string command = "/usr/bin/python3 " EDGEFL_SOURCE_DIR
                        "/bench/pytorch_train_throughput.py " +
                        data_dir + " " + std::to_string(samples);
  for (const Run& run : runs)
    command += " " + run.spec + "@" + std::to_string(run.batch);
  std::map<std::string, double> result;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char line[512];
  while (std::fgets(line, sizeof line, pipe) != nullptr) {
    char spec[128];
    int batch;
    double rate, loss;
    if (std::sscanf(line, "pytorch %127s %d %lf %lf", spec, &batch, &rate, &loss) == 4) {
      result[std::string(spec) + "@" + std::to_string(batch)] = rate;
    }
  }
  if (pclose(pipe) != 0) std::fprintf(stderr, "warning: the PyTorch baseline failed\n");
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  long samples = 60000;
  bool pytorch = true;
  bool tpsgd = false;
  std::string data_dir = edgefl::datasets::kFashionMnistDefaultDir;
  std::string only;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--samples") && i + 1 < argc) {
      samples = std::atol(argv[++i]);
    } else if (!std::strcmp(argv[i], "--no-pytorch")) {
      pytorch = false;
    } else if (!std::strcmp(argv[i], "--tpsgd")) {
      tpsgd = true;
    } else if (!std::strcmp(argv[i], "--data-dir") && i + 1 < argc) {
      data_dir = argv[++i];
    } else if (!std::strcmp(argv[i], "--only") && i + 1 < argc) {
      only = argv[++i];
    } else {
      std::fprintf(stderr,
                   "usage: %s [--samples N] [--no-pytorch] [--tpsgd] [--data-dir DIR] "
                   "[--only SUBSTRING]\n",
                   argv[0]);
      return 2;
    }
  }
  try {
    Eigen::setNbThreads(1);
    std::vector<Run> runs;
    for (const Run& run : {Run{"mlp:784-200-200-10", 32}, Run{"mlp:784-200-200-10", 64},
                           Run{"cnn:lenet", 32}, Run{"cnn:lenet", 64}}) {
      if (run.spec.find(only) != std::string::npos) runs.push_back(run);
    }
    edgefl::datasets::FashionMnistOptions options;
    options.dir = data_dir;
    const edgefl::datasets::Dataset data =
        edgefl::datasets::LoadFashionMnist(edgefl::datasets::Split::kTrain, options);

    std::printf(
        "train_throughput: Fashion-MNIST train, SGD momentum 0.9, one thread, "
        "%ld samples per run, build %s\n",
        samples,
        EDGEFL_NATIVE_BUILD ? "-march=native (EDGEFL_NATIVE=ON)" : "portable (EDGEFL_NATIVE=OFF)");
    double load[1] = {0.0};
    if (getloadavg(load, 1) == 1) std::printf("load average at start: %.2f\n", load[0]);
    const double gemm = EigenGemmGflops();
    std::map<std::string, double> baseline;
    if (pytorch) baseline = PyTorchSamplesPerSecond(runs, data_dir, samples);

    std::printf("%-20s %5s %14s %14s %7s %12s %12s\n", "model", "batch", "edgefl smp/s",
                "pytorch smp/s", "ratio", "edgefl GF/s", "GEMM GF/s");
    for (const Run& run : runs) {
      float loss = 0;
      const double rate = EdgeflSamplesPerSecond(run, data, samples, &loss);
      const double gflops = rate * TrainFlopsPerSample(run.spec) / 1e9;
      const auto it = baseline.find(run.spec + "@" + std::to_string(run.batch));
      if (it != baseline.end()) {
        std::printf("%-20s %5d %14.0f %14.0f %6.2fx %12.2f %12.2f\n", run.spec.c_str(), run.batch,
                    rate, it->second, rate / it->second, gflops, gemm);
      } else {
        std::printf("%-20s %5d %14.0f %14s %7s %12.2f %12.2f\n", run.spec.c_str(), run.batch, rate,
                    "-", "-", gflops, gemm);
      }
      if (tpsgd) {
        const double layerwise = TpsgdSamplesPerSecond(run, data, samples);
        std::printf("%-20s %5d %14.0f %14s %6.2fx  (tpSGD; ratio to edgefl backprop above)\n",
                    run.spec.c_str(), run.batch, layerwise, "-", layerwise / rate);
      }
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "train_throughput: %s\n", e.what());
    return 1;
  }
}
