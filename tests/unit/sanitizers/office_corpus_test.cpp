// sanitizer.ooxml and sanitizer.odf over every ZIP-based Office/ODF file of the shared corpus
// (MANIFEST.csv categories office*): nothing active survives, every relationship still points at
// a member that exists, the output tests OK with unzip, and a handful still convert with
// LibreOffice to the same text. Skipped when the corpus is absent.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <set>

#include "sanitizers/odf/odf.h"
#include "sanitizers/ooxml/ooxml.h"
#include "src/zip/xml_lite.h"
#include "src/zip/zip.h"
#include "support/test_support.h"
#include "support/tools.h"
#include "unit/sanitizers/office_checks.h"

namespace fs = std::filesystem;
using namespace mugai;
using namespace mugai::test::office;
using zip::xml::lower;

namespace {

struct Row {
  std::string path, category;
};

std::vector<Row> officeRows(const fs::path& corpus) {
  std::ifstream in(corpus / "MANIFEST.csv");
  std::vector<Row> rows;
  std::string line;
  while (std::getline(in, line)) {
    // "path","package","version","license","category","expected"
    std::vector<std::string> f;
    std::size_t p = 0;
    while (p < line.size() && f.size() < 5) {
      if (line[p] != '"') break;
      std::size_t q = line.find('"', p + 1);
      if (q == std::string::npos) break;
      f.push_back(line.substr(p + 1, q - p - 1));
      p = q + 2;
    }
    if (f.size() == 5 && f[4].starts_with("office")) rows.push_back({f[0], f[4]});
  }
  return rows;
}

std::string extOf(const std::string& p) {
  std::size_t dot = p.rfind('.');
  return dot == std::string::npos ? "" : lower(p.substr(dot + 1));
}

const std::set<std::string> kOoxml = {"docx", "docm", "dotx", "dotm", "xlsx",
                                      "xlsm", "xltx", "xltm", "xlsb", "pptx",
                                      "pptm", "ppsx", "ppsm", "potx", "potm"};
const std::set<std::string> kOdf = {"odt", "ods", "odp", "odg", "ott", "ots", "otp", "otg", "odf"};

bool activeOoxmlName(const std::string& name) {
  std::string l = lower(name);
  return l.find("vbaproject") != std::string::npos || l.find("vbadata.xml") != std::string::npos ||
         l.find("activex/") != std::string::npos || l.find("embeddings/") != std::string::npos ||
         l.find("externallinks/") != std::string::npos || l.find("customui") != std::string::npos ||
         l.find("macrosheets/") != std::string::npos;
}

bool activeOdfName(const std::string& name) {
  for (const char* d : {"Basic/", "Scripts/", "Dialogs/", "Configurations2/"}) {
    if (name.starts_with(d) || name.find(std::string("/") + d) != std::string::npos) return true;
  }
  return false;
}

std::map<std::string, std::string> members(const std::string& z) {
  zip::Failure f;
  Limits l;
  auto a = zip::Archive::open(z, zip::ReadLimits::fromLimits(l), &f);
  REQUIRE(a);
  Budget b(l);
  std::map<std::string, std::string> out;
  for (const auto& e : a->entries()) {
    std::string data;
    REQUIRE_FALSE(a->extract(e, b, &data));
    out[e.name] = data;
  }
  return out;
}

/// Every internal relationship target that existed in the input still exists in the output.
void requireRelsConsistent(const std::map<std::string, std::string>& in,
                           const std::map<std::string, std::string>& out) {
  std::set<std::string> in_names, out_names;
  for (const auto& [n, d] : in) in_names.insert(lower(n));
  for (const auto& [n, d] : out) out_names.insert(lower(n));
  for (const auto& [n, xml] : out) {
    if (!n.ends_with(".rels")) continue;
    std::size_t r = n.rfind("_rels/");
    std::string base = n.substr(0, r);
    zip::xml::Scanner s(xml);
    zip::xml::Tag t;
    while (s.next(t)) {
      if (t.local() != "Relationship") continue;
      const auto* mode = t.attr("TargetMode");
      const auto* target = t.attr("Target");
      if (!target || (mode && lower(mode->value) == "external")) continue;
      std::string tg = zip::xml::decode(target->value);
      std::string full = !tg.empty() && tg[0] == '/' ? tg.substr(1) : base + tg;
      // Normalise ".." segments.
      std::vector<std::string> segs;
      std::size_t st = 0;
      while (st <= full.size()) {
        std::size_t sl = full.find('/', st);
        if (sl == std::string::npos) sl = full.size();
        std::string seg = full.substr(st, sl - st);
        if (seg == ".." && !segs.empty())
          segs.pop_back();
        else if (!seg.empty() && seg != "." && seg != "..")
          segs.push_back(seg);
        st = sl + 1;
      }
      std::string res;
      for (std::size_t i = 0; i < segs.size(); ++i) res += (i ? "/" : "") + segs[i];
      res = lower(res);
      INFO(n << " -> " << tg);
      if (in_names.count(res)) REQUIRE(out_names.count(res));
    }
  }
}

/// Every part of the output has a content type (an Override, or a Default for its extension),
/// and no Override names a part that is not there.
void requireContentTypes(const std::map<std::string, std::string>& out) {
  auto ct = out.find("[Content_Types].xml");
  REQUIRE(ct != out.end());
  std::set<std::string> overrides, defaults;
  zip::xml::Scanner s(ct->second);
  zip::xml::Tag t;
  while (s.next(t)) {
    if (t.local() == "Override" && t.attr("PartName")) {
      std::string pn = lower(zip::xml::decode(t.attr("PartName")->value));
      overrides.insert(pn.starts_with("/") ? pn.substr(1) : pn);
    }
    if (t.local() == "Default" && t.attr("Extension"))
      defaults.insert(lower(std::string(t.attr("Extension")->value)));
  }
  std::set<std::string> names;
  for (const auto& [n, d] : out) {
    std::string l = lower(n);
    names.insert(l);
    if (n == "[Content_Types].xml" || n.ends_with("/")) continue;
    std::size_t dot = l.rfind('.'), slash = l.rfind('/');
    bool has_default = dot != std::string::npos && (slash == std::string::npos || dot > slash) &&
                       defaults.count(l.substr(dot + 1));
    INFO("part without a content type: " << n);
    REQUIRE((overrides.count(l) || has_default));
  }
  for (const auto& o : overrides) {
    INFO("Override for a missing part: " << o);
    REQUIRE(names.count(o));
  }
}

}  // namespace

