// sanitizer.archive benchmark: 1 MB and 20 MB ZIPs of mixed members (text, and random bytes
// behind a PNG signature, i.e. incompressible "images"), each repacked N times through
// Engine::processFile with the shipped rules (every member scanned, typed and renamed by the
// engine, then re-deflated). One thread: the figures are per core.
//
// The shipped rules refuse files over 10 MB (message_size_limit), so the rules are loaded with
// message_size_limit raised to 64 MB; everything else is as shipped.
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "mugai/core/budget.h"
#include "mugai/pipeline/pipeline.h"
#include "sanitizers/archive/archive.h"
#include "tests/unit/sanitizers/archive_fixtures.h"

using namespace mugai;
using namespace mugai::test::archive_fixtures;

namespace {

/// The source tree (for rules/): $MUGAI_SOURCE_DIR, or the first parent of this executable
/// that holds rules/default.yaml (build directories live inside or beside the tree).
std::filesystem::path sourceDir() {
  if (const char* env = std::getenv("MUGAI_SOURCE_DIR"); env && *env) return env;
  std::error_code ec;
  for (auto p = std::filesystem::read_symlink("/proc/self/exe", ec); !p.empty() && p != p.root_path();
       p = p.parent_path()) {
    if (std::filesystem::exists(p / "rules" / "default.yaml")) return p;
  }
  return std::filesystem::current_path();
}

std::string readFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string randomBytes(std::size_t n, std::uint32_t seed) {
  std::string s(n, '\0');
  for (auto& c : s) {
    seed = seed * 1664525u + 1013904223u;
    c = static_cast<char>(seed >> 24);
  }
  return s;
}

std::string text(std::size_t n, int k) {
  std::string s;
  while (s.size() < n) {
    s += "議事録 " + std::to_string(k) + ": the committee reviewed the budget line " +
         std::to_string(s.size()) + " and agreed to continue.\n";
  }
  s.resize(n);
  return s;
}

/// Members of ~64 KiB alternating text and PNG-signed random bytes, up to `total` bytes.
std::string mixedZip(std::size_t total) {
  std::vector<Entry> entries;
  std::size_t size = 0;
  for (int i = 0; size < total; ++i) {
    std::size_t n = std::min<std::size_t>(64 * 1024, total - size);
    if (i % 2 == 0) {
      entries.push_back({"docs/minutes" + std::to_string(i) + ".txt", text(n, i)});
    } else {
      std::string png = std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16) + randomBytes(n, static_cast<std::uint32_t>(i));
      entries.push_back({"images/photo" + std::to_string(i) + ".png", png});
    }
    size += n;
  }
  return zip(entries);
}

/// The engine reduced to "keep every member as it is": what the archive sanitizer itself costs
/// (read, limits, names, re-deflate), without scanning and typing each member.
struct KeepAll : MemberProcessor {
  MemberResult process(Part m) override {
    MemberResult r;
    r.kind = MemberResult::Kind::Kept;
    r.filename = m.filename.unverifiedValue();
    r.data = std::move(m.data);
    return r;
  }
};

void sanitizerOnly(const std::string& in, int n, std::size_t mb) {
  sanitizers::archive::ArchiveSanitizer s{sanitizers::archive::Options{}};
  Limits limits;
  KeepAll keep;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) {
    Budget budget(limits);
    MessageContext ctx{limits, budget, nullptr, nullptr, &keep};
    Part p;
    p.data = in;
    p.filename = Untrusted<std::string>("bench.zip");
    Outcome o = s.apply(p, ctx);
    if (!o.replacement) {
      std::cerr << "sanitizer refused: " << o.detail << "\n";
      std::exit(1);
    }
  }
  double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("  sanitizer alone %2zu MB: %.1f ms/file, %.2f files/s, %.1f MB/s per core\n", mb,
              1000.0 * sec / n, n / sec, (in.size() * n) / sec / 1e6);
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = argc > 1 ? std::atoi(argv[1]) : 20;
  std::string rules = readFile(sourceDir() / "rules" / "default.yaml");
  auto at = rules.find("signatures: [signatures]");
  if (at == std::string::npos) {
    std::cerr << "rules/default.yaml not found (set MUGAI_SOURCE_DIR)\n";
    return 1;
  }
  rules.replace(at, std::string("signatures: [signatures]").size(),
                "signatures: [" + (sourceDir() / "rules" / "signatures").string() + "]");
  at = rules.find("message_size_limit: 10240000");
  rules.replace(at, std::string("message_size_limit: 10240000").size(), "message_size_limit: 67108864");
  auto tmp = std::filesystem::temp_directory_path() / "mugai-archive-bench-rules.yaml";
  std::ofstream(tmp) << rules;
  std::vector<std::string> errors;
  auto engine = makeEngine(tmp.string(), errors);
  std::filesystem::remove(tmp);
  if (!engine) {
    std::cerr << "engine: " << (errors.empty() ? "?" : errors.front()) << "\n";
    return 1;
  }
  for (std::size_t mb : {1, 20}) {
    std::string in = mixedZip(mb * 1000 * 1000);
    int n = mb == 1 ? rounds : std::max(1, rounds / 10);
    std::size_t out_bytes = 0;
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) {
      ProcessResult r = engine->processFile(in, "bench.zip", "B" + std::to_string(i));
      if (r.blocked() || r.output.empty()) {
        std::cerr << "unexpected verdict: " << r.report.toJson() << "\n";
        return 1;
      }
      out_bytes = r.output.size();
    }
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("archive, %2zu MB of members (zip %zu bytes in, %zu out): %d runs, %.1f ms/file, %.2f files/s, %.1f MB/s per core\n",
                mb, in.size(), out_bytes, n, 1000.0 * s / n, n / s, (in.size() * n) / s / 1e6);
    sanitizerOnly(in, n, mb);
  }
  return 0;
}
