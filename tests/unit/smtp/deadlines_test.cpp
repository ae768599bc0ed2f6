// Session deadlines with a made-up clock: per-request command deadline, the minimum data rate in
// DATA, the stress timeout and the whole-session deadline (issue 9, item 4). No real time passes.
#include "src/smtp/deadlines.h"

#include <catch2/catch.hpp>

using mugai::smtp::SessionDeadlines;
using mugai::smtp::TimeLimits;
using Expired = SessionDeadlines::Expired;
using namespace std::chrono_literals;

namespace {
const SessionDeadlines::Clock::time_point t0{};

TimeLimits limits() {
  TimeLimits l;
  l.command = 300s;
  l.data = 300s;
  l.stress = 10s;
  l.session = 600s;
  l.min_data_rate = 500;
  return l;
}
}  // namespace

TEST_CASE("deadlines: an idle client is cut at the command timeout, not before", "[smtp]") {
  SessionDeadlines d(limits(), t0);
  CHECK(d.expired(t0 + 299s, false) == Expired::kNone);
  CHECK(d.expired(t0 + 300s, false) == Expired::kCommand);
  CHECK(std::string(SessionDeadlines::why(Expired::kCommand)) == "command_timeout");
}

TEST_CASE("deadlines: a command trickled one byte every 10 s does not extend the wait", "[smtp]") {
  SessionDeadlines d(limits(), t0);
  auto t = t0;
  for (int i = 0; i < 29; ++i) {
    t += 10s;
    d.received(t, 1, false);
    REQUIRE(d.expired(t, false) == Expired::kNone);
  }
  t += 10s;
  d.received(t, 1, false);
  CHECK(d.expired(t, false) == Expired::kCommandSlow);
  CHECK(std::string(SessionDeadlines::why(Expired::kCommandSlow)) == "command_too_slow");
  // Variant: a whole command every 250 s keeps each request within its limit...
  SessionDeadlines chatty(limits(), t0);
  t = t0;
  for (int i = 0; i < 2; ++i) {
    t += 250s;
    chatty.received(t, 6, false);
    chatty.requestStarted(t, false);  // the reply went out
    REQUIRE(chatty.expired(t, false) == Expired::kNone);
  }
  // ...but not the session past its deadline.
  CHECK(chatty.expired(t0 + 599s, false) == Expired::kNone);
  CHECK(chatty.expired(t0 + 600s, false) == Expired::kSession);
}

TEST_CASE("deadlines: DATA at 1 byte/s is cut, at the minimum rate it goes on", "[smtp]") {
  SessionDeadlines slow(limits(), t0);
  slow.requestStarted(t0, true);
  auto t = t0;
  Expired e = Expired::kNone;
  int seconds = 0;
  while (e == Expired::kNone && seconds < 3600) {
    t += 1s;
    ++seconds;
    slow.received(t, 1, true);
    e = slow.expired(t, false);
  }
  CHECK(e == Expired::kDataSlow);
  CHECK(seconds > 290);  // 300 s plus 1/500 s per byte
  CHECK(seconds < 310);
  // Variant: exactly the minimum rate (500 bytes each second) never runs out.
  SessionDeadlines steady(limits(), t0);
  steady.requestStarted(t0, true);
  t = t0;
  for (int i = 0; i < 550; ++i) {
    t += 1s;
    steady.received(t, 500, true);
    REQUIRE(steady.expired(t, false) == Expired::kNone);
  }
  // Variant: a fast start does not buy unlimited credit (never beyond the data timeout).
  SessionDeadlines burst(limits(), t0);
  burst.requestStarted(t0, true);
  burst.received(t0 + 1s, 100000000, true);  // 100 MB: 200,000 s of credit, capped
  CHECK(burst.expired(t0 + 300s, false) == Expired::kNone);
  CHECK(burst.expired(t0 + 302s, false) == Expired::kData);
}

TEST_CASE("deadlines: DATA silent for the data timeout, and rate 0 times silence only", "[smtp]") {
  TimeLimits l = limits();
  l.data = 2s;
  SessionDeadlines d(l, t0);
  d.requestStarted(t0, true);
  CHECK(d.expired(t0 + 1900ms, false) == Expired::kNone);
  CHECK(d.expired(t0 + 2s, false) == Expired::kData);
  l.min_data_rate = 0;
  SessionDeadlines old(l, t0);
  old.requestStarted(t0, true);
  auto t = t0;
  for (int i = 0; i < 100; ++i) {  // a byte a second, for 100 s: only silence counts
    t += 1s;
    old.received(t, 1, true);
    REQUIRE(old.expired(t, false) == Expired::kNone);
  }
  CHECK(old.expired(t + 2s, false) == Expired::kData);
}

TEST_CASE("deadlines: under stress the command wait is the stress timeout, DATA is not", "[smtp]") {
  SessionDeadlines d(limits(), t0);
  CHECK(d.expired(t0 + 9s, true) == Expired::kNone);
  CHECK(d.expired(t0 + 10s, true) == Expired::kCommand);
  CHECK(d.expired(t0 + 10s, false) == Expired::kNone);  // stress over: the normal limit
  SessionDeadlines data(limits(), t0);
  data.requestStarted(t0, true);
  data.received(t0 + 5s, 5000, true);
  CHECK(data.expired(t0 + 20s, true) == Expired::kNone);
}

TEST_CASE("deadlines: the session deadline wins over everything, data included", "[smtp]") {
  TimeLimits l = limits();
  l.session = 60s;
  SessionDeadlines d(l, t0);
  d.requestStarted(t0 + 50s, true);
  for (int i = 51; i < 60; ++i) d.received(t0 + std::chrono::seconds(i), 100000, true);
  CHECK(d.expired(t0 + 59s, false) == Expired::kNone);
  CHECK(d.expired(t0 + 60s, false) == Expired::kSession);
  CHECK(std::string(SessionDeadlines::why(Expired::kSession)) == "session_deadline");
}
