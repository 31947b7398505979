// Fashion-MNIST (Xiao et al. 2017): 60,000 train / 10,000 test grey-scale
// 28x28 images of 10 clothing classes, read from the IDX files shipped by
// Debian's dataset-fashion-mnist package.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "datasets/dataset.h"

namespace edgefl::datasets {

inline constexpr const char* kFashionMnistDefaultDir = "/usr/share/datasets/fashion-mnist";

enum class Split { kTrain, kTest };

struct Normalization {
  // Pixels are always scaled from [0, 255] to [0, 1]. When `standardize` is
  // true they are then mapped to (x - mean) / std.
  bool standardize = false;
  float mean = 0.2860f;  // Fashion-MNIST train mean after scaling to [0, 1]
  float std = 0.3530f;   // and its standard deviation
};

struct FashionMnistOptions {
  std::filesystem::path dir = kFashionMnistDefaultDir;  // holds {train,t10k}-{images,labels}-*
  Normalization normalization;
};

// Loads one split. Looks for "<prefix>-images-idx3-ubyte[.gz]" and
// "<prefix>-labels-idx1-ubyte[.gz]" in options.dir (prefix "train" or
// "t10k"). Throws IoError naming the missing file (and the package that
// provides it), DataError for malformed files, a label outside 0..9 or image
// and label counts that differ.
Dataset LoadFashionMnist(Split split, const FashionMnistOptions& options = {});

// Only the labels of a split (and the images file's header), for
// partitioning without loading 188 MB of pixels. Throws as LoadFashionMnist.
std::vector<int32_t> LoadFashionMnistLabels(Split split, const FashionMnistOptions& options = {});

// Only the samples at `indices` (strictly ascending, e.g. a client's share
// from a partition file), in that order, streaming the files so memory is
// proportional to indices.size(). Throws as LoadFashionMnist, ConfigError if
// the indices are not ascending and DataError for an index past the end.
Dataset LoadFashionMnistSamples(Split split, std::span<const uint32_t> indices,
                                const FashionMnistOptions& options = {});

}  // namespace edgefl::datasets
