#include "compress/error_feedback.h"

#include <vector>

#include "compress/byte_io.h"
#include "compress/top_k.h"

namespace edgefl::compress {

std::vector<uint8_t> ErrorFeedback::EncodeTopK(std::span<const float> update, double fraction) {
  if (residual_.size() != update.size()) residual_.assign(update.size(), 0.0f);
  for (size_t i = 0; i < update.size(); ++i)
    residual_[i] += update[i];  // v = u + e
  std::vector<uint8_t> out;
  compress::EncodeTopK(residual_, fraction, &out);
  const size_t k = detail::GetU32(out.data() + 4);
  for (size_t j = 0; j < k; ++j)
    residual_[detail::GetU32(out.data() + 8 + 4 * j)] = 0.0f;  // sent: nothing left
  return out;
}

std::vector<uint8_t> EncodeUpdate(std::span<const float> update, const CompressionConfig& config,
                                  Rng& rng, ErrorFeedback& feedback) {
  if (config.codec == Codec::kTopK) return feedback.EncodeTopK(update, config.topk_fraction);
  return Encode(update, config, rng);
}

}  // namespace edgefl::compress
