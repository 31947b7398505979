#include "engine/experiment_data.h"

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/random.h"
#include "datasets/csv_reader.h"
#include "datasets/fashion_mnist.h"
#include "datasets/kmeans_partition.h"
#include "datasets/source_partition.h"
#include "datasets/synthetic.h"
#include "datasets/text_corpus.h"
#include "nn/model_spec.h"

namespace edgefl::engine {
namespace {

constexpr uint64_t kCsvSplitStream = 0x637376;  // "csv"

datasets::Dataset FirstRows(datasets::Dataset data, int64_t n) {
  if (n <= 0 || static_cast<size_t>(n) >= data.size()) return data;
  std::vector<uint32_t> rows(static_cast<size_t>(n));
  std::iota(rows.begin(), rows.end(), 0u);
  return datasets::Subset(data, rows);
}

// The first `n` samples of a Fashion-MNIST split (all of them when n <= 0
// or n >= the split's size), reading only those rows: a small train_subset
// need not convert the 188 MB of the whole training set.
datasets::Dataset LoadFashionMnistFirst(datasets::Split split, int64_t n,
                                        const datasets::FashionMnistOptions& options) {
  if (n <= 0 || static_cast<size_t>(n) >= datasets::LoadFashionMnistLabels(split, options).size())
    return datasets::LoadFashionMnist(split, options);
  std::vector<uint32_t> rows(static_cast<size_t>(n));
  std::iota(rows.begin(), rows.end(), 0u);
  return datasets::LoadFashionMnistSamples(split, rows, options);
}

bool IsTextDataset(const std::string& dataset) {
  return dataset == "fortunes" || dataset.rfind("text:", 0) == 0;
}

// The corpus `dataset = "text:PATH"` or "fortunes" names, windowed for the
// model's seq_len and vocabulary (the spec's -t and -v).
datasets::TextDataRef TextRefOf(const ExperimentConfig& c) {
  const nn::ModelSpec spec = nn::ParseModelSpec(c.model);
  if (!nn::IsLanguageModel(spec.kind)) {
    throw ConfigError("dataset " + c.dataset +
                      " is text: it needs a language model (e.g. model = " +
                      "\"rnn:gru-128\"), got model " + c.model);
  }
  datasets::TextDataRef ref;
  ref.fortunes = c.dataset == "fortunes";
  if (ref.fortunes) {
    ref.path = c.data_path.empty() ? datasets::kFortunesDefaultDir : c.data_path;
  } else {
    ref.path = c.dataset.substr(5);
    if (ref.path.empty()) throw ConfigError("dataset text: needs a path, e.g. text:corpus/");
  }
  ref.options.seq_len = spec.language_model.seq_len;
  ref.options.vocab_size = spec.language_model.vocab;
  return ref;
}

}  // namespace

ExperimentData LoadExperimentData(const ExperimentConfig& c) {
  ExperimentData out;
  datasets::PartitionSpec spec;
  spec.num_clients = static_cast<size_t>(c.clients);
  spec.seed = static_cast<uint64_t>(c.seed);
  spec.alpha = c.alpha;
  spec.classes_per_client = static_cast<size_t>(c.classes_per_client);
  spec.noise = c.noise;
  spec.clusters = static_cast<size_t>(c.kmeans_clusters);

  if (c.dataset == "fmnist") {
    datasets::FashionMnistOptions options;
    if (!c.data_path.empty()) options.dir = c.data_path;
    out.train = LoadFashionMnistFirst(datasets::Split::kTrain, c.train_subset, options);
    out.test = LoadFashionMnistFirst(datasets::Split::kTest, c.test_subset, options);
  } else if (c.dataset == "synthetic") {
    datasets::SyntheticOptions options;
    options.alpha = c.synthetic_alpha;
    options.beta = c.synthetic_beta;
    options.num_clients = static_cast<size_t>(c.clients);
    options.seed = static_cast<uint64_t>(c.seed);
    datasets::SyntheticFederated data = datasets::GenerateSynthetic(options);
    out.train = std::move(data.train);
    out.test = std::move(data.test);
    if (c.partition == "natural") {
      out.partition = std::move(data.train_partition);
      return out;
    }
  } else if (c.dataset == "csv") {
    if (c.data_path.empty()) throw ConfigError("dataset csv needs data_path = \"file.csv\"");
    datasets::Dataset all = datasets::ReadCsv(c.data_path);
    // A seeded 80/20 train/test split.
    std::vector<uint32_t> order(all.size());
    std::iota(order.begin(), order.end(), 0u);
    Rng rng = Rng::Derive(static_cast<uint64_t>(c.seed), {kCsvSplitStream});
    rng.Shuffle(order);
    const size_t n_test = std::max<size_t>(1, all.size() / 5);
    std::vector<uint32_t> test(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n_test));
    std::vector<uint32_t> train(order.begin() + static_cast<std::ptrdiff_t>(n_test), order.end());
    std::sort(test.begin(), test.end());
    std::sort(train.begin(), train.end());
    out.train = FirstRows(datasets::Subset(all, train), c.train_subset);
    out.test = FirstRows(datasets::Subset(all, test), c.test_subset);
    out.train.name = c.data_path + "/train";
    out.test.name = c.data_path + "/test";
  } else if (IsTextDataset(c.dataset)) {
    datasets::TextCorpus corpus = datasets::LoadTextCorpus(TextRefOf(c));
    const size_t num_sources = corpus.source_names.size();
    out.train =
        datasets::PerSourceSubset(corpus.train, &corpus.train_source, num_sources, c.train_subset);
    out.test =
        datasets::PerSourceSubset(corpus.test, &corpus.test_source, num_sources, c.test_subset);
    if (c.partition == "by_source") {
      spec.scheme = datasets::PartitionScheme::kBySource;
      out.partition =
          datasets::MakeSourcePartition(spec, corpus.train_source, num_sources, out.train.name);
      return out;
    }
  } else {
    throw ConfigError("dataset: unknown name '" + c.dataset +
                      "' (expected fmnist, synthetic, csv, fortunes or text:PATH)");
  }
  if (c.partition == "by_source") {
    throw ConfigError(
        "partition 'by_source' exists only for the text datasets (fortunes, "
        "text:PATH)");
  }
  // Before the partition sizes anything by the number of clients.
  if (static_cast<size_t>(c.clients) > out.train.size()) {
    throw ConfigError("clients = " + std::to_string(c.clients) + " but the training data (" +
                      out.train.name + ") has only " + std::to_string(out.train.size()) +
                      " samples: every client needs at least one; lower clients or raise "
                      "train_subset");
  }
  spec.scheme = datasets::ParsePartitionScheme(c.partition);
  out.partition =
      spec.scheme == datasets::PartitionScheme::kKMeans
          ? datasets::MakeKMeansPartition(spec, out.train)
          : datasets::MakePartition(spec, out.train.labels, out.train.num_classes, out.train.name);
  return out;
}

datasets::Dataset LoadTestSet(const ExperimentConfig& config) {
  if (config.dataset != "fmnist") return LoadExperimentData(config).test;
  datasets::FashionMnistOptions options;
  if (!config.data_path.empty()) options.dir = config.data_path;
  return LoadFashionMnistFirst(datasets::Split::kTest, config.test_subset, options);
}

}  // namespace edgefl::engine
