// PPAP unlock (unlock.h): encrypted ZIP through libarchive, encrypted PDF through qpdf, the
// message rebuilt around the plain parts with mime::write.
#include "src/release/unlock.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <qpdf/QPDF.hh>
#include <qpdf/QPDFExc.hh>
#include <qpdf/QPDFWriter.hh>
#include <qpdf/Buffer.hh>
#include <sys/stat.h>
#include <unistd.h>

#include <iostream>
#include <memory>

#include "mugai/core/budget.h"
#include "mugai/mime/mime.h"
#include "src/offcrypto/offcrypto.h"

namespace mugai::release {
namespace {

using Status = UnlockResult::Status;

/// One attachment's attempt.
struct Opened {
  Status status = Status::NothingEncrypted;
  std::string plain, detail;
};

std::string libError(archive* a, const char* fallback) {
  const char* e = archive_error_string(a);
  return e ? e : fallback;
}

bool mentionsPassphrase(archive* a) {
  const char* e = archive_error_string(a);
  const std::string s = e ? e : "";
  return s.find("assphrase") != std::string::npos || s.find("ncrypt") != std::string::npos ||
         s.find("ecrypt") != std::string::npos;
}

struct Sink {
  std::string out;
  std::uint64_t limit = 0;
  bool over = false;
};

la_ssize_t sinkWrite(archive*, void* p, const void* buf, size_t n) {
  auto* s = static_cast<Sink*>(p);
  if (s->out.size() + n > s->limit) {
    s->over = true;
    return -1;
  }
  s->out.append(static_cast<const char*>(buf), n);
  return static_cast<la_ssize_t>(n);
}

/// An encrypted ZIP read with the password and written again as a plain ZIP (same names, same
/// bytes). NothingEncrypted when no member is encrypted (left as it is).
Opened openZip(std::string_view data, const std::string& password, const Limits& limits) {
  Opened o;
  std::unique_ptr<archive, decltype(&archive_read_free)> r(archive_read_new(), archive_read_free);
  std::unique_ptr<archive, decltype(&archive_write_free)> w(archive_write_new(), archive_write_free);
  if (!r || !w) return {Status::Error, "", "out of memory"};
  archive_read_support_format_zip(r.get());
  archive_read_add_passphrase(r.get(), password.c_str());
  if (archive_read_open_memory(r.get(), data.data(), data.size()) != ARCHIVE_OK) {
    return {Status::Error, "", std::string("zip: ") + libError(r.get(), "unreadable")};
  }
  Sink sink;
  sink.limit = limits.expanded_size_limit + 65536;
  archive_write_set_format_zip(w.get());
  archive_write_set_bytes_in_last_block(w.get(), 1);
  if (archive_write_open(w.get(), &sink, nullptr, sinkWrite, nullptr) != ARCHIVE_OK) {
    return {Status::Error, "", "zip: cannot start the plain archive"};
  }
  bool encrypted = false;
  std::uint64_t members = 0, expanded = 0;
  std::string chunk(65536, '\0');
  for (;;) {
    archive_entry* e = nullptr;
    const int rc = archive_read_next_header(r.get(), &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) {
      return {mentionsPassphrase(r.get()) ? Status::WrongPassword : Status::Error, "",
              std::string("zip: ") + libError(r.get(), "bad entry")};
    }
    if (++members > limits.archive_member_count_limit) {
      return {Status::Error, "", "zip: more members than archive_member_count_limit"};
    }
    encrypted |= archive_entry_is_encrypted(e) != 0;
    if (archive_write_header(w.get(), e) != ARCHIVE_OK) {
      return {Status::Error, "", std::string("zip: ") + libError(w.get(), "write")};
    }
    for (;;) {
      const la_ssize_t n = archive_read_data(r.get(), chunk.data(), chunk.size());
      if (n == 0) break;
      if (n < 0) {
        // A wrong password shows as an error on the first data read ("Incorrect passphrase"), or,
        // for traditional PKWARE encryption's one-byte check, as damaged data after it.
        return {encrypted ? Status::WrongPassword : Status::Error, "",
                std::string("zip: ") + libError(r.get(), "bad data")};
      }
      expanded += static_cast<std::uint64_t>(n);
      if (expanded > limits.expanded_size_limit) {
        return {Status::Error, "", "zip: members expand past expanded_size_limit"};
      }
      if (archive_write_data(w.get(), chunk.data(), static_cast<size_t>(n)) != n) {
        return {Status::Error, "", "zip: cannot write the plain archive"};
      }
    }
  }
  if (!encrypted) return {Status::NothingEncrypted, "", ""};
  if (archive_write_close(w.get()) != ARCHIVE_OK || sink.over) {
    return {Status::Error, "", "zip: cannot finish the plain archive"};
  }
  return {Status::Unlocked, std::move(sink.out), ""};
}

/// An encrypted PDF opened with the password and written without encryption.
Opened openPdf(std::string_view data, const std::string& password) {
  try {
    QPDF probe;
    probe.setSuppressWarnings(true);
    probe.processMemoryFile("attachment.pdf", data.data(), data.size(), "");
    // Opens without a password: no user password (an owner password alone restricts printing
    // and such, which the PDF sanitizer handles); nothing for the recipient to unlock.
    return {Status::NothingEncrypted, "", ""};
  } catch (const QPDFExc& e) {
    if (e.getErrorCode() != qpdf_e_password) return {Status::Error, "", "pdf: unreadable"};
  } catch (const std::exception&) {
    return {Status::Error, "", "pdf: unreadable"};
  }
  try {
    QPDF pdf;
    pdf.setSuppressWarnings(true);
    pdf.processMemoryFile("attachment.pdf", data.data(), data.size(), password.c_str());
    QPDFWriter writer(pdf);
    writer.setOutputMemory();
    writer.setPreserveEncryption(false);
    writer.write();
    auto buf = writer.getBufferSharedPointer();
    return {Status::Unlocked,
            std::string(reinterpret_cast<const char*>(buf->getBuffer()), buf->getSize()), ""};
  } catch (const QPDFExc& e) {
    if (e.getErrorCode() == qpdf_e_password) return {Status::WrongPassword, "", "pdf: wrong password"};
    return {Status::Error, "", "pdf: cannot be opened"};
  } catch (const std::exception&) {
    return {Status::Error, "", "pdf: cannot be written"};
  }
}

/// An encrypted Office file (an OOXML package in a compound file, MS-OFFCRYPTO) decrypted back
/// into its package. Legacy RC4 .doc/.xls/.ppt, IRM and other schemes are not opened: they stay
/// encrypted (the policy withholds them again) and the detail says why. A package whose HMAC
/// does not match, or a hostile structure, is an Error: the unlock fails closed.
Opened openOffice(std::string_view data, const std::string& password, const Limits& limits) {
  using O = offcrypto::Result::Status;
  offcrypto::Result r = offcrypto::decrypt(data, password, limits);
  switch (r.status) {
    case O::Decrypted: return {Status::Unlocked, std::move(r.plain), ""};
    case O::WrongPassword: return {Status::WrongPassword, "", "office: " + r.detail};
    case O::NotEncrypted: return {};
    case O::Unsupported: return {Status::NothingEncrypted, "", "office: " + r.detail};
    case O::IntegrityFailed:
    case O::Malformed:
    case O::OverLimit: break;
  }
  return {Status::Error, "", "office: " + r.detail};
}

Opened openOne(std::string_view data, const std::string& password, const Limits& limits) {
  if (data.substr(0, 4) == std::string_view("PK\x03\x04", 4)) return openZip(data, password, limits);
  if (data.substr(0, 8) == std::string_view("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8)) {
    return openOffice(data, password, limits);
  }
  if (data.substr(0, 5) == "%PDF-" || data.substr(0, 1024).find("%PDF-") != std::string_view::npos) {
    return openPdf(data, password);
  }
  return {};
}

/// Tally over the attachments of one item.
struct Tally {
  int opened = 0, wrong = 0, errors = 0;
  std::vector<std::string> names;
  std::string detail;
  void add(const Opened& o, const std::string& name) {
    if (o.status == Status::Unlocked) {
      ++opened;
      names.push_back(name);
    }
    if (o.status == Status::WrongPassword) ++wrong;
    if (o.status == Status::Error) ++errors;
    if (!o.detail.empty()) detail += (detail.empty() ? "" : "; ") + name + ": " + o.detail;
  }
  UnlockResult result(std::string output) const {
    UnlockResult r;
    r.opened = names;
    r.detail = detail;
    if (opened > 0 && errors == 0) {
      r.status = Status::Unlocked;  // a part it does not open stays encrypted: withheld again
      r.output = std::move(output);
    } else if (errors > 0) {
      r.status = Status::Error;
    } else if (wrong > 0) {
      r.status = Status::WrongPassword;
    } else {
      r.status = Status::NothingEncrypted;
    }
    return r;
  }
};

/// The parsed entity as a part to write, with the encrypted leaves opened.
mime::BuildPart rebuild(const mime::Entity& e, const std::string& password, const Limits& limits,
                        Tally& tally) {
  mime::BuildPart p;
  p.mime_type = e.mimeType();
  p.filename = e.filename;
  p.disposition = e.disposition;
  for (const auto& [k, v] : e.params) {
    if (k != "boundary" && k != "charset" && k != "name") p.params.emplace_back(k, v);
  }
  if (e.isMultipart()) {
    for (const auto& c : e.children) p.children.push_back(rebuild(c, password, limits, tally));
    return p;
  }
  if (e.isMessage() && e.children.size() == 1) {
    const mime::Entity& inner = e.children[0];
    mime::BuildPart body = rebuild(inner, password, limits, tally);
    p.data = mime::write(inner.headers, body);
    return p;
  }
  if (e.type == "text") p.charset = e.charset.empty() ? "us-ascii" : e.charset;
  const Opened o = e.type == "text" ? Opened{} : openOne(e.body, password, limits);
  tally.add(o, e.filename.empty() ? "part " + e.path : e.filename);
  p.data = o.status == Status::Unlocked ? o.plain : e.body;
  return p;
}

}  // namespace

UnlockResult unlockMessage(std::string_view message, const std::string& password,
                           const Limits& limits) {
  Budget budget(limits);
  mime::ParseResult parsed = mime::parse(message, budget);
  if (parsed.failure) {
    UnlockResult r;
    r.detail = "the message does not parse: " + parsed.detail;
    return r;
  }
  Tally tally;
  mime::BuildPart body = rebuild(parsed.root, password, limits, tally);
  if (tally.opened == 0 || tally.errors > 0) return tally.result("");
  // The top-level header as it was, but for what mime::write writes itself; values decoded to
  // UTF-8 for encodeHeader (addresses through decodeAddressHeader: display names only).
  std::vector<mime::HeaderField> headers;
  for (const auto& h : parsed.root.headers) {
    std::string n = h.name;
    for (auto& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (n.rfind("content-", 0) == 0 || n == "mime-version") continue;
    const bool address = n == "from" || n == "to" || n == "cc" || n == "reply-to" || n == "sender";
    headers.push_back({h.name, address ? mime::decodeAddressHeader(h.value) : mime::decodeHeaderText(h.value)});
  }
  std::string names;
  for (const auto& x : tally.names) names += (names.empty() ? "" : ", ") + x;
  headers.push_back({"X-Mugai-Unlocked", names});
  std::string out = mime::write(headers, body);
  if (out.size() > limits.message_size_limit) {
    UnlockResult r;
    r.detail = "the opened message is larger than message_size_limit";
    return r;
  }
  return tally.result(std::move(out));
}

UnlockResult unlockFile(std::string_view data, const std::string& password, const Limits& limits) {
  Tally tally;
  Opened o = openOne(data, password, limits);
  tally.add(o, "file");
  return tally.result(std::move(o.plain));
}

bool readPasswordFile(const std::string& path, std::string& password, std::string* error) {
  auto fail = [&](const std::string& why) {
    if (error) *error = why;
    wipe(password);
    return false;
  };
  const int fd = path == "-" ? dup(0) : open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return fail("cannot open the password file " + path);
  struct stat st {};
  if (path != "-" && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077) != 0)) {
    close(fd);
    return fail("the password file " + path + " must be a file only its owner may read (chmod 600)");
  }
  char buf[1025];
  std::size_t got = 0;
  for (;;) {
    const ssize_t n = read(fd, buf + got, sizeof buf - got);
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
    if (got == sizeof buf) break;
  }
  close(fd);
  std::size_t len = 0;
  while (len < got && buf[len] != '\n' && buf[len] != '\r') ++len;
  password.assign(buf, len);
  OPENSSL_cleanse(buf, sizeof buf);
  if (len == 1025) return fail("the password is longer than 1,024 bytes");
  if (password.empty()) return fail("the password file is empty");
  return true;
}

void wipe(std::string& secret) {
  if (!secret.empty()) OPENSSL_cleanse(secret.data(), secret.size());
  secret.clear();
  secret.shrink_to_fit();
}

}  // namespace mugai::release
