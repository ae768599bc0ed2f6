// Every corpus mail parses within the default limits (or fails on a limit, reported), and the
// derived Japanese mails decode to the expected Subject, From display name and file names.
#include <catch2/catch.hpp>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "mugai/core/limits.h"
#include "mugai/text/charset.h"
#include "support/test_support.h"
#include "tests/unit/mime/mime_test_util.h"

using namespace mugai;
using namespace mugai::mime;
namespace fs = std::filesystem;

namespace {

/// The string value of a top-level "key" in a flat JSON object (enough for *.expected.json).
std::optional<std::string> jsonString(const std::string& json, const std::string& key) {
  std::size_t at = json.find("\"" + key + "\"");
  if (at == std::string::npos) return std::nullopt;
  at = json.find(':', at + key.size() + 2);
  if (at == std::string::npos) return std::nullopt;
  at = json.find('"', at);
  if (at == std::string::npos) return std::nullopt;
  std::string out;
  for (std::size_t i = at + 1; i < json.size(); ++i) {
    char c = json[i];
    if (c == '"') return out;
    if (c != '\\' || i + 1 >= json.size()) {
      out.push_back(c);
      continue;
    }
    char e = json[++i];
    if (e == 'n')
      out.push_back('\n');
    else if (e == 't')
      out.push_back('\t');
    else if (e == 'r')
      out.push_back('\r');
    else if (e == 'u' && i + 4 < json.size()) {
      unsigned cp = std::stoul(json.substr(i + 1, 4), nullptr, 16);
      i += 4;
      if (cp >= 0xd800 && cp < 0xdc00 && json.compare(i + 1, 2, "\\u") == 0) {
        unsigned lo = std::stoul(json.substr(i + 3, 4), nullptr, 16);
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        i += 6;
      }
      mugai::text::appendUtf8(out, cp);
    } else {
      out.push_back(e);
    }
  }
  return std::nullopt;
}

/// "山田 太郎 <taro@example.jp>" -> "山田 太郎" (quotes removed).
std::string displayName(const std::string& from) {
  std::string name = from.substr(0, std::min(from.find('<'), from.size()));
  while (!name.empty() && name.back() == ' ') name.pop_back();
  if (name.size() >= 2 && name.front() == '"' && name.back() == '"') {
    name = name.substr(1, name.size() - 2);
  }
  return name;
}

}  // namespace

TEST_CASE("corpus: every mail parses within the default limits", "[corpus]") {
  auto corpus = MUGAI_REQUIRE_CORPUS();
  if (!corpus) return;
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(*corpus / "mail")) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  for (const auto& entry : fs::directory_iterator(*corpus / "japanese" / "derived-mail")) {
    if (entry.path().extension() == ".eml") files.push_back(entry.path());
  }
  REQUIRE(files.size() > 100);
  std::size_t limited = 0;
  for (const auto& file : files) {
    std::string raw = mugai::test::readFile(file);
    Limits limits;
    Budget budget(limits);
    ParseResult r;
    r = parse(raw, budget);
    INFO(file.string());
    if (r.failure) {
      ++limited;
      bool is_limit = reasonInfo(*r.failure).name.substr(0, 6) == "limit.";
      CHECK(is_limit);
      WARN(file.filename().string()
           << ": " << reasonInfo(*r.failure).name << " (" << r.detail << ")");
      continue;
    }
    for (const Entity* e : mime::test::flatten(r.root)) {
      CHECK(text::isValidUtf8(e->filename));
      if (const std::string* s = e->header("Subject")) {
        CHECK(text::isValidUtf8(decodeHeaderText(*s)));
      }
    }
  }
  CHECK(limited < files.size() / 20);
}

