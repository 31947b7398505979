// Peak memory of a client process: loads its share of Fashion-MNIST from a
// partition file and trains mlp:784-200-200-10 for one epoch of full batches
// (batch 32).
// Target: peak RSS < 30 MB.
//
// Two child processes are measured in the same invocation:
//   streaming  - reads only its rows (LoadFashionMnistSamples), as
//                edgefl-client does;
//   baseline   - loads the whole training split, then takes its rows.
// Then, streaming, the training itself (issue 17, tpSGD): backprop SGD vs
// tpSGD (train/tpsgd_trainer.h) for mlp:784-200-200-10 and cnn:lenet, each
// in its own child: peak RSS and the bytes of training state the trainer
// holds (LocalTrainer::held_bytes: parameters, gradients, activations,
// backward buffers, minibatch, data order; layer-internal scratch not
// counted), at each batch size of --batches, and their ratio.
//
// The training table runs at every batch size of --batches (default 32; the
// issue 17 table: 32,128,256).
//
//   build/bench/client_memory [--clients N] [--client K] [--scheme iid|dirichlet]
//       [--batches 32,128,256]
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "algorithms/tpsgd_objective.h"
#include "datasets/fashion_mnist.h"
#include "datasets/partition.h"
#include "datasets/partition_file.h"
#include "nn/model.h"
#include "train/local_trainer.h"

namespace {

using edgefl::datasets::Split;

// How a child trains: the model and backprop or tpSGD.
struct Training {
  std::string spec = "mlp:784-200-200-10";
  bool tpsgd = false;
  float lr = 0.05f;
  float momentum = 0.9f;
  int batch = 32;
};

// Trains one epoch on the client's share; returns its size. Prints the
// trainer's held bytes and samples/s on stdout.
size_t RunClient(const std::filesystem::path& partition_file, size_t client, bool streaming,
                 const Training& training) {
  const edgefl::datasets::ClientShare share =
      edgefl::datasets::ReadClientShare(partition_file, client);
  edgefl::datasets::Dataset data;
  if (streaming) {
    data = edgefl::datasets::LoadFashionMnistSamples(Split::kTrain, share.indices);
  } else {
    const edgefl::datasets::Dataset all = edgefl::datasets::LoadFashionMnist(Split::kTrain);
    data = edgefl::datasets::Subset(all, share.indices);
  }
  Eigen::VectorXf init;
  {
    edgefl::nn::Model model(training.spec);  // gone before training
    model.Initialize(1);
    init = model.parameters();
  }
  edgefl::train::LocalTrainer trainer(training.spec, data);
  edgefl::train::TrainRecipe recipe;
  // One epoch of FULL batches: a last, partial batch would shrink backprop's
  // minibatch buffer before held_bytes() is read (tpSGD's buffers only grow),
  // and the figure would no longer be the state held while training.
  recipe.local_steps = std::max<int64_t>(1, static_cast<int64_t>(data.size()) / training.batch);
  recipe.batch_size = training.batch;
  recipe.optimizer.learning_rate = training.lr;
  recipe.optimizer.momentum = training.momentum;
  recipe.measure_loss = false;  // training alone: no extra evaluation passes
  edgefl::algorithms::TpsgdObjective tpsgd(edgefl::train::TpsgdOptions{});
  const auto result = trainer.Train(std::span<const float>(init.data(), init.size()), recipe,
                                    training.tpsgd ? &tpsgd : nullptr);
  std::printf("%zu %.0f\n", trainer.held_bytes(),
              static_cast<double>(result.samples_processed) / result.compute_seconds);
  std::fflush(stdout);
  std::fprintf(stderr, "  (%s %s%s: %zu samples, train loss %.3f)\n",
               streaming ? "streaming" : "baseline", training.spec.c_str(),
               training.tpsgd ? " tpsgd" : "", data.size(), result.train_loss);
  return data.size();
}

struct ChildFigures {
  double peak_rss_mb = -1;
  double held_bytes = -1;
  double samples_per_second = -1;
};

// Runs RunClient in a child; returns its peak RSS in MB (or -1) and what it printed.
ChildFigures RunChild(const std::filesystem::path& file, size_t client, bool streaming,
                      const Training& training) {
  int fds[2];
  if (pipe(fds) != 0) return {};
  std::fflush(stdout);
  const pid_t pid = fork();
  if (pid == 0) {
    try {
      close(fds[0]);
      dup2(fds[1], STDOUT_FILENO);
      RunClient(file, client, streaming, training);
      _exit(0);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "client_memory: %s\n", e.what());
      _exit(1);
    }
  }
  close(fds[1]);
  ChildFigures figures;
  char text[128] = {};
  size_t got = 0;
  ssize_t n = 0;
  while (got + 1 < sizeof(text) && (n = read(fds[0], text + got, sizeof(text) - 1 - got)) > 0)
    got += static_cast<size_t>(n);
  close(fds[0]);
  int status = 0;
  rusage usage{};
  if (wait4(pid, &status, 0, &usage) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return figures;
  }
  std::sscanf(text, "%lf %lf", &figures.held_bytes, &figures.samples_per_second);
  figures.peak_rss_mb = static_cast<double>(usage.ru_maxrss) / 1024.0;  // KiB on Linux
  return figures;
}

}  // namespace

