// Where a training step's time goes, layer by layer: for each layer of a
// model (nn::BuildLayers, the layers nn::Model runs), the microseconds per
// sample of its Forward, of its Backward as training runs it (parameter
// gradient, and the input gradient for every layer but the first), and of
// the input gradient alone (what an adversarial ascent asks of every layer,
// the first included), next to the multiply-adds each does and the GFLOP/s
// that makes. One thread, real Fashion-MNIST batches, the layers' own
// kernels; a final row times the whole Model's Forward + Backward
// (LossAndGradient) for comparison with the sum of the rows.
//
// The machine's 1-minute load average is printed with the header: on a
// shared machine compare the rows of one invocation, not absolute rates.
//
//   build/bench/layer_profile [--model SPEC] [--batch B] [--samples N]
//                             [--data-dir DIR]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "common/random.h"
#include "datasets/fashion_mnist.h"
#include "nn/batch.h"
#include "nn/layer.h"
#include "nn/model.h"
#include "nn/model_spec.h"
#include "nn/softmax_cross_entropy.h"

namespace {

using Clock = std::chrono::steady_clock;
using Eigen::Index;
using Eigen::MatrixXf;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

// Multiply-adds per sample of a layer's forward pass, from its description
// ("dense A->B", "conv2d CxHxW kK sS pP -> FxHoxWo ..."); 0 for the others.
double ForwardMacs(const std::string& text) {
  int a = 0, b = 0;
  if (std::sscanf(text.c_str(), "dense %d->%d", &a, &b) == 2) return double(a) * b;
  int c, h, w, k, s, p, f, ho, wo;
  if (std::sscanf(text.c_str(), "conv2d %dx%dx%d k%d s%d p%d -> %dx%dx%d", &c, &h, &w, &k, &s, &p,
                  &f, &ho, &wo) == 9) {
    return double(c) * k * k * f * ho * wo;
  }
  return 0.0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string spec = "cnn:lenet";
  int batch = 64;
  long samples = 20000;
  std::string data_dir = edgefl::datasets::kFashionMnistDefaultDir;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--model") && i + 1 < argc) {
      spec = argv[++i];
    } else if (!std::strcmp(argv[i], "--batch") && i + 1 < argc) {
      batch = std::atoi(argv[++i]);
    } else if (!std::strcmp(argv[i], "--samples") && i + 1 < argc) {
      samples = std::atol(argv[++i]);
    } else if (!std::strcmp(argv[i], "--data-dir") && i + 1 < argc) {
      data_dir = argv[++i];
    } else {
      std::fprintf(stderr, "usage: %s [--model SPEC] [--batch B] [--samples N] [--data-dir DIR]\n",
                   argv[0]);
      return 2;
    }
  }
  try {
    if (batch <= 0 || samples < batch) throw std::runtime_error("need batch > 0, samples >= batch");
    Eigen::setNbThreads(1);
    edgefl::datasets::FashionMnistOptions options;
    options.dir = data_dir;
    const edgefl::datasets::Dataset data =
        edgefl::datasets::LoadFashionMnist(edgefl::datasets::Split::kTrain, options);
    const edgefl::nn::ModelSpec parsed = edgefl::nn::ParseModelSpec(spec);
    std::vector<std::unique_ptr<edgefl::nn::Layer>> layers = edgefl::nn::BuildLayers(parsed);
    edgefl::nn::Model model(spec);
    model.Initialize(1);

    // Activations of one batch through the model's own parameters.
    const Index steps = samples / batch;
    std::vector<MatrixXf> acts(layers.size() + 1);
    acts[0] = edgefl::nn::ColumnBlock(data.features, 0, batch);
    std::vector<Index> offsets(layers.size());
    for (size_t i = 0, offset = 0; i < layers.size(); ++i) {
      offsets[i] = static_cast<Index>(offset);
      offset += static_cast<size_t>(layers[i]->num_parameters());
    }
    const float* params = model.parameters().data();
    for (size_t i = 0; i < layers.size(); ++i) {
      acts[i + 1].resize(layers[i]->output_size(), batch);
      layers[i]->Forward(params + offsets[i], acts[i], acts[i + 1]);
    }
    MatrixXf dlogits;
    const std::vector<int32_t> labels(data.labels.begin(), data.labels.begin() + batch);
    edgefl::nn::SoftmaxCrossEntropy(acts.back(), labels, &dlogits);
    Eigen::VectorXf grads = Eigen::VectorXf::Zero(model.num_parameters());

    std::printf("layer_profile: %s, batch %d, %ld samples per row, one thread, build %s\n",
                spec.c_str(), batch, static_cast<long>(steps * batch),
                EDGEFL_NATIVE_BUILD ? "-march=native" : "portable");
    double load[1] = {0.0};
    if (getloadavg(load, 1) == 1) std::printf("load average at start: %.2f\n", load[0]);
    std::printf("%-48s %9s %11s %11s %11s %9s %9s\n", "layer", "fwd MMAC", "fwd us/smp",
                "bwd us/smp", "dx us/smp", "fwd GF/s", "bwd GF/s");
    double total_forward = 0, total_backward = 0;
    for (size_t i = 0; i < layers.size(); ++i) {
      edgefl::nn::Layer& layer = *layers[i];
      const float* p = params + offsets[i];
      auto time_it = [&](auto&& body) {
        for (int w = 0; w < 3; ++w)
          body();
        const auto start = Clock::now();
        for (Index s = 0; s < steps; ++s)
          body();
        return Seconds(start) / static_cast<double>(steps * batch) * 1e6;
      };
      MatrixXf out(layer.output_size(), batch), dout(layer.output_size(), batch);
      MatrixXf din(layer.input_size(), batch);
      const double forward = time_it([&] { layer.Forward(p, acts[i], out); });
      // The upstream gradient: dlogits for the last layer, a fixed pattern
      // otherwise (the work does not depend on its values; Backward may
      // overwrite dout, so it is reset each time).
      MatrixXf upstream =
          i + 1 == layers.size() ? dlogits : MatrixXf::Constant(layer.output_size(), batch, 1e-3f);
      layer.Forward(p, acts[i], out);
      float* g = grads.data() + offsets[i];
      const double backward = time_it([&] {
        dout = upstream;
        edgefl::nn::MatrixRef d = din;
        layer.BackwardOverwrite(p, acts[i], out, dout, g, i > 0 ? &d : nullptr);
      });
      const double input_only = time_it([&] {
        dout = upstream;
        edgefl::nn::MatrixRef d = din;
        layer.Backward(p, acts[i], out, dout, nullptr, &d);
      });
      const double macs = ForwardMacs(layer.Describe());
      // Backward: the parameter gradient costs one forward's multiply-adds,
      // the input gradient another (not made for the first layer).
      const double backward_macs = macs * (i > 0 ? 2.0 : 1.0);
      std::printf("%-48s %9.3f %11.3f %11.3f %11.3f %9.1f %9.1f\n", layer.Describe().c_str(),
                  macs / 1e6, forward, backward, input_only,
                  forward > 0 ? 2 * macs / forward / 1e3 : 0.0,
                  backward > 0 ? 2 * backward_macs / backward / 1e3 : 0.0);
      total_forward += forward;
      total_backward += backward;
    }
    std::printf("%-48s %9s %11.3f %11.3f\n", "sum of the layers", "", total_forward,
                total_backward);
    // The whole model as training runs it (softmax, buffers, gradient zeroing).
    Index position = 0;
    MatrixXf x(data.features.rows(), batch);
    std::vector<int32_t> y(static_cast<size_t>(batch));
    auto step = [&] {
      if (position + batch > static_cast<Index>(data.size())) position = 0;
      x = edgefl::nn::ColumnBlock(data.features, position, batch);
      std::copy_n(data.labels.begin() + position, batch, y.begin());
      position += batch;
      model.LossAndGradient(x, y);
    };
    for (int w = 0; w < 3; ++w)
      step();
    const auto start = Clock::now();
    for (Index s = 0; s < steps; ++s)
      step();
    std::printf("%-48s %9s %11.3f  (Model::LossAndGradient, forward + backward)\n", "whole model",
                "", Seconds(start) / static_cast<double>(steps * batch) * 1e6);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "layer_profile: %s\n", e.what());
    return 1;
  }
}
