// Helpers every vault backend shares: hashing, compression, the audit hash, tier names, openVault().
#include <zlib.h>
#include <zstd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "mugai/core/digest.h"
#include "mugai/vault/vault.h"
#include "src/vault/discard_vault.h"
#include "src/vault/internal.h"
#include "src/vault/pg_vault.h"
#include "src/vault/sqlite_vault.h"

namespace mugai::vault {

const char* tierName(Tier t) {
  switch (t) {
    case Tier::Self: return "self";
    case Tier::Approval: return "approval";
    case Tier::Admin: return "admin";
    case Tier::Never: return "never";
  }
  return "admin";
}

const char* outcomeName(ReleaseOutcome o) {
  switch (o) {
    case ReleaseOutcome::Delivered: return "delivered";
    case ReleaseOutcome::Refused: return "refused";
    case ReleaseOutcome::Failed: return "failed";
    case ReleaseOutcome::Retry: return "retry";
  }
  return "failed";
}

std::optional<Tier> tierFromName(const std::string& s) {
  if (s == "self") return Tier::Self;
  if (s == "approval") return Tier::Approval;
  if (s == "admin") return Tier::Admin;
  if (s == "never") return Tier::Never;
  return std::nullopt;
}

bool textIndexable(std::string_view text) {
  // Bytes that are not UTF-8 could split differently in the index than in the text searched.
  const std::size_t chars = internal::utf8Chars(text);
  return chars != std::string_view::npos && chars >= kTextIndexMinChars;
}

namespace internal {

std::size_t utf8Chars(std::string_view text) {
  std::size_t chars = 0;
  for (std::size_t i = 0; i < text.size(); ++chars) {
    const auto b = static_cast<unsigned char>(text[i]);
    std::size_t n = b < 0x80 ? 1 : (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 0;
    if (n == 0 || i + n > text.size() || b == 0) return std::string_view::npos;
    std::uint32_t cp = n == 1 ? b : b & (0x7F >> n);
    for (std::size_t k = 1; k < n; ++k) {
      const auto c = static_cast<unsigned char>(text[i + k]);
      if ((c & 0xC0) != 0x80) return std::string_view::npos;
      cp = (cp << 6) | (c & 0x3F);
    }
    static constexpr std::uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::string_view::npos;
    i += n;
  }
  return chars;
}

}  // namespace internal

std::string sha256Hex(std::string_view data) { return mugai::sha256Hex(data); }

std::string auditHash(const AuditRow& r) {
  std::string text = r.prev_hash + "\n" + std::to_string(r.seq) + "\n" + std::to_string(r.time) +
                     "\n" + r.actor + "\n" + r.role + "\n" + r.action + "\n" + r.record_id + "\n" +
                     r.detail;
  return sha256Hex(text);
}

// Originals are written as zstd frames. Level 1 takes a few ms on a 1.3 MB mail where zlib took
// ~40 ms, but on the base64 of an already-compressed attachment (a DOCX, a PDF, a JPEG: most of
// what the vault keeps) all it can win is base64's 25 % by Huffman-coding the literals, at
// ~400 MB/s: 3 ms of CPU per 1.3 MB message, the largest part of the vault's cost on a gateway
// (bench/SMTP.md). So a sample decides: when level 1 saves less than kWorthSaving of kSample
// bytes from the middle (in a large mail, the middle is its bulk: the attachments, not the headers), the whole original is written at level -1, which leaves literals raw and still
// finds repeats (5 GB/s on base64, x37 where level 1 gives x47 on text). Both are ordinary zstd
// frames, so reading is unchanged. Records written earlier hold zlib streams: decompress() tells
// them apart by zstd's frame magic (a zlib stream starts with 0x78, never with 0x28).
namespace {
constexpr std::size_t kSample = 32 * 1024;
constexpr double kWorthSaving = 0.30;
}  // namespace

int compressionLevel(std::string_view in) {
  if (in.size() <= 2 * kSample) return 1;  // small: level 1 costs microseconds
  std::string probe(ZSTD_compressBound(kSample), '\0');
  const std::size_t n = ZSTD_compress(probe.data(), probe.size(), in.data() + (in.size() - kSample) / 2, kSample, 1);
  if (ZSTD_isError(n)) return 1;
  return static_cast<double>(n) > (1.0 - kWorthSaving) * kSample ? -1 : 1;
}

bool compress(std::string_view in, std::string& out) {
  out.assign(ZSTD_compressBound(in.size()), '\0');
  const std::size_t n =
      ZSTD_compress(out.data(), out.size(), in.data(), in.size(), compressionLevel(in));
  if (ZSTD_isError(n)) return false;
  out.resize(n);
  return true;
}

namespace {

bool zstdDecompress(std::string_view in, std::size_t limit, std::string& out) {
  const unsigned long long size = ZSTD_getFrameContentSize(in.data(), in.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > limit) {
    return false;  // ZSTD_compress always records the size; anything else is not ours
  }
  out.assign(static_cast<std::size_t>(size), '\0');
  const std::size_t n = ZSTD_decompress(out.data(), out.size(), in.data(), in.size());
  if (ZSTD_isError(n) || n != size) {
    out.clear();
    return false;
  }
  return true;
}

}  // namespace

bool decompress(std::string_view in, std::size_t limit, std::string& out) {
  out.clear();
  if (in.size() >= 4 && static_cast<unsigned char>(in[0]) == 0x28 &&
      static_cast<unsigned char>(in[1]) == 0xB5 && static_cast<unsigned char>(in[2]) == 0x2F &&
      static_cast<unsigned char>(in[3]) == 0xFD) {
    return zstdDecompress(in, limit, out);
  }
  z_stream z{};
  if (inflateInit(&z) != Z_OK) return false;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  char buf[65536];
  int rc = Z_OK;
  while (rc == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) break;
    out.append(buf, sizeof buf - z.avail_out);
    if (out.size() > limit) {
      rc = Z_MEM_ERROR;
      break;
    }
    if (rc == Z_OK && z.avail_in == 0 && z.avail_out != 0) break;  // truncated input
  }
  inflateEnd(&z);
  return rc == Z_STREAM_END;
}

std::unique_ptr<Vault> openVault(const std::string& url, std::string* error) {
  std::string path;
  if (url.rfind("sqlite:", 0) == 0) {
    path = url.substr(7);
  } else if (url.rfind("postgresql:", 0) == 0 || url.rfind("postgres:", 0) == 0) {
    return openPgVault(url, error);
  } else if (url.rfind("discard:", 0) == 0) {
    return openDiscardVault(url, error);  // bench only: refused unless the bench's token is set
  } else if (!url.empty() && url.find("://") == std::string::npos && url.find(':') == std::string::npos) {
    path = url;
  } else {
    if (error) *error = "vault: '" + url + "' is not a vault URL (sqlite:PATH or postgresql://...)";
    return nullptr;
  }
  if (path.empty()) {
    if (error) *error = "vault: sqlite: needs a path";
    return nullptr;
  }
  return openSqliteVault(path, error);
}

}  // namespace mugai::vault
