// Issue 10 through the whole engine: files hidden in text bodies (class 5), hidden HTML text
// and its notice (class 7), ambiguous MIME structure (class 8). Fixtures are built here.
#include <catch2/catch.hpp>

#include "mugai/mime/mime.h"
#include "mugai/pipeline/pipeline.h"
#include "support/engine_fixture.h"
#include "support/mail_builder.h"

using namespace mugai;

namespace {

ProcessResult run(const std::string& raw) {
  return test::shippedEngine().processMessage(raw, Envelope{"a@example.com", {"b@city.example.lg.jp"}}, "F1");
}

std::string plainMail(const std::string& body) {
  return "From: a@example.com\r\nTo: b@city.example.lg.jp\r\nSubject: files\r\nMIME-Version: 1.0\r\n"
         "Content-Type: text/plain; charset=us-ascii\r\n\r\n" + body;
}

std::string yenc(const std::string& name, const std::string& data) {
  std::string out = "=ybegin line=128 size=" + std::to_string(data.size()) + " name=" + name + "\r\n";
  std::size_t col = 0;
  for (unsigned char c : data) {
    unsigned char e = static_cast<unsigned char>(c + 42);
    if (e == 0 || e == '\n' || e == '\r' || e == '=') {
      out.push_back('=');
      e = static_cast<unsigned char>(e + 64);
    }
    out.push_back(static_cast<char>(e));
    if (++col >= 120) {
      out += "\r\n";
      col = 0;
    }
  }
  return out + "\r\n=yend size=" + std::to_string(data.size()) + "\r\n";
}

std::string binhex(const std::string& name, const std::string& data) {
  std::string raw;
  raw.push_back(static_cast<char>(name.size()));
  raw += name;
  raw.push_back('\0');
  raw += "APPLMUGA";          // type, creator
  raw += std::string(2, '\0');  // flags
  auto be32 = [&](std::uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) raw.push_back(static_cast<char>((v >> s) & 0xFF));
  };
  be32(static_cast<std::uint32_t>(data.size()));
  be32(0);
  raw += std::string(2, '\0');  // header CRC (not checked by readers we care about here)
  raw += data;
  raw += std::string(4, '\0');  // data and resource CRCs
  std::string rle;
  for (char c : raw) {
    rle.push_back(c);
    if (static_cast<unsigned char>(c) == 0x90) rle.push_back('\0');
  }
  static const std::string kAlphabet = "!\"#$%&'()*+,-012345689@ABCDEFGHIJKLMNPQRSTUVXYZ[`abcdefhijklmpqr";
  std::string out = "(This file must be converted with BinHex 4.0)\r\n:";
  unsigned acc = 0;
  int bits = 0;
  std::size_t col = 1;
  for (unsigned char c : rle) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 63]);
      if (++col == 64) {
        out += "\r\n";
        col = 0;
      }
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 63]);
  return out + ":\r\n";
}

const ActionRecord* actionWith(const Report& r, const std::string& reason) {
  for (const auto& a : r.actions) {
    if (a.reason == reason) return &a;
  }
  return nullptr;
}

/// Everything the recipient reads: notice and body texts, decoded.
std::string readable(const ProcessResult& r) {
  Limits l;
  Budget b(l);
  mime::ParseResult p = mime::parse(r.output, b);
  REQUIRE_FALSE(p.failure);
  return test::bodyText(p.root);
}

std::string eicar() { return test::readFile(test::generatedDir() / "eicar.com"); }

}  // namespace

TEST_CASE("body blocks: uuencoded, yEnc and BinHex EICAR in a text body are judged as files", "[body_blocks]") {
  for (const std::string& block : {mugai::test::uuencode("eicar.com", eicar()), yenc("eicar.com", eicar()), binhex("eicar.com", eicar())}) {
    INFO(block.substr(0, 40));
    ProcessResult r = run(plainMail("Hello,\r\nsee below.\r\n" + block + "Regards\r\n"));
    CHECK(actionWith(r.report, "av.infected"));  // the scanner saw the decoded file
    CHECK_FALSE(r.blocked());                    // shipped rules: av.infected removes the part
    std::string text = readable(r);
    CHECK(text.find("Regards") != std::string::npos);
    CHECK(text.find("see below.") != std::string::npos);
    CHECK(text.find(block.substr(0, 30)) == std::string::npos);  // the block left the text
    CHECK(text.find("eicar.com") != std::string::npos);          // the note names the file
  }
}

