#include "src/smtp/inflight.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "mugai/io/store.h"

namespace mugai::smtp {
namespace {

constexpr const char* kRunDir = ".mugai-run";  // beside the records, out of their listing
constexpr const char* kMarker = "serve";
constexpr const char* kJournal = "inflight-";
constexpr const char* kTemp = ".mugai-tmp-";

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
    lines.push_back("another mugai serve uses the quarantine " + dir +
                    ": its leftovers are not reconciled by this one");
    return lines;
  }
  auto started = std::chrono::system_clock::now();
  std::string previous = readSmall(fd_);
  if (previous.find("state=running") != std::string::npos) {
    lines.push_back("the previous run (pid " + field(previous, "pid") + ", started " +
                    field(previous, "started") +
                    ") did not stop cleanly (killed, crashed, or the host went down): "
                    "reconciling the quarantine " +
                    dir);
  }
  for (auto& l : reconcileQuarantine(dir, started)) lines.push_back(std::move(l));
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

void Inflight::write(const char* state) {
  std::string path = dir_ + "/" + kRunDir + "/" + kJournal + id_;
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return;  // the journal is a help for the next start, never a reason to refuse
  ssize_t ignored = ::write(fd, state, std::strlen(state));
  (void)ignored;
  close(fd);
  written_ = true;
}

void Inflight::end() {
  if (!written_) return;
  unlink((dir_ + "/" + kRunDir + "/" + kJournal + id_).c_str());
  written_ = false;
}

std::vector<std::string> reconcileQuarantine(const std::string& dir,
                                             std::chrono::system_clock::time_point started) {
  std::vector<std::string> lines;
  DIR* d = opendir(dir.c_str());
  if (!d) {
    lines.push_back("cannot read the quarantine " + dir + ": " + std::strerror(errno));
    return lines;
  }
  std::vector<std::string> temps, journals;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name.rfind(kTemp, 0) == 0) temps.push_back(name);
  }
  closedir(d);
  const std::string run_dir = dir + "/" + kRunDir;
  if (DIR* r = opendir(run_dir.c_str())) {
    while (dirent* e = readdir(r)) {
      std::string name = e->d_name;
      if (name.rfind(kJournal, 0) == 0) journals.push_back(name);
    }
    closedir(r);
  }
  std::sort(journals.begin(), journals.end());
  const std::time_t cutoff = std::chrono::system_clock::to_time_t(started);
  std::size_t removed_temps = 0;
  for (const auto& name : temps) {
    std::string path = dir + "/" + name;
    struct stat st {};
    if (lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_mtime >= cutoff) continue;
    if (unlink(path.c_str()) == 0) ++removed_temps;
  }
  if (removed_temps) {
    lines.push_back("reconcile: removed " + std::to_string(removed_temps) +
                    " temporary file(s) a killed run left half-written");
  }
  for (const auto& name : journals) {
    std::string id = name.substr(std::strlen(kJournal));
    std::string path = run_dir + "/" + name;
    if (!idLike(id)) continue;
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    std::string state = fd >= 0 ? readSmall(fd) : "";
    if (fd >= 0) close(fd);
    struct stat st {};
    bool record = stat((dir + "/" + id + ".json").c_str(), &st) == 0 ||
                  stat((dir + "/" + id + ".orig").c_str(), &st) == 0;
    if (!record) {
      // Killed before the record was complete: the temporary files went above.
    } else if (state == "relaying") {
      lines.push_back("reconcile: kept " + id +
                      ": the killed run was relaying it, the next hop may have it");
    } else {
      std::string err;
      lines.push_back(
          io::quarantineRemove(dir, id, &err)
              ? "reconcile: removed " + id +
                    ": the killed run never answered the client, which retries with its own copy"
              : "reconcile: cannot remove " + id + ": " + err);
    }
    unlink(path.c_str());
  }
  return lines;
}

}  // namespace mugai::smtp
