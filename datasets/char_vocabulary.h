// A fixed character vocabulary for next-character language modelling.
//
// Built deterministically from training text: id 0 is the unknown symbol;
// ids 1..size-1 are the (size - 1) most frequent code points of the text
// (ties: the lower code point first), listed in code-point order. A text
// with fewer distinct characters leaves the top ids unused, so the number of
// ids is always `size` (the model's output width), whatever the text.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace edgefl::datasets {

class CharVocabulary {
 public:
  static constexpr int32_t kUnknown = 0;

  // Counts the code points of every text. Throws ConfigError if size is
  // outside [2, 65536].
  static CharVocabulary Build(std::span<const std::u32string_view> texts, int size);

  // Ids including the unknown one (== Build's size).
  int size() const { return size_; }
  // Characters with an id (<= size() - 1), in id order from id 1.
  const std::vector<char32_t>& characters() const { return characters_; }
  // The id of `c`, kUnknown if it has none.
  int32_t Id(char32_t c) const;

 private:
  int size_ = 0;
  std::vector<char32_t> characters_;
  std::unordered_map<char32_t, int32_t> ids_;
};

}  // namespace edgefl::datasets
