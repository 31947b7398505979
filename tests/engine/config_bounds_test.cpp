// Every setting is bounded: each numeric key the config knows, fed the
// extremes of its type, is either refused with a ConfigError naming it or
// read into its documented range; and docs/settings.md lists every key with
// the type, default and range the loader enforces.
#include <cmath>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "common/error.h"
#include "engine/experiment_config.h"
#include "engine/experiment_data.h"
#include "tests/test_util.h"

namespace edgefl::engine {
namespace {

// The field a key sets, as a double (integers and numbers alike).
double FieldOf(const ExperimentConfig& c, const std::string& key) {
  const std::map<std::string, double> fields = {
      {"rounds", c.rounds},
      {"clients", c.clients},
      {"clients_per_round", c.clients_per_round},
      {"local_epochs", c.local_epochs},
      {"local_steps", c.local_steps},
      {"batch_size", c.batch_size},
      {"classes_per_client", c.classes_per_client},
      {"train_subset", c.train_subset},
      {"test_subset", c.test_subset},
      {"eval_every", c.eval_every},
      {"seed", static_cast<double>(c.seed)},
      {"threads", c.threads},
      {"keep_checkpoints", c.keep_checkpoints},
      {"keep_client_models", c.keep_client_models},
      {"client_models_per_round", c.client_models_per_round},
      {"port", c.port},
      {"min_clients", c.min_clients},
      {"max_connections", c.max_connections},
      {"max_frame_bytes", c.max_frame_bytes},
      {"max_frames_per_second", c.max_frames_per_second},
      {"deadline", c.deadline},
      {"quorum", c.quorum},
      {"heartbeat", c.heartbeat},
      {"handshake_timeout", c.handshake_timeout},
      {"byzantine_fraction", c.byzantine_fraction},
      {"byzantine_factor", c.byzantine_factor},
      {"synthetic_alpha", c.synthetic_alpha},
      {"synthetic_beta", c.synthetic_beta},
      {"lr", c.lr},
      {"momentum", c.momentum},
      {"weight_decay", c.weight_decay},
      {"clip_norm", c.clip_norm},
      {"clip_coordinate", c.clip_coordinate},
      {"alpha", c.alpha},
      {"noise", c.noise},
      {"speed_spread", c.speed_spread},
      {"base_speed", c.base_speed},
      {"bandwidth", c.bandwidth},
      {"on_seconds", c.on_seconds},
      {"off_seconds", c.off_seconds},
      {"dropout", c.dropout},
      {"kmeans_clusters", c.kmeans_clusters},
      {"compression_topk_fraction", c.compression_topk_fraction},
      {"compression_int8_block", static_cast<double>(c.compression_int8_block)},
      {"candidates_per_round", static_cast<double>(c.candidates_per_round)},
      {"share_size", static_cast<double>(c.share_size)},
      {"share_size_alpha", c.share_size_alpha},
  };
  const auto it = fields.find(key);
  REQUIRE_MESSAGE(it != fields.end(), "the test does not know key " << key);
  return it->second;
}

// "[1, 1000000] (note)" or "(0, 86400]" -> whether v lies in it.
bool InRange(const std::string& range, double v) {
  const bool min_open = range[0] == '(';
  const size_t comma = range.find(',');
  const size_t close = range.find_first_of(")]");
  const double min = std::stod(range.substr(1, comma - 1));
  const double max = std::stod(range.substr(comma + 1, close - comma - 1));
  const bool max_open = range[close] == ')';
  return std::isfinite(v) && (min_open ? v > min : v >= min) && (max_open ? v < max : v <= max);
}

}  // namespace

TEST_CASE("config bounds: every numeric key at its extremes is refused by name or in range") {
  const std::vector<std::string> extremes = {"0",
                                             "-1",
                                             "1",
                                             "9223372036854775807",
                                             "-9223372036854775808",
                                             "1e300",
                                             "-1e300",
                                             "nan",
                                             "inf",
                                             "-inf",
                                             "0.5",
                                             "1e10",
                                             "4294967296"};
  int checked = 0;
  for (const ConfigKeyInfo& info : ConfigKeyInfos()) {
    if (info.type == "string") continue;
    for (const std::string& value : extremes) {
      const std::string set = info.key + "=" + value;
      CAPTURE(set);
      try {
        const ExperimentConfig c = LoadExperimentConfig({}, {set});
        // Read before the CHECK: a key the test does not know fails here, not
        // inside the CHECK's message (doctest would deadlock on its reporter).
        const double value_read = FieldOf(c, info.key);
        CHECK_MESSAGE(InRange(info.range, value_read),
                      info.key << " took " << value_read << " outside " << info.range);
      } catch (const ConfigError& e) {
        // The message names the key (or, for a cross-key rule, the other key
        // it conflicts with, which names this one too).
        CHECK_MESSAGE(std::string(e.what()).find(info.key) != std::string::npos, e.what());
      }
      ++checked;
    }
  }
  CHECK(checked >= 39 * 13);  // every numeric key, every extreme
}

TEST_CASE("config bounds: durations stay far from overflowing a clock") {
  // heartbeat = 1e10 used to make every client "silent for 0.0 s".
  for (const char* key : {"heartbeat", "handshake_timeout", "deadline"}) {
    CAPTURE(key);
    for (const char* value : {"1e10", "1e12", "1e300"}) {
      CHECK_THROWS_WITH_AS(LoadExperimentConfig({}, {std::string(key) + "=" + value}),
                           doctest::Contains(key), ConfigError);
    }
  }
  const ExperimentConfig longest = LoadExperimentConfig({}, {"heartbeat=86400", "deadline=3e7"});
  // In nanoseconds (the finest clock used) a year is ~3e16, under 9.2e18.
  CHECK(longest.deadline * 1e9 < static_cast<double>(std::numeric_limits<int64_t>::max()) / 100);
  CHECK(longest.heartbeat * 1e9 < static_cast<double>(std::numeric_limits<int64_t>::max()) / 100);
}

TEST_CASE("config bounds: more clients than samples is refused before anything is partitioned") {
  const ExperimentConfig c = LoadExperimentConfig(
      {}, {"clients=1000", "clients_per_round=10", "train_subset=500", "test_subset=10",
           "data_path=" + edgefl::testing::FashionMnistDir().string()});
  CHECK_THROWS_WITH_AS(LoadExperimentData(c), doctest::Contains("every client needs at least one"),
                       ConfigError);
  CHECK_THROWS_WITH_AS(LoadExperimentConfig({}, {"clients=2000000000"}),
                       doctest::Contains("clients must be in [1, 1000000]"), ConfigError);
}

TEST_CASE("config bounds: docs/settings.md lists every key with its type, default and range") {
  const std::string doc =
      edgefl::testing::ReadFile(edgefl::testing::SourceDir() + "/docs/settings.md");
  for (const ConfigKeyInfo& info : ConfigKeyInfos()) {
    CAPTURE(info.key);
    const std::string row = "| `" + info.key + "` | " + info.type + " | `" + info.default_value +
                            "` | " + info.range + " |";
    CHECK_MESSAGE(doc.find(row) != std::string::npos, "expected the row: " << row);
  }
}

}  // namespace edgefl::engine
