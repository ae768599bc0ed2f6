/**
 * @file digest.h
 * @brief SHA-256 as lowercase hex: the one hash of removed objects, records and originals.
 *
 * Trust: any bytes; nothing is interpreted.
 * Limits: none of its own; Sha256 takes the bytes in pieces, so a caller can hash what it
 *         streams (a ZIP member being inflated, an OLE2 stream read in blocks) without a copy.
 * Errors: hex() returns "" when OpenSSL fails (out of memory): a caller records "-" then.
 */
#pragma once

#include <string>
#include <string_view>

namespace mugai {

/// SHA-256 fed in pieces (OpenSSL EVP). Not copyable; hex() finishes it.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(const void* data, std::size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  /// The digest as 64 lowercase hex digits; "" when a step failed. Call once.
  std::string hex();

 private:
  void* ctx_;  // EVP_MD_CTX, kept out of this header
  bool ok_;
};

/// SHA-256 of `data` as 64 lowercase hex digits ("" only when OpenSSL fails).
std::string sha256Hex(std::string_view data);

}  // namespace mugai
