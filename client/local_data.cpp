#include "client/local_data.h"

#include "common/error.h"
#include "datasets/csv_reader.h"
#include "datasets/fashion_mnist.h"
#include "datasets/feature_noise.h"
#include "datasets/partition_file.h"
#include "datasets/text_corpus.h"

namespace edgefl::client {

datasets::Dataset LoadClientData(const std::filesystem::path& partition_file, size_t index,
                                 const std::filesystem::path& fmnist_dir) {
  const datasets::ClientShare share = datasets::ReadClientShare(partition_file, index);
  datasets::Dataset data;
  if (share.dataset == "fmnist/train" || share.dataset == "fmnist/test") {
    datasets::FashionMnistOptions options;
    options.dir = fmnist_dir;
    const auto split =
        share.dataset == "fmnist/train" ? datasets::Split::kTrain : datasets::Split::kTest;
    data = datasets::LoadFashionMnistSamples(split, share.indices, options);
  } else if (share.dataset.rfind("csv:", 0) == 0) {
    const datasets::Dataset all = datasets::ReadCsv(share.dataset.substr(4));
    if (all.size() != share.num_samples) {
      throw DataError(partition_file.string() + " splits " + std::to_string(share.num_samples) +
                      " samples but " + share.dataset + " has " + std::to_string(all.size()));
    }
    data = datasets::Subset(all, share.indices);
  } else if (datasets::IsTextDataRef(share.dataset)) {
    // The whole corpus is read (its vocabulary comes from all of it).
    const datasets::TextCorpus corpus =
        datasets::LoadTextCorpus(datasets::ParseTextDataRef(share.dataset));
    if (corpus.train.size() != share.num_samples) {
      throw DataError(partition_file.string() + " splits " + std::to_string(share.num_samples) +
                      " windows but " + share.dataset + " has " +
                      std::to_string(corpus.train.size()));
    }
    data = datasets::Subset(corpus.train, share.indices);
  } else {
    throw ConfigError(partition_file.string() + ": dataset '" + share.dataset +
                      "' cannot be loaded by a client (expected fmnist/train, fmnist/test, "
                      "csv:PATH, text:... or fortunes:...)");
  }
  data.name = share.dataset + "#" + std::to_string(index);
  if (share.noise_std > 0.0f) datasets::AddFeatureNoise(data, share.noise_std, share.seed, index);
  return data;
}

}  // namespace edgefl::client
