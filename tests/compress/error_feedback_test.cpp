// Error feedback and the model delta: the residual is exact, and both ends
// of a model delta hold the same model (compress/error_feedback.h,
// model_delta.h).
#include "compress/error_feedback.h"

#include <cmath>
#include <vector>

#include <doctest/doctest.h>

#include "common/random.h"
#include "compress/model_delta.h"

namespace edgefl::compress {

TEST_CASE("error feedback: sum of sent plus residual equals the sum of the updates exactly") {
  // Dyadic values (multiples of 1/8 below 2^10): every addition is exact, so
  // the identity must hold bit for bit.
  Rng rng(3);
  const size_t n = 200;
  ErrorFeedback feedback;
  std::vector<float> sent_total(n, 0.0f), true_total(n, 0.0f);
  for (int round = 0; round < 12; ++round) {
    std::vector<float> update(n);
    for (size_t i = 0; i < n; ++i) {
      update[i] = static_cast<float>(static_cast<int>(rng.UniformInt(129)) - 64) / 8.0f;
      true_total[i] += update[i];
    }
    const std::vector<uint8_t> bytes = feedback.EncodeTopK(update, 0.05);  // k = 10
    CHECK(bytes.size() == 8 + 8 * 10);
    DecodeAdd(Codec::kTopK, bytes, sent_total);
    std::vector<float> accounted = sent_total;
    for (size_t i = 0; i < n; ++i)
      accounted[i] += feedback.residual()[i];
    REQUIRE(accounted == true_total);
  }
  // The residual is zero where the last encoding sent a coordinate.
  const std::vector<float> last(n, 0.0f);
  const std::vector<float> before = feedback.residual();
  const std::vector<float> y = Decode(Codec::kTopK, feedback.EncodeTopK(last, 0.05), n);
  for (size_t i = 0; i < n; ++i) {
    if (y[i] != 0.0f) {
      CHECK(y[i] == before[i]);
      CHECK(feedback.residual()[i] == 0.0f);
    }
  }
}

TEST_CASE("error feedback: a residual of another length is dropped and only top-k keeps one") {
  ErrorFeedback feedback;
  feedback.set_residual({1.0f, 2.0f});
  feedback.EncodeTopK(std::vector<float>{0.0f, 0.0f, 5.0f}, 0.34);  // k = 2 of 3
  CHECK(feedback.residual() == std::vector<float>{0.0f, 0.0f, 0.0f});
  CompressionConfig fp16;
  fp16.codec = Codec::kFp16;
  Rng rng(1);
  EncodeUpdate(std::vector<float>{1.0f, 2.0f, 3.0f}, fp16, rng, feedback);
  CHECK(feedback.residual() == std::vector<float>{0.0f, 0.0f, 0.0f});
}

TEST_CASE("model delta: the full model first then deltas that keep both ends identical") {
  for (Codec codec : {Codec::kFp16, Codec::kInt8, Codec::kTopK}) {
    CAPTURE(static_cast<int>(codec));
    CompressionConfig config;
    config.codec = codec;
    config.topk_fraction = 0.1;
    ModelDeltaSender sender;
    ModelDeltaReceiver receiver;
    Rng rng(9), drift(10);
    std::vector<float> model(500);
    for (float& v : model)
      v = static_cast<float>(drift.Normal());
    for (int version = 1; version <= 6; ++version) {
      const EncodedModel encoded = sender.Encode(model, version, config, rng);
      CHECK(encoded.delta == (version > 1));
      if (version == 1) CHECK(encoded.bytes.size() == 4 + 4 * model.size());
      const std::vector<float>& held = receiver.Apply(encoded);
      REQUIRE(held == sender.mirror());  // bit for bit
      if (version == 1) CHECK(held == model);
      for (float& v : model)
        v += 0.01f * static_cast<float>(drift.Normal());
    }
  }
}

TEST_CASE("model delta: top-k deltas of a fixed model reach it exactly") {
  CompressionConfig config;
  config.codec = Codec::kTopK;
  config.topk_fraction = 0.25;
  ModelDeltaSender sender;
  ModelDeltaReceiver receiver;
  Rng rng(1);
  std::vector<float> model = {1, 2, 3, 4, 5, 6, 7, 8};
  receiver.Apply(sender.Encode(model, 1, config, rng));
  for (float& v : model)
    v += 1.0f;
  for (int version = 2; version <= 5; ++version)
    receiver.Apply(sender.Encode(model, version, config, rng));  // 2 of 8 each time
  CHECK(receiver.model() == model);
}

TEST_CASE("model delta: a delta against another version or with no model held is refused") {
  CompressionConfig config;
  config.codec = Codec::kFp16;
  ModelDeltaSender sender;
  Rng rng(1);
  const std::vector<float> model = {1.0f, 2.0f};
  const EncodedModel full = sender.Encode(model, 4, config, rng);
  const EncodedModel delta = sender.Encode(model, 5, config, rng);
  CHECK(delta.base_version == 4);
  ModelDeltaReceiver fresh;
  CHECK_THROWS_WITH_AS(fresh.Apply(delta), "a model delta against version 4 but no model is held",
                       CodecError);
  ModelDeltaReceiver receiver;
  receiver.Apply(full);
  receiver.Apply(delta);
  CHECK_THROWS_WITH_AS(receiver.Apply(delta),
                       "a model delta against version 4 but version 5 is held", CodecError);
  CHECK(receiver.version() == 5);
}

}  // namespace edgefl::compress
