// sanitizer.calendar: realistic invitations and contacts with hostile payloads (built in
// tests/support/calendar_fixtures.h), one hostile case per limit, malformed input, idempotence.
#include "sanitizers/calendar/calendar.h"
#include "mugai/text/icalendar.h"

#include <catch2/catch.hpp>

#include "support/calendar_fixtures.h"
#include "support/sanitizer_run.h"

using namespace mugai;
using namespace mugai::sanitizers::calendar;

namespace {

Outcome run(const std::string& data, const std::string& type = "text/calendar", Options o = {},
            const std::string& charset = "") {
  Part p = test::partOf(data, type, "invite.ics");
  p.charset = Untrusted<std::string>(charset);
  return test::applyOnce(CalendarSanitizer(o), p);
}

/// The output with folding undone, to search whole content lines.
std::string unfolded(const Outcome& o) {
  REQUIRE(o.replacement);
  std::string s = o.replacement->data;
  for (std::size_t p; (p = s.find("\r\n ")) != std::string::npos;) s.erase(p, 3);
  return s;
}

bool has(const std::string& s, const std::string& needle) { return s.find(needle) != std::string::npos; }

std::string card(const std::vector<std::string>& lines) { return test::foldIcs(lines); }

}  // namespace

TEST_CASE("calendar: an Outlook invitation keeps the meeting and loses the payloads", "[unit]") {
  Outcome o = run(test::outlookInvite());
  INFO(test::findingsText(o));
  REQUIRE(o.verdict == Verdict::Modified);
  REQUIRE(o.reason == Reason::CdrRebuilt);
  REQUIRE(o.replacement->output_type == "text/calendar");
  std::string s = unfolded(o);
  for (const char* kept : {"METHOD:REQUEST", "SUMMARY;LANGUAGE=ja-JP:定例打合せ（第3回）",
                           "DTSTART;TZID=Tokyo Standard Time:20261210T150000",
                           "ORGANIZER;CN=\"山田 太郎\":mailto:yamada@partner.example.co.jp",
                           "mailto:staff@city.example.lg.jp", "UID:040000008200E000",
                           "SEQUENCE:0", "LOCATION;LANGUAGE=ja-JP:本庁舎 第3会議室",
                           "DESCRIPTION;LANGUAGE=ja-JP:定例打合せの件です。", "BEGIN:VTIMEZONE",
                           "ACTION:DISPLAY", "TRIGGER;RELATED=START:-PT15M",
                           "X-MICROSOFT-CDO-BUSYSTATUS:TENTATIVE"}) {
    INFO(kept);
    REQUIRE(has(s, kept));
  }
  for (const char* gone : {"ATTACH", "TVqQ", "agenda.exe", "PROCEDURE", "calc.exe", "X-ALT-DESC",
                           "<script", "alert", "tracker.example"}) {
    INFO(gone);
    REQUIRE_FALSE(has(s, gone));
  }
  REQUIRE(test::hasFinding(o, "removed_attachments", "1"));  // the alarm's ATTACH went with it
  REQUIRE(test::hasFinding(o, "removed_alarms", "1"));
  REQUIRE(test::hasFinding(o, "removed_html_descriptions", "1"));
  REQUIRE(text::calendarMethod(o.replacement->data) == "REQUEST");
}

TEST_CASE("calendar: an HTML description becomes the text description when there is none", "[unit]") {
  std::string s = unfolded(run(test::outlookInvite(/*with_description=*/false)));
  REQUIRE(has(s, "DESCRIPTION:定例打合せの件です。"));
  REQUIRE(has(s, "第3会議室"));
  REQUIRE_FALSE(has(s, "alert"));
  REQUIRE_FALSE(has(s, "<p>"));
  REQUIRE_FALSE(has(s, "X-ALT-DESC"));
}

TEST_CASE("calendar: a Google Calendar invitation loses the Drive .exe and the sound alarm", "[unit]") {
  Outcome o = run(test::googleInvite());
  std::string s = unfolded(o);
  for (const char* kept : {"METHOD:REQUEST", "SUMMARY:Project review", "UID:7kq2l0c1m5o3s9v4e8r6b2n1d0@google.com",
                           "DTSTART;TZID=Asia/Tokyo:20261211T100000", "X-LIC-LOCATION:Asia/Tokyo",
                           "https://meet.google.com/abc-defg-hij\\n", "ACTION:DISPLAY"}) {
    INFO(kept);
    REQUIRE(has(s, kept));
  }
  for (const char* gone : {"ATTACH", "drive.google.com", "setup.exe", "AUDIO", "ring.wav", "X-GOOGLE-CONFERENCE"}) {
    INFO(gone);
    REQUIRE_FALSE(has(s, gone));
  }
  REQUIRE(test::hasFinding(o, "removed_alarms", "1"));
  REQUIRE(test::hasFinding(o, "removed_attachments", "1"));
}