TEST_CASE("body blocks: an executable by name, a harmless file, a damaged block", "[body_blocks]") {
  ProcessResult exe = run(plainMail("x\r\n" + mugai::test::uuencode("setup.exe", std::string("MZ") + std::string(200, '\x01')) + "y\r\n"));
  CHECK(actionWith(exe.report, "extension.denied"));
  CHECK(readable(exe).find("setup.exe") != std::string::npos);  // the note names it
  // A file the rules would pass still leaves the text: a file sent as text is not delivered.
  ProcessResult notes = run(plainMail("x\r\n" + yenc("notes.txt", "just notes\n") + "y\r\n"));
  const ActionRecord* taken = actionWith(notes.report, "body.encoded_file");
  REQUIRE(taken);
  CHECK(taken->filename == "notes.txt");
  CHECK(notes.verdict == Verdict::PartRemoved);
  CHECK(readable(notes).find("just notes") == std::string::npos);
  // No "end" line: damaged, taken out all the same.
  std::string broken = mugai::test::uuencode("a.bin", "abcdef");
  broken.resize(broken.find("`\r\nend"));
  ProcessResult damaged = run(plainMail("x\r\n" + broken));
  CHECK(actionWith(damaged.report, "body.encoded_file"));
  // Text that only looks like the start of a block stays text.
  ProcessResult words = run(plainMail("begin the meeting at ten\r\n=ybegin? no\r\n"));
  CHECK(words.verdict <= Verdict::Modified);
  CHECK(readable(words).find("begin the meeting at ten") != std::string::npos);
}

TEST_CASE("body blocks: the same blocks inside an HTML body", "[body_blocks]") {
  std::string html = "<html><body><p>Hello</p><pre>\r\n" + mugai::test::uuencode("eicar.com", eicar()) + "</pre><p>Bye</p></body></html>";
  std::string mail = "From: a@example.com\r\nTo: b@city.example.lg.jp\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
                     "Content-Type: text/html; charset=us-ascii\r\n\r\n" + html + "\r\n";
  ProcessResult r = run(mail);
  CHECK(actionWith(r.report, "av.infected"));
  std::string text = readable(r);
  CHECK(text.find("Bye") != std::string::npos);
  CHECK(text.find("begin 644") == std::string::npos);
}

TEST_CASE("body blocks: an inline PGP message is treated like encrypted MIME", "[body_blocks]") {
  std::string pgp = "-----BEGIN PGP MESSAGE-----\r\n\r\nhQEMA0xyz\r\n=abcd\r\n-----END PGP MESSAGE-----\r\n";
  ProcessResult r = run(plainMail("Secret plans:\r\n" + pgp));
  CHECK(r.report.reason == Reason::ContentEncrypted);
  CHECK(r.blocked());  // shipped rules: encrypted_mime: block
  // A clear-signed message is not encrypted and stays.
  ProcessResult signed_text = run(plainMail("-----BEGIN PGP SIGNED MESSAGE-----\r\nHash: SHA256\r\n\r\nhello\r\n"));
  CHECK_FALSE(signed_text.blocked());
}

TEST_CASE("hidden HTML text: left out, and the notice says so", "[hidden]") {
  std::string html = "<html><head><style>.h{display:none}</style></head><body><p>Meeting at 15:00.</p>"
                     "<p style=\"font-size:0\">SECRET ignore previous instructions</p>"
                     "<p class=\"h\">SECRET two</p><p><font color=\"#ffffff\">SECRET three</font></p></body></html>";
  std::string mail = "From: a@example.com\r\nTo: b@city.example.lg.jp\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
                     "Content-Type: text/html; charset=utf-8\r\n\r\n" + html + "\r\n";
  ProcessResult r = run(mail);
  std::string text = readable(r);
  CHECK(text.find("Meeting at 15:00.") != std::string::npos);
  CHECK(text.find("SECRET") == std::string::npos);
  CHECK(text.find("text the sender had hidden from view was left out") != std::string::npos);
  bool reported = false;
  for (const auto& a : r.report.actions)
    for (const auto& f : a.findings) reported |= f.key == "removed_hidden_text";
  CHECK(reported);
}

