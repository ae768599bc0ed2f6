/**
 * @file icalendar.h
 * @brief What the engine reads from a calendar (RFC 5545) it delivers: the METHOD that makes it
 *        an invitation (REQUEST, CANCEL, REPLY...), for the Content-Type's method parameter.
 *
 * Trust: meant for sanitizer.calendar's rebuilt output; on any text it returns a token or "".
 * Limits: one pass over the text, no allocation beyond the result.
 * Errors: none; "" when there is no usable METHOD.
 */
#pragma once

#include <string>
#include <string_view>

namespace mugai::text {

/// The METHOD of the top-level VCALENDAR, upper case and token-only (A-Z and '-', at most 32), or
/// "". A METHOD inside a nested component (VEVENT...) does not count.
std::string calendarMethod(std::string_view ics);

}  // namespace mugai::text
