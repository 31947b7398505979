// Bytes on the wire per client per round against the model's float32 size:
// a TrainTask down and a TrainResult up must stay within 1.05 x 2 x 4P.
#include <cstdint>
#include <string>

#include <doctest/doctest.h>

#include "tests/wire/wire_test_util.h"
#include "wire/messages.h"

namespace edgefl::wire {
namespace {

struct RoundBytes {
  size_t task = 0;
  size_t result = 0;
  size_t heartbeats = 0;
};

RoundBytes BytesPerRound(const std::string& spec, Eigen::Index p, int heartbeats) {
  TrainTask task = testing::SampleTrainTask(p);
  task.model_spec = spec;
  TrainResult result = testing::SampleTrainResult(p);
  RoundBytes bytes;
  bytes.task = EncodeMessage(task).size();
  bytes.result = EncodeMessage(result).size();
  bytes.heartbeats = static_cast<size_t>(heartbeats) * EncodeMessage(Heartbeat{}).size();
  return bytes;
}

void CheckOverhead(const std::string& spec, Eigen::Index p) {
  const double model_bytes = 2.0 * 4.0 * static_cast<double>(p);  // down + up
  const RoundBytes bytes = BytesPerRound(spec, p, /*heartbeats=*/30);
  const double ratio = static_cast<double>(bytes.task + bytes.result) / model_bytes;
  const double ratio_with_heartbeats =
      static_cast<double>(bytes.task + bytes.result + bytes.heartbeats) / model_bytes;
  MESSAGE(spec << " P=" << p << ": TrainTask " << bytes.task << " B (" << bytes.task - 4 * p
               << " over 4P), TrainResult " << bytes.result << " B (" << bytes.result - 4 * p
               << " over 4P), ratio " << ratio << ", with 30 heartbeats " << ratio_with_heartbeats);
  CHECK(ratio <= 1.05);
  CHECK(ratio_with_heartbeats <= 1.05);
  // In fact the overhead is a few hundred bytes, independent of P.
  CHECK(bytes.task + bytes.result - 8 * static_cast<size_t>(p) < 512);
}

TEST_CASE("Wire overhead of a lenet round is within 5 percent of 8P") {
  CheckOverhead("cnn:lenet", 61706);
}

TEST_CASE("Wire overhead of an mlp round is within 5 percent of 8P") {
  CheckOverhead("mlp", 199210);
}

}  // namespace
}  // namespace edgefl::wire
