#include "sanitizers/filename_sanitize/filename_sanitize.h"

#include <catch2/catch.hpp>

using namespace mugai;
using namespace mugai::sanitizers::filename_sanitize;

TEST_CASE("filename_sanitize: hostile names become safe names", "[unit][adversarial]") {
  // RLO trick: "invoice<U+202E>fdp.exe" displays as "invoiceexe.pdf"
  REQUIRE(sanitizeFilename("invoice\xe2\x80\xae"
                           "fdp.exe") == "invoicefdp.exe");
  REQUIRE(sanitizeFilename("../../etc/passwd") == "_.._etc_passwd");
  REQUIRE(sanitizeFilename("..\\..\\boot.ini") == "_.._boot.ini");
  REQUIRE(sanitizeFilename("a\x01\x1f"
                           "b.txt") == "ab.txt");
  REQUIRE(sanitizeFilename("CON.txt") == "_CON.txt");
  REQUIRE(sanitizeFilename("lpt1") == "_lpt1");
  REQUIRE(sanitizeFilename("report.pdf. . ") == "report.pdf");
  REQUIRE(sanitizeFilename("...") == "attachment");
  REQUIRE(sanitizeFilename("") == "attachment");
  REQUIRE(sanitizeFilename("a:b*c?.txt") == "a_b_c_.txt");
  REQUIRE(sanitizeFilename("報告書（令和6年度）.txt") == "報告書（令和6年度）.txt");
  REQUIRE(sanitizeFilename("\xff\xfe.txt").find('\xff') == std::string::npos);
}

TEST_CASE("filename_sanitize: visibleName shows bidi and control characters as <U+XXXX>",
          "[unit][adversarial]") {
  // The note and the log show what was sent, but it must not display as "invoiceexe.txt".
  CHECK(visibleName("invoice\xe2\x80\xaetxt.exe") == "invoice<U+202E>txt.exe");
  CHECK(visibleName("a\nb\x7f\x01.txt") == "a<U+000A>b<U+007F><U+0001>.txt");
  CHECK(visibleName("x\xc2\x85y") == "x<U+0085>y");  // C1 (NEL)
  CHECK(visibleName("\xe2\x81\xa6z\xe2\x80\x8b\xef\xbb\xbf") == "<U+2066>z<U+200B><U+FEFF>");
  CHECK(visibleName("a\xe2\x80\xa8"
                    "b\xd8\x9c") == "a<U+2028>b<U+061C>");
  CHECK(visibleName("報告書（令和6年度）.txt") == "報告書（令和6年度）.txt");  // untouched
  CHECK(visibleName("\xff.txt") == "\xef\xbf\xbd.txt");  // invalid UTF-8: U+FFFD
}

TEST_CASE("filename_sanitize: long names keep their extension and whole characters", "[unit]") {
  std::string name;
  for (int i = 0; i < 200; ++i) name += "\xe3\x81\x82";  // あ x200
  name += ".docx";
  std::string out = sanitizeFilename(name);
  REQUIRE(out.size() <= 200);
  REQUIRE(out.substr(out.size() - 5) == ".docx");
  REQUIRE((out.size() - 5) % 3 == 0);
  REQUIRE(sanitizeFilename(sanitizeFilename(name)) == sanitizeFilename(name));  // idempotent
}

TEST_CASE("filename_sanitize: last extension", "[unit]") {
  REQUIRE(lastExtension("invoice.PDF.exe") == "exe");
  REQUIRE(lastExtension("archive.tar.gz") == "gz");
  REQUIRE(lastExtension(".bashrc") == "");
  REQUIRE(lastExtension("noext") == "");
  REQUIRE(lastExtension("trick.exe. ") == "exe");
}

TEST_CASE("filename_sanitize: the sanitizer reports a rename", "[unit]") {
  Limits l;
  Budget b(l);
  MessageContext ctx{l, b, nullptr, nullptr};
  FilenameSanitizer s(Options{});
  Part p;
  p.filename = Untrusted<std::string>("photo\xe2\x80\xaegpj.exe");
  Outcome o = s.apply(p, ctx);
  REQUIRE(o.verdict == Verdict::Modified);
  REQUIRE(o.reason == Reason::FilenameChanged);
  REQUIRE(o.replacement->filename.unverifiedValue() == "photogpj.exe");
  p.filename = Untrusted<std::string>("fine.pdf");
  REQUIRE(s.apply(p, ctx).verdict == Verdict::Pass);
}

TEST_CASE("filename_sanitize: every invisible character is removed from names and shown in notes",
          "[unit][adversarial]") {
  // U+061C ALM, U+2028/9 separators, U+2060 word joiner, U+206A, U+FFF9 interlinear annotation,
  // U+E0041 tag 'A' (4 bytes): invisible in a listing, so gone from the name, visible in a note.
  const std::string hidden[] = {"\xd8\x9c",     "\xe2\x80\xa8", "\xe2\x80\xa9",    "\xe2\x81\xa0",
                                "\xe2\x81\xaa", "\xef\xbf\xb9", "\xf3\xa0\x81\x81"};
  const char* shown[] = {"<U+061C>", "<U+2028>", "<U+2029>", "<U+2060>",
                         "<U+206A>", "<U+FFF9>", "<U+E0041>"};
  for (std::size_t k = 0; k < std::size(hidden); ++k) {
    INFO(shown[k]);
    CHECK(sanitizeFilename("report" + hidden[k] + "exe.pdf") == "reportexe.pdf");
    CHECK(visibleName("report" + hidden[k] + "exe.pdf") ==
          std::string("report") + shown[k] + "exe.pdf");
  }
  // Visible characters stay as they are, in both.
  CHECK(sanitizeFilename("報告書①㈱.pdf") == "報告書①㈱.pdf");
  CHECK(visibleName("報告書①㈱ 😀.pdf") == "報告書①㈱ 😀.pdf");
}
