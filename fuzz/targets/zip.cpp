// zip_reader: the bounded ZIP reader (src/zip/zip.h): directory, extraction, verification, and a
// raw copy of every member that verified into a new archive, which must open again with the same
// members (what the OOXML/ODF rebuilders rely on). xml_lite: the tag scanner, element skipping,
// edits, references, text content. Checked: tags and attributes lie inside the input, in order;
// extracted sizes match the directory; decode(escape(s)) == s.
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_target.h"
#include "fuzz/support.h"
#include "mugai/core/budget.h"
#include "src/zip/xml_lite.h"
#include "src/zip/zip.h"

using namespace mugai;

MUGAI_FUZZ_TARGET(zip_reader) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  zip::Failure failure;
  auto archive = zip::Archive::open(bytes, zip::ReadLimits::fromLimits(fuzz::shippedLimits()), &failure);
  if (!archive) return 0;
  Budget budget(fuzz::shippedLimits());
  zip::Writer writer;
  std::vector<std::string> copied;
  for (const zip::Entry& e : archive->entries()) {
    if (!zip::safeName(e.name)) fuzz::fail("an unsafe member name passed open()");
    if (e.data_offset > bytes.size() || e.compressed_size > bytes.size() - e.data_offset)
      fuzz::fail("member data outside the archive");
    std::string out;
    if (!archive->extract(e, budget, &out)) {
      if (out.size() != e.uncompressed_size) fuzz::fail("extracted size differs from the directory");
    }
    if (!archive->verify(e) && copied.size() < 1000 && writer.copyRaw(*archive, e)) copied.push_back(e.name);
  }
  auto rebuilt = writer.finish();
  if (!rebuilt) return 0;
  zip::Failure again;
  auto back = zip::Archive::open(*rebuilt, zip::ReadLimits::fromLimits(fuzz::shippedLimits()), &again);
  if (!back) fuzz::fail("a raw copy of verified members does not open again");
  if (back->entries().size() != copied.size()) fuzz::fail("the raw copy lost or gained members");
  for (const zip::Entry& e : back->entries())
    if (back->verify(e)) fuzz::fail("a copied member no longer verifies");
  return 0;
}

MUGAI_FUZZ_TARGET(xml_lite) {
  fuzz::Input in(data, size);
  std::uint8_t mode = in.byte();
  std::string_view xml = in.rest();
  auto doctype = zip::xml::plainDoctype(xml);
  if (doctype.first != std::string_view::npos &&
      (doctype.first > doctype.second || doctype.second > xml.size()))
    fuzz::fail("plainDoctype range outside the input");
  zip::xml::Scanner scanner(xml);
  zip::xml::Edits edits;
  zip::xml::Tag tag;
  std::size_t last_end = 0;
  int skipped = 0;
  while (scanner.next(tag)) {
    if (tag.begin < last_end || tag.begin >= tag.end || tag.end > xml.size())
      fuzz::fail("tag range out of order or outside the input");
    if (xml[tag.begin] != '<' || xml[tag.end - 1] != '>') fuzz::fail("tag range does not hold a tag");
    for (const auto& a : tag.attrs) {
      if (a.begin < tag.begin || a.end > tag.end || a.begin > a.end) fuzz::fail("attribute outside its tag");
      (void)zip::xml::decode(a.value);
    }
    last_end = tag.end;
    if (tag.kind == zip::xml::Tag::Kind::Open && (mode & 1) && (tag.name.size() % 3 == 0) && skipped++ < 64) {
      std::size_t end = scanner.skipElement(tag);
      if (end == std::string_view::npos) break;
      if (end <= tag.end || end > xml.size()) fuzz::fail("skipElement end out of range");
      (void)zip::xml::textContent(xml.substr(tag.end, end - tag.end));
      edits.erase(tag.begin, end);
      last_end = end;
    } else if (!tag.attrs.empty() && (mode & 2)) {
      edits.replace(tag.attrs.front().begin, tag.attrs.front().end, " x=\"1\"");
    }
  }
  std::string edited = edits.apply(xml);
  if (edited.size() > xml.size() + 16 * xml.size()) fuzz::fail("edits grew the document absurdly");
  (void)zip::xml::textContent(xml);
  std::string plain(xml.substr(0, 256));
  if (zip::xml::decode(zip::xml::escape(plain)) != plain) fuzz::fail("decode(escape(s)) != s");
  return 0;
}
