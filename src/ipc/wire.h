/**
 * @file wire.h
 * @brief What crosses a process boundary (serve and its sandboxed workers; a client and the
 *        scanner process mugai-scan): framed messages on
 *        a SOCK_SEQPACKET socketpair, each with at most one file descriptor (a sealed memfd for
 *        anything large: the item going in, the result coming back), and a bounded encoding of
 *        the records they carry.
 *
 * Trust: what a worker sends is hostile (a worker that parsed hostile bytes may be anything):
 *        every decoder checks lengths, counts and enum ranges and fails rather than guess.
 * Limits: an inline frame is at most kMaxInline bytes; strings and lists in records are bounded
 *         by the caller's maximum; a memfd is read up to the caller's maximum size.
 * Errors: false / -1 with errno or a text; nothing throws.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "mugai/pipeline/item_processor.h"
#include "mugai/scan/scanner.h"

namespace mugai::ipc {

enum class Frame : std::uint32_t {
  kInit = 1,       ///< parent -> worker: memfd with the WorkerInit record
  kReady = 2,      ///< worker -> parent: sandbox in place, waiting for items
  kFailed = 3,     ///< worker -> parent: could not start (inline text)
  kMail = 4,       ///< parent -> worker: memfd with a mail request
  kFile = 5,       ///< parent -> worker: memfd with a file request
  kResult = 6,     ///< worker -> parent: memfd with the encoded ProcessResult
  kScan = 7,       ///< worker -> parent: memfd with a scan request (name hint, bytes)
  kScanReply = 8,  ///< parent -> worker: inline encoded ScanResult
  // the scanner process (mugai-scan, src/scanclient): control socket, then one socket per channel
  kScanInit = 9,    ///< client -> scanner: memfd with the scanner options
  kChannel = 10,    ///< client -> scanner (control): one end of a new channel socketpair
  kQuery = 11,      ///< client -> scanner (channel): have the signature files changed?
  kQueryReply = 12, ///< scanner -> client: inline u8 changed, string stamp
  // the authentication process (mugai-auth, src/authclient): kReady/kFailed/kChannel as above
  kAuthInit = 13,   ///< client -> mugai-auth: memfd with the auth Settings (src/ipc/auth_wire.h)
  kAuth = 14,       ///< client -> mugai-auth (channel): memfd with the Peer, then the message
  kAuthReply = 15,  ///< mugai-auth -> client: inline encoded results (decoded as hostile)
};

constexpr std::size_t kMaxInline = 60 * 1024;

/// Appends fixed-width integers and length-prefixed strings.
class WireWriter {
 public:
  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u32(std::uint32_t v);
  void u64(std::uint64_t v);
  void str(std::string_view s);
  std::string& bytes() { return out_; }

 private:
  std::string out_;
};

/// Reads what WireWriter wrote; any short read or over-long value sets !ok() for good.
class WireReader {
 public:
  explicit WireReader(std::string_view in) : in_(in) {}
  std::uint8_t u8();
  std::uint32_t u32();
  std::uint64_t u64();
  /// A string of at most `max` bytes.
  std::string str(std::size_t max);
  /// A view into the input (no copy), at most `max` bytes.
  std::string_view view(std::uint64_t max);
  /// A list count of at most `max`.
  std::uint32_t count(std::uint32_t max);
  bool ok() const { return ok_; }
  bool atEnd() const { return ok_ && pos_ == in_.size(); }
  std::size_t remaining() const { return ok_ ? in_.size() - pos_ : 0; }

 private:
  bool take(std::size_t n);
  std::string_view in_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

// ---- records ----
void encodeEnvelope(WireWriter& w, const Envelope& e);
bool decodeEnvelope(WireReader& r, Envelope& e);
/// Everything but the output, ending with the output's length: the output follows it unencoded
/// (sealedMemfd(name, head, output): the bytes are written once).
std::string encodeResultHead(const ProcessResult& r);
/// Bounded and range-checked: a verdict or reason out of range, a count over the bounds or
/// trailing bytes -> false (the caller fails the item closed).
bool decodeResult(std::string_view in, ProcessResult& r);
std::string encodeScanResult(const ScanResult& r);
bool decodeScanResult(std::string_view in, ScanResult& r);

// ---- descriptors ----
/// A memfd holding `data` (in one or two pieces), sealed against any change. -1 on failure.
int sealedMemfd(const char* name, std::string_view data, std::string_view more = {});
/// A read-only mapping of a whole memfd of at most `max` bytes; empty on failure or when larger.
class Mapping {
 public:
  Mapping() = default;
  Mapping(int fd, std::uint64_t max);
  ~Mapping();
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  bool ok() const { return ok_; }
  std::string_view view() const { return {static_cast<const char*>(data_), size_}; }

 private:
  void* data_ = nullptr;
  std::size_t size_ = 0;
  bool ok_ = false;
};

/// One frame: type, inline bytes (<= kMaxInline), and `fd` when >= 0 (SCM_RIGHTS).
bool sendFrame(int sock, Frame type, std::string_view payload = {}, int fd = -1);
/// The same with the inline bytes in two pieces (a head and the bytes it describes), sent as one
/// datagram without joining them first: how a small item or result travels (no memfd).
bool sendFrame(int sock, Frame type, std::string_view payload, std::string_view more, int fd);
enum class RecvStatus { kOk, kClosed, kTimeout, kError };
/// Waits at most `timeout_ms` (-1: no limit). A received descriptor goes to *fd (else -1);
/// more than one descriptor, a truncated frame or an unknown type is kError.
RecvStatus recvFrame(int sock, Frame& type, std::string& payload, int* fd, int timeout_ms);

}  // namespace mugai::ipc
