// edgefl partition: split a dataset across clients, print the per-client
// class counts and a summary, optionally write the partition file that each
// client later loads by its id.
#include <cstdio>
#include <numeric>
#include <optional>
#include <string>

#include <cxxopts.hpp>

#include "common/error.h"
#include "datasets/csv_reader.h"
#include "datasets/fashion_mnist.h"
#include "datasets/kmeans_partition.h"
#include "datasets/partition.h"
#include "datasets/partition_file.h"
#include "datasets/partition_stats.h"
#include "datasets/source_partition.h"
#include "datasets/synthetic.h"
#include "datasets/text_corpus.h"
#include "nn/model_spec.h"
#include "tools/commands.h"
#include "tools/option_values.h"

namespace edgefl::tools {
namespace {

// The labels of the dataset to split, with what the partition records about
// it; the whole dataset too when the scheme routes the features (kmeans).
struct LabelledSplit {
  std::string name;
  std::vector<int32_t> labels;
  int num_classes = 0;
  std::optional<datasets::Dataset> data;
  std::vector<uint32_t> sources;  // text: each window's source file
  size_t num_sources = 0;
};

// The first `n` samples (all when n is 0 or not less than their number), as
// the experiment config's train_subset takes them.
template <typename T>
void KeepFirst(std::vector<T>& values, size_t n) {
  if (n > 0 && n < values.size()) values.resize(n);
}

LabelledSplit LoadLabels(const cxxopts::ParseResult& args, bool features) {
  const std::string dataset = args["dataset"].as<std::string>();
  const size_t subset = UintOption(args, "train-subset");
  LabelledSplit out;
  if (dataset == "fmnist" || dataset == "fmnist-test") {
    datasets::FashionMnistOptions options;
    options.dir = args["data-dir"].as<std::string>();
    const auto split = dataset == "fmnist" ? datasets::Split::kTrain : datasets::Split::kTest;
    out.name = dataset == "fmnist" ? "fmnist/train" : "fmnist/test";
    out.num_classes = 10;
    if (features) {
      datasets::Dataset data = datasets::LoadFashionMnist(split, options);
      if (subset > 0 && subset < data.size()) {
        std::vector<uint32_t> rows(subset);
        std::iota(rows.begin(), rows.end(), 0u);
        data = datasets::Subset(data, rows);
      }
      data.name = out.name;
      out.labels = data.labels;
      out.data = std::move(data);
    } else {
      out.labels = datasets::LoadFashionMnistLabels(split, options);
      KeepFirst(out.labels, subset);
    }
    return out;
  }
  const bool text = dataset == "fortunes" || dataset.rfind("text:", 0) == 0;
  if (subset > 0 && !text) {
    throw ConfigError(
        "--train-subset: only for --dataset fmnist, fmnist-test, fortunes or text:PATH");
  }
  if (dataset.rfind("csv:", 0) == 0) {
    const std::string path = dataset.substr(4);
    datasets::Dataset data = datasets::ReadCsv(path);
    out.name = dataset;
    out.labels = data.labels;
    out.num_classes = data.num_classes;
    if (features) {
      data.name = out.name;
      out.data = std::move(data);
    }
  } else if (dataset == "synthetic") {
    datasets::SyntheticOptions options;
    options.alpha = DoubleOption(args, "synthetic-alpha");
    options.beta = DoubleOption(args, "synthetic-beta");
    options.num_clients = UintOption(args, "clients");
    options.seed = UintOption(args, "seed");
    datasets::SyntheticFederated data = datasets::GenerateSynthetic(options);
    out.name = data.train.name;
    out.labels = data.train.labels;
    out.num_classes = data.train.num_classes;
    if (features) out.data = std::move(data.train);
  } else if (text) {
    // Windowed for the model's seq_len and vocabulary, as the run will be.
    const nn::ModelSpec spec = nn::ParseModelSpec(args["model"].as<std::string>());
    if (!nn::IsLanguageModel(spec.kind)) {
      throw ConfigError("--dataset " + dataset +
                        " needs --model to be a language model (rnn:... or lm:transformer-...)");
    }
    datasets::TextDataRef ref;
    ref.fortunes = dataset == "fortunes";
    ref.path = ref.fortunes ? args["data-dir"].as<std::string>() : dataset.substr(5);
    if (ref.fortunes && !args.count("data-dir")) ref.path = datasets::kFortunesDefaultDir;
    ref.options.seq_len = spec.language_model.seq_len;
    ref.options.vocab_size = spec.language_model.vocab;
    // The first max(1, N / S) windows of each of the S files, recorded in
    // the name so each client keeps the same ones.
    ref.train_subset = static_cast<int64_t>(subset);
    datasets::TextCorpus corpus = datasets::LoadTextCorpus(ref);
    out.name = corpus.train.name;
    out.labels = std::move(corpus.train.labels);
    out.num_classes = corpus.train.num_classes;
    out.sources = std::move(corpus.train_source);
    out.num_sources = corpus.source_names.size();
  } else {
    throw ConfigError("--dataset: unknown dataset '" + dataset +
                      "' (expected fmnist, fmnist-test, synthetic, csv:PATH, fortunes or "
                      "text:PATH)");
  }
  return out;
}

}  // namespace

int RunPartition(int argc, char** argv) {
  cxxopts::Options options("edgefl partition",
                           "Split a dataset across federated clients (non-IID schemes) and print "
                           "per-client class counts.");
  // clang-format off
  options.add_options()
      ("dataset", "fmnist (train split), fmnist-test, synthetic, csv:PATH, fortunes or text:PATH",
       cxxopts::value<std::string>()->default_value("fmnist"))
      ("data-dir", "directory of the Fashion-MNIST IDX files (fortunes: of the fortune files)",
       cxxopts::value<std::string>()->default_value(datasets::kFashionMnistDefaultDir))
      ("model", "fortunes, text:PATH: the language model whose seq_len and vocabulary (-t, -v) "
                "cut the text into windows",
       cxxopts::value<std::string>()->default_value("rnn:gru-128"))
      ("scheme", "iid | dirichlet | shards | quantity | noise | kmeans | by_source (text)",
       cxxopts::value<std::string>()->default_value("iid"))
      ("clients", "number of clients", cxxopts::value<std::string>()->default_value("10"))
      ("seed", "random seed", cxxopts::value<std::string>()->default_value("1"))
      ("alpha", "Dirichlet concentration (dirichlet, quantity); smaller = more skew",
       cxxopts::value<std::string>()->default_value("0.5"))
      ("classes-per-client", "shards per client (shards)",
       cxxopts::value<std::string>()->default_value("2"))
      ("noise", "largest per-client feature noise std-dev (noise)",
       cxxopts::value<std::string>()->default_value("0.1"))
      ("clusters", "routes of the k-means input router (kmeans; DiPaCo: its paths, "
       "modules^levels); client k holds route k mod clusters",
       cxxopts::value<std::string>()->default_value("2"))
      ("train-subset", "split only the first N samples (fmnist, fmnist-test; fortunes, "
       "text:PATH: the first max(1, N / S) windows of each of the S files; 0 = all), as the "
       "experiment key train_subset",
       cxxopts::value<std::string>()->default_value("0"))
      ("min-size", "redraw until every client has at least this many samples (dirichlet, quantity)",
       cxxopts::value<std::string>()->default_value("1"))
      ("synthetic-alpha", "synthetic(alpha, beta): model heterogeneity",
       cxxopts::value<std::string>()->default_value("1.0"))
      ("synthetic-beta", "synthetic(alpha, beta): input heterogeneity",
       cxxopts::value<std::string>()->default_value("1.0"))
      ("o,out", "write the partition to this file", cxxopts::value<std::string>())
      ("q,quiet", "print only the summary, not the per-client table")
      ("h,help", "print this help");
  // clang-format on
  cxxopts::ParseResult args;
  if (!ParseCommandLine(options, argc, argv, &args)) return kExitOk;

  datasets::PartitionSpec spec;
  spec.scheme = datasets::ParsePartitionScheme(args["scheme"].as<std::string>());
  spec.num_clients = UintOption(args, "clients");
  spec.seed = UintOption(args, "seed");
  spec.alpha = DoubleOption(args, "alpha");
  spec.classes_per_client = UintOption(args, "classes-per-client");
  spec.noise = DoubleOption(args, "noise");
  spec.min_client_size = UintOption(args, "min-size");
  spec.clusters = UintOption(args, "clusters");

  // kmeans: the simulator's partition (engine/experiment_data.cpp), the same
  // router and deal for the same data and seed, so the same shards.
  datasets::CheckPartitionParameters(spec);  // before any data is read
  const bool kmeans = spec.scheme == datasets::PartitionScheme::kKMeans;
  const LabelledSplit split = LoadLabels(args, kmeans);
  if (kmeans && !split.data) {
    throw ConfigError(
        "--scheme kmeans routes on input features; it needs fmnist, synthetic or "
        "csv:PATH, not a text dataset");
  }
  if (spec.scheme == datasets::PartitionScheme::kBySource && split.num_sources == 0) {
    throw ConfigError("--scheme by_source needs a text dataset (fortunes or text:PATH)");
  }
  const datasets::Partition partition =
      kmeans ? datasets::MakeKMeansPartition(spec, *split.data)
      : spec.scheme == datasets::PartitionScheme::kBySource
          ? datasets::MakeSourcePartition(spec, split.sources, split.num_sources, split.name)
          : datasets::MakePartition(spec, split.labels, split.num_classes, split.name);
  const datasets::PartitionStats stats =
      datasets::ComputePartitionStats(partition, split.labels, split.num_classes);

  std::printf("partition of %s (%zu samples, %d classes): scheme %s, %zu clients, seed %llu\n",
              split.name.c_str(), split.labels.size(), split.num_classes,
              datasets::PartitionSchemeName(spec.scheme).c_str(), spec.num_clients,
              static_cast<unsigned long long>(spec.seed));
  if (kmeans) {
    std::printf("k-means router: %zu routes; client k holds route k mod %zu (DiPaCo: its path)\n",
                spec.clusters, spec.clusters);
  }
  const std::string table = args.count("quiet") ? datasets::FormatPartitionSummary(stats)
                                                : datasets::FormatPartitionTable(stats);
  std::fputs(table.c_str(), stdout);
  if (args.count("out")) {
    const std::string path = args["out"].as<std::string>();
    datasets::WritePartitionFile(partition, path);
    std::printf("wrote %s\n", path.c_str());
  }
  return kExitOk;
}

}  // namespace edgefl::tools
