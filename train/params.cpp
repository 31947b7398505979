#include "train/params.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <utility>

#include "common/error.h"
#include "common/number_text.h"

namespace edgefl::train {
namespace {

// Parses all of `text` as a double.
bool ParseDouble(const std::string& text, double* out) {
  if (text.empty()) return false;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *out);
  return ec == std::errc() && ptr == end;
}

const char* TypeName(const ParamValue& value) {
  switch (value.index()) {
    case 0:
      return "bool";
    case 1:
      return "integer";
    case 2:
      return "number";
    default:
      return "string";
  }
}

}  // namespace

std::string DescribeParam(const ParamValue& value) {
  if (const bool* b = std::get_if<bool>(&value)) return *b ? "true" : "false";
  if (const int64_t* i = std::get_if<int64_t>(&value)) return std::to_string(*i);
  if (const double* d = std::get_if<double>(&value)) return ShortNumber(*d);
  return "\"" + std::get<std::string>(value) + "\"";
}

std::string ClosestKey(const std::string& key, const std::vector<std::string>& candidates) {
  const size_t limit = std::max<size_t>(1, key.size() / 3);
  std::string best;
  size_t best_distance = limit + 1;
  std::vector<size_t> previous(key.size() + 1);
  std::vector<size_t> current(key.size() + 1);
  for (const std::string& candidate : candidates) {
    for (size_t i = 0; i <= key.size(); ++i)
      previous[i] = i;
    for (size_t j = 1; j <= candidate.size(); ++j) {
      current[0] = j;
      for (size_t i = 1; i <= key.size(); ++i) {
        const size_t substitute = previous[i - 1] + (key[i - 1] == candidate[j - 1] ? 0 : 1);
        current[i] = std::min({previous[i] + 1, current[i - 1] + 1, substitute});
      }
      std::swap(previous, current);
    }
    if (previous[key.size()] < best_distance) {
      best_distance = previous[key.size()];
      best = candidate;
    }
  }
  return best;
}

ParamReader::ParamReader(const ParamMap& params, std::string context)
    : params_(params), context_(std::move(context)) {}

void ParamReader::SetOuterKeys(std::string owner, std::vector<std::string> keys) {
  outer_owner_ = std::move(owner);
  outer_keys_ = std::move(keys);
}

const ParamValue* ParamReader::Find(const std::string& key) {
  accepted_.insert(key);
  auto it = params_.find(key);
  return it == params_.end() ? nullptr : &it->second;
}

double ParamReader::GetDouble(const std::string& key, double fallback) {
  const ParamValue* value = Find(key);
  if (value == nullptr) return fallback;
  double result = 0.0;
  if (const double* d = std::get_if<double>(value)) {
    result = *d;
  } else if (const int64_t* i = std::get_if<int64_t>(value)) {
    result = static_cast<double>(*i);
  } else if (const std::string* s = std::get_if<std::string>(value);
             s == nullptr || !ParseDouble(*s, &result)) {
    throw ConfigError(context_ + ": " + key + " must be a number, got " + TypeName(*value) + " " +
                      DescribeParam(*value));
  }
  if (!std::isfinite(result)) {
    throw ConfigError(context_ + ": " + key + " must be a finite number, got " +
                      DescribeParam(*value));
  }
  return result;
}

int64_t ParamReader::GetInt(const std::string& key, int64_t fallback) {
  const ParamValue* value = Find(key);
  if (value == nullptr) return fallback;
  if (const int64_t* i = std::get_if<int64_t>(value)) return *i;
  double d = 0.0;
  bool ok = false;
  if (const double* p = std::get_if<double>(value)) {
    d = *p;
    ok = true;
  } else if (const std::string* s = std::get_if<std::string>(value)) {
    ok = ParseDouble(*s, &d);
  }
  if (!ok || !std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 9.0e15) {
    throw ConfigError(context_ + ": " + key + " must be an integer, got " + TypeName(*value) + " " +
                      DescribeParam(*value));
  }
  return static_cast<int64_t>(d);
}

double ParamReader::GetDoubleIn(const std::string& key, double fallback, double min, double max) {
  const double value = GetDouble(key, fallback);
  if (value < min || value > max) {
    throw ConfigError(context_ + ": " + key + " must be in [" + ShortNumber(min) + ", " +
                      ShortNumber(max) + "], got " + ShortNumber(value));
  }
  return value;
}

int64_t ParamReader::GetIntIn(const std::string& key, int64_t fallback, int64_t min, int64_t max) {
  const int64_t value = GetInt(key, fallback);
  if (value < min || value > max) {
    throw ConfigError(context_ + ": " + key + " must be in [" + std::to_string(min) + ", " +
                      std::to_string(max) + "], got " + std::to_string(value));
  }
  return value;
}

bool ParamReader::GetBool(const std::string& key, bool fallback) {
  const ParamValue* value = Find(key);
  if (value == nullptr) return fallback;
  if (const bool* b = std::get_if<bool>(value)) return *b;
  if (const std::string* s = std::get_if<std::string>(value)) {
    if (*s == "true") return true;
    if (*s == "false") return false;
  }
  throw ConfigError(context_ + ": " + key + " must be true or false, got " + TypeName(*value) +
                    " " + DescribeParam(*value));
}

std::string ParamReader::GetString(const std::string& key, const std::string& fallback) {
  const ParamValue* value = Find(key);
  if (value == nullptr) return fallback;
  if (const std::string* s = std::get_if<std::string>(value)) return *s;
  throw ConfigError(context_ + ": " + key + " must be a string, got " + TypeName(*value) + " " +
                    DescribeParam(*value));
}

std::vector<std::string> ParamReader::Unread() const {
  std::vector<std::string> keys;
  for (const auto& [key, value] : params_) {
    if (accepted_.count(key) == 0) keys.push_back(key);
  }
  return keys;
}

void ParamReader::CheckAllUsed() const {
  const std::vector<std::string> unread = Unread();
  if (unread.empty()) return;
  const std::string& key = unread.front();
  std::string accepted;
  for (const std::string& k : accepted_) {
    accepted += (accepted.empty() ? "" : ", ") + k;
  }
  std::string message = context_ + ": unknown key \"" + key + "\"";
  if (!outer_owner_.empty()) {
    std::vector<std::string> known = outer_keys_;
    known.insert(known.end(), accepted_.begin(), accepted_.end());
    message += ": not a key of " + outer_owner_ + " nor of " + context_;
    if (const std::string closest = ClosestKey(key, known); !closest.empty()) {
      message += "; did you mean '" + closest + "'?";
    }
  }
  throw ConfigError(message + " (accepted here: " + (accepted.empty() ? "none" : accepted) + ")");
}

}  // namespace edgefl::train