int main(int argc, char** argv) {
  size_t clients = 10, client = 0;
  std::string scheme = "iid";
  std::vector<int> batches = {32};
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--clients") && i + 1 < argc) {
      clients = std::stoul(argv[++i]);
    } else if (!std::strcmp(argv[i], "--client") && i + 1 < argc) {
      client = std::stoul(argv[++i]);
    } else if (!std::strcmp(argv[i], "--scheme") && i + 1 < argc) {
      scheme = argv[++i];
    } else if (!std::strcmp(argv[i], "--batches") && i + 1 < argc) {
      batches.clear();
      std::string list = argv[++i];
      for (size_t at = 0; at <= list.size();) {
        const size_t comma = std::min(list.find(',', at), list.size());
        batches.push_back(std::stoi(list.substr(at, comma - at)));
        at = comma + 1;
      }
    } else {
      std::fprintf(stderr,
                   "usage: %s [--clients N] [--client K] [--scheme iid|dirichlet] "
                   "[--batches 32,128,256]\n",
                   argv[0]);
      return 2;
    }
  }
  try {
    // The partition is made from the labels only, then the process forks
    // its two measured clients; this parent's own memory does not count.
    edgefl::datasets::PartitionSpec spec;
    spec.scheme = edgefl::datasets::ParsePartitionScheme(scheme);
    spec.num_clients = clients;
    spec.seed = 1;
    const std::vector<int32_t> labels = edgefl::datasets::LoadFashionMnistLabels(Split::kTrain);
    const auto partition = edgefl::datasets::MakePartition(spec, labels, 10, "fmnist/train");
    const std::filesystem::path file = std::filesystem::temp_directory_path() /
                                       ("edgefl-client-memory-" + std::to_string(getpid()));
    edgefl::datasets::WritePartitionFile(partition, file);

    std::printf(
        "client_memory: Fashion-MNIST %s partition, %zu clients, client %zu "
        "(%zu samples), mlp:784-200-200-10, 1 epoch, batch 32\n",
        scheme.c_str(), clients, client, partition.clients.at(client).size());
    const double streaming = RunChild(file, client, true, Training{}).peak_rss_mb;
    const double baseline = RunChild(file, client, false, Training{}).peak_rss_mb;
    std::printf("%-44s %10s\n", "process", "peak RSS");
    std::printf("%-44s %7.1f MB\n", "streaming (reads only its rows) [edgefl]", streaming);
    std::printf("%-44s %7.1f MB\n", "baseline (loads the whole split)", baseline);
    std::printf("target: < 30 MB -> %s\n", streaming > 0 && streaming < 30 ? "met" : "NOT met");

    // Backprop SGD (momentum 0, as tpSGD) vs tpSGD, streaming clients.
    std::printf("\n%-28s %5s %21s %23s %7s\n", "training (streaming client)", "batch",
                "peak RSS bp / tpsgd", "training state bp / tpsgd", "ratio");
    bool ok = streaming > 0 && baseline > 0;
    for (const std::string model : {"mlp:784-200-200-10", "cnn:lenet"}) {
      for (const int batch : batches) {
        ChildFigures f[2];
        for (const bool tpsgd : {false, true}) {
          const Training training{model, tpsgd, 0.02f, 0.0f, batch};
          f[tpsgd ? 1 : 0] = RunChild(file, client, true, training);
          ok = ok && f[tpsgd ? 1 : 0].peak_rss_mb > 0;
        }
        std::printf("%-28s %5d %8.1f / %5.1f MB %9.0f / %6.0f KB %6.2fx\n", model.c_str(), batch,
                    f[0].peak_rss_mb, f[1].peak_rss_mb, f[0].held_bytes / 1024.0,
                    f[1].held_bytes / 1024.0, f[0].held_bytes / f[1].held_bytes);
      }
    }
    std::filesystem::remove(file);
    return ok ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "client_memory: %s\n", e.what());
    return 1;
  }
}
