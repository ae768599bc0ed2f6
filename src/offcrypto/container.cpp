// The compound file around an encrypted package (MS-OFFCRYPTO 2.3.4.4 / MS-CFB): the project's
// compound-file reader (the directory pre-check of src/office/compound_file.h, then libgsf) gives
// the two root streams; legacy encrypted Word/Excel/PowerPoint files are named and refused.
#include <gsf/gsf-infile-msole.h>
#include <gsf/gsf-infile.h>
#include <gsf/gsf-input-memory.h>
#include <gsf/gsf-utils.h>

#include <algorithm>
#include <memory>
#include <optional>

#include "src/office/compound_file.h"
#include "src/offcrypto/offcrypto.h"

namespace mugai::offcrypto {
namespace {

using Status = Result::Status;

struct Unref {
  void operator()(void* p) const {
    if (p) g_object_unref(p);
  }
};
template <class T>
using GPtr = std::unique_ptr<T, Unref>;

Result outcome(Status s, std::string detail) {
  Result r;
  r.status = s;
  r.detail = std::move(detail);
  return r;
}

/// A compound file opened after the directory pre-check; nullptr (and *why) when it is not one.
struct Cfb {
  GPtr<GsfInput> input;
  GPtr<GsfInfile> root;
};

std::optional<Result> open(std::string_view data, const Limits& limits, Cfb& c) {
  if (data.size() < 512 || data.substr(0, 8) != std::string_view("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8))
    return outcome(Status::NotEncrypted, "");
  if (auto f = office::precheckCompoundFile(data, limits))
    return outcome(f->first == Reason::ParseMalformed ? Status::Malformed : Status::OverLimit,
                   "compound file: " + f->second);
  c.input.reset(gsf_input_memory_new(reinterpret_cast<const guint8*>(data.data()),
                                     static_cast<gsf_off_t>(data.size()), FALSE));
  GError* err = nullptr;
  if (c.input) c.root.reset(gsf_infile_msole_new(c.input.get(), &err));
  if (err) g_error_free(err);
  if (!c.root) return outcome(Status::Malformed, "not a readable compound file");
  return std::nullopt;
}

/// A root stream's bytes, at most `limit` (and never more than the file: shared sector chains
/// cannot make a stream larger than what holds it). nullopt when absent; *over when too large.
std::optional<std::string> stream(const Cfb& c, const char* name, std::uint64_t limit, std::uint64_t file_size,
                                  bool* over) {
  GPtr<GsfInput> in(gsf_infile_child_by_name(c.root.get(), name));
  if (!in || (GSF_IS_INFILE(in.get()) && gsf_infile_num_children(GSF_INFILE(in.get())) >= 0)) return std::nullopt;
  const gsf_off_t size = gsf_input_size(in.get());
  if (size < 0) return std::nullopt;
  if (static_cast<std::uint64_t>(size) > limit || static_cast<std::uint64_t>(size) > file_size) {
    *over = true;
    return std::nullopt;
  }
  std::string data(static_cast<std::size_t>(size), '\0');
  if (size > 0 && !gsf_input_read(in.get(), static_cast<std::size_t>(size), reinterpret_cast<guint8*>(data.data())))
    return std::nullopt;
  return data;
}

bool has(const Cfb& c, const char* name) {
  GPtr<GsfInput> in(gsf_infile_child_by_name(c.root.get(), name));
  return static_cast<bool>(in);
}

/// The first (at most) `n` bytes of a root stream; empty when absent or unreadable.
std::string head(const Cfb& c, const char* name, std::size_t n) {
  GPtr<GsfInput> in(gsf_infile_child_by_name(c.root.get(), name));
  if (!in || (GSF_IS_INFILE(in.get()) && gsf_infile_num_children(GSF_INFILE(in.get())) >= 0)) return {};
  const gsf_off_t size = gsf_input_size(in.get());
  if (size <= 0) return {};
  std::string out(std::min<std::size_t>(static_cast<std::size_t>(size), n), '\0');
  if (!gsf_input_read(in.get(), out.size(), reinterpret_cast<guint8*>(out.data()))) return {};
  return out;
}

std::uint32_t u16(std::string_view s, std::size_t off) {
  return static_cast<unsigned char>(s[off]) | (static_cast<unsigned char>(s[off + 1]) << 8);
}

/// Why a compound file without an encrypted package is still encrypted (the legacy schemes
/// sanitizer.ole2 refuses as content.encrypted), or "" when it is not.
std::string legacyEncryption(const Cfb& c) {
  if (has(c, "\x06" "DataSpaces") || has(c, "\x09" "DRMContent"))
    return "a rights-managed (IRM) document: not opened";
  if (has(c, "EncryptedSummary")) return "an encrypted PowerPoint 97-2003 presentation (RC4 CryptoAPI): not opened";
  // Word FibBase.fEncrypted (offset 0x0A, bit 0x0100): RC4 or XOR obfuscation.
  if (const std::string w = head(c, "WordDocument", 12); w.size() == 12 && (u16(w, 0x0A) & 0x0100))
    return "an encrypted Word 97-2003 document (RC4 or XOR): legacy encryption is not opened";
  for (const char* book : {"Workbook", "Book"}) {
    // The first records of the globals: BOF, then FILEPASS (0x002F) when the workbook is encrypted.
    const std::string h = head(c, book, 256);
    for (std::size_t off = 0; off + 4 <= h.size(); off += 4 + u16(h, off + 2)) {
      if (u16(h, off) == 0x002F)
        return "an encrypted Excel 97-2003 workbook (FILEPASS, RC4 or XOR): legacy encryption is not opened";
    }
  }
  // PowerPoint: CurrentUserAtom.headerToken (offset 12) 0xF3D1C4DF.
  if (const std::string u = head(c, "Current User", 16); u.size() == 16 && u16(u, 12) == 0xC4DF && u16(u, 14) == 0xF3D1)
    return "an encrypted PowerPoint 97-2003 presentation (RC4 CryptoAPI): not opened";
  return "";
}

}  // namespace

bool isEncryptedPackage(std::string_view data, const Limits& limits) {
  Cfb c;
  if (open(data, limits, c)) return false;
  return has(c, "EncryptionInfo") && has(c, "EncryptedPackage");
}

Result decrypt(std::string_view data, const std::string& password, const Limits& limits) {
  Cfb c;
  if (auto bad = open(data, limits, c)) return *bad;
  bool over = false;
  auto info_bytes = stream(c, "EncryptionInfo", limits.offcrypto_info_size_limit, data.size(), &over);
  if (over) return outcome(Status::OverLimit, "EncryptionInfo is larger than offcrypto_info_size_limit");
  auto package = info_bytes ? stream(c, "EncryptedPackage", limits.offcrypto_package_size_limit + 4096 + 8,
                                     data.size(), &over)
                            : std::nullopt;
  if (over) return outcome(Status::OverLimit, "EncryptedPackage is larger than offcrypto_package_size_limit");
  if (!info_bytes || !package) {
    const std::string legacy = legacyEncryption(c);
    if (!legacy.empty()) return outcome(Status::Unsupported, legacy);
    if (info_bytes || has(c, "EncryptedPackage"))
      return outcome(Status::Malformed, "EncryptionInfo without EncryptedPackage (or the other way round)");
    return outcome(Status::NotEncrypted, "");
  }
  ParsedInfo p = parseEncryptionInfo(*info_bytes, limits);
  switch (p.status) {
    case ParsedInfo::Status::Ok:
      break;
    case ParsedInfo::Status::Unsupported:
      return outcome(Status::Unsupported, p.detail);
    case ParsedInfo::Status::OverLimit:
      return outcome(Status::OverLimit, p.detail);
    case ParsedInfo::Status::Malformed:
      return outcome(Status::Malformed, p.detail);
  }
  return decryptPackage(p.info, *package, password, limits);
}

}  // namespace mugai::offcrypto
