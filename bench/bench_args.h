// The benchmark programs' command lines: "--name value" flags bound to
// variables (which hold the defaults) and comma-separated lists.
#pragma once

#include <cstdint>
#include <map>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

namespace edgefl::bench {

// The non-empty items of "a,b,,c" (a, b, c).
inline std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

// Flags that each take one value.
class Flags {
 public:
  using Target = std::variant<std::string*, int64_t*, int*>;

  // `--name value` sets *target (a number is read with std::stoll/stoi,
  // which throw std::invalid_argument on a non-number).
  Flags& Add(const std::string& name, Target target) {
    targets_[name] = target;
    return *this;
  }

  // Reads argv[1..]; false on an unknown flag or a flag without its value
  // (the caller prints its usage).
  bool Parse(int argc, char** argv) const {
    for (int i = 1; i < argc; ++i) {
      const auto it = targets_.find(argv[i]);
      if (it == targets_.end() || i + 1 >= argc) return false;
      const std::string value = argv[++i];
      if (auto* s = std::get_if<std::string*>(&it->second)) **s = value;
      if (auto* n = std::get_if<int64_t*>(&it->second)) **n = std::stoll(value);
      if (auto* n = std::get_if<int*>(&it->second)) **n = std::stoi(value);
    }
    return true;
  }

 private:
  std::map<std::string, Target> targets_;
};

}  // namespace edgefl::bench
