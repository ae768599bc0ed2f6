// Writes the generated test fixtures into the directory given as argv[1].
// The EICAR test string is stored XOR-ed (ClamAV unit_tests/input approach) so that the source
// tree itself never trips a scanner.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <zlib.h>

namespace {

constexpr unsigned char kKey = 0x5a;
// EICAR standard anti-virus test file, each byte XOR 0x5a.
const unsigned char kEicarXor[] = {
    0x02, 0x6f, 0x15, 0x7b, 0x0a, 0x7f, 0x1a, 0x1b, 0x0a, 0x01, 0x6e, 0x06, 0x0a, 0x00, 0x02, 0x6f,
    0x6e, 0x72, 0x0a, 0x04, 0x73, 0x6d, 0x19, 0x19, 0x73, 0x6d, 0x27, 0x7e, 0x1f, 0x13, 0x19, 0x1b,
    0x08, 0x77, 0x09, 0x0e, 0x1b, 0x14, 0x1e, 0x1b, 0x08, 0x1e, 0x77, 0x1b, 0x14, 0x0e, 0x13, 0x0c,
    0x13, 0x08, 0x0f, 0x09, 0x77, 0x0e, 0x1f, 0x09, 0x0e, 0x77, 0x1c, 0x13, 0x16, 0x1f, 0x7b, 0x7e,
    0x12, 0x71, 0x12, 0x70,
};

std::string unxor(const unsigned char* p, std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>(p[i] ^ kKey);
  return s;
}

void write(const std::filesystem::path& p, const std::string& data) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << data;
  if (!out) {
    std::fprintf(stderr, "gen_fixtures: cannot write %s\n", p.c_str());
    std::exit(1);
  }
}


// ---- zip archives (stored or raw-deflated entries, optional traditional PKWARE encryption) ----

struct ZipEntry {
  std::string name;
  std::string data;
  bool deflate = false;
  std::string password;  ///< non-empty: ZipCrypto ("traditional PKWARE") encryption
};

void put16(std::string& s, unsigned v) {
  s.push_back(static_cast<char>(v & 0xff));
  s.push_back(static_cast<char>((v >> 8) & 0xff));
}

void put32(std::string& s, unsigned long v) {
  put16(s, static_cast<unsigned>(v & 0xffff));
  put16(s, static_cast<unsigned>((v >> 16) & 0xffff));
}

std::string rawDeflate(const std::string& in) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    std::fprintf(stderr, "gen_fixtures: deflateInit2 failed\n");
    std::exit(1);
  }
  std::string out(deflateBound(&zs, in.size()), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  if (deflate(&zs, Z_FINISH) != Z_STREAM_END) {
    std::fprintf(stderr, "gen_fixtures: deflate failed\n");
    std::exit(1);
  }
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

/// Traditional PKWARE encryption (APPNOTE 6.1), deterministic header bytes.
class ZipCrypto {
 public:
  explicit ZipCrypto(const std::string& password) {
    for (char c : password) update(static_cast<unsigned char>(c));
  }
  std::string encrypt(const std::string& plain) {
    std::string out;
    for (char c : plain) {
      unsigned char p = static_cast<unsigned char>(c);
      out.push_back(static_cast<char>(p ^ streamByte()));
      update(p);
    }
    return out;
  }

 private:
  static unsigned long crcByte(unsigned long crc, unsigned char b) {
    return get_crc_table()[(crc ^ b) & 0xff] ^ (crc >> 8);
  }
  unsigned char streamByte() const {
    unsigned temp = static_cast<unsigned>((k2_ | 2) & 0xffff);
    return static_cast<unsigned char>(((temp * (temp ^ 1)) >> 8) & 0xff);
  }
  void update(unsigned char c) {
    k0_ = crcByte(k0_, c);
    k1_ = ((k1_ + (k0_ & 0xff)) * 134775813UL + 1) & 0xffffffffUL;
    k2_ = crcByte(k2_, static_cast<unsigned char>((k1_ >> 24) & 0xff));
  }
  unsigned long k0_ = 0x12345678UL, k1_ = 0x23456789UL, k2_ = 0x34567890UL;
};

std::string makeZip(const std::vector<ZipEntry>& entries) {
  std::string out, central;
  for (const auto& e : entries) {
    unsigned long crc = crc32(0L, reinterpret_cast<const Bytef*>(e.data.data()),
                              static_cast<uInt>(e.data.size()));
    std::string body = e.deflate ? rawDeflate(e.data) : e.data;
    unsigned flags = 0;
    if (!e.password.empty()) {
      flags |= 1;
      std::string header = "mugai-fixtu";  // 11 fixed bytes, then the CRC check byte
      header.push_back(static_cast<char>((crc >> 24) & 0xff));
      ZipCrypto zc(e.password);
      body = zc.encrypt(header + body);
    }
    const unsigned method = e.deflate ? 8 : 0;
    const unsigned long offset = out.size();
    auto common = [&](std::string& s) {
      put16(s, flags);
      put16(s, method);
      put16(s, 0);       // time
      put16(s, 0x5821);  // date 2024-01-01
      put32(s, crc);
      put32(s, body.size());
      put32(s, e.data.size());
      put16(s, static_cast<unsigned>(e.name.size()));
      put16(s, 0);  // extra length
    };
    put32(out, 0x04034b50UL);
    put16(out, 20);
    common(out);
    out += e.name;
    out += body;
    put32(central, 0x02014b50UL);
    put16(central, 20);
    put16(central, 20);
    common(central);
    put16(central, 0);  // comment length
    put16(central, 0);  // disk
    put16(central, 0);  // internal attributes
    put32(central, 0);  // external attributes
    put32(central, offset);
    central += e.name;
  }
  const unsigned long cd_offset = out.size();
  out += central;
  put32(out, 0x06054b50UL);
  put16(out, 0);
  put16(out, 0);
  put16(out, static_cast<unsigned>(entries.size()));
  put16(out, static_cast<unsigned>(entries.size()));
  put32(out, central.size());
  put32(out, cd_offset);
  put16(out, 0);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: gen_fixtures OUTDIR\n");
    return 1;
  }
  std::filesystem::path out = argv[1];
  std::filesystem::create_directories(out);
  write(out / "eicar.com", unxor(kEicarXor, sizeof kEicarXor));

  // Scanner fixtures (tests/unit/scan, sanitizers/clamav_scan).
  const std::string eicar = unxor(kEicarXor, sizeof kEicarXor);
  const std::string clean_text = "mugai clean fixture: nothing to see here.\n";
  write(out / "eicar.zip", makeZip({{"readme.txt", clean_text, true, ""},
                                    {"eicar.com", eicar, true, ""}}));
  // Deflated at every level, so the raw bytes of the outer archive never show the EICAR string.
  std::string nested = makeZip({{"eicar.com", eicar, true, ""}});
  for (int level = 2; level <= 3; ++level) {
    nested = makeZip({{"level" + std::to_string(level) + ".zip", nested, true, ""}});
  }
  write(out / "eicar-nested3.zip", nested);
  write(out / "clean.zip", makeZip({{"readme.txt", clean_text, true, ""}}));
  write(out / "encrypted.zip", makeZip({{"secret.txt", clean_text, false, "mugai"}}));
  return 0;
}
