// Numbers as text for people and config files: the shortest text that reads
// back as the same double (std::to_chars' round-trip form), so a config
// value 0.05 prints as "0.05", never "0.050000000000000003" or "0.050000".
#pragma once

#include <string>

namespace edgefl {

// "0.05", "1e+300", "3", "-0", "inf", "nan": the shortest string that
// std::from_chars reads back as exactly `value`.
std::string ShortNumber(double value);
// The same for a float: its own shortest form ("0.1", not the double
// expansion 0.10000000149011612).
std::string ShortNumber(float value);

// ShortNumber as a TOML float: the same digits, with ".0" added when they
// would read as an integer ("3" -> "3.0"); inf and nan as TOML spells them.
std::string TomlFloat(double value);

// `value` with exactly `decimals` digits after the point ("%.*f"): a table
// column or a figure quoted to a fixed precision ("0.8925").
std::string FixedDecimals(double value, int decimals);

}  // namespace edgefl
