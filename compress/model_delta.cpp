#include "compress/model_delta.h"

#include <string>

namespace edgefl::compress {

EncodedModel ModelDeltaSender::Encode(std::span<const float> model, int64_t version,
                                      const CompressionConfig& config, Rng& rng) {
  EncodedModel out;
  out.version = version;
  if (!held_ || mirror_.size() != model.size()) {
    out.delta = false;
    out.codec = Codec::kNone;
    out.bytes = compress::Encode(model, Codec::kNone, config, rng);
    mirror_ = Decode(Codec::kNone, out.bytes, model.size());
  } else {
    std::vector<float> delta(model.size());
    for (size_t i = 0; i < model.size(); ++i)
      delta[i] = model[i] - mirror_[i];
    out.delta = true;
    out.base_version = version_;
    out.codec = config.codec;
    out.bytes = compress::Encode(delta, config, rng);
    DecodeAdd(out.codec, out.bytes, mirror_);
  }
  version_ = version;
  held_ = true;
  return out;
}

const std::vector<float>& ModelDeltaReceiver::Apply(const EncodedModel& encoded) {
  if (!encoded.delta) {
    if (encoded.codec != Codec::kNone) {
      throw CodecError("a full model must be fp32 (codec none), not " +
                       std::string(CodecName(encoded.codec)));
    }
    model_ = Decode(encoded.codec, encoded.bytes, Validate(encoded.codec, encoded.bytes));
  } else {
    if (!held_) {
      throw CodecError("a model delta against version " + std::to_string(encoded.base_version) +
                       " but no model is held");
    }
    if (encoded.base_version != version_) {
      throw CodecError("a model delta against version " + std::to_string(encoded.base_version) +
                       " but version " + std::to_string(version_) + " is held");
    }
    std::vector<float> next = model_;
    DecodeAdd(encoded.codec, encoded.bytes, next);
    model_ = std::move(next);
  }
  version_ = encoded.version;
  held_ = true;
  return model_;
}

}  // namespace edgefl::compress