TEST_CASE("office corpus: every zip-based Office and ODF file is rebuilt clean",
          "[ooxml][odf][corpus]") {
  auto corpus = MUGAI_REQUIRE_CORPUS();
  if (!corpus) return;
  sanitizers::ooxml::OoxmlSanitizer ooxml(sanitizers::ooxml::Options{});
  sanitizers::odf::OdfSanitizer odf(sanitizers::odf::Options{});
  bool have_unzip = !test::toolMissing("unzip");
  test::TempDir tmp;
  int seen = 0, rebuilt = 0, converted = 0;
  std::set<std::string> soffice_done;  // one LibreOffice check per extension (slow)
  for (const Row& row : officeRows(*corpus)) {
    std::string ext = extOf(row.path);
    bool is_ooxml = kOoxml.count(ext) > 0, is_odf = kOdf.count(ext) > 0;
    if (!is_ooxml && !is_odf) continue;  // OLE2 .doc/.xls and RTF belong to another rebuilder
    INFO(row.path << " (" << row.category << ")");
    ++seen;
    std::string data = test::readFile(*corpus / row.path);
    std::string name = fs::path(row.path).filename().string();
    Outcome o = is_ooxml ? runSanitizer(ooxml, data, name) : runSanitizer(odf, data, name);
    if (row.category == "office-encrypted") {
      REQUIRE(o.reason == Reason::ContentEncrypted);
      continue;
    }
    if (o.verdict >= Verdict::PartRemoved) {
      // Fail closed is allowed, but say what it was so a regression is visible.
      WARN(row.path << ": " << reasonInfo(o.reason).name << " " << o.detail);
      REQUIRE(o.reason != Reason::InternalError);
      continue;
    }
    const std::string& out = o.replacement ? o.replacement->data : data;
    if (o.replacement) ++rebuilt;
    auto in_members = members(data);
    auto out_members = members(out);
    for (const auto& [n, d] : out_members) {
      INFO(n);
      if (is_ooxml) {
        REQUIRE_FALSE(activeOoxmlName(n));
        if (n == "[Content_Types].xml" && ext != "xlsb")
          REQUIRE(d.find("macroEnabled") == std::string::npos);
      } else {
        REQUIRE_FALSE(activeOdfName(n));
        if (n.ends_with("content.xml") || n.ends_with("styles.xml")) {
          REQUIRE(d.find("<office:scripts") == std::string::npos);
          REQUIRE(d.find("event-listener") == std::string::npos);
          REQUIRE(d.find("vnd.sun.star.script:") == std::string::npos);
        }
      }
    }
    if (is_ooxml) {
      requireRelsConsistent(in_members, out_members);
      requireContentTypes(out_members);
    }
    if (is_odf) {
      zip::Failure f;
      auto a = zip::Archive::open(out, {}, &f);
      REQUIRE(a);
      REQUIRE(a->entries().front().name == "mimetype");
      REQUIRE(a->entries().front().method == 0);
    }
    if (!have_unzip || !o.replacement) continue;
    fs::path file =
        tmp.path() / ("out." + (o.replacement->filename.unverifiedValue().empty()
                                    ? ext
                                    : extOf(o.replacement->filename.unverifiedValue())));
    test::writeFile(file, out);
    requireUnzipOk(file);
    std::string check_ext = extOf(file.string());
    if (soffice_done.insert(check_ext).second && check_ext != "xlsb") {
      // Same text before and after (what the reader sees is kept), as LibreOffice renders it.
      fs::path orig = tmp.path() / ("orig." + ext);
      test::writeFile(orig, data);
      fs::create_directories(tmp.path() / "a");
      fs::create_directories(tmp.path() / "b");
      std::string before = sofficeText(orig, tmp.path() / "a");
      std::string after = sofficeText(file, tmp.path() / "b");
      if (!before.empty()) {
        ++converted;
        // Each line of the original's text is still there (controls may render differently,
        // so blank lines and whitespace are not compared).
        std::size_t lines = 0, kept = 0, st = 0;
        while (st < before.size()) {
          std::size_t nl = before.find('\n', st);
          if (nl == std::string::npos) nl = before.size();
          std::string l = before.substr(st, nl - st);
          st = nl + 1;
          if (l.find_first_not_of(" \t\f\r") == std::string::npos) continue;
          ++lines;
          if (after.find(l) != std::string::npos) ++kept;
        }
        INFO(before << "\n----\n" << after);
        REQUIRE(kept * 10 >= lines * 9);
      }
    }
  }
  WARN("office corpus: " << seen << " packages, " << rebuilt << " rebuilt, " << converted
                         << " compared through LibreOffice");
  REQUIRE(seen > 0);
}
