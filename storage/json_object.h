// A flat JSON object of named numbers, the stored form of a round's
// strategy metrics:
//   {"epsilon":1.25,"update_norm":0.031,"dp_clip":null}
// Names are identifiers ([A-Za-z0-9_], what strategies use); numbers are
// written as FormatJsonNumberArray writes them (shortest round-trip form,
// NaN and infinities as null, read back as NaN).
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace edgefl::storage {

// Throws Error for a name outside [A-Za-z0-9_] or empty.
std::string FormatJsonNumberObject(const std::map<std::string, double>& values);

// Parses what FormatJsonNumberObject writes (whitespace allowed between
// tokens). Throws DataError naming the offending text otherwise.
std::map<std::string, double> ParseJsonNumberObject(std::string_view text);

}  // namespace edgefl::storage
