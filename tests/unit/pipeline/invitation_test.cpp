// Meeting invitations end to end (shipped rules, real libmagic and libclamav): an Outlook-style
// and a Google Calendar-style invitation arrive as invitations (text/calendar; method=REQUEST,
// inline) with their ATTACH and alarm payloads gone; a calendar libmagic calls text is still
// routed to the calendar rules.
#include <catch2/catch.hpp>

#include "mugai/mime/mime.h"
#include "mugai/pipeline/pipeline.h"
#include "support/calendar_fixtures.h"
#include "support/engine_fixture.h"
#include "support/mail_builder.h"

using namespace mugai;

namespace {

ProcessResult run(const std::string& raw) {
  return test::shippedEngine().processMessage(
      raw, Envelope{"yamada@partner.example.co.jp", {"staff@city.example.lg.jp"}}, "INV");
}

mime::Entity reparse(const std::string& out) {
  Limits l;
  Budget b(l);
  mime::ParseResult p = mime::parse(out, b);
  REQUIRE_FALSE(p.failure);
  return p.root;
}

std::vector<mime::Entity> calendars(const mime::Entity& root) {
  std::vector<mime::Entity> out;
  test::forEachEntity(root, [&](const mime::Entity& e) {
    if (e.mimeType() == "text/calendar") out.push_back(e);
  });
  return out;
}

std::string unfold(std::string s) {
  for (std::size_t p; (p = s.find("\r\n ")) != std::string::npos;) s.erase(p, 3);
  return s;
}

void requireCleanInvitation(const mime::Entity& cal) {
  REQUIRE(cal.params.count("method"));
  REQUIRE(cal.params.at("method") == "REQUEST");
  std::string body = unfold(cal.body);
  REQUIRE(body.find("METHOD:REQUEST") != std::string::npos);
  REQUIRE(body.find("BEGIN:VEVENT") != std::string::npos);
  REQUIRE(body.find("ATTENDEE") != std::string::npos);
  for (const char* gone : {"ATTACH", "PROCEDURE", "AUDIO", "TVqQ", "X-ALT-DESC", "<script"}) {
    INFO(gone);
    REQUIRE(body.find(gone) == std::string::npos);
  }
}

std::string part(const std::string& boundary, const std::string& headers, const std::string& body) {
  return "--" + boundary + "\r\n" + headers + "\r\n\r\n" + body + "\r\n";
}

}  // namespace

TEST_CASE("an Outlook invitation arrives as an invitation without its payloads", "[integration]") {
  std::string raw =
      "From: =?UTF-8?B?5bGx55SwIOWkqumDjg==?= <yamada@partner.example.co.jp>\r\n"
      "To: staff@city.example.lg.jp\r\nSubject: =?UTF-8?B?5a6a5L6L5omT5ZCI44Gb?=\r\n"
      "Message-ID: <inv1@partner.example.co.jp>\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/alternative; boundary=\"_000_outlook_\"\r\n\r\n" +
      part("_000_outlook_", "Content-Type: text/plain; charset=\"utf-8\"\r\nContent-Transfer-Encoding: base64",
           mime::encodeBase64("定例打合せの件です。\r\n")) +
      part("_000_outlook_", "Content-Type: text/html; charset=\"utf-8\"",
           "<html><body><p>定例打合せの件です。</p></body></html>") +
      part("_000_outlook_",
           "Content-Type: text/calendar; charset=\"utf-8\"; method=REQUEST\r\n"
           "Content-Transfer-Encoding: base64",
           mime::encodeBase64(test::outlookInvite())) +
      "--_000_outlook_--\r\n";
  ProcessResult r = run(raw);
  INFO(r.output);
  REQUIRE(r.verdict == Verdict::Modified);
  auto root = reparse(r.output);
  auto cals = calendars(root);
  REQUIRE(cals.size() == 1);
  REQUIRE(cals[0].disposition != "attachment");
  REQUIRE(cals[0].filename.empty());
  requireCleanInvitation(cals[0]);
  REQUIRE(test::bodyText(root).find("定例打合せの件です。") != std::string::npos);
  // The notice says what happened to the invitation, in words staff recognise.
  REQUIRE(test::bodyText(root).find("the calendar invitation") != std::string::npos);
}

TEST_CASE("a Google Calendar invitation arrives as an invitation, its invite.ics too", "[integration]") {
  std::string ics = test::googleInvite();
  std::string alt =
      part("alt_g", "Content-Type: text/plain; charset=\"UTF-8\"; format=flowed; delsp=yes",
           "Project review\r\nJoin with Google Meet: https://meet.google.com/abc-defg-hij") +
      part("alt_g", "Content-Type: text/html; charset=\"UTF-8\"", "<p>Project review</p>") +
      part("alt_g", "Content-Type: text/calendar; charset=\"UTF-8\"; method=REQUEST\r\n"
                    "Content-Transfer-Encoding: 7bit", ics) +
      "--alt_g--";
  std::string raw =
      "From: Sato <sato@partner.example.com>\r\nTo: staff@city.example.lg.jp\r\n"
      "Subject: Invitation: Project review @ Fri Dec 11, 2026 10am - 11am (JST)\r\n"
      "Message-ID: <inv2@google.com>\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=\"mix_g\"\r\n\r\n" +
      part("mix_g", "Content-Type: multipart/alternative; boundary=\"alt_g\"", alt) +
      part("mix_g",
           "Content-Type: application/ics; name=\"invite.ics\"\r\n"
           "Content-Disposition: attachment; filename=\"invite.ics\"\r\nContent-Transfer-Encoding: base64",
           mime::encodeBase64(ics)) +
      "--mix_g--\r\n";
  ProcessResult r = run(raw);
  INFO(r.output);
  REQUIRE(r.verdict == Verdict::Modified);
  auto cals = calendars(reparse(r.output));
  REQUIRE(cals.size() == 2);
  REQUIRE(cals[0].disposition != "attachment");
  requireCleanInvitation(cals[0]);
  REQUIRE(cals[1].filename == "invite.ics");
  requireCleanInvitation(cals[1]);
}

TEST_CASE("a calendar libmagic calls text still goes to the calendar rules", "[integration][adversarial]") {
  // Lower-case BEGIN and a leading blank line: libmagic says text/plain; Outlook opens it.
  std::string ics = "\r\nbegin:vcalendar\r\nversion:2.0\r\nbegin:vevent\r\nsummary:x\r\n"
                    "attach;encoding=base64;value=binary:" + test::pePayloadBase64() +
                    "\r\nend:vevent\r\nend:vcalendar\r\n";
  auto name = GENERATE(std::string("meeting.ics"), std::string("notes.txt"));
  ProcessResult r = run(test::buildMail("cal", "see attached", {{"text/plain", name, ics}}));
  INFO(r.output);
  auto cals = calendars(reparse(r.output));
  REQUIRE(cals.size() == 1);
  REQUIRE(cals[0].body.find("TVqQ") == std::string::npos);
  // Not a calendar at all but named like one: refused, never kept as text under .ics.
  ProcessResult bad = run(test::buildMail("cal", "x", {{"text/plain", "invite.ics", "just text\r\n"}}));
  REQUIRE(calendars(reparse(bad.output)).empty());
  REQUIRE(bad.report.actions.back().reason == "parse.malformed");
}
