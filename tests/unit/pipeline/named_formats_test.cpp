// Issue 10 (formats): 一太郎 and DocuWorks are recognised by their own structure (libmagic knows
// only old 一太郎 and no DocuWorks), blocked by the shipped rules, and named in the notice.
// Minimal structural fixtures are built here (no real file is copied).
#include <catch2/catch.hpp>

#include "mugai/detect/type_detector.h"
#include "mugai/pipeline/pipeline.h"
#include "sanitizers/ole2/ole2.h"
#include "src/pipeline/walker.h"
#include "support/engine_fixture.h"
#include "support/mail_builder.h"

using namespace mugai;
using sanitizers::ole2::writeCompoundFile;

namespace {

const TypeDetector& detector() {
  static auto d = makeMagicTypeDetector();
  return *d;
}

std::string le32(std::uint32_t v) {
  std::string s;
  for (int i = 0; i < 4; ++i) s += static_cast<char>((v >> (8 * i)) & 0xFF);
  return s;
}

/// 一太郎 (.jtd): JustSystems' per-storage segment table and the text stream.
std::string jtd(const std::string& segment_name = "\x04JSRV_SegmentInformation") {
  return writeCompoundFile({{segment_name, std::string("VDA_DOC\0", 8) + std::string(200, '\0')},
                            {"DocumentText", std::string("SsmgV.01\0\x1f", 10) + std::string("\0J\0T\0D", 6)},
                            {"\x05SummaryInformation", std::string(120, 's')}});
}

std::string tlv(unsigned char tag, const std::string& value) {
  std::string t(1, static_cast<char>(tag));
  if (value.size() < 0x80) {
    t += static_cast<char>(value.size());
  } else {
    t += '\x82';
    t += static_cast<char>(value.size() >> 8);
    t += static_cast<char>(value.size() & 0xFF);
  }
  return t + value;
}

/// DocuWorks (.xdw): header {generation}, one segment {entry, properties, trailer}; the file ends
/// with the trailer, whose last field holds the length of the trailer's value.
std::string xdw(unsigned char generation = 10, unsigned char trailer_tag = 0x68, int length_error = 0) {
  std::string header = tlv(0x60, tlv(0x82, std::string(1, static_cast<char>(generation))) + tlv(0x80, "\x01"));
  std::string fields = tlv(0x80, "\x01") + tlv(0x84, "\x04");
  std::uint32_t value_len = static_cast<std::uint32_t>(fields.size() + 6);
  std::string trailer = tlv(trailer_tag, fields + tlv(0x86, le32(value_len + length_error)));
  std::string segment = tlv(0x61, tlv(0x64, tlv(0x81, "\x01\x02") + tlv(0x82, std::string(300, 'e'))) +
                                      tlv(0x63, std::string(4, 'p')) + trailer);
  return header + segment;
}

ProcessResult mail(const std::string& name, const std::string& data) {
  std::string raw = test::buildMail("forms", "see attached", {{"application/octet-stream", name, data}});
  return test::shippedEngine().processMessage(raw, Envelope{"a@example.com", {"b@city.example.lg.jp"}}, "NF1");
}

bool hasReason(const ProcessResult& r, const std::string& reason) {
  for (const auto& a : r.report.actions)
    if (a.reason == reason) return true;
  return false;
}

}  // namespace

TEST_CASE("detect: compound-file 一太郎 by its JSRV entries or JSCompDocument, not by name",
          "[detect][ichitaro]") {
  for (const std::string& data : {jtd(), jtd("\x04JSRV_SummaryInformation"),
                                  writeCompoundFile({{"Doc/\x04JSRV_SegmentInformation", "VDA_DOC"},
                                                     {"Doc/DocumentText", "SsmgV.01"}}),
                                  writeCompoundFile({{"\x04JSRV_SegmentInformation", "x"},
                                                     {"JSCompDocument", "JustCompressedDocument -lh5-"}})}) {
    TypeInfo t = detector().detect(data);
    CHECK(t.mime == "application/x-ichitaro");
    CHECK(t.description.find("一太郎") != std::string::npos);
  }
  CHECK(detector().detect(writeCompoundFile({{"JSCompDocument", std::string(600, 'c')}})).mime ==
        "application/x-ichitaro");
  // A Word-like compound file, or one whose stream merely contains the name as data, is not.
  CHECK(detector().detect(writeCompoundFile({{"WordDocument", std::string(600, 'w')}})).mime !=
        "application/x-ichitaro");
  std::string wide;
  for (char c : std::string("JSRV_SegmentInformation")) wide += {c, '\0'};
  CHECK(detector().detect(writeCompoundFile({{"Payload", std::string(100, 'x') + wide}})).mime !=
        "application/x-ichitaro");
}

TEST_CASE("detect: DocuWorks by its header, segment and trailer", "[detect][docuworks]") {
  CHECK(detector().detect(xdw()).mime == "application/vnd.fujixerox.docuworks");
  CHECK(detector().detect(xdw(7, 0x65)).mime == "application/vnd.fujixerox.docuworks");  // generation 7
  // A trailer length that does not reach back to the trailer, a missing header or segment: no.
  CHECK(detector().detect(xdw(10, 0x68, 1)).mime != "application/vnd.fujixerox.docuworks");
  CHECK(detector().detect(xdw(10, 0x68, -1)).mime != "application/vnd.fujixerox.docuworks");
  std::string no_segment = xdw();
  no_segment[no_segment.find('\x61', 5)] = '\x62';
  CHECK(detector().detect(no_segment).mime != "application/vnd.fujixerox.docuworks");
  CHECK(detector().detect("`" + std::string(40, 'a')).mime != "application/vnd.fujixerox.docuworks");
}

TEST_CASE("一太郎 and DocuWorks attachments are blocked and the notice names them",
          "[pipeline][ichitaro][docuworks]") {
  struct Case {
    std::string name, data, reason, named_ja, named_en;
  };
  for (const Case& c : {Case{"報告書.jtd", jtd(), "type.ichitaro", "一太郎文書", "Ichitaro"},
                        Case{"report.doc", jtd(), "type.ichitaro", "一太郎文書", "Ichitaro"},  // name lies
                        Case{"様式.jttc", writeCompoundFile({{"JSCompDocument", std::string(600, 'c')}}),
                             "type.ichitaro", "一太郎文書", "Ichitaro"},
                        Case{"申請書.xdw", xdw(), "type.docuworks", "DocuWorks文書", "DocuWorks"},
                        Case{"binder.pdf", xdw(7, 0x65), "type.docuworks", "DocuWorks文書", "DocuWorks"}}) {
    INFO(c.name);
    ProcessResult r = mail(c.name, c.data);
    CHECK(r.blocked());
    CHECK(r.keepOriginal());
    CHECK(hasReason(r, c.reason));
    std::string n = pipeline::buildNotice(test::shippedEngine().policy().notice, test::shippedEngine().policy().vault, r.report, false, true);
    INFO(n);
    CHECK(n.find(c.named_ja) != std::string::npos);
    CHECK(n.find(c.named_en) != std::string::npos);
  }
}
