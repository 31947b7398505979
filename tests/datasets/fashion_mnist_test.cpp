#include "datasets/fashion_mnist.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "common/error.h"
#include "tests/datasets/loader_test_util.h"
#include "tests/test_util.h"

namespace edgefl::datasets {
namespace {

using testing::FashionMnistPackageDir;
using testing::IdxBytes;
using testing::TempDir;
using testing::ThrownMessage;
using testing::WriteFile;
using testing::WriteGzFile;

// Summary statistics over all pixels. Plain loops: GCC 12 gives false
// -Wmaybe-uninitialized warnings on Eigen's AVX-512 reductions.
struct Moments {
  double mean = 0.0;
  double std = 0.0;
  float min = 0.0f;
  float max = 0.0f;
};

Moments FeatureMoments(const Dataset& d) {
  const float* x = d.features.data();
  const size_t n = static_cast<size_t>(d.features.size());
  Moments m;
  m.min = n > 0 ? x[0] : 0.0f;
  m.max = m.min;
  double sum = 0.0;
  for (size_t i = 0; i < n; ++i) {
    sum += x[i];
    m.min = std::min(m.min, x[i]);
    m.max = std::max(m.max, x[i]);
  }
  m.mean = sum / static_cast<double>(n);
  double sq = 0.0;
  for (size_t i = 0; i < n; ++i)
    sq += (x[i] - m.mean) * (x[i] - m.mean);
  m.std = std::sqrt(sq / static_cast<double>(n));
  return m;
}

using testing::HasSubstr;

// Writes a small Fashion-MNIST-like split ("train" prefix) to `dir`:
// `n_images` 28x28 images whose pixel i of image k is (k + i) % 256, and the
// given labels. gz selects compressed files with the ".gz" suffix.
void WriteSplit(const TempDir& dir, size_t n_images, const std::string& labels, bool gz) {
  std::string pixels(n_images * 28 * 28, '\0');
  for (size_t k = 0; k < n_images; ++k) {
    for (size_t i = 0; i < 28 * 28; ++i)
      pixels[k * 784 + i] = static_cast<char>((k + i) % 256);
  }
  const std::string images = IdxBytes({static_cast<uint32_t>(n_images), 28, 28}, pixels);
  const std::string label_bytes = IdxBytes({static_cast<uint32_t>(labels.size())}, labels);
  if (gz) {
    WriteGzFile(dir / "train-images-idx3-ubyte.gz", images);
    WriteGzFile(dir / "train-labels-idx1-ubyte.gz", label_bytes);
  } else {
    WriteFile(dir / "train-images-idx3-ubyte", images);
    WriteFile(dir / "train-labels-idx1-ubyte", label_bytes);
  }
}

TEST_CASE("real Fashion-MNIST train split: 60000 images - 6000 per class - known mean") {
  FashionMnistOptions options;
  options.dir = FashionMnistPackageDir();
  const auto start = std::chrono::steady_clock::now();
  const Dataset train = LoadFashionMnist(Split::kTrain, options);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  MESSAGE("Fashion-MNIST train loaded in " << seconds << " s");
  CHECK(seconds < 5.0);  // loose guard; typically ~0.3 s

  CHECK(train.name == "fmnist/train");
  CHECK(train.size() == 60000);
  CHECK(train.features.rows() == 60000);
  CHECK(train.features.cols() == 28 * 28);
  CHECK(train.dim() == 784);
  CHECK(train.sample_shape == std::vector<int>{1, 28, 28});
  CHECK(train.num_classes == 10);
  CHECK(ClassCounts(train.labels, 10) == std::vector<size_t>(10, 6000));
  const Moments m = FeatureMoments(train);
  CHECK(m.min == 0.0f);
  CHECK(m.max == 1.0f);
  CHECK(std::fabs(m.mean - 0.2860) < 0.001);
  CHECK(std::fabs(m.std - 0.3530) < 0.001);
}

TEST_CASE("real Fashion-MNIST test split: 10000 images - 1000 per class") {
  FashionMnistOptions options;
  options.dir = FashionMnistPackageDir();
  const Dataset test = LoadFashionMnist(Split::kTest, options);
  CHECK(test.name == "fmnist/test");
  CHECK(test.size() == 10000);
  CHECK(test.features.rows() == 10000);
  CHECK(test.features.cols() == 784);
  CHECK(test.sample_shape == std::vector<int>{1, 28, 28});
  CHECK(ClassCounts(test.labels, 10) == std::vector<size_t>(10, 1000));
  for (int32_t y : test.labels)
    REQUIRE((y >= 0 && y < 10));
  const Moments m = FeatureMoments(test);
  CHECK(m.min >= 0.0f);
  CHECK(m.max <= 1.0f);
  CHECK(std::fabs(m.mean - 0.2868) < 0.001);
}

TEST_CASE("real Fashion-MNIST standardized has mean ~0 and std ~1") {
  FashionMnistOptions options;
  options.dir = FashionMnistPackageDir();
  options.normalization.standardize = true;
  const Dataset train = LoadFashionMnist(Split::kTrain, options);
  const Moments m = FeatureMoments(train);
  CHECK(std::fabs(m.mean) < 0.005);
  CHECK(std::fabs(m.std - 1.0) < 0.005);
  // Pixel 0 maps to -mean/std.
  CHECK(m.min == doctest::Approx(-0.2860 / 0.3530).epsilon(1e-5));
}

TEST_CASE("LoadFashionMnist reads plain and gzip files from any directory") {
  for (bool gz : {false, true}) {
    CAPTURE(gz);
    TempDir dir;
    WriteSplit(dir, 3, std::string{0, 9, 4}, gz);
    FashionMnistOptions options;
    options.dir = dir.path();
    const Dataset d = LoadFashionMnist(Split::kTrain, options);
    REQUIRE(d.size() == 3);
    CHECK(d.labels == std::vector<int32_t>{0, 9, 4});
    CHECK(d.features(0, 0) == 0.0f);
    CHECK(d.features(0, 255) == 1.0f);
    CHECK(d.features(2, 1) == doctest::Approx(3.0 / 255.0));
    CHECK(d.features(1, 783) == doctest::Approx(((1 + 783) % 256) / 255.0));
  }
}

TEST_CASE("LoadFashionMnist: missing files name the path and the Debian package") {
  TempDir dir;
  FashionMnistOptions options;
  options.dir = dir.path();
  CHECK_THROWS_AS(LoadFashionMnist(Split::kTest, options), IoError);
  const std::string msg = ThrownMessage<IoError>([&] { LoadFashionMnist(Split::kTest, options); });
  CHECK(HasSubstr(msg, (dir / "t10k-images-idx3-ubyte.gz").string()));
  CHECK(HasSubstr(msg, "dataset-fashion-mnist"));

  // Images present, labels missing.
  WriteSplit(dir, 2, std::string{1, 2}, false);
  std::filesystem::remove(dir / "train-labels-idx1-ubyte");
  const std::string msg2 =
      ThrownMessage<IoError>([&] { LoadFashionMnist(Split::kTrain, options); });
  CHECK(HasSubstr(msg2, (dir / "train-labels-idx1-ubyte").string()));
}

TEST_CASE("LoadFashionMnist: label out of range names file - index and value") {
  TempDir dir;
  WriteSplit(dir, 4, std::string{0, 3, 10, 1}, true);
  FashionMnistOptions options;
  options.dir = dir.path();
  CHECK_THROWS_AS(LoadFashionMnist(Split::kTrain, options), DataError);
  const std::string msg =
      ThrownMessage<DataError>([&] { LoadFashionMnist(Split::kTrain, options); });
  CHECK(HasSubstr(msg, (dir / "train-labels-idx1-ubyte.gz").string()));
  CHECK(HasSubstr(msg, "label at index 2 is 10, expected 0..9"));
}

TEST_CASE("LoadFashionMnist: image and label counts differ") {
  TempDir dir;
  WriteSplit(dir, 3, std::string{0, 1}, false);
  FashionMnistOptions options;
  options.dir = dir.path();
  CHECK_THROWS_AS(LoadFashionMnist(Split::kTrain, options), DataError);
  const std::string msg =
      ThrownMessage<DataError>([&] { LoadFashionMnist(Split::kTrain, options); });
  CHECK(HasSubstr(msg, (dir / "train-images-idx3-ubyte").string() + " has 3 images"));
  CHECK(HasSubstr(msg, (dir / "train-labels-idx1-ubyte").string() + " has 2 labels"));
}

TEST_CASE("LoadFashionMnist: wrong shapes") {
  TempDir dir;
  FashionMnistOptions options;
  options.dir = dir.path();
  WriteFile(dir / "train-images-idx3-ubyte", IdxBytes({2, 27, 27}, std::string(2 * 27 * 27, 'a')));
  WriteFile(dir / "train-labels-idx1-ubyte", IdxBytes({2}, std::string{0, 1}));
  std::string msg = ThrownMessage<DataError>([&] { LoadFashionMnist(Split::kTrain, options); });
  CHECK(HasSubstr(msg, (dir / "train-images-idx3-ubyte").string()));
  CHECK(HasSubstr(msg, "expected images of shape Nx28x28, got 2x27x27"));

  WriteSplit(dir, 2, "", false);
  WriteFile(dir / "train-labels-idx1-ubyte", IdxBytes({2, 1}, std::string{0, 1}));
  msg = ThrownMessage<DataError>([&] { LoadFashionMnist(Split::kTrain, options); });
  CHECK(HasSubstr(msg, (dir / "train-labels-idx1-ubyte").string()));
  CHECK(HasSubstr(msg, "expected a 1-D label array"));
}

TEST_CASE("LoadFashionMnist: wrong magic and truncation name the file") {
  TempDir dir;
  FashionMnistOptions options;
  options.dir = dir.path();
  // A labels file that is not IDX at all.
  WriteSplit(dir, 2, std::string{0, 1}, false);
  WriteFile(dir / "train-labels-idx1-ubyte", "not an idx file at all");
  std::string msg = ThrownMessage<DataError>([&] { LoadFashionMnist(Split::kTrain, options); });
  CHECK(HasSubstr(msg, (dir / "train-labels-idx1-ubyte").string()));
  CHECK(HasSubstr(msg, "bad IDX magic"));

  // The real labels file, cut short.
  TempDir cut;
  const std::string real =
      testing::ReadFile(FashionMnistPackageDir() / "t10k-labels-idx1-ubyte.gz");
  WriteFile(cut / "t10k-labels-idx1-ubyte.gz", real.substr(0, real.size() / 2));
  WriteGzFile(cut / "t10k-images-idx3-ubyte.gz",
              IdxBytes({10000, 28, 28}, std::string(10000 * 784, '\0')));
  options.dir = cut.path();
  msg = ThrownMessage<DataError>([&] { LoadFashionMnist(Split::kTest, options); });
  CHECK(HasSubstr(msg, (cut / "t10k-labels-idx1-ubyte.gz").string()));
  CHECK(HasSubstr(msg, "truncated: expected 10000 bytes of data"));
}

TEST_CASE("LoadFashionMnist: standardize needs std > 0") {
  FashionMnistOptions options;
  options.dir = FashionMnistPackageDir();
  options.normalization.standardize = true;
  options.normalization.std = 0.0f;
  CHECK_THROWS_WITH_AS(LoadFashionMnist(Split::kTest, options), doctest::Contains("std"),
                       ConfigError);
}

}  // namespace
}  // namespace edgefl::datasets