TEST_CASE("calendar: variants of hidden payloads are still found", "[unit][adversarial]") {
  auto wrap = [](const std::vector<std::string>& ev) {
    std::vector<std::string> l = {"BEGIN:VCALENDAR", "VERSION:2.0", "METHOD:PUBLISH", "BEGIN:VEVENT",
                                  "UID:1", "SUMMARY:x"};
    l.insert(l.end(), ev.begin(), ev.end());
    l.push_back("END:VEVENT");
    l.push_back("END:VCALENDAR");
    return test::foldIcs(l);
  };
  SECTION("a property name folded in two, lower case, behind a group prefix") {
    std::string ics = wrap({"SUMMARY:ok"});
    ics.insert(ics.find("END:VEVENT"), "AT\r\n TACH;ENCODING=BASE64;VALUE=BINARY:" + test::pePayloadBase64() +
                                           "\r\nattach:file://evil.example/share/run.hta\r\n"
                                           "g1.ATTACH:https://evil.example/a.exe\r\n");
    std::string s = unfolded(run(ics));
    REQUIRE_FALSE(has(s, "TVqQ"));
    REQUIRE_FALSE(has(s, "run.hta"));
    REQUIRE_FALSE(has(s, "a.exe"));
  }
  SECTION("an alarm without ACTION, an EMAIL alarm and an unknown component go") {
    std::string s = unfolded(run(wrap({"BEGIN:VALARM", "TRIGGER:-PT5M", "END:VALARM", "BEGIN:VALARM",
                                       "ACTION:EMAIL", "ATTENDEE:mailto:x@evil.example", "END:VALARM",
                                       "BEGIN:X-PAYLOAD", "DATA:TVqQ", "END:X-PAYLOAD"})));
    REQUIRE_FALSE(has(s, "VALARM"));
    REQUIRE_FALSE(has(s, "X-PAYLOAD"));
    REQUIRE_FALSE(has(s, "TVqQ"));
  }
  SECTION("links to other content: ALTREP, UNC and file URLs, non-mailto attendees") {
    std::string s = unfolded(run(wrap({"DESCRIPTION;ALTREP=\"cid:part1@evil\":text",
                                       "LOCATION;ALTREP=\"file:///c:/x.html\":room", "URL:\\\\\\\\evil\\\\share\\\\x.exe",
                                       "URL:file:///C:/x.exe", "URL:https://city.example.lg.jp/event",
                                       "ATTENDEE;DIR=\"ldap://evil.example/\":mailto:a@example.com",
                                       "ATTENDEE:file:///c:/x.exe", "ORGANIZER;CN=\"a:b\":mailto:o@example.com"})));
    REQUIRE_FALSE(has(s, "ALTREP"));
    REQUIRE_FALSE(has(s, "evil"));
    REQUIRE_FALSE(has(s, "x.exe"));
    REQUIRE(has(s, "DESCRIPTION:text"));
    REQUIRE(has(s, "LOCATION:room"));
    REQUIRE(has(s, "URL:https://city.example.lg.jp/event"));
    REQUIRE(has(s, "ATTENDEE:mailto:a@example.com"));
    REQUIRE(has(s, "ORGANIZER;CN=\"a:b\":mailto:o@example.com"));
  }
}

