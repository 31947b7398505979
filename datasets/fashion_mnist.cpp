#include "datasets/fashion_mnist.h"

#include <cmath>
#include <numeric>
#include <system_error>

#include "common/error.h"
#include "datasets/idx_reader.h"

namespace edgefl::datasets {
namespace {

constexpr int kRows = 28;
constexpr int kCols = 28;
constexpr int kNumClasses = 10;

// "<dir>/<base>.gz" if it exists, else "<dir>/<base>" if that exists.
// Throws IoError naming both candidates otherwise.
std::filesystem::path FindFile(const std::filesystem::path& dir, const std::string& base) {
  const std::filesystem::path gz = dir / (base + ".gz");
  const std::filesystem::path plain = dir / base;
  std::error_code ec;
  if (std::filesystem::is_regular_file(gz, ec)) return gz;
  if (std::filesystem::is_regular_file(plain, ec)) return plain;
  throw IoError("Fashion-MNIST file not found: " + gz.string() + " (nor " + plain.string() +
                "); it comes from the Debian package dataset-fashion-mnist "
                "(apt install dataset-fashion-mnist), or pass a directory that holds the IDX "
                "files");
}

// Loads the split, or only the samples at `rows` when `subset` is true.
Dataset Load(Split split, const FashionMnistOptions& options, bool subset,
             std::span<const uint32_t> rows) {
  const Normalization& norm = options.normalization;
  if (norm.standardize && !(std::isfinite(norm.std) && norm.std > 0.0f)) {
    throw ConfigError("Fashion-MNIST normalization std must be > 0, got " +
                      std::to_string(norm.std));
  }
  if (norm.standardize && !std::isfinite(norm.mean)) {
    throw ConfigError("Fashion-MNIST normalization mean must be finite");
  }

  const std::string prefix = split == Split::kTrain ? "train" : "t10k";
  const std::filesystem::path images_path = FindFile(options.dir, prefix + "-images-idx3-ubyte");
  const std::filesystem::path labels_path = FindFile(options.dir, prefix + "-labels-idx1-ubyte");

  const std::vector<uint32_t> image_dims = ReadIdxDims(images_path);
  if (image_dims.size() != 3 || image_dims[1] != kRows || image_dims[2] != kCols) {
    std::string shape;
    for (size_t i = 0; i < image_dims.size(); ++i) {
      if (i > 0) shape += 'x';
      shape += std::to_string(image_dims[i]);
    }
    throw DataError(images_path.string() + ": expected images of shape Nx28x28, got " + shape);
  }
  const IdxArray labels = subset ? ReadIdxRows(labels_path, rows) : ReadIdx(labels_path);
  if (labels.dims.size() != 1) {
    throw DataError(labels_path.string() + ": expected a 1-D label array, got " +
                    std::to_string(labels.dims.size()) + " dimensions");
  }
  if (labels.file_records != image_dims[0]) {
    throw DataError("Fashion-MNIST image and label counts differ: " + images_path.string() +
                    " has " + std::to_string(image_dims[0]) + " images but " +
                    labels_path.string() + " has " + std::to_string(labels.file_records) +
                    " labels");
  }
  const size_t n = labels.dims[0];

  Dataset out;
  out.name = split == Split::kTrain ? "fmnist/train" : "fmnist/test";
  out.num_classes = kNumClasses;
  out.sample_shape = {1, kRows, kCols};
  out.labels.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const uint8_t y = labels.data[i];
    if (y >= kNumClasses) {
      const size_t index = subset ? rows[i] : i;
      throw DataError(labels_path.string() + ": label at index " + std::to_string(index) + " is " +
                      std::to_string(y) + ", expected 0..9");
    }
    out.labels[i] = y;
  }

  constexpr size_t kPixels = size_t{kRows} * kCols;
  out.features.resize(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(kPixels));
  // x = byte * scale + shift folds [0,255] -> [0,1] and the optional
  // standardization into one multiply-add per pixel. Pixels are converted
  // as they stream in, so the bytes of the whole split are never held.
  float scale = 1.0f / 255.0f;
  float shift = 0.0f;
  if (norm.standardize) {
    scale = scale / norm.std;
    shift = -norm.mean / norm.std;
  }
  std::vector<uint32_t> all_rows;
  if (!subset) {
    all_rows.resize(n);
    std::iota(all_rows.begin(), all_rows.end(), 0u);
    rows = all_rows;
  }
  VisitIdxRows(images_path, rows, [&](size_t i, std::span<const uint8_t> pixels) {
    float* dst = out.features.data() + i * kPixels;
    for (size_t p = 0; p < kPixels; ++p)
      dst[p] = static_cast<float>(pixels[p]) * scale + shift;
  });
  return out;
}

}  // namespace

std::vector<int32_t> LoadFashionMnistLabels(Split split, const FashionMnistOptions& options) {
  const std::string prefix = split == Split::kTrain ? "train" : "t10k";
  const std::filesystem::path images_path = FindFile(options.dir, prefix + "-images-idx3-ubyte");
  const std::filesystem::path labels_path = FindFile(options.dir, prefix + "-labels-idx1-ubyte");
  const IdxArray labels = ReadIdx(labels_path);
  if (labels.dims.size() != 1) {
    throw DataError(labels_path.string() + ": expected a 1-D label array, got " +
                    std::to_string(labels.dims.size()) + " dimensions");
  }
  const std::vector<uint32_t> image_dims = ReadIdxDims(images_path);
  if (image_dims[0] != labels.file_records) {
    throw DataError("Fashion-MNIST image and label counts differ: " + images_path.string() +
                    " has " + std::to_string(image_dims[0]) + " images but " +
                    labels_path.string() + " has " + std::to_string(labels.file_records) +
                    " labels");
  }
  std::vector<int32_t> out(labels.data.size());
  for (size_t i = 0; i < out.size(); ++i) {
    if (labels.data[i] >= kNumClasses) {
      throw DataError(labels_path.string() + ": label at index " + std::to_string(i) + " is " +
                      std::to_string(labels.data[i]) + ", expected 0..9");
    }
    out[i] = labels.data[i];
  }
  return out;
}

Dataset LoadFashionMnist(Split split, const FashionMnistOptions& options) {
  return Load(split, options, /*subset=*/false, {});
}

Dataset LoadFashionMnistSamples(Split split, std::span<const uint32_t> indices,
                                const FashionMnistOptions& options) {
  return Load(split, options, /*subset=*/true, indices);
}

}  // namespace edgefl::datasets
