// In-process engine benchmark: the engine is built once, then each workload is pushed through it
// on one thread. Prints messages/second, MB/s, p50/p99 latency and peak RSS.
//   mugai_bench_engine [--seconds N] [--corpus DIR] [--rules FILE]
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "mugai/mime/mime.h"
#include "mugai/pipeline/pipeline.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

long peakRssKiB() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

std::string readFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string lorem(std::size_t bytes) {
  static const char* words[] = {"municipal", "report", "budget", "meeting", "schedule", "the",
                                "of", "and", "citizens", "office", "review", "plan"};
  std::string s;
  std::uint32_t x = 7;
  std::size_t col = 0;
  while (s.size() < bytes) {
    x = x * 1664525u + 1013904223u;
    const char* w = words[(x >> 16) % 12];
    s += w;
    col += std::strlen(w) + 1;
    if (col > 70) {
      s += "\r\n";
      col = 0;
    } else {
      s += ' ';
    }
  }
  return s;
}

std::string plainMail() {
  return "From: Sender <sender@example.com>\r\nTo: staff@city.example.lg.jp\r\nSubject: Plain\r\n"
         "Message-ID: <p@example.com>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n" +
         lorem(2048) + "\r\n";
}

std::string htmlMail() {
  std::string body = "<html><head><style>p{margin:0}</style><script>var t=1;</script></head><body>";
  std::uint32_t i = 0;
  while (body.size() < 50 * 1024) {
    body += "<div class=\"c\"><p>Paragraph " + std::to_string(i) + ": " + lorem(300) +
            " <a href=\"https://example.org/doc/" + std::to_string(i) + "\">link</a></p>"
            "<table><tr><td>cell</td><td>value</td></tr></table><img src=\"https://t.example/p.gif\" alt=\"logo\"></div>";
    ++i;
  }
  body += "</body></html>";
  return "From: Sender <sender@example.com>\r\nTo: staff@city.example.lg.jp\r\nSubject: HTML\r\n"
         "MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
         mugai::mime::encodeQuotedPrintable(body) + "\r\n";
}

double threadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct Figures {
  std::size_t items = 0, bytes = 0;
  double seconds = 0;
  double cpu_seconds = 0;  ///< this thread's CPU time: the per-core figure, whatever else runs
  std::vector<double> latencies_ms;
};

Figures runFor(const mugai::Engine& engine, const std::vector<std::string>& inputs, double seconds) {
  Figures f;
  auto start = Clock::now();
  double cpu0 = threadCpuSeconds();
  mugai::Envelope env{"sender@example.com", {"staff@city.example.lg.jp"}};
  while (std::chrono::duration<double>(Clock::now() - start).count() < seconds || f.items < inputs.size()) {
    const std::string& in = inputs[f.items % inputs.size()];
    auto t0 = Clock::now();
    auto r = engine.processMessage(in, env, "B");
    f.latencies_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    if (r.verdict == mugai::Verdict::TempFail) std::fprintf(stderr, "warning: tempfail in benchmark\n");
    f.bytes += in.size();
    ++f.items;
  }
  f.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  f.cpu_seconds = threadCpuSeconds() - cpu0;
  return f;
}

void print(const char* name, Figures f, double target) {
  std::sort(f.latencies_ms.begin(), f.latencies_ms.end());
  auto pct = [&](double p) { return f.latencies_ms[std::min(f.latencies_ms.size() - 1, static_cast<std::size_t>(p * f.latencies_ms.size()))]; };
  double rate = f.items / f.seconds;
  double per_core = f.items / f.cpu_seconds;  // messages per CPU-second of the one worker thread
  std::printf("%-13s %7zu msgs  wall %8.1f msg/s  per core %8.1f msg/s  %6.2f MB/s  p50 %6.3f ms  "
              "p99 %6.3f ms  peak RSS %5.1f MiB",
              name, f.items, rate, per_core, f.bytes / f.seconds / 1e6, pct(0.5), pct(0.99),
              peakRssKiB() / 1024.0);
  if (target > 0) {
    std::printf("  target >= %.0f/core: %s", target, per_core >= target ? "met" : "NOT met");
  }
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 3;
  std::string corpus = std::getenv("MUGAI_CORPUS") ? std::getenv("MUGAI_CORPUS") : MUGAI_CORPUS_DIR_DEFAULT;
  std::string rules = std::string(MUGAI_SOURCE_DIR) + "/rules/default.yaml";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--seconds")) seconds = std::atof(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--corpus")) corpus = argv[i + 1];
    else if (!std::strcmp(argv[i], "--rules")) rules = argv[i + 1];
  }
  auto t0 = Clock::now();
  std::vector<std::string> errors;
  auto engine = mugai::makeEngine(rules, errors);
  if (!engine) {
    for (const auto& e : errors) std::fprintf(stderr, "%s\n", e.c_str());
    return 1;
  }
  std::printf("engine ready in %.1f ms (%s); one thread\n",
              std::chrono::duration<double, std::milli>(Clock::now() - t0).count(),
              engine->services().scanner->describe().c_str());
  print("plain 2 KB", runFor(*engine, {plainMail()}, seconds), 1000);
  print("HTML 50 KB", runFor(*engine, {htmlMail()}, seconds), 300);
  std::vector<std::string> msgs;
  for (const char* dir : {"mail", "japanese/derived-mail"}) {
    fs::path d = fs::path(corpus) / dir;
    if (!fs::is_directory(d)) continue;
    for (const auto& e : fs::recursive_directory_iterator(d)) {
      if (e.is_regular_file() && e.path().extension() != ".json") msgs.push_back(readFile(e.path()));
    }
  }
  if (msgs.empty()) {
    std::printf("corpus                 skipped: corpus not found at %s\n", corpus.c_str());
  } else {
    print("corpus mail", runFor(*engine, msgs, seconds), 0);
  }
  return 0;
}