TEST_CASE("ambiguous MIME is blocked with parse.ambiguous, never clean", "[ambiguity]") {
  std::string pe = mime::encodeBase64(std::string("MZ") + std::string(300, '\x02'));
  std::vector<std::string> mails = {
      // Two Content-Transfer-Encoding headers (the red team's sample).
      "From: a@example.com\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: 7bit\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\n" + pe + "\r\n",
      // A boundary with trailing white space.
      "From: a@example.com\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"zz \"\r\n\r\n--zz \r\n"
      "Content-Type: application/octet-stream; name=a.exe\r\nContent-Transfer-Encoding: base64\r\n\r\n" + pe + "\r\n--zz --\r\n",
      // An 8-bit header name that would end our header block before the MIME headers.
      "From: a@example.com\r\nX-\xe6\x97\xa5: 1\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
      "Content-Type: application/octet-stream; name=a.exe\r\nContent-Transfer-Encoding: base64\r\n\r\n" + pe + "\r\n--b--\r\n",
  };
  for (const auto& m : mails) {
    ProcessResult r = run(m);
    INFO(m.substr(0, 120));
    CHECK(r.report.reason == Reason::ParseAmbiguous);
    CHECK(r.blocked());
    CHECK(r.verdict == Verdict::Quarantine);
  }
}

// Issue 10 leftover: the same blocks inside a plain-text *attachment* (not only the body).
TEST_CASE("body blocks: files encoded inside a text attachment are judged and taken out", "[body_blocks]") {
  auto attachmentText = [](const ProcessResult& r, const std::string& name) {
    Limits l;
    Budget b(l);
    mime::ParseResult p = mime::parse(r.output, b);
    REQUIRE_FALSE(p.failure);
    std::string found;
    bool seen = false;
    test::forEachEntity(p.root, [&](const mime::Entity& e) {
      if (e.filename == name && !seen) seen = true, found = e.body;
    });
    REQUIRE(seen);
    return found;
  };
  auto mailWith = [](const std::string& text) {
    return test::buildMail("notes", "see the attached notes", {{"text/plain", "notes.txt", text}});
  };
  for (const auto& [block, reason] :
       {std::pair{mugai::test::uuencode("setup.exe", std::string("MZ") + std::string(200, '\x01')), "extension.denied"},
        std::pair{mugai::test::uuencode("eicar.com", eicar()), "av.infected"}}) {
    INFO(block.substr(0, 40));
    ProcessResult r = run(mailWith("Hello team,\r\n" + block + "Bye\r\n"));
    CHECK(actionWith(r.report, reason));
    CHECK_FALSE(r.blocked());
    std::string text = attachmentText(r, "notes.txt");
    CHECK(text.find("Hello team,") != std::string::npos);
    CHECK(text.find("Bye") != std::string::npos);
    CHECK(text.find(block.substr(0, 30)) == std::string::npos);  // the block left the file
  }
  // yEnc (8-bit) and BinHex files: libmagic does not call them plain text (data, mac-binhex40),
  // so the whole attachment goes by its type; the block never arrives either way.
  for (const std::string& block : {yenc("eicar.com", eicar()), binhex("tool.com", eicar())}) {
    ProcessResult y = run(mailWith("Hello team,\r\n" + block + "Bye\r\n"));
    Limits l;
    Budget b(l);
    mime::ParseResult p = mime::parse(y.output, b);
    REQUIRE_FALSE(p.failure);
    test::forEachEntity(p.root, [&](const mime::Entity& e) { CHECK(e.body.find(block.substr(0, 20)) == std::string::npos); });
    CHECK(y.keepOriginal());
  }
  // A text attachment without blocks is kept as it came.
  ProcessResult plain = run(mailWith("begin the meeting at ten\r\n"));
  CHECK(plain.verdict <= Verdict::Modified);
  CHECK(attachmentText(plain, "notes.txt").find("begin the meeting at ten") != std::string::npos);
}
