#include "storage/json_scan.h"

#include <string>

#include "common/error.h"

namespace edgefl::storage {

void SkipJsonSpace(std::string_view text, size_t* at) {
  while (*at < text.size() &&
         (text[*at] == ' ' || text[*at] == '\t' || text[*at] == '\n' || text[*at] == '\r')) {
    ++*at;
  }
}

void ThrowMalformedJson(std::string_view kind, std::string_view text, const char* what) {
  throw DataError("malformed JSON " + std::string(kind) + " \"" + std::string(text.substr(0, 80)) +
                  "\": " + what);
}

}  // namespace edgefl::storage
