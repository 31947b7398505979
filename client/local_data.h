// A device's own training data: its share of a partition file, loaded
// without reading the rest of the dataset into memory.
#pragma once

#include <filesystem>

#include "datasets/dataset.h"

namespace edgefl::client {

// Loads the samples of client `index` in the partition file (written by
// `edgefl partition --out`), for the dataset the file names: "fmnist/train"
// and "fmnist/test" from `fmnist_dir` (streaming only this client's rows),
// "csv:PATH", or a text corpus ("text:t<T>:v<V>:PATH", "fortunes:...":
// the whole corpus is read, datasets/text_corpus.h). Applies the client's feature noise, if the
// partition has one. Throws ConfigError for an index past the clients or a dataset this loader does
// not know, and the loaders' IoError/DataError for bad files.
datasets::Dataset LoadClientData(const std::filesystem::path& partition_file, size_t index,
                                 const std::filesystem::path& fmnist_dir);

}  // namespace edgefl::client
