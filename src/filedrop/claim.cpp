// File drop: the stability rule, the claim checks and never-overwriting delivery.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>

#include "mugai/text/charset.h"
#include "src/filedrop/filedrop.h"

namespace mugai::filedrop {

namespace fs = std::filesystem;

bool observeStable(Observation& o, std::int64_t size, std::int64_t mtime_ns, std::int64_t now_ms,
                   std::uint64_t settle_ms) {
  if (o.size != size || o.mtime_ns != mtime_ns) {
    o.size = size;
    o.mtime_ns = mtime_ns;
    o.stable_since_ms = now_ms;
    return settle_ms == 0;
  }
  return now_ms - o.stable_since_ms >= static_cast<std::int64_t>(settle_ms);
}

Writers probeWriters(int dirfd, const std::string& name) {
  int fd = openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return Writers::Unknown;
  Writers w = Writers::None;
  if (fcntl(fd, F_SETLEASE, F_RDLCK) != 0) {
    w = errno == EAGAIN ? Writers::Busy : Writers::Unknown;
  } else {
    fcntl(fd, F_SETLEASE, F_UNLCK);
  }
  close(fd);
  return w;
}

std::string refusalReason(const struct stat& st) {
  if (S_ISLNK(st.st_mode)) return "symbolic link (not followed)";
  if (S_ISFIFO(st.st_mode)) return "FIFO (named pipe)";
  if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) return "device node";
  if (S_ISSOCK(st.st_mode)) return "socket";
  if (!S_ISREG(st.st_mode)) return "not a regular file";
  if (st.st_nlink != 1) return "hard link (more than one name)";
  return "";
}

int openClaimed(int dirfd, const std::string& name, std::string* why, Reason* reason) {
  Reason unused;
  Reason& staff = reason ? *reason : unused;
  staff = Reason::InternalError;  // a failed system call: the detail goes to the log only
  struct stat lst {};
  if (fstatat(dirfd, name.c_str(), &lst, AT_SYMLINK_NOFOLLOW) != 0) {
    *why = std::string("lstat: ") + std::strerror(errno);
    return -1;
  }
  if (std::string r = refusalReason(lst); !r.empty()) {
    *why = r;
    staff = Reason::TypeBlocked;
    return -1;
  }
  int fd = openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    *why = std::string("open: ") + std::strerror(errno);
    return -1;
  }
  struct stat st {};
  std::string r = fstat(fd, &st) == 0 ? refusalReason(st) : "fstat failed";
  if (!r.empty() && r != "fstat failed") staff = Reason::TypeBlocked;
  if (r.empty() && (st.st_dev != lst.st_dev || st.st_ino != lst.st_ino)) {
    r = "replaced while being opened";
  }
  if (!r.empty()) {
    close(fd);
    *why = r;
    return -1;
  }
  return fd;
}

namespace {

/// Canonical form of `p`: symbolic links resolved as far as the path exists, no trailing slash.
fs::path canonicalFolder(const std::string& p) {
  std::error_code ec;
  fs::path c = fs::weakly_canonical(fs::absolute(p, ec), ec);
  if (ec) c = fs::absolute(p).lexically_normal();
  if (!c.has_filename() && c.has_relative_path()) c = c.parent_path();
  return c;
}

/// True when `inner` is `outer` or inside it (whole components: /a/inbox2 is not in /a/inbox).
bool within(const fs::path& inner, const fs::path& outer) {
  auto o = outer.begin(), i = inner.begin();
  for (; o != outer.end(); ++o, ++i) {
    if (i == inner.end() || *i != *o) return false;
  }
  return true;
}

}  // namespace

bool separateFolders(const std::string& inbox, const std::string& outbox,
                     const std::string& quarantine, std::string* error) {
  const std::pair<const char*, fs::path> f[] = {{"inbox", canonicalFolder(inbox)},
                                                {"outbox", canonicalFolder(outbox)},
                                                {"quarantine", canonicalFolder(quarantine)}};
  for (std::size_t a = 0; a < 3; ++a) {
    for (std::size_t b = 0; b < 3; ++b) {
      if (a == b || !within(f[a].second, f[b].second)) continue;
      std::string what = f[a].second == f[b].second
                             ? std::string("the ") + f[a].first + " and the " + f[b].first +
                                   " are the same folder (" + f[a].second.string() + ")"
                             : std::string("the ") + f[a].first + " " + f[a].second.string() +
                                   " is inside the " + f[b].first + " " + f[b].second.string();
      *error = what +
               ": the inbox, the outbox and the quarantine must be three separate folders, "
               "none inside another (otherwise delivered or quarantined files would be "
               "taken in again)";
      return false;
    }
  }
  return true;
}

DecodedName decodeName(const std::string& raw) {
  DecodedName d;
  if (text::isValidUtf8(raw)) {
    d.utf8 = raw;
    return d;
  }
  // The text module may read the bytes as another charset when CP932 clearly fails: a clean
  // EUC-JP reading (an old Unix client) is kept too, a windows-1252 guess is not (any byte
  // string "decodes" as windows-1252: the name would be mojibake instead of visibly broken).
  text::DecodeResult r = text::toUtf8(raw, "CP932");
  if (r.invalid == 0 && (r.charset == "CP932" || r.charset == "EUC-JP")) {
    d.utf8 = std::move(r.utf8);
    d.charset = r.charset;
    return d;
  }
  d.utf8 = text::sanitizeUtf8(raw);  // neither UTF-8 nor CP932: U+FFFD, the raw bytes kept in hex
  d.lossy = true;
  return d;
}

namespace {

std::string candidate(const std::string& name, int n) {
  if (n == 0) return name;
  std::size_t dot = name.rfind('.');
  if (dot == std::string::npos || dot == 0) return name + "-" + std::to_string(n);
  return name.substr(0, dot) + "-" + std::to_string(n) + name.substr(dot);
}

}  // namespace

std::string pickFreeName(const std::string& dir, const std::string& name,
                         const std::function<bool(const std::string&)>& taken) {
  for (int n = 0;; ++n) {
    std::string c = candidate(name, n);
    struct stat st {};
    if (taken && taken(c)) continue;
    // Free, or not checkable (the folder is missing or not a folder): the write that follows
    // fails and reports why; looking further would never end.
    if (lstat((dir + "/" + c).c_str(), &st) != 0) return c;
  }
}

}  // namespace mugai::filedrop
