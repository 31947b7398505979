#include "engine/experiment_config.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <variant>

#include <toml++/toml.h>

#include "common/error.h"
#include "common/number_text.h"
#include "train/byzantine.h"

namespace edgefl::engine {
namespace {

std::string TypeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "string";
    case toml::node_type::integer:
      return "integer";
    case toml::node_type::floating_point:
      return "number";
    case toml::node_type::boolean:
      return "boolean";
    case toml::node_type::table:
      return "table";
    case toml::node_type::array:
      return "array";
    default:
      return "date/time";
  }
}

// A scalar for algorithm_params, keeping its TOML type.
train::ParamValue ScalarValue(const toml::node& node, const std::string& where) {
  if (const auto* v = node.as_string()) return v->get();
  if (const auto* v = node.as_integer()) return v->get();
  if (const auto* v = node.as_floating_point()) return v->get();
  if (const auto* v = node.as_boolean()) return v->get();
  throw ConfigError(where + " must be a number, string or boolean, got " + TypeName(node));
}

constexpr double kDaySeconds = 86'400.0;
constexpr double kYearSeconds = 365.0 * kDaySeconds;

// [min, max], either end open; NaN and infinities are never in it.
struct NumberRange {
  double min;
  double max;
  bool min_open;
  bool max_open;

  bool Contains(double v) const {
    if (!std::isfinite(v)) return false;
    return (min_open ? v > min : v >= min) && (max_open ? v < max : v <= max);
  }
  std::string Text() const {
    return std::string(min_open ? "(" : "[") + ShortNumber(min) + ", " + ShortNumber(max) +
           (max_open ? ")" : "]");
  }
};

