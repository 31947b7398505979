// The coordinator -> client direction: the model as a delta against the
// model the client already holds, compressed with the run's codec; the full
// model (fp32) when it holds none.
//
// Both ends keep a mirror of what the client holds. The sender encodes
// d = model - mirror and both ends add decode(d) to their mirror with the
// same code (DecodeAdd), so the mirrors stay bit-identical and the client
// trains from exactly the mirror the sender knows. What the codec drops
// stays in model - mirror and is sent with the next delta (top-k's error
// feedback, for free). "The model the client last acknowledged" is the
// mirror: a TLS connection delivers frames in order or not at all, so the
// client holds what the sender sent on this connection; a new connection
// starts with an empty mirror and gets the full model (docs/protocol.md).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/random.h"
#include "compress/codec.h"

namespace edgefl::compress {

struct EncodedModel {
  bool delta = false;        // false: the full model, fp32 (codec kNone)
  int64_t base_version = 0;  // delta: the model version the receiver must hold
  int64_t version = 0;       // the version the receiver holds afterwards
  Codec codec = Codec::kNone;
  std::vector<uint8_t> bytes;  // the encoding (codec.h)
};

// The sending end (the coordinator's session, the simulator's proxy).
class ModelDeltaSender {
 public:
  // `model` for the receiver: the full model when nothing is held or the
  // size changed, else the delta against the mirror with config.codec
  // (int8 draws from `rng`). The mirror becomes what the receiver will hold.
  // REQUIRES: config.enabled().
  EncodedModel Encode(std::span<const float> model, int64_t version,
                      const CompressionConfig& config, Rng& rng);
  bool holds() const { return held_; }
  const std::vector<float>& mirror() const { return mirror_; }

 private:
  std::vector<float> mirror_;
  int64_t version_ = 0;
  bool held_ = false;
};

// The receiving end (the device).
class ModelDeltaReceiver {
 public:
  // The model after applying `encoded`. Throws CodecError for a delta when
  // no model or another version than its base is held, or a malformed or
  // mis-sized encoding (the mirror is then unchanged).
  const std::vector<float>& Apply(const EncodedModel& encoded);
  bool holds() const { return held_; }
  int64_t version() const { return version_; }
  const std::vector<float>& model() const { return model_; }
  void Reset() {
    held_ = false;
    model_.clear();
  }

 private:
  std::vector<float> model_;
  int64_t version_ = 0;
  bool held_ = false;
};

}  // namespace edgefl::compress