TEST_CASE("corpus: derived Japanese mails decode exactly", "[corpus]") {
  auto corpus = MUGAI_REQUIRE_CORPUS();
  if (!corpus) return;
  auto dir = *corpus / "japanese" / "derived-mail";
  int checked = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    const std::string suffix = ".expected.json";
    if (name.size() <= suffix.size() || name.substr(name.size() - suffix.size()) != suffix)
      continue;
    std::string json = mugai::test::readFile(entry.path());
    fs::path eml = dir / (name.substr(0, name.size() - suffix.size()) + ".eml");
    auto r = mime::test::parseWith(mugai::test::readFile(eml));
    INFO(eml.filename().string());
    REQUIRE_FALSE(r.failure);
    if (auto subject = jsonString(json, "subject")) {
      REQUIRE(r.root.header("Subject"));
      CHECK(decodeHeaderText(*r.root.header("Subject")) == *subject);
    }
    if (auto from = jsonString(json, "from_display_name")) {
      REQUIRE(r.root.header("From"));
      CHECK(displayName(decodeHeaderText(*r.root.header("From"))) == *from);
    }
    if (auto file = jsonString(json, "attachment_filename")) {
      bool found = false;
      for (const Entity* e : mime::test::flatten(r.root)) found = found || e->filename == *file;
      CHECK(found);
    }
    ++checked;
  }
  CHECK(checked >= 9);
}

namespace {

std::string crlf(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r' || s[i] == '\n') {
      out += "\r\n";
      if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::vector<HeaderField> decodedHeaders(const Entity& e) {
  std::vector<HeaderField> out;
  for (const auto& h : e.headers) out.push_back({h.name, decodeHeaderText(h.value)});
  return out;
}

/// What a sanitizer would hand to write(): texts as UTF-8, other leaves as bytes.
BuildPart toBuild(const Entity& e) {
  BuildPart p;
  p.mime_type = e.mimeType();
  p.filename = e.filename;
  p.disposition = e.disposition == "inline" || e.disposition.empty() ? e.disposition : "attachment";
  if (e.isMessage()) {
    p.data = e.children.empty() ? std::string()
                                : write(decodedHeaders(e.children[0]), toBuild(e.children[0]));
  } else if (e.type == "text") {
    p.data = text::toUtf8(e.body, e.charset).utf8;
  } else {
    p.data = e.body;
  }
  for (const auto& c : e.children) {
    if (!e.isMessage()) p.children.push_back(toBuild(c));
  }
  return p;
}

void checkRebuilt(const Entity& got, const BuildPart& want) {
  INFO("part " << got.path << " " << want.mime_type);
  CHECK(got.mimeType() == want.mime_type);
  CHECK(got.filename == want.filename);
  CHECK(got.disposition == want.disposition);
  CHECK((got.defects & ~kDefectEncryptedOrSigned) == kDefectNone);
  if (got.isMessage()) {
    CHECK(got.children.size() == 1);
    return;
  }
  REQUIRE(got.children.size() == want.children.size());
  if (got.type == "text") {
    CHECK(got.body == crlf(want.data));
  } else if (!got.isMultipart()) {
    CHECK(got.body == want.data);
  }
  for (std::size_t i = 0; i < want.children.size(); ++i)
    checkRebuilt(got.children[i], want.children[i]);
}

}  // namespace

TEST_CASE("corpus: rebuilt mails are 7-bit and parse back to the same tree", "[corpus]") {
  auto corpus = MUGAI_REQUIRE_CORPUS();
  if (!corpus) return;
  std::size_t rebuilt = 0;
  for (const auto& entry : fs::recursive_directory_iterator(*corpus)) {
    std::string ext = entry.path().extension().string();
    if (!entry.is_regular_file() || (ext != ".eml" && ext != ".txt" && ext != ".raw")) continue;
    std::string rel = fs::relative(entry.path(), *corpus).string();
    if (rel.rfind("mail/", 0) != 0 && rel.rfind("japanese/derived-mail/", 0) != 0) continue;
    auto first = mime::test::parseWith(mugai::test::readFile(entry.path()));
    if (first.failure) continue;
    BuildPart body = toBuild(first.root);
    std::string out = write(decodedHeaders(first.root), body);
    INFO(rel);
    REQUIRE_FALSE(out.empty());
    bool seven_bit = true;
    for (unsigned char c : out) seven_bit = seven_bit && c < 0x80 && c != 0;
    CHECK(seven_bit);
    auto second = mime::test::parseWith(out);
    REQUIRE_FALSE(second.failure);
    checkRebuilt(second.root, body);
    ++rebuilt;
  }
  CHECK(rebuilt > 100);
}
