#include "client/session_stop.h"

#include <sys/socket.h>

namespace edgefl::client {

void SessionStop::Stop() {
  std::lock_guard<std::mutex> lock(mutex_);
  stopped_ = true;
  // shutdown(2), not close: the descriptor stays the session's to close, so
  // it can never be reused under the session's feet.
  if (socket_fd_ >= 0) ::shutdown(socket_fd_, SHUT_RDWR);
}

bool SessionStop::stopped() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stopped_;
}

bool SessionStop::Attach(int socket_fd) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (stopped_) return false;
  socket_fd_ = socket_fd;
  return true;
}

void SessionStop::Detach() {
  std::lock_guard<std::mutex> lock(mutex_);
  socket_fd_ = -1;
}

}  // namespace edgefl::client
