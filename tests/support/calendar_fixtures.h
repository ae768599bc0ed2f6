// Realistic invitations and contacts, built in code: an Outlook/Exchange-style and a Google
// Calendar-style meeting request with hostile payloads added (ATTACH with a base64 PE or a link
// to an .exe, alarms that run or play things, an HTML description with script), and vCards.
#pragma once

#include <string>
#include <vector>

#include "mugai/mime/mime.h"

namespace mugai::test {

/// Folds each line at 75 octets as RFC 5545 writers do (Outlook splits inside UTF-8 characters
/// too), CRLF line ends.
inline std::string foldIcs(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) {
    for (std::size_t i = 0; i < l.size(); i += (i == 0 ? 75 : 74)) {
      if (i > 0) out += "\r\n ";
      out += l.substr(i, i == 0 ? 75 : 74);
    }
    out += "\r\n";
  }
  return out;
}

/// A base64 "PE" (MZ header and DOS stub text) as an ATTACH value.
inline std::string pePayloadBase64() {
  std::string pe = "MZ\x90";
  pe += std::string("\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff", 11);
  pe += "This program cannot be run in DOS mode.\r\r\n$";
  pe += std::string(300, 'A');
  return mime::encodeBase64(pe, 0);
}

inline std::vector<std::string> outlookVevent(bool with_description) {
  std::vector<std::string> v = {
      "BEGIN:VEVENT",
      "ORGANIZER;CN=\"山田 太郎\":mailto:yamada@partner.example.co.jp",
      "ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE;CN=staff@city.example.lg"
      ".jp:mailto:staff@city.example.lg.jp"};
  if (with_description) v.push_back("DESCRIPTION;LANGUAGE=ja-JP:定例打合せの件です。\\n資料は当日配布します。\\n");
  std::vector<std::string> rest = {
      "UID:040000008200E00074C5B7101A82E0080000000060D3B7A2C561DB01000000000000000010000000"
      "5F1E3B1D0B5C2E4A9A7C",
      "SUMMARY;LANGUAGE=ja-JP:定例打合せ（第3回）",
      "DTSTART;TZID=Tokyo Standard Time:20261210T150000",
      "DTEND;TZID=Tokyo Standard Time:20261210T160000",
      "CLASS:PUBLIC", "PRIORITY:5", "DTSTAMP:20261201T020000Z", "TRANSP:OPAQUE",
      "STATUS:CONFIRMED", "SEQUENCE:0", "LOCATION;LANGUAGE=ja-JP:本庁舎 第3会議室",
      "X-MICROSOFT-CDO-APPT-SEQUENCE:0", "X-MICROSOFT-CDO-OWNERAPPTID:2120824316",
      "X-MICROSOFT-CDO-BUSYSTATUS:TENTATIVE", "X-MICROSOFT-CDO-INTENDEDSTATUS:BUSY",
      "X-MICROSOFT-CDO-ALLDAYEVENT:FALSE", "X-MICROSOFT-CDO-IMPORTANCE:1",
      "X-MICROSOFT-CDO-INSTTYPE:0", "X-MICROSOFT-DONOTFORWARDMEETING:FALSE",
      "X-MICROSOFT-DISALLOW-COUNTER:FALSE",
      "X-ALT-DESC;FMTTYPE=text/html:<html><head><script>alert('x')</script></head><body><p>定例"
      "打合せの件です。</p><p>会場は<b>第3会議室</b>です。</p><img src=\"https://tracker.example/p.gif\"></body></html>",
      "ATTACH;FMTTYPE=application/octet-stream;ENCODING=BASE64;VALUE=BINARY;X-FILENAME=agenda.exe:" +
          pePayloadBase64(),
      "BEGIN:VALARM", "DESCRIPTION:REMINDER", "TRIGGER;RELATED=START:-PT15M", "ACTION:DISPLAY",
      "END:VALARM",
      "BEGIN:VALARM", "TRIGGER:-PT5M", "ACTION:PROCEDURE",
      "ATTACH;VALUE=URI:file:///C:/Windows/System32/calc.exe", "END:VALARM",
      "END:VEVENT"};
  v.insert(v.end(), rest.begin(), rest.end());
  return v;
}

