// Archive fixtures built in code for the sanitizer.archive tests (unit and engine level): the
// libarchive writer for ordinary archives, hand-written ZIP and LZH writers where the test needs
// bytes libarchive would not write (names without the UTF-8 flag, CP932 names, level-0 LZH), and
// a deflate "zero bomb" made by repeating one flushed block (seconds of zlib become milliseconds).
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <zlib.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace mugai::test::archive_fixtures {

struct Entry {
  enum class Type { File, Symlink, Directory, Hardlink };
  std::string name;
  std::string data;
  Type type = Type::File;
  std::string link;  ///< symlink target or hardlink source
  std::int64_t mtime = 1700000000;
};

inline la_ssize_t appendCallback(struct archive*, void* client, const void* buf, size_t n) {
  static_cast<std::string*>(client)->append(static_cast<const char*>(buf), n);
  return static_cast<la_ssize_t>(n);
}

/// An archive in `format` ("zip", "7zip", "pax", "raw"...) through `filters` ("gzip", "xz"...).
inline std::string writeArchive(const std::vector<Entry>& entries, const char* format,
                                const std::vector<const char*>& filters = {},
                                const char* options = nullptr, const char* passphrase = nullptr) {
  std::string out;
  struct archive* a = archive_write_new();
  if (archive_write_set_format_by_name(a, format) != ARCHIVE_OK) throw std::runtime_error(archive_error_string(a));
  for (const char* f : filters) {
    if (archive_write_add_filter_by_name(a, f) != ARCHIVE_OK) throw std::runtime_error(archive_error_string(a));
  }
  if (options && archive_write_set_options(a, options) != ARCHIVE_OK) throw std::runtime_error(archive_error_string(a));
  if (passphrase) archive_write_set_passphrase(a, passphrase);
  archive_write_set_bytes_in_last_block(a, 1);
  if (archive_write_open2(a, &out, nullptr, appendCallback, nullptr, nullptr) != ARCHIVE_OK) {
    throw std::runtime_error(archive_error_string(a));
  }
  for (const auto& e : entries) {
    archive_entry* en = archive_entry_new();
    archive_entry_set_pathname(en, e.name.c_str());
    archive_entry_set_mtime(en, static_cast<time_t>(e.mtime), 0);
    switch (e.type) {
      case Entry::Type::File:
        archive_entry_set_filetype(en, AE_IFREG);
        archive_entry_set_perm(en, 0644);
        archive_entry_set_size(en, static_cast<la_int64_t>(e.data.size()));
        break;
      case Entry::Type::Directory:
        archive_entry_set_filetype(en, AE_IFDIR);
        archive_entry_set_perm(en, 0755);
        break;
      case Entry::Type::Symlink:
        archive_entry_set_filetype(en, AE_IFLNK);
        archive_entry_set_perm(en, 0777);
        archive_entry_set_symlink(en, e.link.c_str());
        break;
      case Entry::Type::Hardlink:
        archive_entry_set_filetype(en, AE_IFREG);
        archive_entry_set_perm(en, 0644);
        archive_entry_set_hardlink(en, e.link.c_str());
        archive_entry_set_size(en, 0);
        break;
    }
    if (archive_write_header(a, en) < ARCHIVE_WARN) throw std::runtime_error(archive_error_string(a));
    if (e.type == Entry::Type::File && !e.data.empty()) archive_write_data(a, e.data.data(), e.data.size());
    archive_entry_free(en);
  }
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

inline std::string zip(const std::vector<Entry>& entries) { return writeArchive(entries, "zip"); }

inline void le16(std::string& s, std::uint32_t v) {
  s.push_back(static_cast<char>(v & 0xff));
  s.push_back(static_cast<char>((v >> 8) & 0xff));
}
inline void le32(std::string& s, std::uint32_t v) {
  le16(s, v & 0xffff);
  le16(s, v >> 16);
}

/// A ZIP written byte by byte: stored entries, names exactly as given (no UTF-8 flag unless
/// asked), the way old Japanese Windows tools wrote CP932 names.
struct RawZipEntry {
  std::string name;  ///< raw bytes
  std::string data;
};
inline std::string rawZip(const std::vector<RawZipEntry>& entries, bool utf8_flag = false) {
  std::string out, central;
  std::uint16_t flags = utf8_flag ? 0x0800 : 0;
  for (const auto& e : entries) {
    std::uint32_t crc = crc32(0L, reinterpret_cast<const Bytef*>(e.data.data()), static_cast<uInt>(e.data.size()));
    std::uint32_t offset = static_cast<std::uint32_t>(out.size());
    le32(out, 0x04034b50);
    le16(out, 10);
    le16(out, flags);
    le16(out, 0);  // stored
    le16(out, 0);
    le16(out, 0x21);  // 1980-01-01
    le32(out, crc);
    le32(out, static_cast<std::uint32_t>(e.data.size()));
    le32(out, static_cast<std::uint32_t>(e.data.size()));
    le16(out, static_cast<std::uint32_t>(e.name.size()));
    le16(out, 0);
    out += e.name;
    out += e.data;
    le32(central, 0x02014b50);
    le16(central, 20);
    le16(central, 10);
    le16(central, flags);
    le16(central, 0);
    le16(central, 0);
    le16(central, 0x21);
    le32(central, crc);
    le32(central, static_cast<std::uint32_t>(e.data.size()));
    le32(central, static_cast<std::uint32_t>(e.data.size()));
    le16(central, static_cast<std::uint32_t>(e.name.size()));
    le16(central, 0);
    le16(central, 0);
    le16(central, 0);
    le16(central, 0);
    le32(central, 0);
    le32(central, offset);
    central += e.name;
  }
  std::uint32_t cd_offset = static_cast<std::uint32_t>(out.size());
  out += central;
  le32(out, 0x06054b50);
  le16(out, 0);
  le16(out, 0);
  le16(out, static_cast<std::uint32_t>(entries.size()));
  le16(out, static_cast<std::uint32_t>(entries.size()));
  le32(out, static_cast<std::uint32_t>(central.size()));
  le32(out, cd_offset);
  le16(out, 0);
  return out;
}

/// CRC-16/ARC (polynomial 0xA001 reflected), the checksum LHA stores for the data.
inline std::uint16_t crc16(const std::string& data) {
  std::uint16_t crc = 0;
  for (unsigned char c : data) {
    crc ^= c;
    for (int i = 0; i < 8; ++i) crc = (crc & 1) ? static_cast<std::uint16_t>((crc >> 1) ^ 0xA001) : static_cast<std::uint16_t>(crc >> 1);
  }
  return crc;
}

/// An LZH archive with level-0 headers and -lh0- (stored) members, the layout LHA for MS-DOS
/// and LHA32 wrote: [size][checksum]"-lh0-"[packed][original][time][attr][level][len][name][crc].
inline std::string lzhLevel0(const std::vector<RawZipEntry>& entries) {
  std::string out;
  for (const auto& e : entries) {
    std::string h;
    h += "-lh0-";
    le32(h, static_cast<std::uint32_t>(e.data.size()));
    le32(h, static_cast<std::uint32_t>(e.data.size()));
    le32(h, 0x21 << 16);  // DOS time 00:00, date 1980-01-01
    h.push_back(0x20);    // archive attribute
    h.push_back(0x00);    // header level 0
    h.push_back(static_cast<char>(e.name.size()));
    h += e.name;
    le16(h, crc16(e.data));
    unsigned sum = 0;
    for (unsigned char c : h) sum += c;
    out.push_back(static_cast<char>(h.size()));
    out.push_back(static_cast<char>(sum & 0xff));
    out += h;
    out += e.data;
  }
  out.push_back('\0');  // end of archive
  return out;
}

/// A Microsoft cabinet with one uncompressed folder (typeCompress 0) and one CFDATA block, names
/// as raw bytes (CP932 unless `utf8`, which sets _A_NAME_IS_UTF on each file).
inline std::string cab(const std::vector<RawZipEntry>& entries, bool utf8 = false) {
  std::string files, data;
  for (const auto& e : entries) {
    le32(files, static_cast<std::uint32_t>(e.data.size()));
    le32(files, static_cast<std::uint32_t>(data.size()));  // offset in the folder
    le16(files, 0);                                       // folder 0
    le16(files, 0x21);                                    // 1980-01-01
    le16(files, 0);
    le16(files, utf8 ? 0xa0 : 0x20);
    files += e.name;
    files.push_back('\0');
    data += e.data;
  }
  if (data.size() > 32768) throw std::runtime_error("cab fixture: one block only");
  const std::uint32_t header = 36, folder = 8;
  const std::uint32_t first_file = header + folder;
  const std::uint32_t first_data = first_file + static_cast<std::uint32_t>(files.size());
  const std::uint32_t total = first_data + 8 + static_cast<std::uint32_t>(data.size());
  std::string out = "MSCF";
  le32(out, 0);
  le32(out, total);
  le32(out, 0);
  le32(out, first_file);
  le32(out, 0);
  out.push_back(3);
  out.push_back(1);
  le16(out, 1);
  le16(out, static_cast<std::uint32_t>(entries.size()));
  le16(out, 0);
  le16(out, 0);
  le16(out, 0);
  le32(out, first_data);
  le16(out, 1);
  le16(out, 0);  // no compression
  out += files;
  le32(out, 0);  // no checksum
  le16(out, static_cast<std::uint32_t>(data.size()));
  le16(out, static_cast<std::uint32_t>(data.size()));
  out += data;
  return out;
}

/// A RAR 4 archive with stored (method 0x30) members, as WinRAR writes with -m0: marker block,
/// archive header, one file header per member (CRC16 = low half of CRC-32 over the header from
/// its type byte), the end block.
inline std::string rar4(const std::vector<RawZipEntry>& entries) {
  auto block = [](std::string body) {  // body starts at HEAD_TYPE; HEAD_SIZE is patched here
    std::string sized = body.substr(0, 3);
    le16(sized, static_cast<std::uint32_t>(body.size() + 4));  // + HEAD_CRC and HEAD_SIZE
    sized += body.substr(3);
    std::uint32_t crc = crc32(0L, reinterpret_cast<const Bytef*>(sized.data()), static_cast<uInt>(sized.size()));
    std::string out;
    le16(out, crc & 0xffff);
    return out + sized;
  };
  std::string out("Rar!\x1a\x07\x00", 7);
  std::string main_head;
  main_head.push_back(0x73);
  le16(main_head, 0);
  main_head += std::string(6, '\0');  // reserved
  out += block(main_head);
  for (const auto& e : entries) {
    std::string h;
    h.push_back(0x74);
    le16(h, 0x8000);
    le32(h, static_cast<std::uint32_t>(e.data.size()));
    le32(h, static_cast<std::uint32_t>(e.data.size()));
    h.push_back(2);  // Windows
    le32(h, crc32(0L, reinterpret_cast<const Bytef*>(e.data.data()), static_cast<uInt>(e.data.size())));
    le32(h, 0x21 << 16);
    h.push_back(20);
    h.push_back(0x30);  // stored
    le16(h, static_cast<std::uint32_t>(e.name.size()));
    le32(h, 0x20);
    h += e.name;
    out += block(h) + e.data;
  }
  out += std::string("\xc4\x3d\x7b\x00\x40\x07\x00", 7);
  return out;
}

/// A ZIP with one deflated member of `size` zero bytes (a multiple of 1 MiB): one 1 MiB block
/// compressed with Z_FULL_FLUSH is independent of what came before, so it is repeated.
/// `declared` (when not 0) is the uncompressed size the headers claim: a lying bomb.
inline std::string zeroBombZip(std::uint64_t size, const std::string& name = "zeros.bin",
                               std::uint64_t declared = 0) {
  const std::uint64_t block = 1 << 20;
  std::string zeros(block, '\0'), unit, tail;
  z_stream z{};
  deflateInit2(&z, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY);
  std::string buf(1 << 16, '\0');
  auto pump = [&](const std::string& in, int flush, std::string& dst) {
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    do {
      z.next_out = reinterpret_cast<Bytef*>(buf.data());
      z.avail_out = static_cast<uInt>(buf.size());
      deflate(&z, flush);
      dst.append(buf.data(), buf.size() - z.avail_out);
    } while (z.avail_out == 0);
  };
  pump(zeros, Z_FULL_FLUSH, unit);
  pump(std::string(), Z_FINISH, tail);
  deflateEnd(&z);
  std::uint64_t blocks = size / block;
  std::uint32_t crc_block = crc32(0L, reinterpret_cast<const Bytef*>(zeros.data()), static_cast<uInt>(block));
  std::uint32_t crc = 0;
  for (std::uint64_t i = 0; i < blocks; ++i) crc = static_cast<std::uint32_t>(crc32_combine(crc, crc_block, static_cast<z_off_t>(block)));
  std::uint64_t csize = unit.size() * blocks + tail.size();
  std::string out, central;
  auto header = [&](std::string& s, bool central_dir) {
    le32(s, central_dir ? 0x02014b50 : 0x04034b50);
    if (central_dir) le16(s, 20);
    le16(s, 20);
    le16(s, 0);
    le16(s, 8);  // deflate
    le16(s, 0);
    le16(s, 0x21);
    le32(s, crc);
    le32(s, static_cast<std::uint32_t>(csize));
    le32(s, static_cast<std::uint32_t>(declared ? declared : size));
    le16(s, static_cast<std::uint32_t>(name.size()));
    le16(s, 0);
    if (central_dir) {
      le16(s, 0);
      le16(s, 0);
      le16(s, 0);
      le32(s, 0);
      le32(s, 0);
    }
    s += name;
  };
  header(out, false);
  out.reserve(out.size() + csize + 200);
  for (std::uint64_t i = 0; i < blocks; ++i) out += unit;
  out += tail;
  std::uint32_t cd_offset = static_cast<std::uint32_t>(out.size());
  header(central, true);
  out += central;
  le32(out, 0x06054b50);
  le16(out, 0);
  le16(out, 0);
  le16(out, 1);
  le16(out, 1);
  le32(out, static_cast<std::uint32_t>(central.size()));
  le32(out, cd_offset);
  le16(out, 0);
  return out;
}

/// `levels` ZIPs inside each other around one text file.
inline std::string nestedZip(int levels) {
  std::string inner = zip({{"deep.txt", "the bottom\n"}});
  for (int i = 1; i < levels; ++i) inner = zip({{"level" + std::to_string(i) + ".zip", inner}});
  return inner;
}

/// "MZ" and a DOS header of zeros: libmagic calls it application/x-dosexec.
inline std::string tinyDosExe() { return std::string("MZ") + std::string(62, '\0'); }

}  // namespace mugai::test::archive_fixtures
