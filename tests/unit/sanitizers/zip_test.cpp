// src/zip: the bounded reader against hostile archives, and the raw-copying writer checked with
// unzip (an independent reader).
#include "src/zip/zip.h"

#include <catch2/catch.hpp>

#include "src/zip/xml_lite.h"
#include "support/test_support.h"
#include "support/tools.h"
#include "unit/sanitizers/office_fixtures.h"

using namespace mugai;
using mugai::test::office::pack;

namespace {

std::optional<zip::Archive> openWith(const std::string& data, zip::Failure* f, Limits limits = {}) {
  return zip::Archive::open(data, zip::ReadLimits::fromLimits(limits), f);
}

/// Sets general-purpose flag bits in every local and central header.
std::string withFlags(std::string z, std::uint16_t bits) {
  for (std::size_t p = 0; p + 4 <= z.size(); ++p) {
    if (z.compare(p, 4, "PK\x03\x04") == 0) z[p + 6] = static_cast<char>(z[p + 6] | bits);
    if (z.compare(p, 4, "PK\x01\x02") == 0) z[p + 8] = static_cast<char>(z[p + 8] | bits);
  }
  return z;
}

}  // namespace

TEST_CASE("zip: writer output reads back and unzip tests it OK", "[zip]") {
  std::string big(300000, 'a');
  for (std::size_t i = 0; i < big.size(); i += 7) big[i] = static_cast<char>('a' + i % 26);
  std::string z =
      pack({{"mimetype", "application/x-test"}, {"dir/file.txt", "hello"}, {"big.txt", big}});
  zip::Failure f;
  auto a = openWith(z, &f);
  REQUIRE(a);
  REQUIRE(a->entries().size() == 3);
  REQUIRE(a->entries()[0].method == 0);
  Limits l;
  Budget b(l);
  std::string out;
  REQUIRE_FALSE(a->extract(*a->find("big.txt"), b, &out));
  REQUIRE(out == big);
  REQUIRE_FALSE(a->verify(*a->find("dir/file.txt")));

  // Raw copy keeps method, CRC and compressed bytes.
  zip::Writer w;
  for (const auto& e : a->entries()) REQUIRE(w.copyRaw(*a, e));
  auto copy = w.finish();
  REQUIRE(copy);
  auto a2 = openWith(*copy, &f);
  REQUIRE(a2);
  for (std::size_t i = 0; i < 3; ++i) {
    REQUIRE(a2->entries()[i].crc == a->entries()[i].crc);
    REQUIRE(a2->raw(a2->entries()[i]) == a->raw(a->entries()[i]));
  }

  if (test::toolMissing("unzip")) return;
  test::TempDir tmp;
  test::writeFile(tmp.path() / "copy.zip", *copy);
  auto r = test::runTool({"unzip", "-tq", (tmp.path() / "copy.zip").string()});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  auto p = test::runTool({"unzip", "-p", (tmp.path() / "copy.zip").string(), "big.txt"});
  REQUIRE(p.output == big);
}

TEST_CASE("zip: names that escape, absolute, backslash, NUL and duplicates are refused",
          "[zip][adversarial]") {
  zip::Failure f;
  for (std::string bad :
       std::vector<std::string>{"../evil.txt", "a/../../evil.txt", "/etc/passwd", "dir\\evil.txt",
                                "C:evil.txt", std::string("nul\0.txt", 8), "a//b"}) {
    INFO(bad);
    REQUIRE_FALSE(openWith(pack({{"ok.txt", "x"}, {bad, "y"}}), &f));
    REQUIRE(f.reason == Reason::ParseMalformed);
  }
  REQUIRE_FALSE(openWith(pack({{"same.xml", "1"}, {"same.xml", "2"}}), &f));
  REQUIRE(f.reason == Reason::ParseMalformed);
  REQUIRE(f.detail.find("duplicate") != std::string::npos);
  // OPC part names are case-insensitive: two spellings of one name are a duplicate too.
  REQUIRE_FALSE(openWith(pack({{"Word/Document.xml", "1"}, {"word/document.xml", "2"}}), &f));
}

TEST_CASE("zip: encrypted members are content.encrypted", "[zip][adversarial]") {
  zip::Failure f;
  REQUIRE_FALSE(openWith(withFlags(pack({{"a.txt", "secret"}}), 0x0001), &f));
  REQUIRE(f.reason == Reason::ContentEncrypted);
}

TEST_CASE("zip: count, expanded size and expansion ratio are checked before inflating",
          "[zip][adversarial]") {
  zip::Failure f;
  Limits l;
  l.document_object_limit = 16;
  test::office::Members many;
  for (int i = 0; i < 17; ++i) many.push_back({"m" + std::to_string(i), "x"});
  REQUIRE_FALSE(openWith(pack(many), &f, l));
  REQUIRE(f.reason == Reason::LimitDocumentObjects);

  Limits small;
  small.expanded_size_limit = 1024;
  REQUIRE_FALSE(
      openWith(pack({{"a", std::string(800, 'x')}, {"b", std::string(800, 'y')}}), &f, small));
  REQUIRE(f.reason == Reason::LimitExpandedSize);

  // 4 MiB of zeros deflate ~230:1 at the writer's level 1 (~1000:1 at 6); past 1 MiB the ratio
  // limit (200) applies.
  std::string bomb = pack({{"zeros.bin", std::string(4u << 20, '\0')}});
  REQUIRE(bomb.size() * 200 < (4u << 20));
  REQUIRE_FALSE(openWith(bomb, &f));
  REQUIRE(f.reason == Reason::LimitExpansionRatio);
  // Under 1 MiB a high ratio is normal (XML) and accepted.
  REQUIRE(openWith(pack({{"zeros.bin", std::string(512u << 10, '\0')}}), &f));
}

