// What the two small JSON readers of the log (json_array.h, json_object.h)
// share: skipping white space and the error for malformed text.
#pragma once

#include <cstddef>
#include <string_view>

namespace edgefl::storage {

// Advances *at past JSON white space (space, tab, LF, CR).
void SkipJsonSpace(std::string_view text, size_t* at);

// Throws DataError("malformed JSON <kind> \"<the first 80 characters>\": <what>").
[[noreturn]] void ThrowMalformedJson(std::string_view kind, std::string_view text,
                                     const char* what);

}  // namespace edgefl::storage
