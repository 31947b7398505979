// The coordinator's operations keys: metrics_listen's address forms and
// log_format's values are checked when the config is read.
#include <string>

#include <doctest/doctest.h>

#include "common/error.h"
#include "engine/experiment_config.h"

namespace edgefl::engine {

TEST_CASE("operations config: metrics_listen takes HOST:PORT, [V6]:PORT or a port alone") {
  const HostPort a = ParseListenAddress("127.0.0.1:9464", "metrics_listen");
  CHECK(a.host == "127.0.0.1");
  CHECK(a.port == 9464);
  const HostPort b = ParseListenAddress("9464", "metrics_listen");
  CHECK(b.host == "127.0.0.1");
  CHECK(b.port == 9464);
  const HostPort c = ParseListenAddress("[::1]:0", "metrics_listen");
  CHECK(c.host == "::1");
  CHECK(c.port == 0);
  CHECK(ParseListenAddress("0.0.0.0:80", "k").host == "0.0.0.0");
  for (const char* bad : {"127.0.0.1:", "127.0.0.1:65536", ":9464", "::1:9464", "[::1]9464",
                          "localhost:x", "-1", ""}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(ParseListenAddress(bad, "metrics_listen"), ConfigError);
  }
  CHECK_THROWS_WITH_AS(LoadExperimentConfig({}, {"metrics_listen=127.0.0.1:99999"}),
                       "metrics_listen = \"127.0.0.1:99999\": the port must be in [0, 65535] "
                       "(expected \"HOST:PORT\", \"[V6]:PORT\" or a port alone, e.g. "
                       "\"127.0.0.1:9464\")",
                       ConfigError);
  // A port alone given with --set is a string key's value, not a number.
  CHECK(LoadExperimentConfig({}, {"metrics_listen=9464"}).metrics_listen == "9464");
  CHECK(LoadExperimentConfig({}, {}).metrics_listen.empty());
}

TEST_CASE("operations config: log_format is text or json and may change on resume") {
  CHECK(LoadExperimentConfig({}, {}).log_format == "text");
  CHECK(LoadExperimentConfig({}, {"log_format=json"}).log_format == "json");
  CHECK_THROWS_WITH_AS(LoadExperimentConfig({}, {"log_format=xml"}),
                       "log_format 'xml' is not known (expected text or json)", ConfigError);
  for (const char* key : {"metrics_listen", "log_format", "log_file"}) {
    CHECK(MayChangeOnResume(key, "sync"));
    CHECK(MayChangeOnResume(key, "async"));
  }
}

}  // namespace edgefl::engine
