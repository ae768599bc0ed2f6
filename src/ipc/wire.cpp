// Framing and encoding between serve and its workers (see wire.h). Decoders treat the worker's
// side as hostile: every length, count and enum is checked before it is used.
#include "src/ipc/wire.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace mugai::ipc {
namespace {

constexpr std::size_t kMaxText = 1 << 20;        // subject, detail, signature ...
constexpr std::uint32_t kMaxList = 1 << 20;      // actions, findings, recipients ...
constexpr std::uint64_t kMaxOutput = 1ULL << 34;  // 16 GiB: bounded by the memfd size anyway

bool writeAll(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

void encodeFinding(WireWriter& w, const Finding& f) {
  w.str(f.key);
  w.str(f.value);
  w.str(f.sha256);
}

void encodeAction(WireWriter& w, const ActionRecord& a) {
  for (const std::string* s : {&a.part, &a.filename, &a.declared_type, &a.detected_type, &a.action,
                               &a.reason, &a.sanitizer, &a.detail, &a.sha256}) {
    w.str(*s);
  }
  w.u8(a.body ? 1 : 0);
  w.u64(a.bytes_in);
  w.u64(a.bytes_out);
  w.u32(static_cast<std::uint32_t>(a.findings.size()));
  for (const auto& f : a.findings) encodeFinding(w, f);
}

bool decodeAction(WireReader& r, ActionRecord& a) {
  for (std::string* s : {&a.part, &a.filename, &a.declared_type, &a.detected_type, &a.action,
                         &a.reason, &a.sanitizer, &a.detail, &a.sha256}) {
    *s = r.str(kMaxText);
  }
  a.body = r.u8() != 0;
  a.bytes_in = r.u64();
  a.bytes_out = r.u64();
  std::uint32_t n = r.count(kMaxList);
  for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
    Finding f;
    f.key = r.str(kMaxText);
    f.value = r.str(kMaxText);
    f.sha256 = r.str(kMaxText);
    a.findings.push_back(std::move(f));
  }
  return r.ok();
}

void encodeStrings(WireWriter& w, const std::vector<std::string>& v) {
  w.u32(static_cast<std::uint32_t>(v.size()));
  for (const auto& s : v) w.str(s);
}

void decodeStrings(WireReader& r, std::vector<std::string>& v) {
  std::uint32_t n = r.count(kMaxList);
  for (std::uint32_t i = 0; i < n && r.ok(); ++i) v.push_back(r.str(kMaxText));
}

}  // namespace

