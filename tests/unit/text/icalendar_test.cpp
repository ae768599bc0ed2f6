// The METHOD the engine reads from a delivered calendar (include/mugai/text/icalendar.h).
#include "mugai/text/icalendar.h"

#include <catch2/catch.hpp>

using mugai::text::calendarMethod;

TEST_CASE("icalendar: the top-level METHOD, upper case, quotes and CRLF tolerated", "[unit]") {
  CHECK(calendarMethod("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nEND:VEVENT\r\n"
                       "END:VCALENDAR\r\n") == "REQUEST");
  CHECK(calendarMethod("begin:vcalendar\nmethod:cancel\nend:vcalendar\n") == "CANCEL");
  CHECK(calendarMethod("BEGIN:VCALENDAR\nMETHOD:\"REPLY\"\nEND:VCALENDAR") == "REPLY");
  CHECK(calendarMethod("BEGIN:VCALENDAR\nMETHOD:X-MS-CUSTOM\nEND:VCALENDAR") == "X-MS-CUSTOM");
}

TEST_CASE("icalendar: no METHOD, a nested one, or one that is not a token gives nothing", "[unit]") {
  CHECK(calendarMethod("").empty());
  CHECK(calendarMethod("BEGIN:VCALENDAR\nEND:VCALENDAR\n").empty());
  CHECK(calendarMethod("METHOD:REQUEST\n").empty());  // outside any VCALENDAR
  CHECK(calendarMethod("BEGIN:VCALENDAR\nBEGIN:VEVENT\nMETHOD:REQUEST\nEND:VEVENT\nEND:VCALENDAR\n").empty());
  CHECK(calendarMethod("BEGIN:VCALENDAR\nMETHOD:REQUEST; charset=x\nEND:VCALENDAR\n").empty());
  CHECK(calendarMethod("BEGIN:VCALENDAR\nMETHOD:" + std::string(33, 'A') + "\nEND:VCALENDAR\n").empty());
  CHECK(calendarMethod("BEGIN:VCALENDAR\nMETHOD:REQUEST\r\nEND:VCALENDAR\nBEGIN:VCALENDAR\nMETHOD:PUBLISH\n") ==
        "REQUEST");  // the first one
}
