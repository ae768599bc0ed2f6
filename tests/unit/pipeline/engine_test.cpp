// End-to-end engine tests: real libmagic, real libclamav with rules/signatures, shipped rules.
#include <catch2/catch.hpp>

#include "mugai/mime/mime.h"
#include "mugai/pipeline/pipeline.h"
#include "support/engine_fixture.h"
#include "support/mail_builder.h"
#include "support/test_support.h"

using namespace mugai;
using test::Attachment;

namespace {

const Engine& engine() { return test::shippedEngine(); }

std::string eicar() { return test::readFile(test::generatedDir() / "eicar.com"); }

ProcessResult run(const std::string& raw) {
  return engine().processMessage(raw, Envelope{"sender@example.com", {"staff@city.example.lg.jp"}}, "T1");
}

mime::Entity reparse(const std::string& out) {
  Limits l;
  Budget b(l);
  mime::ParseResult p = mime::parse(out, b);
  REQUIRE_FALSE(p.failure);
  return p.root;
}

bool hasHtml(const mime::Entity& root) {
  bool found = false;
  test::forEachEntity(root, [&](const mime::Entity& e) { found |= e.mimeType() == "text/html"; });
  return found;
}

const ActionRecord* actionFor(const Report& r, const std::string& filename) {
  for (const auto& a : r.actions) {
    if (a.filename == filename) return &a;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("a plain message passes clean, as UTF-8 text, without a notice", "[integration]") {
  auto r = run(test::buildMail("Hello", "Dear staff,\r\nthe minutes are below.", {}));
  REQUIRE(r.verdict == Verdict::Pass);
  REQUIRE(r.report.verdictWord() == "clean");
  auto root = reparse(r.output);
  REQUIRE(root.mimeType() == "text/plain");
  REQUIRE(test::bodyText(root).find("the minutes are below.") != std::string::npos);
  REQUIRE(r.output.find("X-Mugai-Verdict: clean") != std::string::npos);
  REQUIRE(r.output.find("無害化") == std::string::npos);
}

TEST_CASE("an HTML body becomes text with links visible and a notice on top", "[integration]") {
  std::string html =
      "<html><head><style>p{color:red}</style><script>alert(1)</script></head><body>"
      "<p>Please see <a href=\"https://example.org/report\">the report</a>.</p>"
      "<img src=\"https://tracker.example/pixel.gif\" alt=\"\"><!-- secret --></body></html>";
  auto r = run(test::buildMail("HTML", html, {}, "text/html; charset=utf-8"));
  REQUIRE(r.report.verdictWord() == "sanitized");
  auto root = reparse(r.output);
  REQUIRE_FALSE(hasHtml(root));
  std::string text = test::bodyText(root);
  // Links as footnotes (the shipped rules' `links:`): a number in the text, the target listed below.
  REQUIRE(text.find("the report [1]") != std::string::npos);
  REQUIRE(text.find("\n[1] https://example.org/report\n") != std::string::npos);
  REQUIRE(text.find("alert") == std::string::npos);
  REQUIRE(text.find("secret") == std::string::npos);
  REQUIRE(text.find("tracker.example") == std::string::npos);
  // Notice first: Japanese, then English.
  auto ja = text.find("無害化");
  auto en = text.find("made harmless");
  REQUIRE(ja != std::string::npos);
  REQUIRE(en != std::string::npos);
  REQUIRE(ja < en);
  REQUIRE(en < text.find("Please see"));
}

TEST_CASE("EICAR in an attachment is detected and the attachment removed", "[integration]") {
  auto r = run(test::buildMail("Invoice", "See attached.",
                               {{"application/pdf", "invoice.pdf", eicar()},
                                {"text/plain", "notes.txt", "just notes\n"}}));
  REQUIRE(r.report.detections.size() == 1);
  REQUIRE(r.report.detections[0].signature.find("EICAR") != std::string::npos);
  REQUIRE(r.report.detections[0].filename == "invoice.pdf");
  const ActionRecord* a = actionFor(r.report, "invoice.pdf");
  REQUIRE(a);
  REQUIRE(a->action == "removed");
  REQUIRE(a->reason == "av.infected");
  REQUIRE(r.keepOriginal());
  auto root = reparse(r.output);
  std::string text = test::bodyText(root);
  REQUIRE(text.find("invoice.pdf") != std::string::npos);  // the notice names it
  REQUIRE(r.output.find("X5O!P%@AP") == std::string::npos);
  REQUIRE(r.output.find(mime::encodeBase64(eicar()).substr(0, 40)) == std::string::npos);
  bool notes = false;
  test::forEachEntity(root, [&](const mime::Entity& e) { notes |= e.filename == "notes.txt"; });
  REQUIRE(notes);  // the clean attachment is still there
}

TEST_CASE("EICAR inside an attached message inside an attachment is found", "[integration]") {
  std::string inner = test::buildMail("inner", "inner body", {{"application/octet-stream", "x.com", eicar()}});
  std::string outer =
      "From: a@example.com\r\nTo: b@city.example.lg.jp\r\nSubject: fwd\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=\"OUT\"\r\n\r\n--OUT\r\nContent-Type: text/plain\r\n\r\n"
      "forwarded\r\n--OUT\r\nContent-Type: message/rfc822\r\n\r\n" + inner + "\r\n--OUT--\r\n";
  auto r = run(outer);
  REQUIRE(r.report.detections.size() == 1);
  REQUIRE(r.report.detections[0].part.find("2.") == 0);
  REQUIRE(r.output.find("X5O!P%@AP") == std::string::npos);
  auto root = reparse(r.output);
  bool attached_message = false;
  test::forEachEntity(root, [&](const mime::Entity& e) { attached_message |= e.isMessage(); });
  REQUIRE(attached_message);
}

TEST_CASE("a PE called photo.jpg is removed by its true type and the lie reported", "[integration]") {
  std::string pe = "MZ" + std::string(58, '\0') + std::string("\x80\0\0\0", 4) + std::string(64, '\0') +
                   std::string("PE\0\0", 4) + std::string("\x4c\x01\x01\0", 4) + std::string(300, '\0');
  auto r = run(test::buildMail("Photo", "holiday", {{"image/jpeg", "photo.jpg", pe}}));
  const ActionRecord* a = actionFor(r.report, "photo.jpg");
  REQUIRE(a);
  REQUIRE(a->action == "removed");
  REQUIRE(a->detected_type != "image/jpeg");
  bool mismatch = false;
  for (const auto& f : a->findings) mismatch |= f.key == "type_mismatch";
  REQUIRE(mismatch);
}

TEST_CASE("denied extensions are removed whatever the content", "[integration]") {
  auto r = run(test::buildMail("Script", "run me", {{"text/plain", "run.vbs", "MsgBox 1\n"}}));
  const ActionRecord* a = actionFor(r.report, "run.vbs");
  REQUIRE(a);
  REQUIRE(a->reason == "extension.denied");
}

TEST_CASE("ISO-2022-JP mail with NEC extension characters comes out right", "[integration]") {
  // Subject "①㈱" as ISO-2022-JP encoded word: ESC $ B 2D21 2D6A ESC ( B
  std::string subj = "=?ISO-2022-JP?B?" + mime::encodeBase64(std::string("\x1b$B-!-j\x1b(B"), 0) + "?=";
  std::string raw = "From: a@example.jp\r\nTo: b@city.example.lg.jp\r\nSubject: " + subj +
                    "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=ISO-2022-JP\r\n"
                    "Content-Transfer-Encoding: 7bit\r\n\r\n\x1b$B-!-j\x1b(B\r\n";
  auto r = run(raw);
  REQUIRE(r.report.subject == "①㈱");
  auto root = reparse(r.output);
  REQUIRE(mime::decodeHeaderText(*root.header("Subject")) == "①㈱");
  REQUIRE(test::bodyText(root).find("①㈱") != std::string::npos);
  REQUIRE(root.charset == "utf-8");
  // Re-encoded, not changed: the report says so, the message stays clean, no notice, no "actions".
  REQUIRE(r.report.actions.size() == 1);
  CHECK(r.report.actions[0].action == "reencoded");
  CHECK(r.report.actions[0].reason == "text.normalized");
  CHECK(r.verdict == Verdict::Pass);
  CHECK(r.output.find("無害化") == std::string::npos);
  CHECK(r.report.logLine().find(" actions=0 ") != std::string::npos);
}

TEST_CASE("encrypted mail cannot be inspected and is blocked", "[integration]") {
  std::string raw = "From: a@example.com\r\nTo: b@city.example.lg.jp\r\nSubject: secret\r\n"
                    "MIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime; smime-type=enveloped-data; "
                    "name=smime.p7m\r\nContent-Transfer-Encoding: base64\r\n\r\nMIAGCSqGSIb3DQEHA6CAMIACAQAx\r\n";
  auto r = run(raw);
  REQUIRE(r.blocked());
  REQUIRE(r.report.reason == Reason::ContentEncrypted);
  REQUIRE(r.notice_only);
  REQUIRE(r.output.find("MIAGCSqGSIb3DQEHA6CAMIACAQAx") == std::string::npos);
  REQUIRE(r.keepOriginal());
  // The notice names the quarantine record, as a sanitized message does.
  REQUIRE(r.output.find("X-Mugai-Verdict: blocked\r\n") != std::string::npos);
  REQUIRE(r.output.find("X-Mugai-Id: T1\r\n") != std::string::npos);
}

TEST_CASE("sanitizing is idempotent: the output of mugai passes mugai clean", "[integration]") {
  auto first = run(test::buildMail("HTML", "<p>Hello <b>world</b></p>", {{"text/plain", "a.txt", "abc\n"}},
                                   "text/html; charset=utf-8"));
  REQUIRE(first.report.verdictWord() == "sanitized");
  auto second = run(first.output);
  INFO(second.report.toJson());
  REQUIRE(second.report.verdictWord() == "clean");
  // Nothing of the content changes. The first notice is text from the sender now: a notice of an
  // earlier pass cannot be told from a forged one, so its heading and end marker are taken out
  // like any imitation (docs/phishing.md), and the second notice says so.
  std::string text = test::bodyText(reparse(second.output));
  INFO(text);
  CHECK(text.find("Hello world") != std::string::npos);
  CHECK(text.find("a line imitating mugai's notice was removed") != std::string::npos);
  std::string first_marker = "―――― mugai 無害化通知ここまで（受付番号 T1）";
  CHECK(text.find(first_marker) == text.rfind(first_marker));  // only the second pass's own
  auto again = run(second.output);
  CHECK(again.report.verdictWord() == "clean");
}

TEST_CASE("file mode: clean file kept, EICAR blocked, HTML converted", "[integration]") {
  auto clean = engine().processFile("minutes of the meeting\n", "minutes.txt", "F1");
  REQUIRE(clean.verdict == Verdict::Pass);
  REQUIRE(clean.output == "minutes of the meeting\n");
  REQUIRE(clean.output_filename == "minutes.txt");
  auto bad = engine().processFile(eicar(), "eicar.com", "F2");
  REQUIRE(bad.blocked());
  REQUIRE(bad.output.empty());
  REQUIRE(bad.report.detections.size() == 1);
  auto html = engine().processFile("<html><body><p>x<script>evil()</script></p></body></html>", "a.html", "F3");
  REQUIRE(html.report.verdictWord() == "sanitized");
  REQUIRE(html.output_filename == "a.html.txt");
  REQUIRE(html.output.find("evil") == std::string::npos);
}

TEST_CASE("the report is valid, complete JSON with hostile strings escaped", "[integration]") {
  auto r = run(test::buildMail("Report \"quotes\"\x01", "x", {{"application/pdf", "invoice.pdf", eicar()}}));
  std::string j = r.report.toJson();
  INFO(j);
  REQUIRE(j.find("\"verdict\":\"sanitized\"") != std::string::npos);
  REQUIRE(j.find("\"subject\":\"Report \\\"quotes\\\"\\u0001\"") != std::string::npos);
  REQUIRE(j.find("\"detections\":[{") != std::string::npos);
  auto f = engine().processFile(eicar(), "e\"vil\n\x1b[2J.com", "F9");
  std::string fj = f.report.toJson();
  INFO(fj);
  REQUIRE(fj.find("\"filename\":\"e\\\"vil\\n\\u001b[2J.com\"") != std::string::npos);
  for (const std::string& s : {j, fj}) {
    REQUIRE(s.find('\n') == std::string::npos);
    REQUIRE(s.find('\x01') == std::string::npos);
    REQUIRE(s.find('\x1b') == std::string::npos);
  }
}

TEST_CASE("a kept Shift_JIS CSV attachment keeps its bytes and its charset label", "[integration]") {
  std::string csv = "\x96\xbc\x91\x4f,\x8f\x5a\x8f\x8a\r\n\x8e\x52\x93\x63,\x93\x8c\x8b\x9e\r\n";  // 名前,住所 / 山田,東京
  std::string raw = "From: a@example.jp\r\nSubject: csv\r\nMIME-Version: 1.0\r\n"
                    "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nlist\r\n"
                    "--b\r\nContent-Type: text/csv; charset=Shift_JIS; name=list.csv\r\n"
                    "Content-Disposition: attachment; filename=list.csv\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
                    mime::encodeBase64(csv) + "\r\n--b--\r\n";
  auto r = run(raw);
  auto root = reparse(r.output);
  bool found = false;
  test::forEachEntity(root, [&](const mime::Entity& e) {
    if (e.filename != "list.csv") return;
    found = true;
    REQUIRE(e.body == csv);
    REQUIRE(e.charset == "shift_jis");
  });
  REQUIRE(found);
}

TEST_CASE("report findings: a key found several times keeps every value, in order", "[report]") {
  Report rep;
  rep.id = "R1";
  ActionRecord a;
  a.action = "rebuilt";
  a.findings = {{"removed", "word/vbaProject.bin"}, {"removed", "word/activeX/activeX1.xml"},
                {"neutralised", "file://server/t.dotm"}};
  rep.actions.push_back(a);
  std::string j = rep.toJson();
  INFO(j);
  REQUIRE(j.find("\"findings\":{\"removed\":[\"word/vbaProject.bin\",\"word/activeX/activeX1.xml\"],"
                 "\"neutralised\":\"file://server/t.dotm\"}") != std::string::npos);
}

TEST_CASE("the original is kept when a part was removed, blocked or rebuilt, not for conversions",
          "[report]") {
  auto with = [](const std::string& action) {
    ProcessResult r;
    r.verdict = Verdict::Modified;
    ActionRecord a;
    a.action = action;
    r.report.actions.push_back(a);
    return r.keepOriginal();
  };
  CHECK(with("removed"));
  CHECK(with("blocked"));
  CHECK(with("rebuilt"));  // a .docm without its macros: the original stays retrievable
  CHECK_FALSE(with("kept"));
  CHECK_FALSE(with("reencoded"));
  CHECK_FALSE(with("converted"));  // every HTML mail: the text says what the page said
  CHECK_FALSE(with("renamed"));
  CHECK_FALSE(with("dropped_alternative"));
}

TEST_CASE("the log line quotes a file name and shows what could forge it", "[report]") {
  Report rep;
  rep.id = "L1";
  rep.kind = "file";
  rep.filename = "報告書.pdf";
  CHECK(rep.logLine().find(" file=\"報告書.pdf\" ") != std::string::npos);
  rep.filename = "a\" verdict=clean\n\xe2\x80\xae" "b.exe";
  std::string line = rep.logLine();
  INFO(line);
  CHECK(line.find(" file=\"a<U+0022> verdict=clean<U+000A><U+202E>b.exe\" ") != std::string::npos);
  CHECK(line.find('\n') == std::string::npos);
}