/// Exchange/Outlook 2016-style METHOD:REQUEST.
inline std::string outlookInvite(bool with_description = true) {
  std::vector<std::string> l = {
      "BEGIN:VCALENDAR", "METHOD:REQUEST", "PRODID:Microsoft Exchange Server 2010", "VERSION:2.0",
      "BEGIN:VTIMEZONE", "TZID:Tokyo Standard Time", "BEGIN:STANDARD", "DTSTART:16010101T000000",
      "TZOFFSETFROM:+0900", "TZOFFSETTO:+0900", "END:STANDARD", "BEGIN:DAYLIGHT",
      "DTSTART:16010101T000000", "TZOFFSETFROM:+0900", "TZOFFSETTO:+0900", "END:DAYLIGHT",
      "END:VTIMEZONE"};
  for (auto& s : outlookVevent(with_description)) l.push_back(s);
  l.push_back("END:VCALENDAR");
  return foldIcs(l);
}

/// Google Calendar-style METHOD:REQUEST (a Drive attachment that is an .exe, an AUDIO alarm).
inline std::string googleInvite() {
  return foldIcs({
      "BEGIN:VCALENDAR", "PRODID:-//Google Inc//Google Calendar 70.9054//EN", "VERSION:2.0",
      "CALSCALE:GREGORIAN", "METHOD:REQUEST", "BEGIN:VTIMEZONE", "TZID:Asia/Tokyo",
      "X-LIC-LOCATION:Asia/Tokyo", "BEGIN:STANDARD", "TZOFFSETFROM:+0900", "TZOFFSETTO:+0900",
      "TZNAME:JST", "DTSTART:19700101T000000", "END:STANDARD", "END:VTIMEZONE", "BEGIN:VEVENT",
      "DTSTART;TZID=Asia/Tokyo:20261211T100000", "DTEND;TZID=Asia/Tokyo:20261211T110000",
      "DTSTAMP:20261201T010203Z", "ORGANIZER;CN=sato@partner.example.com:mailto:sato@partner.example.com",
      "UID:7kq2l0c1m5o3s9v4e8r6b2n1d0@google.com",
      "ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE;CN=staff@city.example.lg.jp;X-NUM-GUESTS=0:mailto:staff@city.example.lg.jp",
      "ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;RSVP=TRUE;CN=sato@partner.example.com;X-NUM-GUESTS=0:mailto:sato@partner.example.com",
      "X-MICROSOFT-CDO-OWNERAPPTID:-1520437925", "CREATED:20261201T010200Z",
      "DESCRIPTION:Project review.\\n\\nJoin with Google Meet: https://meet.google.com/abc-defg-hij\\n"
      "\\n-::~:~::~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~::~:~::-",
      "LAST-MODIFIED:20261201T010202Z", "LOCATION:", "SEQUENCE:0", "STATUS:CONFIRMED",
      "SUMMARY:Project review", "TRANSP:OPAQUE",
      "ATTACH;FILENAME=setup.exe;FMTTYPE=application/x-msdownload:https://drive.google.com/open?id=1AbCdEf",
      "X-GOOGLE-CONFERENCE:https://meet.google.com/abc-defg-hij",
      "BEGIN:VALARM", "ACTION:AUDIO", "TRIGGER:-P0DT0H10M0S",
      "ATTACH;VALUE=URI:http://evil.example/ring.wav", "END:VALARM",
      "BEGIN:VALARM", "ACTION:DISPLAY", "DESCRIPTION:This is an event reminder",
      "TRIGGER:-P0DT0H30M0S", "END:VALARM", "END:VEVENT", "END:VCALENDAR"});
}

}  // namespace mugai::test
