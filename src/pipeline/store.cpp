#include "mugai/io/store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

namespace mugai::io {
namespace {

bool fail(std::string* error, const std::string& what) {
  if (error) *error = what + ": " + std::strerror(errno);
  return false;
}

bool writeAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

void syncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

/// Writes a uniquely named temporary file in `dir`; returns its path or "".
std::string writeTemp(const std::string& dir, std::string_view data, unsigned mode, std::string* error,
                      Sync sync = Sync::Now) {
  std::random_device rd;
  for (int attempt = 0; attempt < 16; ++attempt) {
    std::string tmp = dir + "/.mugai-tmp-" + std::to_string(rd()) + std::to_string(getpid());
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0) {
      if (errno == EEXIST) continue;
      fail(error, "cannot create " + tmp);
      return "";
    }
    bool ok = writeAll(fd, data) && (sync == Sync::Deferred || ::fsync(fd) == 0);
    int saved = errno;
    ::close(fd);
    if (!ok) {
      errno = saved;
      ::unlink(tmp.c_str());
      fail(error, "cannot write " + tmp);
      return "";
    }
    return tmp;
  }
  errno = EEXIST;
  fail(error, "cannot create a temporary file in " + dir);
  return "";
}

std::string parentOf(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  return dir.empty() ? "." : dir;
}

}  // namespace

bool writeFileAtomic(const std::string& path, std::string_view data, std::string* error,
                     unsigned mode, Sync sync) {
  std::string dir = parentOf(path);
  std::string tmp = writeTemp(dir, data, mode, error, sync);
  if (tmp.empty()) return false;
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int saved = errno;
    ::unlink(tmp.c_str());
    errno = saved;
    return fail(error, "cannot rename into " + path);
  }
  if (sync == Sync::Now) syncDir(dir);
  return true;
}

bool writeOutput(const std::string& path, std::string_view data, std::string* error,
                 unsigned mode) {
  if (path == "-") {
    if (!writeAll(STDOUT_FILENO, data)) return fail(error, "cannot write to standard output");
    return true;
  }
  struct stat link_st {};
  if (::lstat(path.c_str(), &link_st) != 0) {
    if (errno != ENOENT) return fail(error, "cannot inspect " + path);
    return writeFileAtomic(path, data, error, mode);  // a new file
  }
  if (S_ISREG(link_st.st_mode)) return writeFileAtomic(path, data, error, mode);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return fail(error, "cannot inspect " + path);
  if (S_ISLNK(link_st.st_mode) && S_ISREG(st.st_mode)) {
    errno = ELOOP;
    return fail(error, path + " is a symbolic link to a file (give the file itself)");
  }
  if (S_ISDIR(st.st_mode)) {
    errno = EISDIR;
    return fail(error, "cannot write to " + path);
  }
  if (S_ISSOCK(st.st_mode)) {
    errno = EOPNOTSUPP;
    return fail(error, path + " is a socket");
  }
  // A device or FIFO: written to as it is (O_CREAT/O_TRUNC not needed and not wanted).
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return fail(error, "cannot open " + path);
  struct stat opened {};
  if (::fstat(fd, &opened) != 0 || S_ISREG(opened.st_mode) || S_ISDIR(opened.st_mode)) {
    ::close(fd);  // replaced by a file between the checks: refuse rather than write half a file
    errno = EAGAIN;
    return fail(error, path + " changed while it was opened");
  }
  bool ok = writeAll(fd, data);
  int saved = errno;
  ::close(fd);
  errno = saved;
  return ok ? true : fail(error, "cannot write to " + path);
}

void removeStaleOutput(const std::string& path) {
  struct stat st {};
  if (path != "-" && ::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) ::unlink(path.c_str());
}

int writeFileNew(const std::string& dir, const std::string& name, std::string_view data,
                 std::string* error, unsigned mode, Sync sync) {
  std::string tmp = writeTemp(dir, data, mode, error, sync);
  if (tmp.empty()) return -1;
  // link() fails with EEXIST instead of replacing: no existing file is ever overwritten.
  int rc = ::link(tmp.c_str(), (dir + "/" + name).c_str());
  int saved = errno;
  ::unlink(tmp.c_str());
  if (rc != 0) {
    errno = saved;
    fail(error, "cannot place " + name + " in " + dir);
    return saved == EEXIST ? 1 : -1;
  }
  if (sync == Sync::Now) syncDir(dir);
  return 0;
}

bool syncFilesystems(const std::vector<std::string>& dirs, std::string* error) {
  std::vector<dev_t> done;
  for (const auto& d : dirs) {
    struct stat st {};
    if (::stat(d.c_str(), &st) != 0) return fail(error, "cannot stat " + d);
    if (std::find(done.begin(), done.end(), st.st_dev) != done.end()) continue;
    int fd = ::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return fail(error, "cannot open " + d);
    int rc = ::syncfs(fd);
    int saved = errno;
    ::close(fd);
    errno = saved;
    if (rc != 0) return fail(error, "syncfs " + d);
    done.push_back(st.st_dev);
  }
  return true;
}

std::string writeFileUnique(const std::string& dir, const std::string& name, std::string_view data,
                            std::string* error, unsigned mode) {
  std::string tmp = writeTemp(dir, data, mode, error);
  if (tmp.empty()) return "";
  std::filesystem::path n(name);
  std::string stem = n.stem().string(), ext = n.extension().string();
  for (int i = 0; i < 10000; ++i) {
    std::string candidate = dir + "/" + (i == 0 ? name : stem + "-" + std::to_string(i) + ext);
    // link() fails with EEXIST instead of replacing: no existing file is ever overwritten.
    if (::link(tmp.c_str(), candidate.c_str()) == 0) {
      ::unlink(tmp.c_str());
      syncDir(dir);
      return candidate;
    }
    if (errno != EEXIST) break;
  }
  int saved = errno;
  ::unlink(tmp.c_str());
  errno = saved;
  fail(error, "cannot place " + name + " in " + dir);
  return "";
}

}  // namespace mugai::io