namespace edgefl::datasets {

TEST_CASE("LoadFashionMnistSamples equals the same rows of the full split") {
  // The package's gzip files and the tests' uncompressed copy of them
  // (tests/CMakeLists.txt) take different paths through the reader.
  FashionMnistOptions options;
  options.dir = edgefl::testing::FashionMnistPackageDir();
  const Dataset full = LoadFashionMnist(Split::kTrain, options);
  const std::vector<uint32_t> rows = {0, 1, 17, 30000, 59999};
  for (const auto& dir :
       {edgefl::testing::FashionMnistPackageDir(), edgefl::testing::FashionMnistDir()}) {
    CAPTURE(dir);
    options.dir = dir;
    const Dataset some = LoadFashionMnistSamples(Split::kTrain, rows, options);
    REQUIRE(some.size() == rows.size());
    CHECK(some.name == "fmnist/train");
    CHECK(some.sample_shape == full.sample_shape);
    for (size_t i = 0; i < rows.size(); ++i) {
      CHECK(some.labels[i] == full.labels[rows[i]]);
      CHECK(some.features.row(static_cast<Eigen::Index>(i)) == full.features.row(rows[i]));
    }
    CHECK_THROWS_AS(LoadFashionMnistSamples(Split::kTest, std::vector<uint32_t>{10000}, options),
                    DataError);
  }
}

}  // namespace edgefl::datasets

namespace edgefl::datasets {

TEST_CASE("LoadFashionMnistLabels equals the labels of the full split") {
  FashionMnistOptions options;
  options.dir = edgefl::testing::FashionMnistDir();
  CHECK(LoadFashionMnistLabels(Split::kTest, options) ==
        LoadFashionMnist(Split::kTest, options).labels);
  options.dir = "/nonexistent-dir";
  CHECK_THROWS_AS(LoadFashionMnistLabels(Split::kTest, options), IoError);
}

}  // namespace edgefl::datasets
