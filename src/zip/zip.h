/**
 * @file zip.h
 * @brief A bounded ZIP reader over bytes in memory, and a writer that copies kept members raw.
 *
 * Trust: the archive bytes are hostile. Every offset, size, count and name read from them is
 *        checked before it is used; the central directory is authoritative and each local header
 *        is cross-checked against it (name, method, flags, sizes); members may not overlap.
 * Limits: member count (document_object_limit), total declared expanded size
 *         (expanded_size_limit), per-member ratio once past 1 MiB (expansion_ratio_limit), all
 *         checked on the directory before anything is inflated; inflating never produces more
 *         than the declared size and the budget is charged first.
 * Errors: open()/extract()/verify() return a Failure with a Reason (parse.malformed,
 *         content.encrypted, limit.*, cdr.failed for what we do not support); nothing throws.
 *
 * Why our own reader: the rebuilders keep most members (images, fonts) as they are, and copying
 * their compressed bytes with the same method, CRC and sizes is what makes a rebuild cheap.
 * libarchive cannot hand back raw compressed bytes, and it inflates before we can check limits.
 */
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mugai/core/budget.h"
#include "mugai/core/limits.h"
#include "mugai/core/verdict.h"

namespace mugai::zip {

/// Why a package could not be read; `detail` is ours (member names are escaped).
struct Failure {
  Reason reason = Reason::ParseMalformed;
  std::string detail;
};

/// One member, as the central directory describes it (after cross-checking its local header).
struct Entry {
  std::string name;          ///< checked: relative, '/'-separated, no "..", no NUL or '\'
  std::uint16_t method = 0;  ///< 0 stored, 8 deflate (others are refused)
  std::uint16_t flags = 0;   ///< general purpose flags (bit 3 data descriptor, bit 11 UTF-8)
  std::uint16_t mod_time = 0, mod_date = 0;
  std::uint32_t crc = 0;
  std::uint64_t compressed_size = 0;
  std::uint64_t uncompressed_size = 0;
  std::uint64_t local_offset = 0;  ///< local header
  std::uint64_t data_offset = 0;   ///< first byte of the compressed data
  bool directory() const { return !name.empty() && name.back() == '/'; }
};

/// The reader's bounds; usually taken from Limits with fromLimits().
struct ReadLimits {
  std::uint64_t max_entries = 200000;
  std::uint64_t max_expanded = 100ull << 20;  ///< all members together, declared sizes
  std::uint64_t max_ratio = 200;              ///< expanded/compressed, once past ratio_floor
  std::uint64_t ratio_floor = 1ull << 20;
  static ReadLimits fromLimits(const Limits& l);
};

class Archive {
 public:
  /// Parses the directory of `data` (which must outlive the Archive). On failure returns nullopt
  /// and fills *failure.
  static std::optional<Archive> open(std::string_view data, const ReadLimits& limits,
                                     Failure* failure);

  const std::vector<Entry>& entries() const { return entries_; }
  /// The member called `name` (exact match), or nullptr.
  const Entry* find(std::string_view name) const;
  /// The compressed bytes of `e` as stored in the archive.
  std::string_view raw(const Entry& e) const {
    return data_.substr(e.data_offset, e.compressed_size);
  }

  /// Inflates `e` into *out, charging `budget` for its declared size first; checks the size and
  /// the CRC. A member whose data does not match its directory entry is parse.malformed.
  std::optional<Failure> extract(const Entry& e, Budget& budget, std::string* out) const;
  /// The first `n` bytes of `e` (fewer when it is shorter or broken), inflating no more than
  /// that: enough to tell a nested archive by its signature without expanding the member.
  std::string head(const Entry& e, std::size_t n) const;
  /// Inflates `e` through a small fixed buffer (nothing kept) and checks size and CRC: used on
  /// members that are copied raw, so a lie in the directory never travels on.
  std::optional<Failure> verify(const Entry& e) const;
  /// SHA-256 (hex, core/digest.h) of `e`'s inflated bytes, through the same small buffer as
  /// verify() (nothing kept, nothing charged); "" when it does not inflate or its CRC differs.
  /// What a rebuilder reports for a member it leaves out.
  std::string sha256(const Entry& e) const;

 private:
  explicit Archive(std::string_view data) : data_(data) {}
  std::string_view data_;
  std::vector<Entry> entries_;
};

/// How many members a scanner could find in `data`, counted without parsing a member: the larger
/// of the count the end record declares (ZIP64 too), the central directory entries walked from
/// the offset it gives, and the local header signatures in the whole data (readers that distrust
/// the directory scan those). Linear, a few milliseconds for 10 MB. nullopt when `data` has
/// neither an end record nor a local header at its start (not a ZIP).
std::optional<std::uint64_t> countEntriesQuickly(std::string_view data);

/// True when `name` is a safe relative member name (see Entry::name).
bool safeName(std::string_view name);

/// Writes a new archive in memory. Members are written without data descriptors, with sizes and
/// CRC in the local header, and without extra fields (no ZIP64: members and archive < 4 GiB).
class Writer {
 public:
  explicit Writer(std::size_t reserve = 0) { out_.reserve(reserve); }
  /// Copies `e`'s compressed bytes from `from` unchanged (same method, CRC and sizes).
  bool copyRaw(const Archive& from, const Entry& e);
  /// Adds `data` deflated (level 6), or stored when deflating does not help.
  /// `utf8_name` sets flag bit 11; pass the original member's bit when rewriting it (a CP437
  /// name must not be declared UTF-8).
  bool addDeflated(std::string_view name, std::string_view data, bool utf8_name = true);
  /// Adds `data` stored (method 0): ODF's `mimetype` must be stored.
  bool addStored(std::string_view name, std::string_view data, bool utf8_name = true);
  /// Writes the central directory; the Writer is done afterwards. nullopt when a member or the
  /// archive does not fit classic ZIP (> 4 GiB or > 65535 members).
  std::optional<std::string> finish();

 private:
  struct Central {
    std::string name;
    std::uint16_t method, flags, mod_time, mod_date;
    std::uint32_t crc;
    std::uint64_t csize, usize, offset;
  };
  bool addEntry(const Central& c, std::string_view payload);
  std::string out_;
  std::vector<Central> central_;
  bool ok_ = true;
};

}  // namespace mugai::zip
