// Typed key/value parameters of a strategy or selector, as an experiment
// config (TOML table, or `--set key=value` overrides) supplies them, and a
// reader that checks them: each Get names the key in its ConfigError, and
// CheckAllUsed rejects keys nobody asked for, listing the accepted ones (and,
// given the enclosing config's own keys, suggesting the closest known key).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <variant>
#include <vector>

namespace edgefl::train {

// A TOML scalar. Strings are also accepted where a number or a bool is
// expected if they parse completely ("0.5", "true"), for command-line
// overrides.
using ParamValue = std::variant<bool, int64_t, double, std::string>;
using ParamMap = std::map<std::string, ParamValue>;

// "true", "3", "0.5", "\"mean\"" (for messages).
std::string DescribeParam(const ParamValue& value);

// The candidate closest to `key` by edit distance (Levenshtein: insertions,
// deletions, substitutions), if it is close enough to be a misspelling of it
// (at most max(1, |key| / 3) edits); "" if none is. Ties go to the first in
// `candidates`.
std::string ClosestKey(const std::string& key, const std::vector<std::string>& candidates);

class ParamReader {
 public:
  // `context` prefixes every message, e.g. "strategy fedavgm".
  ParamReader(const ParamMap& params, std::string context);

  // The value of `key`, or `fallback` if absent; marks `key` as accepted.
  // Throws ConfigError "<context>: <key> must be a number, got \"abc\"" for
  // an ill-typed value.
  double GetDouble(const std::string& key, double fallback);
  // Integers; a double is accepted only if it is integral.
  int64_t GetInt(const std::string& key, int64_t fallback);
  bool GetBool(const std::string& key, bool fallback);
  // As GetDouble / GetInt, and throws ConfigError "<context>: <key> must be
  // in [min, max], got v" for a value outside the range (every numeric key
  // has one, so no value can size a buffer or a loop without bound).
  double GetDoubleIn(const std::string& key, double fallback, double min, double max);
  int64_t GetIntIn(const std::string& key, int64_t fallback, int64_t min, int64_t max);
  std::string GetString(const std::string& key, const std::string& fallback);

  // The keys of the config that encloses these parameters (the experiment
  // config's own keys, `owner` "the experiment config"), which never reach
  // this reader: an unread key is then reported as unknown to both, with the
  // closest key of either as a suggestion ("did you mean 'rounds'?").
  void SetOuterKeys(std::string owner, std::vector<std::string> keys);

  bool Has(const std::string& key) const { return params_.count(key) > 0; }
  // Keys present but not (yet) read, sorted.
  std::vector<std::string> Unread() const;
  // Throws ConfigError naming the first unread key and the accepted keys;
  // with outer keys (SetOuterKeys), saying that neither knows it and
  // suggesting the closest of both.
  void CheckAllUsed() const;

  const std::string& context() const { return context_; }
  const ParamMap& params() const { return params_; }

 private:
  const ParamValue* Find(const std::string& key);

  const ParamMap& params_;
  std::string context_;
  std::set<std::string> accepted_;  // every key asked for
  std::string outer_owner_;         // "" = no outer keys
  std::vector<std::string> outer_keys_;
};

}  // namespace edgefl::train
