// The one error the wire codec throws.
#pragma once

#include <string>

#include "common/error.h"

namespace edgefl::wire {

// A frame or a message that does not follow docs/protocol.md: bad magic,
// unsupported version, unknown type, a length over the cap, a truncated or
// over-long field, trailing bytes. The message names the frame or the
// message and field ("TrainResult.parameters: 1000 floats declared but 12
// bytes left"). The session answers it with an Error message and closes the
// connection; it is never a reason to stop serving other clients.
class ProtocolError : public DataError {
 public:
  using DataError::DataError;
};

}  // namespace edgefl::wire
