// How often each byte reaches libclamav (issue 11): pushes each given message through the
// in-process engine (shipped rules unless --rules) with a libclamav engine that reports every
// file it inspects, and prints per message: scan requests, calls into libclamav and their bytes,
// layers (files libclamav looked at: the given bytes and every member it unpacked) and the most
// times any one byte string reached libclamav. Each message is processed twice: the second pass
// shows the scan-result cache (`"scan":"cached"`). CPU time is the thread's, per pass.
//   mugai_bench_scan_count [--rules FILE] [--no-cache] MESSAGE.eml ...
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "mugai/pipeline/pipeline.h"

namespace {

std::string readFile(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

double cpuMs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

struct Layers {
  std::mutex m;
  std::map<std::string, int> seen;  // sha256 -> times libclamav inspected it
  void clear() {
    std::lock_guard<std::mutex> l(m);
    seen.clear();
  }
  int most() {
    std::lock_guard<std::mutex> l(m);
    int n = 0;
    for (const auto& [k, v] : seen) n = std::max(n, v);
    return n;
  }
};

}  // namespace

int main(int argc, char** argv) {
  std::string rules = std::string(MUGAI_SOURCE_DIR) + "/rules/default.yaml";
  bool cache = true;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--rules") && i + 1 < argc) {
      rules = argv[++i];
    } else if (!std::strcmp(argv[i], "--no-cache")) {
      cache = false;
    } else {
      files.push_back(argv[i]);
    }
  }
  Layers layers;
  std::vector<std::string> errors;
  auto engine = mugai::makeEngine(rules, errors, [&](const mugai::ClamavOptions& o, std::string* e) {
    mugai::ClamavOptions opts = o;
    if (!cache) opts.limits.scan_cache_entries = 0;
    opts.on_layer = [&layers](const mugai::ScanLayer& l) {
      if (l.sha256.empty()) return;
      std::lock_guard<std::mutex> g(layers.m);
      ++layers.seen[l.sha256];
    };
    return mugai::makeClamavScanner(opts, e);
  });
  if (!engine) {
    std::fprintf(stderr, "engine: %s\n", errors.empty() ? "?" : errors.front().c_str());
    return 1;
  }
  const mugai::Scanner& scanner = *engine->services().scanner;
  std::printf("%-24s %4s %8s %8s %7s %11s %7s %11s %5s %9s %s\n", "message", "pass", "requests",
              "cached", "engine", "engine B", "layers", "layer B", "max", "CPU ms", "verdict");
  for (const auto& f : files) {
    std::string raw = readFile(f);
    for (int pass = 1; pass <= 2; ++pass) {
      layers.clear();
      mugai::ScanStats before = scanner.stats();
      double t0 = cpuMs();
      mugai::ProcessResult r = engine->processMessage(raw, mugai::Envelope{}, "count");
      double t1 = cpuMs();
      mugai::ScanStats after = scanner.stats();
      std::string name = f.substr(f.find_last_of('/') + 1);
      std::printf("%-24s %4d %8llu %8llu %7llu %11llu %7llu %11llu %5d %9.1f %s\n", name.c_str(), pass,
                  (unsigned long long)(after.requests - before.requests),
                  (unsigned long long)(after.cache_hits - before.cache_hits),
                  (unsigned long long)(after.engine_scans - before.engine_scans),
                  (unsigned long long)(after.engine_bytes - before.engine_bytes),
                  (unsigned long long)(after.layers - before.layers),
                  (unsigned long long)(after.layer_bytes - before.layer_bytes), layers.most(),
                  t1 - t0, r.report.verdictWord().c_str());
    }
  }
  return 0;
}
