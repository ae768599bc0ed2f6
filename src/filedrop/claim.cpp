// File drop: the stability rule, the claim checks and never-overwriting delivery.
#include <dirent.h>
#include <fcntl.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>
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

int openFolderAt(int root_fd, const std::string& rel, const std::vector<EntryId>* expect,
                 std::string* why) {
  int fd = fcntl(root_fd, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) {
    *why = std::string("dup: ") + std::strerror(errno);
    return -1;
  }
  std::size_t level = 0;
  for (std::size_t at = 0; at < rel.size();) {
    std::size_t end = rel.find('/', at);
    if (end == std::string::npos) end = rel.size();
    std::string part = rel.substr(at, end - at);
    at = end + 1;
    if (part.empty()) continue;
    if (part == "." || part == "..") {
      close(fd);
      *why = "'" + part + "' in a folder path";
      return -1;
    }
    int next = openat(fd, part.c_str(),
                      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    int err = errno;
    close(fd);
    if (next < 0) {
      *why = "folder level " + std::to_string(level + 1) + ": " +
             (err == ELOOP || err == ENOTDIR ? std::string("no longer a folder (a link?)")
                                             : std::string(std::strerror(err)));
      errno = err;
      return -1;
    }
    fd = next;
    if (expect) {
      struct stat st {};
      if (level >= expect->size() || fstat(fd, &st) != 0 ||
          !(EntryId{st.st_dev, st.st_ino} == (*expect)[level])) {
        close(fd);
        *why = "folder level " + std::to_string(level + 1) + " was replaced since the scan";
        errno = ESTALE;
        return -1;
      }
    }
    ++level;
  }
  if (expect && level != expect->size()) {
    close(fd);
    *why = "folder depth changed since the scan";
    errno = ESTALE;
    return -1;
  }
  return fd;
}

int claimEntry(int root_fd, const std::string& rel, const std::vector<EntryId>& folders,
               const std::string& name, EntryId file, int to_fd, const std::string& to_name,
               std::string* why) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos) {
    *why = "not a name";
    return EINVAL;
  }
  int dfd = openFolderAt(root_fd, rel, &folders, why);
  if (dfd < 0) return errno == ESTALE ? ESTALE : (errno ? errno : ENOENT);
  struct stat st {};
  int rc = 0;
  if (fstatat(dfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    rc = errno;
    *why = std::string("lstat: ") + std::strerror(rc);
  } else if (!(EntryId{st.st_dev, st.st_ino} == file)) {
    rc = ESTALE;
    *why = "the entry was replaced since the scan";
  } else if (renameat(dfd, name.c_str(), to_fd, to_name.c_str()) != 0) {
    // renameat never follows the last component: whatever is swapped in now is moved itself
    // (a link is then refused by openClaimed), never what it points to.
    rc = errno;
    *why = std::string("rename: ") + std::strerror(rc);
  }
  close(dfd);
  return rc;
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
                     const std::string& state_dir, std::string* error) {
  const std::pair<const char*, fs::path> f[] = {{"inbox", canonicalFolder(inbox)},
                                                {"outbox", canonicalFolder(outbox)},
                                                {"state folder", canonicalFolder(state_dir)}};
  for (std::size_t a = 0; a < 3; ++a) {
    for (std::size_t b = 0; b < 3; ++b) {
      if (a == b || !within(f[a].second, f[b].second)) continue;
      std::string what = f[a].second == f[b].second
                             ? std::string("the ") + f[a].first + " and the " + f[b].first +
                                   " are the same folder (" + f[a].second.string() + ")"
                             : std::string("the ") + f[a].first + " " + f[a].second.string() +
                                   " is inside the " + f[b].first + " " + f[b].second.string();
      *error = what +
               ": the inbox, the outbox and the state folder must be three separate folders, "
               "none inside another (otherwise delivered or claimed files would be "
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

std::string windowsKey(const std::string& utf8) {
  bool ascii = true;
  for (unsigned char c : utf8) ascii = ascii && c < 0x80;
  if (ascii) {  // NFC is the identity and folding is tolower: the common case, without ICU
    std::string a = utf8;
    for (char& c : a) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return a;
  }
  UErrorCode e = U_ZERO_ERROR;
  int32_t n = 0;
  u_strFromUTF8WithSub(nullptr, 0, &n, utf8.data(), static_cast<int32_t>(utf8.size()), 0xFFFD,
                       nullptr, &e);
  std::u16string u(static_cast<std::size_t>(n), u'\0');
  e = U_ZERO_ERROR;
  u_strFromUTF8WithSub(u.data(), n, nullptr, utf8.data(), static_cast<int32_t>(utf8.size()),
                       0xFFFD, nullptr, &e);
  const UNormalizer2* nfc = unorm2_getNFCInstance(&e);
  std::u16string norm(u.size() * 3 + 16, u'\0');
  int32_t nn = U_SUCCESS(e) ? unorm2_normalize(nfc, u.data(), n, norm.data(),
                                              static_cast<int32_t>(norm.size()), &e)
                            : 0;
  std::u16string folded(static_cast<std::size_t>(nn) * 3 + 16, u'\0');
  int32_t fn = U_SUCCESS(e) ? u_strFoldCase(folded.data(), static_cast<int32_t>(folded.size()),
                                            norm.data(), nn, U_FOLD_CASE_DEFAULT, &e)
                            : 0;
  std::string out(static_cast<std::size_t>(fn) * 3 + 16, '\0');
  int32_t on = 0;
  if (U_SUCCESS(e)) {
    u_strToUTF8(out.data(), static_cast<int32_t>(out.size()), &on, folded.data(), fn, &e);
  }
  if (U_FAILURE(e)) {  // cannot happen for a file name; ASCII folding then, never a crash
    std::string a = utf8;
    for (char& c : a) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return a;
  }
  out.resize(static_cast<std::size_t>(on));
  return out;
}

std::string pickFreeName(const std::string& dir, const std::string& name,
                         const std::function<bool(const std::string&)>& taken) {
  std::set<std::string> keys;  // every entry of dir as Windows compares names
  bool listed = false;
  if (DIR* d = opendir(dir.c_str())) {
    listed = true;
    while (dirent* e = readdir(d)) keys.insert(windowsKey(e->d_name));
    closedir(d);
  }
  for (int n = 0;; ++n) {
    std::string c = candidate(name, n);
    if (taken && taken(c)) continue;
    if (listed) {
      if (keys.count(windowsKey(c)) == 0) return c;
      continue;
    }
    // Not checkable (the folder is missing or not a folder): the write that follows fails and
    // reports why; looking further would never end.
    struct stat st {};
    if (lstat((dir + "/" + c).c_str(), &st) != 0) return c;
  }
}

std::string notNoteName(const std::string& name) {
  for (const char* suffix : {".note.txt", ".blocked.txt"}) {
    std::size_t n = std::strlen(suffix);
    if (name.size() < n) continue;
    std::string tail = name.substr(name.size() - n);
    for (char& c : tail) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (tail == suffix) return name.substr(0, name.size() - n) + "_" + name.substr(name.size() - n + 1);
  }
  return name;
}

bool checkFolders(const std::string& inbox, const std::string& outbox,
                  const std::string& state_dir, std::string* error) {
  std::error_code ec;
  // The inbox is the staff share: created by the administrator with the owners and modes the
  // shares need (docs/filedrop.md), never here, where a typo would silently watch a new folder.
  if (!fs::is_directory(inbox, ec)) {
    *error = "the inbox " + inbox +
             " does not exist or is not a folder; create it with the owner and mode the share "
             "needs (docs/filedrop.md, \"Samba shares\") and start again";
    return false;
  }
  return separateFolders(inbox, outbox, state_dir, error);
}

}  // namespace mugai::filedrop
