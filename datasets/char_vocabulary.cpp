#include "datasets/char_vocabulary.h"

#include <algorithm>
#include <map>
#include <string>
#include <utility>

#include "common/error.h"

namespace edgefl::datasets {

CharVocabulary CharVocabulary::Build(std::span<const std::u32string_view> texts, int size) {
  if (size < 2 || size > 65536) {
    throw ConfigError("character vocabulary: size must be in [2, 65536] (the unknown symbol and " +
                      std::string("at least one character), got ") + std::to_string(size));
  }
  std::map<char32_t, size_t> counts;  // ordered: ties resolve by code point
  for (const std::u32string_view text : texts) {
    for (const char32_t c : text)
      ++counts[c];
  }
  std::vector<std::pair<char32_t, size_t>> ranked(counts.begin(), counts.end());
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  if (ranked.size() > static_cast<size_t>(size - 1)) ranked.resize(static_cast<size_t>(size - 1));
  CharVocabulary vocabulary;
  vocabulary.size_ = size;
  for (const auto& [c, count] : ranked)
    vocabulary.characters_.push_back(c);
  std::sort(vocabulary.characters_.begin(), vocabulary.characters_.end());
  for (size_t i = 0; i < vocabulary.characters_.size(); ++i) {
    vocabulary.ids_[vocabulary.characters_[i]] = static_cast<int32_t>(i + 1);
  }
  return vocabulary;
}

int32_t CharVocabulary::Id(char32_t c) const {
  const auto it = ids_.find(c);
  return it == ids_.end() ? kUnknown : it->second;
}

}  // namespace edgefl::datasets
