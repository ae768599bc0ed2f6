// Outlook's containers written for tests: TNEF (winmail.dat, attribute by attribute as
// MS-OXTNEF lays them out, checksums and all) and .msg (MS-OXMSG compound files through
// sanitizer.ole2's libgsf writer), with messages attached inside messages.
#pragma once

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "sanitizers/ole2/ole2.h"

namespace mugai::test::outlook {

using sanitizers::ole2::CompoundEntry;

/// UTF-16LE, no terminator (a .msg's string streams).
inline std::string utf16le(const std::u16string& s) {
  std::string out;
  for (char16_t c : s) {
    out += static_cast<char>(c & 0xFF);
    out += static_cast<char>(c >> 8);
  }
  return out;
}

/// One message of a .msg: what its storage holds. `attached` are messages attached as messages
/// (attach method 5: the storage __substg1.0_3701000D, laid out like the file's root).
struct MsgSpec {
  std::u16string subject = u"定例打合せの資料";
  std::u16string body = u"資料を添付します。\r\n15:00から第3会議室です。\r\n";
  std::vector<std::pair<std::u16string, std::string>> files;
  std::vector<MsgSpec> attached;
  /// OLE objects (attach method 6): their storage has the attached message's name too.
  std::vector<std::string> ole_objects;
};

/// An attachment's property stream: the 8-byte header, then PidTagAttachMethod (0x37050003).
inline std::string attachProperties(std::uint32_t method) {
  auto le32 = [](std::uint32_t v) {
    return std::string{static_cast<char>(v), static_cast<char>(v >> 8), static_cast<char>(v >> 16),
                       static_cast<char>(v >> 24)};
  };
  return std::string(8, '\0') + le32(0x37050003) + le32(6) + le32(method) + le32(0);
}

inline void msgEntries(const MsgSpec& m, const std::string& at, bool root, std::vector<CompoundEntry>& e) {
  e.push_back({at + "__properties_version1.0", std::string(root ? 32 : 24, '\0')});
  e.push_back({at + "__substg1.0_001A001F", utf16le(u"IPM.Note")});
  e.push_back({at + "__substg1.0_0037001F", utf16le(m.subject)});
  e.push_back({at + "__substg1.0_0C1A001F", utf16le(u"山田 太郎")});
  e.push_back({at + "__substg1.0_0C1F001F", utf16le(u"yamada@partner.example.co.jp")});
  e.push_back({at + "__substg1.0_1000001F", utf16le(m.body)});
  std::size_t n = 0;
  auto dir = [&] {
    char d[64];
    std::snprintf(d, sizeof d, "__attach_version1.0_#%08zX/", n++);
    return at + d;
  };
  for (const auto& [name, data] : m.files) {
    const std::string d = dir();
    e.push_back({d + "__properties_version1.0", std::string(8, '\0')});
    e.push_back({d + "__substg1.0_3707001F", utf16le(name)});
    e.push_back({d + "__substg1.0_37010102", data});
  }
  for (const auto& inner : m.attached) {
    const std::string d = dir();
    e.push_back({d + "__properties_version1.0", attachProperties(5)});
    e.push_back({d + "__substg1.0_3001001F", utf16le(inner.subject + u".msg")});  // PR_DISPLAY_NAME
    msgEntries(inner, d + "__substg1.0_3701000D/", false, e);
  }
  for (const auto& contents : m.ole_objects) {
    const std::string d = dir();
    e.push_back({d + "__properties_version1.0", attachProperties(6)});
    e.push_back({d + "__substg1.0_3701000D/\x01Ole", std::string(20, '\0')});
    e.push_back({d + "__substg1.0_3701000D/CONTENTS", contents});
  }
}

inline std::string outlookMsg(const MsgSpec& m) {
  std::vector<CompoundEntry> e;
  msgEntries(m, "", true, e);
  std::string out = sanitizers::ole2::writeCompoundFile(e);
  REQUIRE_FALSE(out.empty());
  return out;
}

inline std::string outlookMsg(const std::vector<std::pair<std::u16string, std::string>>& files) {
  MsgSpec m;
  m.files = files;
  return outlookMsg(m);
}

inline std::string le32(std::uint32_t v) {
  return {static_cast<char>(v), static_cast<char>(v >> 8), static_cast<char>(v >> 16), static_cast<char>(v >> 24)};
}

/// A TNEF writer for fixtures.
struct Tnef {
  std::string out = le32(0x223E9F78) + std::string("\x01\x00", 2);
  bool break_checksum = false;
  Tnef& attr(int level, std::uint32_t id, const std::string& data) {
    std::uint16_t sum = 0;
    for (unsigned char c : data) sum = static_cast<std::uint16_t>(sum + c);
    if (break_checksum) sum = static_cast<std::uint16_t>(sum + 1);
    out += static_cast<char>(level);
    out += le32(id) + le32(static_cast<std::uint32_t>(data.size())) + data;
    out += static_cast<char>(sum & 0xFF);
    out += static_cast<char>(sum >> 8);
    return *this;
  }
  Tnef& file(const std::string& title, const std::string& data, const std::string& long_name_utf16 = {}) {
    attr(2, 0x00069002, std::string(14, '\0'));  // attAttachRendData starts an attachment
    attr(2, 0x00018010, title + '\0');          // attAttachTitle (8.3)
    attr(2, 0x0006800F, data);                  // attAttachData
    if (!long_name_utf16.empty()) {             // attAttachment: PR_ATTACH_LONG_FILENAME (PT_UNICODE)
      std::string props = le32(1) + le32(0x3707001F) + le32(1) + le32(static_cast<std::uint32_t>(long_name_utf16.size())) +
                          long_name_utf16;
      props.append((4 - long_name_utf16.size() % 4) % 4, '\0');
      attr(2, 0x00069005, props);
    }
    return *this;
  }
};

/// UTF-16LE with its terminating NUL, as a PT_UNICODE property value.
inline std::string utf16z(const std::u16string& s) { return utf16le(s) + std::string(2, '\0'); }

}  // namespace mugai::test::outlook