void WireWriter::u32(std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void WireWriter::u64(std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void WireWriter::str(std::string_view s) {
  u64(s.size());
  out_.append(s);
}

bool WireReader::take(std::size_t n) {
  if (!ok_ || in_.size() - pos_ < n) {
    ok_ = false;
    return false;
  }
  return true;
}
std::uint8_t WireReader::u8() {
  if (!take(1)) return 0;
  return static_cast<std::uint8_t>(in_[pos_++]);
}
std::uint32_t WireReader::u32() {
  if (!take(4)) return 0;
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= std::uint32_t{static_cast<unsigned char>(in_[pos_++])} << (8 * i);
  return v;
}
std::uint64_t WireReader::u64() {
  if (!take(8)) return 0;
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= std::uint64_t{static_cast<unsigned char>(in_[pos_++])} << (8 * i);
  return v;
}
std::string_view WireReader::view(std::uint64_t max) {
  std::uint64_t n = u64();
  if (!ok_ || n > max || !take(static_cast<std::size_t>(n))) {
    ok_ = false;
    return {};
  }
  std::string_view v = in_.substr(pos_, static_cast<std::size_t>(n));
  pos_ += static_cast<std::size_t>(n);
  return v;
}
std::string WireReader::str(std::size_t max) { return std::string(view(max)); }
std::uint32_t WireReader::count(std::uint32_t max) {
  std::uint32_t n = u32();
  if (n > max) ok_ = false;
  return ok_ ? n : 0;
}

void encodeEnvelope(WireWriter& w, const Envelope& e) {
  w.str(e.sender);
  encodeStrings(w, e.recipients);
  w.str(e.client_name);
  w.str(e.client_addr);
  w.str(e.helo);
  // The sender's authentication (src/auth): computed by the pool's side, trusted by the worker.
  const SenderAuth& a = e.auth;
  w.u8(a.checked ? 1 : 0);
  for (const std::string* s : {&a.authserv_id, &a.results, &a.spf, &a.dkim, &a.dmarc, &a.from_domain,
                               &a.dmarc_policy})
    w.str(*s);
  encodeStrings(w, a.trusted_authserv_ids);
  w.str(e.console_url);
}

bool decodeEnvelope(WireReader& r, Envelope& e) {
  e.sender = r.str(kMaxText);
  decodeStrings(r, e.recipients);
  e.client_name = r.str(kMaxText);
  e.client_addr = r.str(kMaxText);
  e.helo = r.str(kMaxText);
  SenderAuth& a = e.auth;
  a.checked = r.u8() != 0;
  for (std::string* s : {&a.authserv_id, &a.results, &a.spf, &a.dkim, &a.dmarc, &a.from_domain,
                         &a.dmarc_policy})
    *s = r.str(kMaxText);
  decodeStrings(r, a.trusted_authserv_ids);
  e.console_url = r.str(kMaxText);
  return r.ok();
}

std::string encodeResultHead(const ProcessResult& p) {
  WireWriter w;
  const Report& rep = p.report;
  w.u8(static_cast<std::uint8_t>(p.verdict));
  w.u8(p.notice_only ? 1 : 0);
  w.str(p.output_filename);
  w.str(p.body_text);
  for (const std::string* s : {&rep.id, &rep.kind, &rep.sender, &rep.subject, &rep.from,
                               &rep.message_id, &rep.filename, &rep.rules}) {
    w.str(*s);
  }
  w.u8(static_cast<std::uint8_t>(rep.final_verdict));
  w.u32(static_cast<std::uint32_t>(rep.reason));
  encodeStrings(w, rep.recipients);
  w.u64(rep.bytes_in);
  w.u64(rep.bytes_out);
  std::uint64_t ms_bits = 0;
  static_assert(sizeof(double) == sizeof(ms_bits));
  std::memcpy(&ms_bits, &rep.elapsed_ms, sizeof ms_bits);
  w.u64(ms_bits);
  w.u32(static_cast<std::uint32_t>(rep.actions.size()));
  for (const auto& a : rep.actions) encodeAction(w, a);
  w.u32(static_cast<std::uint32_t>(rep.detections.size()));
  for (const auto& d : rep.detections) {
    for (const std::string* s : {&d.part, &d.filename, &d.signature, &d.stage}) w.str(*s);
  }
  encodeStrings(w, rep.defects);
  w.u64(p.output.size());  // the output itself follows, unencoded
  return std::move(w.bytes());
}

bool decodeResult(std::string_view in, ProcessResult& p) {
  WireReader r(in);
  Report& rep = p.report;
  auto verdict = [&r](Verdict& v) {
    std::uint8_t raw = r.u8();
    if (raw > static_cast<std::uint8_t>(Verdict::Reject)) return false;
    v = static_cast<Verdict>(raw);
    return true;
  };
  if (!verdict(p.verdict)) return false;
  p.notice_only = r.u8() != 0;
  p.output_filename = r.str(kMaxText);
  p.body_text = r.str(kMaxText);  // vault_body_text_limit <= 1 MiB
  for (std::string* s : {&rep.id, &rep.kind, &rep.sender, &rep.subject, &rep.from,
                         &rep.message_id, &rep.filename, &rep.rules}) {
    *s = r.str(kMaxText);
  }
  if (!verdict(rep.final_verdict)) return false;
  std::uint32_t reason = r.u32();
  std::size_t reasons = 0;
  reasonTable(&reasons);
  if (reason >= reasons) return false;
  rep.reason = static_cast<Reason>(reason);
  decodeStrings(r, rep.recipients);
  rep.bytes_in = r.u64();
  rep.bytes_out = r.u64();
  std::uint64_t ms_bits = r.u64();
  std::memcpy(&rep.elapsed_ms, &ms_bits, sizeof ms_bits);
  std::uint32_t n = r.count(kMaxList);
  for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
    ActionRecord a;
    if (!decodeAction(r, a)) return false;
    rep.actions.push_back(std::move(a));
  }
  n = r.count(kMaxList);
  for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
    DetectionRecord d;
    for (std::string* s : {&d.part, &d.filename, &d.signature, &d.stage}) *s = r.str(kMaxText);
    rep.detections.push_back(std::move(d));
  }
  decodeStrings(r, rep.defects);
  p.output = r.str(kMaxOutput);
  // A worker never passes what it also calls blocked, and the verdicts must agree.
  return r.atEnd() && p.verdict == rep.final_verdict;
}

