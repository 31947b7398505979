// The models' kernels give the same loss and gradient on every build, within
// float tolerance: the vectorised x86 paths (-march=native: Eigen's AVX2/FMA
// code, and nn/gemm.h's own kernel where AVX-512 is there), the portable x86
// build (EDGEFL_NATIVE=OFF: SSE2) and aarch64 (NEON; scripts/cross-arm64.sh
// runs this suite under qemu-aarch64). Every build checks itself against the
// values in tests/nn/kernel_reference.txt, written on x86-64 with AVX2 and
// FMA (-march=native, no AVX-512), so two builds that pass agree with each
// other within twice the tolerance. Inputs and initial parameters come from
// edgefl::Rng, which gives the same numbers on every platform.
//
// To rewrite the file (after a deliberate change of a model's numerics):
//   EDGEFL_WRITE_KERNEL_REFERENCE=tests/nn/kernel_reference.txt
//   build/tests/edgefl_nn_tests -tc="kernel reference*"
// (both on one command line).
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "nn/model.h"
#include "tests/nn/grad_check.h"
#include "tests/test_util.h"

namespace edgefl::nn {
namespace {

// What a build computes for one model: the loss and gradient of one batch
// from Initialize(7).
struct Values {
  double loss = 0.0;
  double gradient_norm = 0.0;
  std::vector<double> coordinates;  // the gradient at kCoordinates spread indices
};

constexpr int kCoordinates = 24;

// MLP and LeNet (dense and convolution kernels, nn/gemm.h's products), and
// the two language models (recurrent cells, attention, layer norm).
constexpr const char* kSpecs[] = {"mlp:784-200-200-10", "cnn:lenet", "rnn:gru-64-e16-t32-v64",
                                  "lm:transformer-d32-h2-l1-t32-v64"};

Values Compute(const std::string& spec) {
  Model model(spec);
  model.Initialize(7);
  Eigen::MatrixXf x;
  std::vector<int32_t> labels;
  if (spec.rfind("rnn:", 0) == 0 || spec.rfind("lm:", 0) == 0) {
    x = testing::RandomWindows(32, 8, 64, 13);
    labels.assign(static_cast<size_t>(x.cols()), 0);  // ignored: the targets are in x
  } else {
    x = testing::RandomMatrix(model.input_dim(), 32, 11);
    for (int i = 0; i < 32; ++i)
      labels.push_back(i % model.num_classes());
  }
  Values v;
  v.loss = model.LossAndGradient(x, labels);
  const Eigen::VectorXf g = model.gradients();
  v.gradient_norm = g.cast<double>().norm();
  const Eigen::Index n = g.size();
  for (int i = 0; i < kCoordinates; ++i) {
    // Spread over the vector, off the layers' boundaries.
    v.coordinates.push_back(g[(n * i / kCoordinates + 7 * i + 3) % n]);
  }
  return v;
}

// "spec loss norm g0 ... g23" per line, as the writer prints them.
Values Parse(const std::string& line, std::string* spec) {
  std::istringstream in(line);
  Values v;
  in >> *spec >> v.loss >> v.gradient_norm;
  double c = 0.0;
  while (in >> c)
    v.coordinates.push_back(c);
  return v;
}

}  // namespace

TEST_CASE("kernel reference: loss and gradient equal the recorded values within float tolerance") {
  if (const char* out = std::getenv("EDGEFL_WRITE_KERNEL_REFERENCE")) {
    std::ofstream file(out);
    REQUIRE(file.good());
    for (const char* spec : kSpecs) {
      const Values v = Compute(spec);
      char number[32];
      file << spec;
      for (double x : {v.loss, v.gradient_norm}) {
        std::snprintf(number, sizeof number, " %.9g", x);
        file << number;
      }
      for (double x : v.coordinates) {
        std::snprintf(number, sizeof number, " %.9g", x);
        file << number;
      }
      file << "\n";
    }
    MESSAGE("wrote " << out);
    return;
  }
  std::istringstream lines(
      edgefl::testing::ReadFile(edgefl::testing::SourceDir() + "/tests/nn/kernel_reference.txt"));
  std::string line;
  int checked = 0;
  while (std::getline(lines, line)) {
    std::string spec;
    const Values want = Parse(line, &spec);
    CAPTURE(spec);
    REQUIRE(want.coordinates.size() == kCoordinates);
    const Values got = Compute(spec);
    // Float sums in another order differ by ~1e-6 relative; a wrong kernel
    // by far more.
    constexpr double kTolerance = 1e-4;
    CHECK(std::abs(got.loss - want.loss) <= kTolerance * std::abs(want.loss));
    CHECK(std::abs(got.gradient_norm - want.gradient_norm) <= kTolerance * want.gradient_norm);
    double scale = 0.0;
    for (double c : want.coordinates)
      scale = std::max(scale, std::abs(c));
    for (int i = 0; i < kCoordinates; ++i) {
      CAPTURE(i);
      CHECK(std::abs(got.coordinates[i] - want.coordinates[i]) <= kTolerance * scale);
    }
    ++checked;
  }
  CHECK(checked == std::size(kSpecs));
}

}  // namespace edgefl::nn
