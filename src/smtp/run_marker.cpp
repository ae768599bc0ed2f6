#include "src/smtp/run_marker.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>


namespace mugai::smtp {
namespace {

constexpr const char* kRunDir = ".mugai-run";
constexpr const char* kMarker = "serve";

/// An item id as newItemId() makes them: letters, digits and '-' only.
bool idLike(const std::string& s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
  });
}

std::string readSmall(int fd) {
  char buf[512];
  ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

bool rewrite(int fd, const std::string& text) {
  if (ftruncate(fd, 0) != 0) return false;
  return pwrite(fd, text.data(), text.size(), 0) == static_cast<ssize_t>(text.size());
}

std::string field(const std::string& text, const std::string& key) {
  std::size_t at = text.find(key + "=");
  if (at == std::string::npos) return "";
  at += key.size() + 1;
  std::size_t end = text.find_first_of(" \n", at);
  std::string v = text.substr(at, end == std::string::npos ? std::string::npos : end - at);
  return idLike(v) || std::all_of(v.begin(), v.end(),
                                  [](char c) {
                                    return (c >= '0' && c <= '9') || c == 'T' || c == 'Z' ||
                                           c == ':' || c == '-';
                                  })
             ? v
             : "?";
}

std::string utcNow() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

RunMarker::~RunMarker() {
  if (fd_ >= 0) close(fd_);  // the flock goes with it; the state stays "running" unless stopped()
}

std::vector<std::string> RunMarker::start(const std::string& dir) {
  std::vector<std::string> lines;
  const std::string run_dir = dir + "/" + kRunDir;
  if (mkdir(run_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    lines.push_back("cannot create " + run_dir + ": " + std::strerror(errno) +
                    " (a killed run cannot be detected)");
    return lines;
  }
  path_ = run_dir + "/" + kMarker;
  fd_ = open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd_ < 0) {
    lines.push_back("cannot open the run marker " + path_ + ": " + std::strerror(errno) +
                    " (a killed run cannot be detected)");
    return lines;
  }
  if (flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    close(fd_);
    fd_ = -1;
    lines.push_back("another mugai serve uses the state folder " + dir +
                    " (two services may share a PostgreSQL vault, not a state folder)");
    return lines;
  }
  std::string previous = readSmall(fd_);
  if (previous.find("state=running") != std::string::npos) {
    lines.push_back("the previous run (pid " + field(previous, "pid") + ", started " +
                    field(previous, "started") +
                    ") did not stop cleanly (killed, crashed, or the host went down): the vault "
                    "keeps only whole records; messages it never answered are retried by their "
                    "clients");
  }
  rewrite(fd_, "state=running pid=" + std::to_string(getpid()) + " started=" + utcNow() + "\n");
  return lines;
}

void RunMarker::stopped() {
  if (fd_ < 0) return;
  std::string text = readSmall(fd_);
  std::size_t at = text.find("state=running");
  if (at != std::string::npos) text.replace(at, 13, "state=stopped");
  rewrite(fd_, text);
}

}  // namespace mugai::smtp