TEST_CASE("calendar: vCards keep the contact, lose pictures, sounds, keys and links", "[unit]") {
  SECTION("vCard 3.0 with a PE as PHOTO") {
    Outcome o = run(card({"BEGIN:VCARD", "VERSION:3.0", "N:山田;太郎;;;", "FN:山田 太郎",
                          "ORG:〇〇市;総務課", "TEL;TYPE=WORK,VOICE:03-1234-5678",
                          "EMAIL;TYPE=INTERNET:yamada@city.example.lg.jp",
                          "PHOTO;ENCODING=b;TYPE=JPEG:" + test::pePayloadBase64(),
                          "item1.LOGO;VALUE=uri:http://evil.example/logo.exe",
                          "SOUND;VALUE=uri:file:///c:/x.wav", "KEY;ENCODING=b:TUlJQ0lq",
                          "URL:file:///C:/x.exe", "item2.URL:https://city.example.lg.jp/",
                          "X-EVIL:payload", "END:VCARD"}),
                    "text/vcard");
    REQUIRE(o.replacement->output_type == "text/vcard");
    std::string s = unfolded(o);
    for (const char* kept : {"FN:山田 太郎", "N:山田;太郎;;;", "TEL;TYPE=WORK,VOICE:03-1234-5678",
                             "EMAIL;TYPE=INTERNET:yamada@city.example.lg.jp", "ORG:〇〇市;総務課",
                             "item2.URL:https://city.example.lg.jp/"}) {
      INFO(kept);
      REQUIRE(has(s, kept));
    }
    for (const char* gone : {"PHOTO", "TVqQ", "LOGO", "SOUND", "KEY", "x.exe", "X-EVIL"}) {
      INFO(gone);
      REQUIRE_FALSE(has(s, gone));
    }
    REQUIRE(test::hasFinding(o, "removed_pictures_sounds", "3"));
    REQUIRE(test::hasFinding(o, "removed_keys", "1"));
  }
  SECTION("vCard 2.1 from a Japanese phone: Shift_JIS, quoted-printable soft breaks, reading kept") {
    // "山田" in Shift_JIS is 8E 52 93 63; the reading ﾔﾏﾀﾞ as SOUND;X-IRMC-N.
    std::string sjis_name = "\x8E\x52\x93\x63";
    std::string v = "BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=SHIFT_JIS:" + sjis_name +
                    ";\r\nSOUND;X-IRMC-N;CHARSET=SHIFT_JIS:\xD4\xCF\xC0\xDE;\r\n"
                    "NOTE;ENCODING=QUOTED-PRINTABLE:line one=0D=0A=\r\nline two\r\n"
                    "PHOTO;ENCODING=BASE64;TYPE=GIF:\r\n R0lGODlhAQABAAAAACw=\r\n\r\n"
                    "AGENT:\r\nBEGIN:VCARD\r\nVERSION:2.1\r\nFN:agent\r\nEND:VCARD\r\nEND:VCARD\r\n";
    Outcome o = run(v, "text/vcard", {}, "shift_jis");
    std::string s = unfolded(o);
    INFO(s);
    REQUIRE(has(s, "N:山田;"));
    REQUIRE(has(s, "SOUND;X-IRMC-N:ﾔﾏﾀﾞ;"));
    REQUIRE(has(s, "NOTE;ENCODING=QUOTED-PRINTABLE:line one=0D=0A=\r\nline two"));
    REQUIRE_FALSE(has(s, "PHOTO"));
    REQUIRE_FALSE(has(s, "R0lGOD"));
    REQUIRE_FALSE(has(s, "agent"));
    REQUIRE_FALSE(has(s, "SHIFT_JIS"));
  }
}

TEST_CASE("calendar: limits and malformed input fail closed", "[unit][adversarial]") {
  Options small;
  small.line_limit = 1024;
  small.property_limit = 100;
  small.depth_limit = 4;
  auto head = std::string("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n");
  SECTION("a line folded beyond the limit") {
    std::string ics = head + "DESCRIPTION:x";
    for (int i = 0; i < 200; ++i) ics += "\r\n " + std::string(10, 'a');
    REQUIRE(run(ics + "\r\nEND:VCALENDAR\r\n", "text/calendar", small).reason == Reason::LimitDocumentObjects);
  }
  SECTION("too many content lines") {
    std::string ics = head;
    for (int i = 0; i < 200; ++i) ics += "COMMENT:x\r\n";
    Outcome o = run(ics + "END:VCALENDAR\r\n", "text/calendar", small);
    REQUIRE(o.reason == Reason::LimitDocumentObjects);
    REQUIRE(o.verdict >= Verdict::PartRemoved);
  }
  SECTION("components nested too deeply") {
    std::string ics = head;
    for (int i = 0; i < 100; ++i) ics += "BEGIN:VEVENT\r\n";
    for (int i = 0; i < 100; ++i) ics += "END:VEVENT\r\n";
    REQUIRE(run(ics + "END:VCALENDAR\r\n", "text/calendar", small).reason == Reason::LimitDocumentObjects);
  }
  SECTION("malformed") {
    auto bad = GENERATE(as<std::string>{}, std::string("plain text, not a calendar\r\n"),
                        std::string("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nEND:VCALENDAR\r\n"),
                        std::string("BEGIN:VCALENDAR\r\nSUMMARY:x\r\n"),
                        std::string("BEGIN:VCALENDAR\r\nSUMMARY:a\x01" "b\r\nEND:VCALENDAR\r\n"),
                        std::string("BEGIN:VCALENDAR\r\nno colon here\r\nEND:VCALENDAR\r\n"),
                        std::string("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\nATTACH:trailing\r\n"),
                        std::string("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\nBEGIN:VCARD\r\nEND:VCARD\r\n"),
                        std::string("BEGIN:VCALENDAR\r\nX;P=\"open:v\r\nEND:VCALENDAR\r\n"), std::string());
    Outcome o = run(bad);
    INFO(bad);
    REQUIRE(o.verdict >= Verdict::PartRemoved);
    REQUIRE(o.reason == Reason::ParseMalformed);
  }
}

TEST_CASE("calendar: rebuilding its own output changes nothing", "[unit]") {
  for (const std::string& in : {test::outlookInvite(), test::googleInvite(), test::outlookInvite(false)}) {
    Outcome first = run(in);
    REQUIRE(first.replacement);
    Part again = *first.replacement;
    again.detected.mime = "text/calendar";
    Outcome second = test::applyOnce(CalendarSanitizer({}), again);
    REQUIRE(second.verdict == Verdict::Pass);
  }
}
