#include "src/smtp/deadlines.h"

#include <algorithm>

namespace mugai::smtp {

SessionDeadlines::SessionDeadlines(TimeLimits limits, Clock::time_point accepted)
    : limits_(limits), session_end_(accepted + limits.session) {
  requestStarted(accepted, false);
}

void SessionDeadlines::requestStarted(Clock::time_point now, bool data) {
  data_ = data;
  request_start_ = now;
  request_end_ = now + (data ? limits_.data : limits_.command);
  last_byte_ = now;
  bytes_in_request_ = false;
}

void SessionDeadlines::received(Clock::time_point now, std::size_t n, bool in_data) {
  if (n == 0) return;
  last_byte_ = now;
  bytes_in_request_ = true;
  if (!in_data || !data_) return;  // a command must be complete within its time limit
  const Clock::time_point cap = now + limits_.data;
  if (limits_.min_data_rate == 0) {
    request_end_ = cap;  // silence timeout only
    return;
  }
  // N / rate seconds, in microseconds, without overflow for any n.
  auto credit = std::chrono::microseconds(static_cast<std::int64_t>(
      std::min<std::uint64_t>(n, 1ull << 40) * 1000000ull / limits_.min_data_rate));
  request_end_ = std::min(cap, request_end_ + credit);
}

SessionDeadlines::Expired SessionDeadlines::expired(Clock::time_point now, bool stressed) const {
  if (now >= session_end_) return Expired::kSession;
  Clock::time_point end = request_end_;
  if (!data_ && stressed) end = std::min(end, request_start_ + limits_.stress);
  if (now < end) return Expired::kNone;
  // Silent for the whole limit, or bytes that came too slowly?
  const auto limit = data_
                         ? limits_.data
                         : (stressed ? std::min(limits_.command, limits_.stress) : limits_.command);
  bool silent = !bytes_in_request_ || now - last_byte_ >= limit;
  if (data_) return silent ? Expired::kData : Expired::kDataSlow;
  return silent ? Expired::kCommand : Expired::kCommandSlow;
}

const char* SessionDeadlines::why(Expired e) {
  switch (e) {
    case Expired::kNone:
      return "none";
    case Expired::kCommand:
      return "command_timeout";
    case Expired::kCommandSlow:
      return "command_too_slow";
    case Expired::kData:
      return "data_timeout";
    case Expired::kDataSlow:
      return "data_too_slow";
    case Expired::kSession:
      return "session_deadline";
  }
  return "none";
}

}  // namespace mugai::smtp