class Binder {
 public:
  explicit Binder(ExperimentConfig& c) {
    // Every numeric key has a range, checked when it is read, before anything
    // is allocated or converted (a duration overflowing its clock, a count
    // sizing a buffer). docs/settings.md lists them; a test keeps it true.
    constexpr int64_t kMillion = 1'000'000;
    constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
    Int("rounds", c.rounds, 1, kMillion);
    Int("clients", c.clients, 1, kMillion);
    Int("clients_per_round", c.clients_per_round, 1, kMillion);
    Int("local_epochs", c.local_epochs, 0, 10'000);
    Int("local_steps", c.local_steps, 0, 100 * kMillion);
    Int("batch_size", c.batch_size, 1, 65'536);
    Int("classes_per_client", c.classes_per_client, 1, 100'000);
    Int("kmeans_clusters", c.kmeans_clusters, 1, 100'000);
    Int("train_subset", c.train_subset, 0, 1'000 * kMillion, " (0 = all)");
    Int("test_subset", c.test_subset, 0, 1'000 * kMillion, " (0 = all)");
    Int("eval_every", c.eval_every, 1, kMillion);
    Int("seed", c.seed, 0, kInt64Max);
    Int("threads", c.threads, 0, kMaxThreads, " (0 = one per core)");
    Int("keep_checkpoints", c.keep_checkpoints, 0, kMillion, " (0 = all)");
    Int("keep_client_models", c.keep_client_models, 0, kMillion, " (0 = none)");
    Int("client_models_per_round", c.client_models_per_round, 1, 10'000);
    Int("port", c.port, 0, 65'535, " (0 = an ephemeral port)");
    Int("min_clients", c.min_clients, 0, kMillion, " (0 = clients_per_round)");
    Int("max_connections", c.max_connections, 1, kMillion);
    Int("max_frame_bytes", c.max_frame_bytes, 4096, int64_t{0xFFFFFFFF});
    Int("max_frames_per_second", c.max_frames_per_second, 0, kMillion, " (0 = no limit)");
    // Durations in seconds: at most a year (a day for the per-connection
    // ones), so every conversion to a clock's ticks stays far from overflow.
    Num("deadline", c.deadline, {0.0, kYearSeconds, false, false}, " (0 = none)");
    Num("quorum", c.quorum, {0.0, 1.0, true, false});
    Num("heartbeat", c.heartbeat, {0.0, kDaySeconds, true, false});
    Num("handshake_timeout", c.handshake_timeout, {0.0, kDaySeconds, true, false});
    Num("byzantine_fraction", c.byzantine_fraction, {0.0, 1.0, false, true});
    Str("byzantine_mode", c.byzantine_mode);
    Num("byzantine_factor", c.byzantine_factor, {0.0, 1e6, false, false},
        " (0 = the mode's default)");
    Str("listen", c.listen);
    Str("cert", c.cert);
    Str("key", c.key);
    Str("ca", c.ca);
    Str("metrics_listen", c.metrics_listen);
    Str("log_format", c.log_format);
    Str("log_file", c.log_file);
    Num("synthetic_alpha", c.synthetic_alpha, {0.0, 1e3, false, false});
    Num("synthetic_beta", c.synthetic_beta, {0.0, 1e3, false, false});
    Num("lr", c.lr, {0.0, 1e3, false, false});
    Num("momentum", c.momentum, {0.0, 1.0, false, true});
    Num("weight_decay", c.weight_decay, {0.0, 1e3, false, false});
    Num("clip_norm", c.clip_norm, {0.0, 1e9, false, false}, " (0 = off)");
    Num("clip_coordinate", c.clip_coordinate, {0.0, 1.0, false, true}, " (0 = off)");
    Num("alpha", c.alpha, {0.0, 1e6, false, false});
    Num("noise", c.noise, {0.0, 1e3, false, false});
    Str("run_name", c.run_name);
    Str("strategy", c.strategy);
    Str("selector", c.selector);
    Str("mode", c.mode);
    Str("optimizer", c.optimizer);
    Str("dataset", c.dataset);
    Str("data_path", c.data_path);
    Str("partition", c.partition);
    Str("model", c.model);
    Str("db", c.db);
    Str("speed_dist", c.speed_dist);
    Num("speed_spread", c.speed_spread, {0.0, 1e6, false, false});
    Str("speed_trace", c.speed_trace);
    Num("base_speed", c.base_speed, {0.0, 1e12, false, false});
    Num("bandwidth", c.bandwidth, {0.0, 1e15, false, false}, " (0 = unlimited)");
    Str("availability", c.availability);
    Str("availability_trace", c.availability_trace);
    Num("on_seconds", c.on_seconds, {0.0, kYearSeconds, false, false});
    Num("off_seconds", c.off_seconds, {0.0, kYearSeconds, false, false});
    Num("dropout", c.dropout, {0.0, 1.0, false, true});
    Str("compression", c.compression);
    Num("compression_topk_fraction", c.compression_topk_fraction, {0.0, 1.0, true, false});
    Int("compression_int8_block", c.compression_int8_block, 1, int64_t{1} << 20);
    Str("role", c.role);
    Str("upstream", c.upstream);
    Str("upstream_cert", c.upstream_cert);
    Str("upstream_key", c.upstream_key);
    Str("upstream_ca", c.upstream_ca);
    Str("quorum_unit", c.quorum_unit);
    Str("population", c.population);
    Int("candidates_per_round", c.candidates_per_round, 0, kMillion, " (0 = clients_per_round)");
    Int("share_size", c.share_size, 1, kMillion);
    Num("share_size_alpha", c.share_size_alpha, {0.0, 1e6, false, false}, " (0 = fixed size)");
    extra_ = &c.algorithm_params;
  }

  // Applies `node` to `key`; `where` prefixes messages ("exp.toml: key 'rounds'").
  void Set(const std::string& key, const toml::node& node, const std::string& where) {
    const auto it = setters_.find(key);
    if (it == setters_.end()) {
      (*extra_)[key] = ScalarValue(node, where);
      return;
    }
    it->second(node, where);
    set_.insert(key);
  }

  // Whether the file or a --set gave `key` a value.
  bool WasSet(const std::string& key) const { return set_.count(key) > 0; }

  // The keys bound to fields, sorted.
  std::vector<std::string> Keys() const {
    std::vector<std::string> keys;
    for (const auto& [key, setter] : setters_)
      keys.push_back(key);
    return keys;
  }

  // Whether `key` is a string field (its --set value is never a number:
  // byzantine_mode=nan, run_name=2024).
  bool TakesString(const std::string& key) const { return string_keys_.count(key) > 0; }

 private:
  // An integer in [min, max] (`note` follows the range in the message).
  void Int(const char* key, int64_t& field, int64_t min, int64_t max, const char* note = "") {
    std::string range = "[";
    range.append(std::to_string(min)).append(", ").append(std::to_string(max)).append("]");
    range.append(note);  // appended, not concatenated: GCC 12 misreads the latter (-Wrestrict)
    infos_.push_back({key, "integer", std::to_string(field), std::move(range)});
    setters_[key] = [&field, min, max, note](const toml::node& node, const std::string& where) {
      const auto* v = node.as_integer();
      if (v == nullptr) throw ConfigError(where + " must be an integer, got " + TypeName(node));
      if (v->get() < min || v->get() > max) {
        throw ConfigError(where + " must be in [" + std::to_string(min) + ", " +
                          std::to_string(max) + "]" + note + ", got " + std::to_string(v->get()));
      }
      field = v->get();
    };
  }
  // A finite number in `range` (`note` follows it in the message).
  void Num(const char* key, double& field, NumberRange range, const char* note = "") {
    infos_.push_back({key, "number", ShortNumber(field), range.Text() + note});
    setters_[key] = [&field, range, note](const toml::node& node, const std::string& where) {
      double value;
      if (const auto* f = node.as_floating_point()) {
        value = f->get();
      } else if (const auto* i = node.as_integer()) {
        value = static_cast<double>(i->get());
      } else {
        throw ConfigError(where + " must be a number, got " + TypeName(node));
      }
      if (!range.Contains(value)) {
        throw ConfigError(where + " must be in " + range.Text() + note + ", got " +
                          ShortNumber(value) +
                          (std::isfinite(value) ? "" : " (a finite number is needed)"));
      }
      field = value;
    };
  }
  void Str(const char* key, std::string& field) {
    string_keys_.insert(key);
    std::string quoted(1, '"');
    quoted.append(field).push_back('"');
    infos_.push_back({key, "string", std::move(quoted), ""});
    setters_[key] = [&field](const toml::node& node, const std::string& where) {
      const auto* v = node.as_string();
      if (v == nullptr) throw ConfigError(where + " must be a string, got " + TypeName(node));
      field = v->get();
    };
  }

  std::map<std::string, std::function<void(const toml::node&, const std::string&)>> setters_;
  std::vector<ConfigKeyInfo> infos_;

 public:
  const std::vector<ConfigKeyInfo>& infos() const { return infos_; }

 private:
  train::ParamMap* extra_ = nullptr;
  std::set<std::string> string_keys_;
  std::set<std::string> set_;  // keys given a value (Set)
};

// population = "lazy" (docs/algorithms.md, "Large populations"): what a lazily drawn population
// can do, refused here before any data is loaded.
void CheckPopulation(const ExperimentConfig& c) {
  if (c.population == "eager") return;
  if (c.population != "lazy") {
    throw ConfigError("population '" + c.population + "' is not known (expected eager or lazy)");
  }
  const std::string lazy = "population = \"lazy\" ";
  if (c.candidates_per_round != 0 && c.candidates_per_round < c.clients_per_round) {
    throw ConfigError("candidates_per_round (" + std::to_string(c.candidates_per_round) +
                      ") must be >= clients_per_round (" + std::to_string(c.clients_per_round) +
                      "): the selector picks the cohort from the candidates (0 = "
                      "clients_per_round)");
  }
  if (c.candidates_per_round > c.clients) {
    throw ConfigError("candidates_per_round (" + std::to_string(c.candidates_per_round) +
                      ") must be <= clients (" + std::to_string(c.clients) +
                      "), the population's size");
  }
  if (c.mode != "sync") {
    throw ConfigError(lazy + "runs sync rounds only, got mode = \"" + c.mode +
                      "\" (the async and decentralized loops hold every client)");
  }
  if (c.dataset == "synthetic") {
    if (c.partition != "natural") {
      throw ConfigError(lazy +
                        "with dataset synthetic needs partition = \"natural\" (each "
                        "client generated alone from the seed and its id), got \"" +
                        c.partition + "\"");
    }
  } else if (c.dataset == "fmnist" || c.dataset == "csv") {
    if (c.partition != "iid" && c.partition != "dirichlet") {
      throw ConfigError(lazy +
                        "draws each client's rows from the training set: partition must "
                        "be \"iid\" or \"dirichlet\" (a class mix ~ Dir(alpha)), got \"" +
                        c.partition + "\"");
    }
    if (c.partition == "dirichlet" && !(c.alpha > 0.0)) {
      throw ConfigError(lazy + "with partition dirichlet needs alpha > 0");
    }
  } else {
    throw ConfigError(lazy + "works with dataset fmnist, csv or synthetic, got \"" + c.dataset +
                      "\"");
  }
  if (c.compression != "none") {
    throw ConfigError(lazy +
                      "cannot compress updates: the model delta and top-k's error "
                      "feedback live on each client between rounds; set compression = \"none\"");
  }
  if (c.byzantine_mode != "none" && c.byzantine_fraction > 0.0) {
    throw ConfigError(lazy + "has no Byzantine clients yet; set byzantine_fraction = 0");
  }
  if (c.strategy == "convex_relu" || c.strategy == "dipaco") {
    throw ConfigError(lazy + "cannot run strategy " + c.strategy +
                      ": its clients keep state between rounds (or need the kmeans partition)");
  }
  const auto local = c.algorithm_params.find("local_objective");
  if (c.strategy == "fedbr" ||
      (local != c.algorithm_params.end() && std::holds_alternative<std::string>(local->second) &&
       std::get<std::string>(local->second) == "fedbr")) {
    throw ConfigError(lazy +
                      "cannot run FedBR: its pseudo-data pool is built from every "
                      "client's data");
  }
}

// The edge-aggregator keys (docs/edge-aggregators.md) and quorum_unit.
void CheckRole(const ExperimentConfig& c) {
  if (c.quorum_unit != "clients" && c.quorum_unit != "samples") {
    throw ConfigError("quorum_unit '" + c.quorum_unit +
                      "' is not known (expected clients or samples)");
  }
  if (c.role != "coordinator" && c.role != "aggregator") {
    throw ConfigError("role '" + c.role + "' is not known (expected coordinator or aggregator)");
  }
  if (c.role == "coordinator") {
    for (const auto& [key, value] :
         {std::pair<const char*, const std::string&>{"upstream", c.upstream},
          {"upstream_cert", c.upstream_cert},
          {"upstream_key", c.upstream_key},
          {"upstream_ca", c.upstream_ca}}) {
      if (!value.empty()) {
        throw ConfigError(std::string(key) +
                          " is set but role is \"coordinator\": only an edge "
                          "aggregator (role = \"aggregator\") has an upstream");
      }
    }
    return;
  }
  if (c.upstream.empty()) {
    throw ConfigError(
        "role = \"aggregator\" needs upstream = \"host:port\" (the coordinator it "
        "sends its group's sum to)");
  }
  ParseListenAddress(c.upstream, "upstream");
  if (c.upstream_cert.empty() || c.upstream_key.empty()) {
    throw ConfigError(std::string(c.upstream_cert.empty() ? "upstream_cert" : "upstream_key") +
                      " is not set: upstream = \"" + c.upstream +
                      "\" needs upstream_cert and upstream_key, this aggregator's client "
                      "certificate and key for the upstream coordinator (edgefl certs "
                      "issue-client NAME)");
  }
  if (c.mode != "sync") {
    throw ConfigError("mode = \"" + c.mode +
                      "\" with role = \"aggregator\": edge aggregators "
                      "relay synchronous rounds only (mode = \"sync\")");
  }
  if (const std::string problem = GroupSumProblem(c); !problem.empty()) {
    throw ConfigError("role = \"aggregator\": " + problem);
  }
}

// The checks that involve more than one key or a name (each key's own range
// is checked as it is read: Binder).
void CheckValues(const ExperimentConfig& c) {
  if (c.clients_per_round > c.clients) {
    throw ConfigError("clients_per_round (" + std::to_string(c.clients_per_round) +
                      ") must be <= clients (" + std::to_string(c.clients) + ")");
  }
  if (c.local_steps == 0 && c.local_epochs == 0) {
    throw ConfigError("local_epochs must be > 0 when local_steps is 0");
  }
  if (c.partition == "natural" && c.dataset != "synthetic") {
    throw ConfigError("partition 'natural' exists only for dataset synthetic");
  }
  // A working client's heartbeats (plus its results) must stay well under
  // the flood limit.
  if (c.max_frames_per_second > 0 &&
      2.0 / c.heartbeat > static_cast<double>(c.max_frames_per_second)) {
    throw ConfigError("heartbeat = " + ShortNumber(c.heartbeat) + " s makes clients send " +
                      ShortNumber(1.0 / c.heartbeat) +
                      " heartbeats a second, too close to max_frames_per_second = " +
                      std::to_string(c.max_frames_per_second) +
                      "; raise max_frames_per_second (0 = no limit) or the heartbeat interval");
  }
  train::ParseByzantineMode(c.byzantine_mode, "byzantine_mode");
  if (c.listen.empty()) throw ConfigError("listen must name an address, e.g. \"127.0.0.1\"");
  if (!c.metrics_listen.empty()) ParseListenAddress(c.metrics_listen, "metrics_listen");
  if (c.log_format != "text" && c.log_format != "json") {
    throw ConfigError("log_format '" + c.log_format + "' is not known (expected text or json)");
  }
  if (c.mode != "sync" && c.mode != "async" && c.mode != "decentralized") {
    throw ConfigError("mode '" + c.mode + "' is not known (expected sync, async or decentralized)");
  }
  CheckRole(c);
  const compress::Codec codec = compress::ParseCodec(c.compression, "compression");
  if (codec != compress::Codec::kNone) {
    const auto secure = c.algorithm_params.find("secure_aggregation");
    if (secure != c.algorithm_params.end() && std::holds_alternative<bool>(secure->second) &&
        std::get<bool>(secure->second)) {
      throw ConfigError("compression = \"" + c.compression +
                        "\" is refused with secure_aggregation = true: secure aggregation "
                        "quantises the updates itself (secagg_bits) and the coordinator never sees "
                        "one update to decompress; set compression = \"none\"");
    }
    if (c.mode == "decentralized") {
      throw ConfigError("compression = \"" + c.compression +
                        "\" is for the coordinator's rounds (sync and async); decentralized "
                        "mode exchanges whole models between neighbours: set compression = "
                        "\"none\"");
    }
  }
  CheckPopulation(c);
  if (c.mode == "async" && c.keep_client_models > 0) {
    throw ConfigError(
        "keep_client_models is for sync runs (an async model version has no round of local "
        "models to compare); set it to 0 or use mode = \"sync\"");
  }
}

// Defaults that follow what the user set: a key left unset never
// contradicts a key the user did set (docs/settings.md, "Defaults that
// follow other keys"). Each one applied is noted in followed_defaults.
void ApplyFollowingDefaults(const Binder& binder, ExperimentConfig& c) {
  const auto note = [&c](const std::string& key, const std::string& value, const char* rule) {
    std::string text = key;
    text.append(" = ").append(value).append(" (default: ").append(rule).append(")");
    c.followed_defaults.push_back(std::move(text));
  };
  const ExperimentConfig defaults;
  if (binder.WasSet("clients") && !binder.WasSet("clients_per_round") &&
      c.clients < defaults.clients_per_round) {
    c.clients_per_round = c.clients;
    note("clients_per_round", std::to_string(c.clients_per_round), "min(10, clients)");
  }
  if (binder.WasSet("clients_per_round") && !binder.WasSet("clients") &&
      c.clients_per_round > defaults.clients) {
    c.clients = c.clients_per_round;
    note("clients", std::to_string(c.clients), "max(10, clients_per_round)");
  }
  // A heartbeat faster than the default flood limit allows (< 2 ms): the
  // limit follows it (two frames per heartbeat, with room for results).
  const double needed = std::ceil(4.0 / c.heartbeat);
  if (binder.WasSet("heartbeat") && !binder.WasSet("max_frames_per_second") &&
      c.max_frames_per_second > 0 && needed > static_cast<double>(c.max_frames_per_second)) {
    c.max_frames_per_second = static_cast<int64_t>(std::min(needed, 1e6));
    note("max_frames_per_second", std::to_string(c.max_frames_per_second),
         "max(1000, 4 / heartbeat)");
  }
}

// Throws unless `path` is a regular file this process can read, saying what
// it is instead: missing, a directory, a device or pipe, or unreadable.
void CheckConfigFile(const std::filesystem::path& path) {
  const std::string where = "config " + path.string();
  std::error_code ec;
  const std::filesystem::file_status status = std::filesystem::status(path, ec);
  if (status.type() == std::filesystem::file_type::not_found) {
    throw IoError(where + ": no such file; pass the path of a TOML experiment config");
  }
  if (ec) throw IoError(where + ": cannot be read: " + ec.message());
  if (status.type() == std::filesystem::file_type::directory) {
    throw ConfigError(where +
                      ": is a directory, not a config file; pass the path of a TOML "
                      "experiment config (e.g. examples/fedavg.toml)");
  }
  if (status.type() != std::filesystem::file_type::regular) {
    throw ConfigError(where +
                      ": is not a regular file (a device, pipe or socket); pass the path of a "
                      "TOML experiment config");
  }
  std::ifstream in(path);
  if (!in) {
    const int error = errno;
    throw IoError(where + ": cannot be read: " + std::strerror(error) +
                  (error == EACCES ? " (check the file's permissions)" : ""));
  }
}

// Splits config.algorithm_params into the strategy's and the selector's.
void SplitParams(const train::ParamMap& all, train::ParamMap* strategy, train::ParamMap* selector) {
  const std::string prefix = "selector_";
  for (const auto& [key, value] : all) {
    if (key.starts_with(prefix)) {
      (*selector)[key.substr(prefix.size())] = value;
    } else {
      (*strategy)[key] = value;
    }
  }
}

}  // namespace

ExperimentConfig LoadExperimentConfig(const std::filesystem::path& path,
                                      const std::vector<std::string>& overrides) {
  ExperimentConfig config;
  Binder binder(config);
  if (!path.empty()) {
    CheckConfigFile(path);
    toml::table table;
    try {
      table = toml::parse_file(path.string());
    } catch (const toml::parse_error& e) {
      const auto& where = e.source().begin;
      std::string message = "config " + path.string();
      if (where.line > 0) message += ":" + std::to_string(where.line);
      throw ConfigError(message + ": " + std::string(e.description()));
    }
    for (const auto& [key, node] : table) {
      binder.Set(std::string(key.str()), node,
                 "config " + path.string() + ": key '" + std::string(key.str()) + "'");
    }
  }
  for (const std::string& item : overrides) {
    const size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw ConfigError("--set " + item + ": expected key=value");
    }
    const std::string key = item.substr(0, eq);
    const std::string value = item.substr(eq + 1);
    const std::string where = "--set " + key;
    toml::table parsed;
    try {
      parsed = toml::parse("v = " + value);
    } catch (const toml::parse_error&) {
      parsed = toml::table{{"v", value}};  // not a TOML value: a bare string
    }
    if (binder.TakesString(key) && !parsed.get("v")->is_string())
      parsed = toml::table{{"v", value}};
    binder.Set(key, *parsed.get("v"), where);
  }
  ApplyFollowingDefaults(binder, config);
  CheckValues(config);
  if (config.min_clients == 0) config.min_clients = config.clients_per_round;
  if (config.run_name.empty()) {
    config.run_name = config.strategy + "-" + config.dataset + "-" + config.partition + "-s" +
                      std::to_string(config.seed);
  }
  return config;
}

ExperimentConfig ParseRecordedConfig(std::string_view toml_text, std::string_view source) {
  const std::string where = "the config recorded for " + std::string(source);
  ExperimentConfig config;
  try {
    Binder binder(config);
    const toml::table table = toml::parse(toml_text);
    for (const auto& [key, node] : table) {
      binder.Set(std::string(key.str()), node, where + ": key '" + std::string(key.str()) + "'");
    }
    CheckValues(config);
  } catch (const toml::parse_error& e) {
    throw DataError(where + ": " + std::string(e.description()));
  } catch (const ConfigError& e) {
    throw DataError(e.what());
  }
  if (config.min_clients == 0) config.min_clients = config.clients_per_round;
  return config;
}

std::vector<ConfigKeyInfo> ConfigKeyInfos() {
  ExperimentConfig defaults;
  return Binder(defaults).infos();
}

std::vector<std::string> ExperimentConfigKeys() {
  ExperimentConfig unused;
  return Binder(unused).Keys();
}

std::string ToToml(const ExperimentConfig& c) {
  toml::table t{{"run_name", c.run_name},
                {"strategy", c.strategy},
                {"selector", c.selector},
                {"mode", c.mode},
                {"rounds", c.rounds},
                {"clients", c.clients},
                {"clients_per_round", c.clients_per_round},
                {"local_epochs", c.local_epochs},
                {"local_steps", c.local_steps},
                {"batch_size", c.batch_size},
                {"lr", c.lr},
                {"momentum", c.momentum},
                {"weight_decay", c.weight_decay},
                {"optimizer", c.optimizer},
                {"clip_norm", c.clip_norm},
                {"clip_coordinate", c.clip_coordinate},
                {"dataset", c.dataset},
                {"data_path", c.data_path},
                {"partition", c.partition},
                {"alpha", c.alpha},
                {"classes_per_client", c.classes_per_client},
                {"kmeans_clusters", c.kmeans_clusters},
                {"noise", c.noise},
                {"model", c.model},
                {"train_subset", c.train_subset},
                {"test_subset", c.test_subset},
                {"eval_every", c.eval_every},
                {"seed", c.seed},
                {"db", c.db},
                {"threads", c.threads},
                {"keep_checkpoints", c.keep_checkpoints},
                {"keep_client_models", c.keep_client_models},
                {"client_models_per_round", c.client_models_per_round},
                {"synthetic_alpha", c.synthetic_alpha},
                {"synthetic_beta", c.synthetic_beta},
                {"listen", c.listen},
                {"port", c.port},
                {"cert", c.cert},
                {"key", c.key},
                {"ca", c.ca},
                {"min_clients", c.min_clients},
                {"deadline", c.deadline},
                {"quorum", c.quorum},
                {"heartbeat", c.heartbeat},
                {"max_connections", c.max_connections},
                {"handshake_timeout", c.handshake_timeout},
                {"max_frame_bytes", c.max_frame_bytes},
                {"max_frames_per_second", c.max_frames_per_second},
                {"metrics_listen", c.metrics_listen},
                {"log_format", c.log_format},
                {"log_file", c.log_file},
                {"byzantine_fraction", c.byzantine_fraction},
                {"byzantine_mode", c.byzantine_mode},
                {"byzantine_factor", c.byzantine_factor}};
  // Written only when lazy, so a log from before populations existed compares
  // equal to a config without them (resume).
  if (c.population != "eager") {
    t.insert("population", c.population);
    t.insert("candidates_per_round", c.candidates_per_round);
    t.insert("share_size", c.share_size);
    t.insert("share_size_alpha", c.share_size_alpha);
  }
  // Written only when not the default, so a log from before edge aggregators
  // existed compares equal to a config without them (resume).
  if (c.role != "coordinator") {
    t.insert("role", c.role);
    t.insert("upstream", c.upstream);
    t.insert("upstream_cert", c.upstream_cert);
    t.insert("upstream_key", c.upstream_key);
    t.insert("upstream_ca", c.upstream_ca);
  }
  if (c.quorum_unit != "clients") t.insert("quorum_unit", c.quorum_unit);
  // Written only when on, so a log from before compression existed compares
  // equal to a config without it (resume).
  if (c.compression != "none") {
    t.insert("compression", c.compression);
    t.insert("compression_topk_fraction", c.compression_topk_fraction);
    t.insert("compression_int8_block", c.compression_int8_block);
  }
  for (const auto& [key, value] : c.algorithm_params) {
    std::visit([&t, &key](const auto& v) { t.insert(key, v); }, value);
  }
  // One `key = value` line per key, sorted as toml++ writes a table, but
  // floats in their shortest round-trip form (toml++ writes 17 digits:
  // 0.05 as 0.050000000000000003).
  std::string text;
  for (const auto& [key, node] : t) {
    std::ostringstream out;
    if (node.is_floating_point()) {
      out << toml::table{{key.str(), 0}};  // the key as toml++ writes it: "key = 0"
    } else {
      node.visit([&out, &key](const auto& value) { out << toml::table{{key.str(), value}}; });
    }
    std::string line = out.str();
    while (!line.empty() && line.back() == '\n')
      line.pop_back();
    if (const auto* number = node.as_floating_point()) {
      line = line.substr(0, line.rfind(" = ") + 3) + TomlFloat(number->get());
    }
    text += line + '\n';
  }
  return text;
}

train::TrainRecipe RecipeFrom(const ExperimentConfig& c) {
  train::TrainRecipe r;
  r.epochs = static_cast<int>(c.local_epochs);
  r.local_steps = c.local_steps;
  r.batch_size = static_cast<int>(c.batch_size);
  r.optimizer.name = c.optimizer;
  r.optimizer.learning_rate = static_cast<float>(c.lr);
  r.optimizer.momentum = static_cast<float>(c.momentum);
  r.optimizer.weight_decay = static_cast<float>(c.weight_decay);
  r.clip_norm = static_cast<float>(c.clip_norm);
  r.clip_coordinate_fraction = static_cast<float>(c.clip_coordinate);
  return r;
}

algorithms::StrategyConfig StrategyConfigFrom(const ExperimentConfig& config) {
  algorithms::StrategyConfig strategy;
  algorithms::SelectorConfig unused;
  strategy.name = config.strategy;
  strategy.recipe = RecipeFrom(config);
  strategy.rounds = config.rounds;
  strategy.model = config.model;
  strategy.seed = static_cast<uint64_t>(config.seed);
  strategy.clients = config.clients;
  strategy.clients_per_round = config.clients_per_round;
  strategy.config_keys = ExperimentConfigKeys();
  SplitParams(config.algorithm_params, &strategy.params, &unused.params);
  return strategy;
}

algorithms::SelectorConfig SelectorConfigFrom(const ExperimentConfig& config) {
  algorithms::SelectorConfig selector;
  train::ParamMap unused;
  selector.name = config.selector;
  selector.rounds = config.rounds;
  selector.recipe = RecipeFrom(config);
  selector.deadline = config.deadline;
  SplitParams(config.algorithm_params, &unused, &selector.params);
  return selector;
}

compress::CompressionConfig CompressionFrom(const ExperimentConfig& config) {
  compress::CompressionConfig out;
  out.codec = compress::ParseCodec(config.compression, "compression");
  out.topk_fraction = config.compression_topk_fraction;
  out.int8_block = static_cast<uint32_t>(config.compression_int8_block);
  return out;
}

namespace {

// The config's keys and values as TOML text ("0.05", "\"fedavg\"").
std::map<std::string, std::string> ValuesOf(const toml::table& table) {
  std::map<std::string, std::string> values;
  for (const auto& [key, node] : table) {
    std::ostringstream text;
    if (const auto* number = node.as_floating_point()) {
      text << ShortNumber(number->get());
    } else {
      node.visit([&text](const auto& value) { text << value; });
    }
    values[std::string(key.str())] = text.str();
  }
  return values;
}

}  // namespace

HostPort ParseListenAddress(const std::string& text, const std::string& key) {
  const auto bad = [&](const std::string& why) {
    return ConfigError(key + " = \"" + text + "\": " + why +
                       " (expected \"HOST:PORT\", \"[V6]:PORT\" or a port alone, e.g. "
                       "\"127.0.0.1:9464\")");
  };
  HostPort out{"127.0.0.1", 0};
  std::string port_text = text;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find("]:");
    if (close == std::string::npos) throw bad("an IPv6 address needs ]:PORT after it");
    out.host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
  } else if (const size_t colon = text.rfind(':'); colon != std::string::npos) {
    out.host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
    if (out.host.find(':') != std::string::npos) throw bad("write an IPv6 address in brackets");
  }
  if (out.host.empty()) throw bad("no host before ':'");
  int port = -1;
  const char* end = port_text.data() + port_text.size();
  const auto [ptr, ec] = std::from_chars(port_text.data(), end, port);
  if (port_text.empty() || ec != std::errc() || ptr != end || port < 0 || port > 65535) {
    throw bad("the port must be in [0, 65535]");
  }
  out.port = static_cast<uint16_t>(port);
  return out;
}

std::vector<ConfigChange> ConfigChanges(std::string_view recorded, const ExperimentConfig& now) {
  toml::table before;
  try {
    before = toml::parse(recorded);
  } catch (const toml::parse_error& e) {
    throw DataError("the recorded config is not TOML (" + std::string(e.description()) + ")");
  }
  const std::map<std::string, std::string> old_values = ValuesOf(before);
  const std::map<std::string, std::string> new_values = ValuesOf(toml::parse(ToToml(now)));
  std::set<std::string> keys;
  for (const auto& [key, value] : old_values)
    keys.insert(key);
  for (const auto& [key, value] : new_values)
    keys.insert(key);
  std::vector<ConfigChange> changes;
  for (const std::string& key : keys) {
    const auto o = old_values.find(key);
    const auto n = new_values.find(key);
    const std::string a = o == old_values.end() ? "(unset)" : o->second;
    const std::string b = n == new_values.end() ? "(unset)" : n->second;
    if (a != b) changes.push_back({key, a, b});
  }
  return changes;
}

bool MayChangeOnResume(std::string_view key, std::string_view mode) {
  static const std::set<std::string_view> kFree = {"rounds",
                                                   "threads",
                                                   "eval_every",
                                                   "keep_checkpoints",
                                                   "keep_client_models",
                                                   "client_models_per_round",
                                                   "listen",
                                                   "port",
                                                   "cert",
                                                   "key",
                                                   "ca",
                                                   "heartbeat",
                                                   "max_connections",
                                                   "handshake_timeout",
                                                   "max_frame_bytes",
                                                   "max_frames_per_second",
                                                   "metrics_listen",
                                                   "log_format",
                                                   "log_file",
                                                   "upstream",
                                                   "upstream_cert",
                                                   "upstream_key",
                                                   "upstream_ca"};
  if (kFree.count(key)) return true;
  // In sync mode min_clients only says how many must be connected before a
  // round; in async mode it is the fleet size the strategy is told.
  return key == "min_clients" && mode == "sync";
}

std::string GroupSumProblem(const ExperimentConfig& config) {
  const train::ParamMap& params = config.algorithm_params;
  const auto text = [&params](const std::string& key, const std::string& fallback) {
    const auto it = params.find(key);
    if (it == params.end() || !std::holds_alternative<std::string>(it->second)) return fallback;
    return std::get<std::string>(it->second);
  };
  const auto on = [&params](const std::string& key) {
    const auto it = params.find(key);
    return it != params.end() && std::holds_alternative<bool>(it->second) &&
           std::get<bool>(it->second);
  };
  const std::string why =
      " (edge aggregators send one sample-weighted sum per group, so only "
      "the sum-based FedAvg family composes: strategy fedavg, fedavgm, "
      "fedadam or fedyogi with aggregator = \"mean\")";
  if (config.strategy != "fedavg" && config.strategy != "fedavgm" && config.strategy != "fedadam" &&
      config.strategy != "fedyogi") {
    return "strategy = \"" + config.strategy + "\" needs each client's update" + why;
  }
  if (const std::string aggregator = text("aggregator", "mean"); aggregator != "mean") {
    return "aggregator = \"" + aggregator + "\" needs each client's update" + why;
  }
  if (on("dp")) return "dp = true clips each client's update, which a group sum hides" + why;
  // secure_aggregation = true composes: each aggregator runs SecAgg+ within
  // its group and sends up only the unmasked group sum.
  if (text("local_objective", "ce") == "fedbr") {
    return "local_objective = \"fedbr\" needs a pseudo-data pool from every client" + why;
  }
  if (config.compression != "none") {
    return "compression = \"" + config.compression +
           "\" is not available with edge aggregators yet (the links of a tree carry float32)";
  }
  if (config.mode != "sync") return "mode = \"" + config.mode + "\": group sums are sync only";
  return "";
}

}  // namespace edgefl::engine
