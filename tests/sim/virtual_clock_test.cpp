#include "sim/virtual_clock.h"

#include <string>
#include <vector>

#include <doctest/doctest.h>

namespace edgefl::sim {

TEST_CASE("virtual clock: events come out by time then key then scheduling order") {
  VirtualClock<std::string> clock;
  clock.Schedule(5.0, 1, "b at 5");
  clock.Schedule(2.0, 7, "x at 2");
  clock.Schedule(5.0, 0, "a at 5");
  clock.Schedule(5.0, 1, "b again at 5");
  clock.Schedule(0.5, 3, "first");
  std::vector<std::string> order;
  std::vector<double> times;
  while (!clock.empty()) {
    const auto e = clock.Pop();
    order.push_back(e.payload);
    times.push_back(clock.now());
  }
  CHECK(order == std::vector<std::string>{"first", "x at 2", "a at 5", "b at 5", "b again at 5"});
  CHECK(times == std::vector<double>{0.5, 2.0, 5.0, 5.0, 5.0});
}

TEST_CASE("virtual clock: an event scheduled in the past happens now") {
  VirtualClock<int> clock;
  clock.Schedule(3.0, 0, 1);
  clock.Pop();
  clock.Schedule(1.0, 0, 2);
  CHECK(clock.NextTime() == 3.0);
  CHECK(clock.Pop().payload == 2);
  CHECK(clock.now() == 3.0);
}

}  // namespace edgefl::sim
