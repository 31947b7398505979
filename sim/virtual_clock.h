// A discrete-event clock for simulation: events are taken in order of
// (virtual time, key, insertion), so ties at the same time resolve by the
// caller's key (e.g. the client's index) and then first-scheduled-first,
// never by how fast the host ran anything.
#pragma once

#include <cstddef>
#include <cstdint>
#include <queue>
#include <vector>

namespace edgefl::sim {

template <typename Payload>
class VirtualClock {
 public:
  struct Event {
    double time = 0.0;
    uint64_t key = 0;
    uint64_t sequence = 0;
    Payload payload;
  };

  VirtualClock() = default;
  // A clock that starts at `start` (a resumed simulation continues its time).
  explicit VirtualClock(double start) : now_(start) {}

  // Virtual seconds since the start: the time of the last event taken (or
  // the start time before any).
  double now() const { return now_; }
  bool empty() const { return queue_.empty(); }
  size_t size() const { return queue_.size(); }

  // Schedules `payload` at virtual time `time` (>= now(); an earlier time is
  // taken as now()).
  void Schedule(double time, uint64_t key, Payload payload) {
    queue_.push(Event{time < now_ ? now_ : time, key, next_sequence_++, std::move(payload)});
  }

  // The time of the next event. REQUIRES: !empty().
  double NextTime() const { return queue_.top().time; }

  // Removes and returns the next event and moves the clock to its time.
  // REQUIRES: !empty().
  Event Pop() {
    Event e = queue_.top();
    queue_.pop();
    now_ = e.time;
    return e;
  }

 private:
  struct Later {
    bool operator()(const Event& a, const Event& b) const {
      if (a.time != b.time) return a.time > b.time;
      if (a.key != b.key) return a.key > b.key;
      return a.sequence > b.sequence;
    }
  };
  std::priority_queue<Event, std::vector<Event>, Later> queue_;
  double now_ = 0.0;
  uint64_t next_sequence_ = 0;
};

}  // namespace edgefl::sim
