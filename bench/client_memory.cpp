// Peak memory of a client process: loads its share of Fashion-MNIST from a
// partition file and trains mlp:784-200-200-10 for one epoch (batch 32).
// Target: peak RSS < 30 MB.
//
// Two child processes are measured in the same invocation:
//   streaming  - reads only its rows (LoadFashionMnistSamples), as
//                edgefl-client does;
//   baseline   - loads the whole training split, then takes its rows.
//
//   build/bench/client_memory [--clients N] [--client K] [--scheme iid|dirichlet]
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "datasets/fashion_mnist.h"
#include "datasets/partition.h"
#include "datasets/partition_file.h"
#include "nn/model.h"
#include "train/local_trainer.h"

namespace {

using edgefl::datasets::Split;

// Trains one epoch on the client's share; returns its size.
size_t RunClient(const std::filesystem::path& partition_file, size_t client, bool streaming) {
  const edgefl::datasets::ClientShare share =
      edgefl::datasets::ReadClientShare(partition_file, client);
  edgefl::datasets::Dataset data;
  if (streaming) {
    data = edgefl::datasets::LoadFashionMnistSamples(Split::kTrain, share.indices);
  } else {
    const edgefl::datasets::Dataset all = edgefl::datasets::LoadFashionMnist(Split::kTrain);
    data = edgefl::datasets::Subset(all, share.indices);
  }
  const std::string spec = "mlp:784-200-200-10";
  edgefl::nn::Model init(spec);
  init.Initialize(1);
  edgefl::train::LocalTrainer trainer(spec, data);
  edgefl::train::TrainRecipe recipe;
  recipe.epochs = 1;
  recipe.batch_size = 32;
  recipe.optimizer.learning_rate = 0.05f;
  recipe.optimizer.momentum = 0.9f;
  const auto result = trainer.Train(
      std::span<const float>(init.parameters().data(), init.parameters().size()), recipe);
  std::fprintf(stderr, "  (%s: %zu samples, loss %.3f -> %.3f)\n",
               streaming ? "streaming" : "baseline", data.size(), result.loss_before,
               result.loss_after);
  return data.size();
}

// Runs RunClient in a child; returns its peak RSS in MB (or -1).
double ChildPeakRssMb(const std::filesystem::path& file, size_t client, bool streaming) {
  const pid_t pid = fork();
  if (pid == 0) {
    try {
      RunClient(file, client, streaming);
      _exit(0);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "client_memory: %s\n", e.what());
      _exit(1);
    }
  }
  int status = 0;
  rusage usage{};
  if (wait4(pid, &status, 0, &usage) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return -1;
  }
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // KiB on Linux
}

}  // namespace

int main(int argc, char** argv) {
  size_t clients = 10, client = 0;
  std::string scheme = "iid";
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--clients") && i + 1 < argc) {
      clients = std::stoul(argv[++i]);
    } else if (!std::strcmp(argv[i], "--client") && i + 1 < argc) {
      client = std::stoul(argv[++i]);
    } else if (!std::strcmp(argv[i], "--scheme") && i + 1 < argc) {
      scheme = argv[++i];
    } else {
      std::fprintf(stderr, "usage: %s [--clients N] [--client K] [--scheme iid|dirichlet]\n",
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
    const double streaming = ChildPeakRssMb(file, client, true);
    const double baseline = ChildPeakRssMb(file, client, false);
    std::filesystem::remove(file);
    std::printf("%-44s %10s\n", "process", "peak RSS");
    std::printf("%-44s %7.1f MB\n", "streaming (reads only its rows) [edgefl]", streaming);
    std::printf("%-44s %7.1f MB\n", "baseline (loads the whole split)", baseline);
    std::printf("target: < 30 MB -> %s\n", streaming > 0 && streaming < 30 ? "met" : "NOT met");
    return streaming > 0 && baseline > 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "client_memory: %s\n", e.what());
    return 1;
  }
}