TEST_CASE("zip: truncated or inconsistent directories are parse.malformed", "[zip][adversarial]") {
  zip::Failure f;
  std::string z = pack({{"a.txt", "hello"}, {"b.txt", "world"}});
  // Cut inside the central directory: the end record no longer matches.
  std::size_t cd = z.find("PK\x01\x02");
  REQUIRE(cd != std::string::npos);
  std::string cut = z.substr(0, cd + 20) + z.substr(z.size() - 22);
  REQUIRE_FALSE(openWith(cut, &f));
  REQUIRE(f.reason == Reason::ParseMalformed);
  REQUIRE_FALSE(openWith(z.substr(0, z.size() - 5), &f));  // no end record
  REQUIRE_FALSE(openWith("PK\x05\x06", &f));
  // A local header whose name differs from the directory's.
  std::string lied = z;
  lied[30] = 'X';  // first byte of the first local name
  REQUIRE_FALSE(openWith(lied, &f));
  REQUIRE(f.reason == Reason::ParseMalformed);
  // A CRC that does not match the data is caught when the member is verified or extracted.
  std::string stored = pack({{"mimetype", "application/x-test"}});
  stored[30 + 8] ^= 1;  // first data byte of the stored member
  auto a = openWith(stored, &f);
  REQUIRE(a);
  REQUIRE(a->verify(a->entries()[0]));
  REQUIRE(a->verify(a->entries()[0])->reason == Reason::ParseMalformed);
  // Unsupported methods are cdr.failed, not a guess.
  std::string other = z;
  other[8] = 12;        // local method = bzip2
  other[cd + 10] = 12;  // central method
  REQUIRE_FALSE(openWith(other, &f));
  REQUIRE(f.reason == Reason::CdrFailed);
}

TEST_CASE("zip: a directory entry pointing at another member header is refused",
          "[zip][adversarial]") {
  zip::Failure f;
  std::string z = pack({{"a.txt", "hello hello hello"}, {"b.txt", "world"}});
  // Point the second central entry at the first local header: both would read the same bytes.
  std::size_t cd1 = z.find("PK\x01\x02");
  std::size_t cd2 = z.find("PK\x01\x02", cd1 + 4);
  REQUIRE(cd2 != std::string::npos);
  for (int i = 0; i < 4; ++i) z[cd2 + 42 + i] = 0;
  REQUIRE_FALSE(openWith(z, &f));
  REQUIRE(f.reason == Reason::ParseMalformed);
}

TEST_CASE("xml_lite: tags, quoted '>' in values, comments, and DOCTYPE refused", "[zip]") {
  using namespace mugai::zip::xml;
  std::string x =
      R"(<?xml version="1.0"?><!-- <a b="c"> --><r a="1>2" b='x'><c/><![CDATA[<d>]]></r>)";
  Scanner s(x);
  Tag t;
  REQUIRE(s.next(t));
  REQUIRE(t.name == "r");
  REQUIRE(t.attr("a")->value == "1>2");
  REQUIRE(t.attr("b")->value == "x");
  REQUIRE(s.next(t));
  REQUIRE(t.name == "c");
  REQUIRE(t.kind == Tag::Kind::Empty);
  REQUIRE(s.next(t));
  REQUIRE(t.kind == Tag::Kind::Close);
  REQUIRE_FALSE(s.next(t));
  REQUIRE_FALSE(s.malformed());
  Scanner d(R"(<!DOCTYPE x [<!ENTITY a "b">]><x/>)");
  REQUIRE_FALSE(d.next(t));
  REQUIRE(d.malformed());
  Scanner u(R"(<x a="1)");
  REQUIRE_FALSE(u.next(t));
  REQUIRE(u.malformed());
  REQUIRE(decode("&lt;&#68;&#x44;E&amp;") == "<DDE&");
}

TEST_CASE("zip: ZIP64 members written by another writer (python zipfile) are read", "[zip]") {
  if (test::toolMissing("python3")) return;
  test::TempDir tmp;
  auto path = tmp.path() / "z64.zip";
  auto r = test::runTool({"python3", "-c",
                          "import sys, zipfile\n"
                          "with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as z:\n"
                          "    z.writestr('a.txt', 'plain member')\n"
                          "    with z.open('b.txt', 'w', force_zip64=True) as f:\n"
                          "        f.write(b'zip64 member ' * 100)\n",
                          path.string()});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  std::string z = test::readFile(path);
  zip::Failure f;
  auto a = openWith(z, &f);
  INFO(f.detail);
  REQUIRE(a);
  Limits l;
  Budget b(l);
  std::string out;
  REQUIRE_FALSE(a->extract(*a->find("b.txt"), b, &out));
  REQUIRE(out.size() == 1300);
  // Copied raw into a classic archive, it still tests OK with unzip.
  zip::Writer w;
  for (const auto& e : a->entries()) REQUIRE(w.copyRaw(*a, e));
  test::writeFile(tmp.path() / "copy.zip", *w.finish());
  if (test::toolMissing("unzip")) return;
  auto t = test::runTool({"unzip", "-tq", (tmp.path() / "copy.zip").string()});
  INFO(t.output);
  REQUIRE(t.exit_code == 0);
}
