// A flat JSON array of numbers, the stored form of per-class accuracies:
//   [0.91,0.875,null]
// Numbers are written in the shortest form that reads back to the same
// double; NaN and infinities are written as null and read back as NaN.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace edgefl::storage {

std::string FormatJsonNumberArray(const std::vector<double>& values);

// Parses what FormatJsonNumberArray writes (whitespace allowed between
// tokens). Throws DataError naming the offending text otherwise.
std::vector<double> ParseJsonNumberArray(std::string_view text);

}  // namespace edgefl::storage
