// 2-D convolution (cross-correlation, as in PyTorch) with zero padding, an
// optional fused ReLU and an optional fused max-pool, one sample at a time
// so that the full-resolution output never leaves the L1/L2 cache:
//
//   z = conv(x)                       per sample, scratch F x Ho x row stride
//   y = pool(relu(z + bias))          the layer's output, F x Ho/q x Wo/q
//
// (max-pool over non-overlapping q x q windows, floor mode, first maximum on
// ties, as MaxPool2d; pooling commutes with adding the per-channel bias and
// with the ReLU, so both are applied to the pooled values only.)
//
// The convolution itself is computed by one of three kernels:
//   - direct_conv.h for stride 1 and few input channels (LeNet's first layer),
//   - implicit_gemm_conv.h for stride 1 and many filters (LeNet's second);
//     its input gradient is input_gradient_conv.h's, a block of samples at
//     once as the vector lanes, without the multiplications by padding that
//     a full correlation of one sample's rows makes,
//   - im2col.h + one small Eigen GEMM per sample otherwise: with
//     cols = Im2Col(x) (P x C*k*k), z viewed as the P x F matrix it is in
//     channel-major layout is cols * Wt. Per-sample GEMMs stay in L1, which
//     measured faster than one large batch GEMM whose operands spill.
//
// Parameter slice layout: weights as PyTorch's (F, C, k, k) contiguous
// array (== Wt, (C*k*k) x F column-major), then the F biases.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nn/conv_geometry.h"
#include "nn/layer.h"

namespace edgefl::nn {

class DirectConv;
class ImplicitGemmConv;
class InputGradientConv;

struct Conv2dOptions {
  int filters = 1;  // output channels F
  int kernel = 3;   // square kernel size k
  int stride = 1;
  int padding = 0;    // zero padding on each side
  bool relu = false;  // fuse max(x, 0) into the output
  int pool = 1;       // fuse a pool x pool max-pool (stride pool) after the ReLU; 1 = none
};

class Conv2d final : public Layer {
 public:
  // REQUIRES: positive input shape, filters, kernel, stride and pool,
  // padding >= 0 and a non-empty (pooled) output (the model spec parser
  // guarantees these).
  Conv2d(ImageShape input, const Conv2dOptions& options);
  ~Conv2d() override;

  // The layer's output shape, after pooling.
  ImageShape output_shape() const { return output_; }
  ImageShape input_shape() const { return geometry_.input; }
  const Conv2dOptions& options() const { return options_; }

  std::string Describe() const override;
  Eigen::Index input_size() const override { return geometry_.input.size(); }
  Eigen::Index output_size() const override { return output_.size(); }
  Eigen::Index num_parameters() const override {
    return geometry_.patch_size() * geometry_.filters + geometry_.filters;
  }
  int depth() const override { return options_.pool > 1 ? 2 : 1; }
  void Initialize(Init init, Rng& rng, float* params) const override;
  void Forward(const float* params, const ConstMatrixRef& in, MatrixRef out) override;
  void Backward(const float* params, const ConstMatrixRef& in, const ConstMatrixRef& out,
                MatrixRef dout, float* grads, MatrixRef* din) override;

 private:
  // z_ = conv(x) for one sample, without bias.
  void Convolve(const float* weights, const float* x);
  // y = pool(relu(z_ + bias)) for one sample; records the pool's arg-max.
  void Epilogue(const float* bias, float* y, int32_t* argmax) const;
  // g_ = dL/dz for one sample from dy = dL/dy, y and the arg-max; dbias += its sums.
  void GradientOfZ(const float* dy, const float* y, const int32_t* argmax, float* dbias);
  // Epilogue and GradientOfZ of the implicit kernel with a fused pool: they
  // pool z_lanes_ and scatter into g_lanes_ (and g_, when with_g; and lane
  // `lane` of input_gradient_, when lane >= 0) in its filters-last layout,
  // and record arg-maxes as positions (rows of z_lanes_).
  void EpilogueLanes(const float* bias, float* y, int32_t* argmax);
  void GradientOfZLanes(const float* dy, const float* y, const int32_t* argmax, float* dbias,
                        bool with_g, int lane);

  ConvGeometry geometry_;
  Conv2dOptions options_;
  ImageShape output_;                                  // after pooling
  std::unique_ptr<DirectConv> direct_;                 // set: the direct kernel
  std::unique_ptr<ImplicitGemmConv> implicit_;         // set: the implicit GEMM; neither: im2col
  std::unique_ptr<InputGradientConv> input_gradient_;  // set: dL/dx by it (implicit_ only)
  Eigen::Index z_stride_;             // row stride of z_ and g_: Wo, or the direct kernel's
  Eigen::VectorXf z_;                 // F x Ho x z_stride_ conv output of one sample
  Eigen::VectorXf g_;                 // F x Ho x z_stride_ dL/dz of one sample (zero tails)
  Eigen::MatrixXf cols_;              // P x C*k*k patches of one sample
  Eigen::MatrixXf dcols_;             // P x C*k*k gradient of the patches
  Eigen::MatrixXf g_compact_;         // P x F copy of g_ for the direct kernel's input gradient
  Eigen::VectorXf lane_sums_;         // the direct kernel's weight-gradient partial sums
  Eigen::VectorXf dbias_scratch_;     // the bias gradient when only dL/din is wanted
  Eigen::VectorXf z_lanes_;           // the implicit kernel's z, P x lane_filters() row-major
  Eigen::VectorXf g_lanes_;           // the implicit kernel's g, P x lane_filters() row-major
  Eigen::VectorXf dweights_;          // the implicit kernel's weight gradient (its layout)
  bool lanes_pool_ = false;           // implicit kernel with a fused pool: pool in its layout
  Eigen::VectorXf pooled_lanes_;      // EpilogueLanes' maxima, pooled positions x lane_filters()
  std::vector<int32_t> pooled_args_;  // and their positions, same layout
  std::vector<int32_t> argmax_;       // per pooled output and sample: index into z_
};

}  // namespace edgefl::nn
