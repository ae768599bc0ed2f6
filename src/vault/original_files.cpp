// The SQLite vault's originals beside the database (original_files.h).
#include "src/vault/original_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace mugai::vault::internal {
namespace {

bool fail(std::string* error, const std::string& what) {
  if (error) *error = "vault: " + what + ": " + std::strerror(errno);
  return false;
}

bool writeAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

OriginalFiles::~OriginalFiles() {
  if (fd_ >= 0) ::close(fd_);
}

bool OriginalFiles::open(const std::string& dir, std::string* error) {
  dir_ = dir;
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return fail(error, "cannot create " + dir);
  fd_ = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd_ < 0) return fail(error, "cannot open the folder " + dir);
  return true;
}

bool OriginalFiles::validName(std::string_view name) {
  if (name.size() != 32) return false;
  for (char c : name) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool OriginalFiles::write(std::string_view bytes, std::string& name, std::string* error) {
  for (int attempt = 0; attempt < 4; ++attempt) {
    unsigned char r[16];
    if (::getrandom(r, sizeof r, 0) != static_cast<ssize_t>(sizeof r)) return fail(error, "getrandom");
    static const char* hex = "0123456789abcdef";
    name.clear();
    for (unsigned char b : r) {
      name += hex[b >> 4];
      name += hex[b & 15];
    }
    const int fd = ::openat(fd_, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST) continue;
    if (fd < 0) return fail(error, "cannot create an original in " + dir_);
    const bool ok = writeAll(fd, bytes) && ::fsync(fd) == 0;
    const int saved = errno;
    ::close(fd);
    if (!ok) {
      ::unlinkat(fd_, name.c_str(), 0);
      errno = saved;
      return fail(error, "cannot write an original to " + dir_);
    }
    return true;
  }
  errno = EEXIST;
  return fail(error, "no free name in " + dir_);
}

bool OriginalFiles::syncFolder(std::string* error) {
  // A folder removed since it was opened (no links left) would take files that a restart can
  // never find: refused, as a replaced database file is.
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || st.st_nlink == 0) {
    errno = ENOENT;
    return fail(error, "the folder " + dir_ + " was removed since it was opened (restart mugai serve once it is back)");
  }
  return ::fsync(fd_) == 0 || fail(error, "cannot sync " + dir_);
}

bool OriginalFiles::read(const std::string& name, std::size_t limit, std::string& out,
                         std::string* error) const {
  out.clear();
  if (!validName(name)) {
    errno = EINVAL;
    return fail(error, "the original's file name '" + name + "' is not one the vault makes");
  }
  const int fd = ::openat(fd_, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return fail(error, "cannot open the original " + dir_ + "/" + name);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || static_cast<std::uint64_t>(st.st_size) > limit) {
    ::close(fd);
    errno = EINVAL;
    return fail(error, "the original " + dir_ + "/" + name + " is not a regular file within the limit");
  }
  out.resize(static_cast<std::size_t>(st.st_size));
  std::size_t got = 0;
  while (got < out.size()) {
    const ssize_t n = ::read(fd, out.data() + got, out.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  if (got != out.size()) {
    out.clear();
    errno = EIO;
    return fail(error, "cannot read the original " + dir_ + "/" + name);
  }
  return true;
}

bool OriginalFiles::exists(const std::string& name) const {
  struct stat st {};
  return validName(name) && ::fstatat(fd_, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
         S_ISREG(st.st_mode);
}

void OriginalFiles::remove(const std::string& name) const {
  if (validName(name)) ::unlinkat(fd_, name.c_str(), 0);
}

std::vector<std::pair<std::string, std::int64_t>> OriginalFiles::list() const {
  std::vector<std::pair<std::string, std::int64_t>> out;
  const int fd = ::dup(fd_);
  if (fd < 0) return out;
  DIR* d = ::fdopendir(fd);
  if (!d) {
    ::close(fd);
    return out;
  }
  ::rewinddir(d);
  while (const dirent* e = ::readdir(d)) {
    if (!validName(e->d_name)) continue;
    struct stat st {};
    if (::fstatat(fd_, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) out.emplace_back(e->d_name, st.st_mtime);
  }
  ::closedir(d);
  return out;
}

}  // namespace mugai::vault::internal
