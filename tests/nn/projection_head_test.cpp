// The "+proj" projection head (nn/model_spec.h): FedBR's P, carried in the
// flat parameter vector but never used by Forward/Backward.
#include <cmath>

#include <doctest/doctest.h>

#include "common/error.h"
#include "common/random.h"
#include "nn/model.h"

namespace edgefl::nn {

TEST_CASE("+proj appends a d -> 2d -> 2d -> d head after the model's parameters") {
  const Model plain("mlp:20-8-4");
  const Model with("mlp:20-8-4+proj");
  CHECK(with.has_projection_head());
  CHECK_FALSE(plain.has_projection_head());
  CHECK(plain.projection_head_size() == 0);
  // d = 8: W1 16x8 + b1 16 + W2 16x16 + b2 16 + W3 8x16 + b3 8 = 8·64 + 5·8.
  CHECK(with.projection_head_size() == 552);
  CHECK(with.projection_head_offset() == plain.num_parameters());
  CHECK(with.num_parameters() == plain.num_parameters() + 552);
  CHECK(with.spec().text == "mlp:20-8-4+proj");
  // LeNet's features are its 84 penultimate units.
  CHECK(Model("cnn:lenet+proj").projection_head_size() == 8 * 84 * 84 + 5 * 84);
}

TEST_CASE("+proj head is initialised as PyTorch's nn.Linear and leaves the model's init alone") {
  Model plain("mlp:20-8-4");
  Model with("mlp:20-8-4+proj");
  plain.Initialize(5);
  with.Initialize(5);
  CHECK(with.parameters().head(plain.num_parameters()) == plain.parameters());
  const Eigen::VectorXf head = with.parameters().tail(with.projection_head_size());
  const float bound_d = 1.0f / std::sqrt(8.0f);
  const float bound_2d = 1.0f / std::sqrt(16.0f);
  CHECK(head.head(16 * 8 + 16).cwiseAbs().maxCoeff() <= bound_d);
  CHECK(head.head(16 * 8 + 16).cwiseAbs().maxCoeff() > 0.8f * bound_d);
  CHECK(head.tail(552 - 144).cwiseAbs().maxCoeff() <= bound_2d);
  CHECK(head.tail(552 - 144).cwiseAbs().maxCoeff() > 0.8f * bound_2d);
}

TEST_CASE("+proj head does not change the logits and gets no gradient from the loss") {
  Model model("mlp:20-8-4+proj");
  model.Initialize(1);
  Rng rng(2);
  Eigen::MatrixXf x(20, 6);
  for (Eigen::Index i = 0; i < x.size(); ++i)
    x.data()[i] = static_cast<float>(rng.Normal());
  const std::vector<int32_t> labels = {0, 1, 2, 3, 0, 1};
  const Eigen::MatrixXf logits = model.Forward(x);
  model.gradients().setConstant(7.0f);
  model.LossAndGradient(x, labels);  // overwrites every gradient
  CHECK(model.gradients().tail(model.projection_head_size()).isZero(0.0f));
  CHECK_FALSE(model.gradients().head(model.projection_head_offset()).isZero(0.0f));
  model.parameters().tail(model.projection_head_size()).setConstant(3.0f);
  CHECK(Eigen::MatrixXf(model.Forward(x)) == logits);
}

TEST_CASE("+proj is refused without a feature extractor or with another suffix") {
  CHECK_THROWS_WITH_AS(Model("logreg:20-4+proj"), doctest::Contains("feature extractor"),
                       ConfigError);
  CHECK_THROWS_WITH_AS(Model("mlp:20-4+proj"), doctest::Contains("feature extractor"), ConfigError);
  CHECK_THROWS_WITH_AS(Model("mlp:20-8-4+head"), doctest::Contains("unknown suffix \"+head\""),
                       ConfigError);
}

}  // namespace edgefl::nn
