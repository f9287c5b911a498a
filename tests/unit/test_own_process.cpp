// The executor's own process: when its pages are released — after the RUNNING update's round trip (at
// the latest at the second release), once more after the second-release delay, then after each status
// update's round trip (202 and ACK) — with a counting release in place of the real one. No timing is
// asserted: the test waits for what must happen.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>

#include "shell/own_process.h"

using namespace std::chrono_literals;
namespace ev = executor::ev;

namespace {

// Waits up to a generous bound for `count` to reach `n`; true when it did.
bool reaches(const std::atomic<int>& count, int n) {
  for (int i = 0; i < 1000 && count.load() < n; ++i) std::this_thread::sleep_for(10ms);
  return count.load() >= n;
}

ev::Acknowledged ack(bool matched = true, bool terminal = false) {
  ev::Acknowledged a;
  a.task_id = "t";
  a.uuid = "u";
  a.matched = matched;
  a.terminal = terminal;
  return a;
}

}  // namespace

TEST_CASE("a round trip is an update's 202 and its ACK, in either order") {
  shell::UpdateRoundTrips trips;
  CHECK_FALSE(trips.completes(ev::UpdateAccepted{"t", false}));
  CHECK(trips.completes(ack()));
  // The next one needs both again; an agent may ACK before its 202 arrives.
  CHECK_FALSE(trips.completes(ack()));
  CHECK(trips.completes(ev::UpdateAccepted{"t", false}));
  CHECK_FALSE(trips.completes(ev::UpdateAccepted{"t", false}));
  CHECK_FALSE(trips.completes(ev::UpdateAccepted{"t", false}));
  CHECK(trips.completes(ack()));
}

TEST_CASE("terminal updates, unmatched ACKs and other events complete no round trip") {
  shell::UpdateRoundTrips trips;
  CHECK_FALSE(trips.completes(ev::UpdateAccepted{"t", true}));
  CHECK_FALSE(trips.completes(ack(true, true)));
  CHECK_FALSE(trips.completes(ack(false)));
  CHECK_FALSE(trips.completes(ev::Heartbeat{}));
  CHECK_FALSE(trips.completes(ev::HealthChanged{true}));
  CHECK_FALSE(trips.completes(ev::UpdateAccepted{"t", false}));
  CHECK_FALSE(trips.completes(ack(false)));
  CHECK_FALSE(trips.completes(ack(true, true)));
  CHECK(trips.completes(ack()));
}

TEST_CASE("pages are released after the start, after the delay, then after each update's round trip") {
  std::atomic<int> releases{0};
  shell::OwnProcess process(1ms, 1ms, [&] {
    ++releases;
    return std::size_t{4096};
  });
  process.event_handled(ev::UpdateAccepted{"t", false});  // before the container runs: nothing to do
  process.event_handled(ack());
  CHECK(releases.load() == 0);
  process.container_running();
  REQUIRE(reaches(releases, 2));  // the first (no round trip within the 1 ms) and the second
  process.event_handled(ev::UpdateAccepted{"t", false});
  process.event_handled(ack());
  CHECK(reaches(releases, 3));
  process.event_handled(ack());
  process.event_handled(ev::UpdateAccepted{"t", false});
  CHECK(reaches(releases, 4));
}

TEST_CASE("the first release waits for RUNNING's round trip, not beside the update; later ones wait for the second") {
  std::atomic<int> releases{0};
  {
    shell::OwnProcess process(1h, 1ms, [&] {
      ++releases;
      return std::size_t{0};
    });
    process.container_running();
    std::this_thread::sleep_for(50ms);
    CHECK(releases.load() == 0);  // RUNNING is on its way: no release beside it
    process.event_handled(ev::UpdateAccepted{"t", false});
    process.event_handled(ack());
    REQUIRE(reaches(releases, 1));
    process.event_handled(ev::UpdateAccepted{"t", false});  // a health update before the second release
    process.event_handled(ack());
    std::this_thread::sleep_for(50ms);
    CHECK(releases.load() == 1);
  }  // joins the release thread, an hour before its second release
  CHECK(releases.load() == 1);
}

TEST_CASE("the release after a round trip waits for the round trip's threads to settle, and stops with the process") {
  std::atomic<int> releases{0};
  {
    shell::OwnProcess process(1ms, 1h, [&] {
      ++releases;
      return std::size_t{0};
    });
    process.container_running();
    REQUIRE(reaches(releases, 2));
    process.event_handled(ev::UpdateAccepted{"t", false});
    process.event_handled(ack());
  }  // the release thread is settling for an hour: woken and joined
  CHECK(releases.load() == 2);
}