std::string encodeScanResult(const ScanResult& s) {
  WireWriter w;
  w.u8(static_cast<std::uint8_t>(s.status));
  w.str(s.signature.substr(0, 4096));
  w.str(s.detail.substr(0, 4096));
  w.u8(s.cached ? 1 : 0);
  return std::move(w.bytes());
}

bool decodeScanResult(std::string_view in, ScanResult& s) {
  WireReader r(in);
  std::uint8_t status = r.u8();
  if (status > static_cast<std::uint8_t>(ScanResult::Status::Error)) return false;
  s.status = static_cast<ScanResult::Status>(status);
  s.signature = r.str(4096);
  s.detail = r.str(4096);
  s.cached = r.u8() != 0;
  return r.atEnd();
}

int sealedMemfd(const char* name, std::string_view data, std::string_view more) {
  int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return -1;
  if (!writeAll(fd, data.data(), data.size()) || !writeAll(fd, more.data(), more.size()) ||
      fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

Mapping::Mapping(int fd, std::uint64_t max) {
  // Only a sealed memfd is mapped: the other side can then neither shrink it under us (SIGBUS)
  // nor change it while we read.
  const int need = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
  int seals = fcntl(fd, F_GET_SEALS);
  struct stat st {};
  if (seals < 0 || (seals & need) != need || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
      st.st_size < 0 || static_cast<std::uint64_t>(st.st_size) > max) {
    return;
  }
  size_ = static_cast<std::size_t>(st.st_size);
  if (size_ == 0) {
    ok_ = true;
    return;
  }
  data_ = mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
  if (data_ == MAP_FAILED) {
    data_ = nullptr;
    size_ = 0;
    return;
  }
  ok_ = true;
}

Mapping::~Mapping() {
  if (data_) munmap(data_, size_);
}

bool sendFrame(int sock, Frame type, std::string_view payload, int fd) {
  return sendFrame(sock, type, payload, {}, fd);
}

bool sendFrame(int sock, Frame type, std::string_view payload, std::string_view more, int fd) {
  if (payload.size() + more.size() > kMaxInline) return false;
  WireWriter w;
  w.u32(static_cast<std::uint32_t>(type));
  const std::string& head = w.bytes();
  // Three pieces, one datagram: no copy of the payload into a buffer of its own.
  iovec iov[3] = {{const_cast<char*>(head.data()), head.size()},
                  {const_cast<char*>(payload.data()), payload.size()},
                  {const_cast<char*>(more.data()), more.size()}};
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = 3;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  if (fd >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  }
  const auto total = static_cast<ssize_t>(head.size() + payload.size() + more.size());
  for (;;) {
    ssize_t n = sendmsg(sock, &msg, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    return n == total;
  }
}

RecvStatus recvFrame(int sock, Frame& type, std::string& payload, int* fd, int timeout_ms) {
  if (fd) *fd = -1;
  if (timeout_ms >= 0) {
    pollfd p{sock, POLLIN, 0};
    int r;
    do {
      r = poll(&p, 1, timeout_ms);
    } while (r < 0 && errno == EINTR);
    if (r == 0) return RecvStatus::kTimeout;
    if (r < 0) return RecvStatus::kError;
  }
  // One receive buffer per thread, not zero-filled per frame (a small item is one frame).
  thread_local std::unique_ptr<char[]> buffer(new char[kMaxInline + 8]);
  char* buf = buffer.get();
  iovec iov{buf, kMaxInline + 8};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(2 * sizeof(int))] = {};
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n == 0) return RecvStatus::kClosed;
  if (n < 0) return errno == ECONNRESET ? RecvStatus::kClosed : RecvStatus::kError;
  int got = -1, extra = 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (std::size_t i = 0; i < count; ++i) {
      int f;
      std::memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof f);
      if (got < 0) {
        got = f;
      } else {
        close(f);
        ++extra;
      }
    }
  }
  WireReader r(std::string_view(buf, static_cast<std::size_t>(n)));
  std::uint32_t t = r.u32();
  bool bad = extra > 0 || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || !r.ok() ||
             t < static_cast<std::uint32_t>(Frame::kInit) ||
             t > static_cast<std::uint32_t>(Frame::kAuthReply) || (got >= 0 && !fd);
  if (bad) {
    if (got >= 0) close(got);
    return RecvStatus::kError;
  }
  type = static_cast<Frame>(t);
  payload.assign(buf + 4, static_cast<std::size_t>(n) - 4);
  if (fd) *fd = got;
  return RecvStatus::kOk;
}

}  // namespace mugai::ipc
