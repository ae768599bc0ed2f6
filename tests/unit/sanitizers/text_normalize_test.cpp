#include "sanitizers/text_normalize/text_normalize.h"

#include <catch2/catch.hpp>

#include "support/sanitizer_run.h"

using namespace mugai;
using namespace mugai::sanitizers::text_normalize;

namespace {

Outcome run(const std::string& data, const std::string& charset, Limits limits = {}) {
  Part p = mugai::test::partOf(data);
  p.charset = Untrusted<std::string>(charset);
  return mugai::test::applyOnce(TextNormalizeSanitizer(Options{}), std::move(p), limits);
}

}  // namespace

TEST_CASE("text_normalize: line ends, controls and bidi overrides", "[unit]") {
  Options o;
  REQUIRE(normalizeText("a\r\nb\rc\n", o) == "a\nb\nc\n");
  REQUIRE(normalizeText("a\x01\x1b[31mb\x7f", o) == "a[31mb");
  REQUIRE(normalizeText("tab\there", o) == "tab\there");
  o.keep_tabs = false;
  REQUIRE(normalizeText("tab\there", o) == "tabhere");
  // U+202E RIGHT-TO-LEFT OVERRIDE and U+2066 are removed; other text is untouched.
  REQUIRE(normalizeText("invoice\xe2\x80\xae"
                        "fdp.exe \xe2\x81\xa6x",
                        Options{}) == "invoicefdp.exe x");
  REQUIRE(normalizeText("x\n\n\n\n", Options{}) == "x\n");
  REQUIRE(normalizeText("\xc2\x85next", Options{}) == "next");  // C1 control NEL
}

TEST_CASE("text_normalize: long lines fold on character boundaries", "[unit][adversarial]") {
  Options o;
  o.line_limit = 10;
  std::string jp;
  for (int i = 0; i < 20; ++i) jp += "\xe3\x81\x82";  // あ x20, 60 bytes
  std::string out = normalizeText(jp, o);
  std::size_t start = 0;
  while (start < out.size()) {
    std::size_t nl = out.find('\n', start);
    if (nl == std::string::npos) nl = out.size();
    REQUIRE(nl - start <= 10);
    REQUIRE((nl - start) % 3 == 0);  // never cut inside a character
    start = nl + 1;
  }
  std::string joined;
  for (char c : out) {
    if (c != '\n') joined += c;
  }
  REQUIRE(joined == jp);
  std::string huge(2 << 20, 'x');  // a 2 MB line
  REQUIRE(normalizeText(huge, Options{}).size() < huge.size() + huge.size() / 900);
}

TEST_CASE("text_normalize: Shift_JIS body becomes UTF-8 (CP932 extensions kept)", "[unit]") {
  // "①㈱" in CP932: 87 40 87 8A
  Outcome o = run("\x87\x40\x87\x8a", "shift_jis");
  REQUIRE(o.verdict == Verdict::Modified);
  REQUIRE(o.replacement);
  REQUIRE(o.replacement->data == "\xe2\x91\xa0\xe3\x88\xb1");
  REQUIRE(o.replacement->output_type == "text/plain");
}

TEST_CASE("text_normalize: clean UTF-8 passes unchanged and normalizing is idempotent", "[unit]") {
  Outcome o = run("hello\n", "utf-8");
  REQUIRE(o.verdict == Verdict::Pass);
  Outcome once = run("a\r\nb\x01\n", "utf-8");
  REQUIRE(once.replacement);
  Outcome twice = run(once.replacement->data, "utf-8");
  REQUIRE(twice.verdict == Verdict::Pass);
}

TEST_CASE("text_normalize: undeclared charset is guessed and said so", "[unit]") {
  Outcome o = run("\x87\x40 abc", "x-fakescii");
  REQUIRE(o.verdict == Verdict::Modified);
  REQUIRE(o.reason == Reason::CharsetUnknown);
}

TEST_CASE("text_normalize: the decoded-bytes budget is charged first", "[unit][adversarial]") {
  Limits l;
  l.decoded_bytes_limit = 1024;
  Outcome o = run(std::string(4096, 'a'), "utf-8", l);
  REQUIRE(o.verdict >= Verdict::PartRemoved);
  REQUIRE(o.reason == Reason::LimitDecodedBytes);
}
