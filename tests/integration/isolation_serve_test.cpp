// `mugai serve` with its sandboxed workers (isolation = workers, the default), against the real
// daemon and smtp-sink: the workers are really sandboxed, a poison message never takes the service
// down, and workers killed from outside under a stream of 1 MB documents lose and duplicate nothing.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "integration/peers.h"
#include "src/zip/zip.h"
#include "support/raw_pdf.h"
#include "support/poison_png.h"
#include "support/proc_status.h"
#include "support/test_support.h"
#include "support/vault_view.h"

namespace fs = std::filesystem;
using namespace mugai::test;
using namespace std::chrono_literals;

namespace {

bool isScanner(pid_t pid) { return cmdline(pid).find("mugai-scan") != std::string::npos; }

std::string replaceOnce(std::string s, const std::string& from, const std::string& to) {
  std::size_t at = s.find(from);
  REQUIRE(at != std::string::npos);
  return s.replace(at, from.size(), to);
}

std::string rulesWith(const std::string& limits) {
  std::string y = readFile(sourceDir() / "rules" / "default.yaml");
  y = replaceOnce(y, "limits:\n", "limits:\n" + limits);
  y = replaceOnce(y, "signatures: [signatures]",
                  "signatures: [" + (sourceDir() / "rules" / "signatures").string() + "]");
  return replaceOnce(y, "system_database: true", "system_database: false");
}

struct Relay {
  TempDir tmp;
  fs::path dump = tmp.path() / "dump", state = tmp.path() / "state";
  fs::path log = tmp.path() / "mugai.log", rules = tmp.path() / "rules.yaml";
  std::uint16_t mugai_port = freePort(), sink_port = freePort();
  std::unique_ptr<Child> sink, mugai;

  Relay() {
    fs::create_directories(dump);
    chmod(tmp.path().c_str(), 0755);
    chmod(dump.c_str(), 0777);  // smtp-sink drops to nobody
  }
  void start(const std::string& limits = "", const std::vector<std::string>& extra = {}) {
    sink = startSmtpSink(dump, sink_port, tmp.path() / "sink.log");
    REQUIRE(sink);
    writeFile(rules, rulesWith(limits));
    std::vector<std::string> args{MUGAI_BINARY, "serve", "--listen",
                                  "127.0.0.1:" + std::to_string(mugai_port), "--next-hop",
                                  "127.0.0.1:" + std::to_string(sink_port), "--state-dir",
                                  state.string(), "--rules", rules.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    mugai = std::make_unique<Child>(args, log);
    if (!waitForServe(mugai_port, log, 60s)) FAIL("mugai did not start:\n" << readFile(log));
  }
  bool alive() const { return mugai && ::kill(mugai->pid(), 0) == 0; }
};

/// A minimal SMTP client over one connection: send() returns the final reply line of DATA.
class Client {
 public:
  explicit Client(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || reply().rfind("220", 0) ||
        command("EHLO client.example\r\n").rfind("250", 0)) {
      close();
    }
  }
  ~Client() { close(); }
  bool ok() const { return fd_ >= 0; }
  std::string send(const std::string& crlf_message) {
    if (command("MAIL FROM:<a@example.com>\r\n").rfind("250", 0) ||
        command("RCPT TO:<b@example.jp>\r\n").rfind("250", 0) ||
        command("DATA\r\n").rfind("354", 0)) {
      return "no transaction";
    }
    return command(crlf_message + ".\r\n", 120s);
  }

 private:
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  std::string command(const std::string& s, std::chrono::milliseconds max = 30s) {
    std::size_t off = 0;
    while (fd_ >= 0 && off < s.size()) {
      ssize_t n = ::send(fd_, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return "send failed";
      off += static_cast<std::size_t>(n);
    }
    return reply(max);
  }
  /// The last line of one reply ("250 ..."), or "" on EOF/timeout.
  std::string reply(std::chrono::milliseconds max = 30s) {
    auto until = std::chrono::steady_clock::now() + max;
    for (;;) {
      std::size_t nl;
      while ((nl = buf_.find("\r\n")) != std::string::npos) {
        std::string line = buf_.substr(0, nl);
        buf_.erase(0, nl + 2);
        if (line.size() >= 4 && line[3] == ' ') return line;
      }
      if (fd_ < 0 || std::chrono::steady_clock::now() >= until) return "";
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char b[4096];
      ssize_t n = ::read(fd_, b, sizeof b);
      if (n <= 0) return "";
      buf_.append(b, static_cast<std::size_t>(n));
    }
  }
  int fd_ = -1;
  std::string buf_;
};

/// base64 in 76-column CRLF lines.
std::string base64Lines(const std::string& data) {
  std::string flat = base64(data), out;
  for (std::size_t i = 0; i < flat.size(); i += 76) out += flat.substr(i, 76) + "\r\n";
  return out;
}

std::string withAttachment(const std::string& subject, const std::string& type,
                           const std::string& name, const std::string& data) {
  return "From: a@example.com\r\nTo: b@example.jp\r\nSubject: " + subject +
         "\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n"
         "Content-Type: text/plain; charset=UTF-8\r\n\r\nsee the attachment\r\n--b\r\n"
         "Content-Type: " + type + "; name=\"" + name +
         "\"\r\nContent-Disposition: attachment; filename=\"" + name +
         "\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + base64Lines(data) + "--b--\r\n";
}

std::string incompressible(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

/// A 1 MB PDF: one page drawing an incompressible image (as bench/smtp_bench.sh builds it).
std::string pdfOf1MB() {
  std::string img = incompressible(1000000, 7);
  std::vector<std::string> objs = {
      "<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
      "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << "
      "/XObject << /Im1 5 0 R >> >> >>"};
  std::string content = "q 100 0 0 100 50 600 cm /Im1 Do Q";
  objs.push_back("<< /Length " + std::to_string(content.size()) + " >>\nstream\n" + content +
                 "\nendstream");
  objs.push_back("<< /Type /XObject /Subtype /Image /Width 1000 /Height 333 /ColorSpace "
                 "/DeviceRGB /BitsPerComponent 8 /Length " +
                 std::to_string(img.size()) + " >>\nstream\n" + img + "\nendstream");
  return mugai::test::pdfFromObjects(objs);
}

/// A 1 MB DOCX: paragraphs of text and a 1 MB picture, laid out as Word does.
std::string docxOf1MB() {
  const std::string W =
      "xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\" "
      "xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\"";
  std::string paras;
  for (int i = 0; i < 60; ++i) paras += "<w:p><w:r><w:t>meeting report budget 令和 " + std::to_string(i) + "</w:t></w:r></w:p>";
  std::string pic =
      "<w:p><w:r><w:drawing><wp:inline xmlns:wp=\"http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing\">"
      "<wp:extent cx=\"3000000\" cy=\"2000000\"/><wp:docPr id=\"1\" name=\"Picture 1\"/>"
      "<a:graphic xmlns:a=\"http://schemas.openxmlformats.org/drawingml/2006/main\"><a:graphicData uri=\"http://schemas.openxmlformats.org/drawingml/2006/picture\">"
      "<pic:pic xmlns:pic=\"http://schemas.openxmlformats.org/drawingml/2006/picture\"><pic:nvPicPr><pic:cNvPr id=\"1\" name=\"image1.jpeg\"/><pic:cNvPicPr/></pic:nvPicPr>"
      "<pic:blipFill><a:blip r:embed=\"rId2\"/></pic:blipFill><pic:spPr/></pic:pic></a:graphicData></a:graphic></wp:inline></w:drawing></w:r></w:p>";
  const std::string decl = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n";
  mugai::zip::Writer z;
  z.addDeflated("[Content_Types].xml",
                decl + "<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">"
                "<Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>"
                "<Default Extension=\"xml\" ContentType=\"application/xml\"/><Default Extension=\"jpeg\" ContentType=\"image/jpeg\"/>"
                "<Override PartName=\"/word/document.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml\"/></Types>");
  z.addDeflated("_rels/.rels",
                decl + "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
                "<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" Target=\"word/document.xml\"/></Relationships>");
  z.addDeflated("word/_rels/document.xml.rels",
                decl + "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
                "<Relationship Id=\"rId2\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/image\" Target=\"media/image1.jpeg\"/></Relationships>");
  z.addDeflated("word/document.xml", decl + "<w:document " + W + "><w:body>" + paras + pic + "</w:body></w:document>");
  z.addStored("word/media/image1.jpeg", "\xff\xd8\xff\xe0" + incompressible(1000000, 9));
  auto out = z.finish();
  REQUIRE(out);
  return *out;
}

/// The X-Mugai-Id of every message smtp-sink received.
std::multiset<std::string> deliveredIds(const fs::path& dump) {
  std::multiset<std::string> ids;
  for (const auto& f : filesIn(dump)) {
    std::string m = readFile(f);
    std::size_t at = m.find("X-Mugai-Id: ");
    if (at == std::string::npos) continue;
    std::size_t end = m.find_first_of("\r\n", at);
    ids.insert(m.substr(at + 12, end - at - 12));
  }
  return ids;
}

}  // namespace

TEST_CASE("isolation serve: every worker and the scanner process show Seccomp 2 and NoNewPrivs 1",
          "[integration][isolation]") {
  if (anyMissing({kSink})) return;
  Relay r;
  r.start("  worker_threads: 2\n");
  // A worker still starting (before its first item) has not entered the sandbox yet: wait until
  // all say they are ready. Items only ever go to a worker that has.
  std::vector<pid_t> children;
  auto sandboxed = [](pid_t w) {
    return statusField(w, "Seccomp") == "2" && statusField(w, "NoNewPrivs") == "1";
  };
  for (int i = 0; i < 200; ++i) {
    children = childrenOf(r.mugai->pid());
    if (children.size() == 3 && std::all_of(children.begin(), children.end(), sandboxed)) break;
    std::this_thread::sleep_for(50ms);
  }
  REQUIRE(children.size() == 3);  // two workers and the scanner
  CHECK(std::count_if(children.begin(), children.end(), isScanner) == 1);
  for (pid_t c : children) {
    INFO(c << ": " << cmdline(c));
    CHECK(statusField(c, "Seccomp") == "2");
    CHECK(statusField(c, "NoNewPrivs") == "1");
  }
  CHECK(statusField(r.mugai->pid(), "Seccomp") == "0");  // serve itself: the check can tell
  // serve itself does not link libclamav; the scanner process does.
  std::string maps = readFile("/proc/" + std::to_string(r.mugai->pid()) + "/maps");
  CHECK(maps.find("libclamav") == std::string::npos);
  CHECK(maps.find("libqpdf") != std::string::npos);
}

TEST_CASE("isolation serve: the 48,000,000 x 1 PNG sent 10 times never takes serve down and is "
          "quarantined with its reason",
          "[integration][isolation]") {
  if (anyMissing({kSink})) return;
  Relay r;
  r.start();
  const std::string poison = withAttachment("wide", "image/png", "wide.png", widePng(48000000));
  const std::string clean = "From: a@example.com\r\nTo: b@example.jp\r\nSubject: hello\r\n\r\nhi\r\n";
  std::set<std::string> poisoned;
  for (int i = 0; i < 10; ++i) {
    Client c(r.mugai_port), other(r.mugai_port);
    REQUIRE(c.ok());
    REQUIRE(other.ok());
    std::string reply = c.send(poison);
    INFO("attempt " << i << ": " << reply << "\n" << readFile(r.log));
    // A clear verdict: accepted with the image removed (or refused for good), never 4xx.
    REQUIRE(reply.rfind("250 ", 0) == 0);
    poisoned.insert(reply.substr(reply.rfind(' ') + 1));
    CHECK(other.send(clean).rfind("250 ", 0) == 0);  // the other client is answered
    REQUIRE(r.alive());
  }
  CHECK(poisoned.size() == 10);
  for (const auto& id : poisoned) {
    INFO(id);
    auto v = openTestVault(stateVault(r.state.string()));
    REQUIRE(v->get(id, nullptr));
    std::string report = v->report(id, nullptr).value_or("");
    CHECK(report.find("\"action\":\"removed\"") != std::string::npos);
    CHECK((report.find("cdr.failed") != std::string::npos ||
           report.find("limit.image_pixels") != std::string::npos ||
           report.find("limit.memory") != std::string::npos));
  }
}

TEST_CASE("isolation serve: kill -9 of workers and the scanner 20 times under a stream of 1 MB "
          "DOCX and PDF mail loses and duplicates nothing",
          "[integration][isolation]") {
  if (anyMissing({kSink})) return;
  Relay r;
  r.start("  worker_threads: 2\n");
  const std::string docx = withAttachment("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "report.docx", docxOf1MB());
  const std::string pdf = withAttachment("pdf", "application/pdf", "report.pdf", pdfOf1MB());
  std::atomic<bool> stop{false};
  std::mutex m;
  std::vector<std::string> accepted, refused, retried;
  std::atomic<int> sent{0};
  auto client = [&](int n) {
    Client c(r.mugai_port);
    if (!c.ok()) return;
    for (int i = 0; !stop || i < 3; ++i) {
      const std::string& msg = (i + n) % 2 ? docx : pdf;
      std::string reply = c.send(msg);
      ++sent;
      if (reply.rfind("4", 0) == 0) {  // a temporary answer: the client retries once
        std::lock_guard<std::mutex> lock(m);
        retried.push_back(reply);
        reply = c.send(msg);
      }
      std::lock_guard<std::mutex> lock(m);
      (reply.rfind("250 ", 0) == 0 ? accepted : refused).push_back(reply);
    }
  };
  std::vector<std::thread> clients;
  for (int n = 0; n < 3; ++n) clients.emplace_back(client, n);
  std::mt19937 rng(42);
  int kills = 0;
  for (int tries = 0; kills < 20 && tries < 400; ++tries) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100 + rng() % 200));
    // Every fourth kill is the scanner process, the others a random worker.
    auto children = childrenOf(r.mugai->pid());
    std::vector<pid_t> pick;
    for (pid_t c : children)
      if (isScanner(c) == (kills % 4 == 3)) pick.push_back(c);
    if (pick.empty()) continue;
    if (::kill(pick[rng() % pick.size()], SIGKILL) == 0) ++kills;
    // Meanwhile a small clean message on its own connection is answered.
    if (kills % 5 == 0) {
      Client other(r.mugai_port);
      CHECK(other.send("Subject: ping\r\n\r\nping\r\n").rfind("250 ", 0) == 0);
    }
  }
  stop = true;
  for (auto& t : clients) t.join();
  INFO(readFile(r.log).substr(0, 20000));
  CHECK(kills == 20);
  REQUIRE(r.alive());
  // The drill did hit items in flight: serve said so and tried them again on a fresh worker.
  CHECK(readFile(r.log).find("trying once more on a fresh worker") != std::string::npos);
  CHECK(readFile(r.log).find("the scanner process was restarted") != std::string::npos);
  CHECK(refused.empty());
  CHECK(retried.empty());  // a killed worker's item is retried inside serve, never answered 4xx
  REQUIRE(accepted.size() >= 9);
  // Every accepted message reached the next hop exactly once (smtp-sink has written them by now).
  std::this_thread::sleep_for(500ms);
  auto ids = deliveredIds(r.dump);
  for (const auto& reply : accepted) {
    std::string id = reply.substr(reply.rfind(' ') + 1);
    INFO(reply);
    CHECK(ids.count(id) == 1);
  }
  std::size_t duplicated = 0;
  for (const auto& id : ids) duplicated += ids.count(id) > 1;
  CHECK(duplicated == 0);
}

TEST_CASE("isolation serve: the recipient's notice, written in a sandboxed worker, names the item's "
          "page at the config's console_url (issue 12 §7)",
          "[integration][isolation]") {
  if (anyMissing({kSink})) return;
  const std::string exe = "MZ" + std::string(510, '\0') + "PE\0\0" + std::string(1024, 'A');
  for (bool console : {true, false}) {
    INFO("console_url set: " << console);
    Relay r;
    fs::path conf = r.tmp.path() / "mugai.conf";
    // A trailing '/' is dropped: the link is CONSOLE_URL/items/ID.
    writeFile(conf, console ? "console_url = https://mugai.city.example.lg.jp/\n" : "# no console\n");
    r.start("  worker_threads: 1\n", {"--config", conf.string()});
    Client c(r.mugai_port);
    REQUIRE(c.ok());
    std::string reply = c.send(withAttachment("tool", "application/octet-stream", "tool.exe", exe));
    INFO(reply << "\n" << readFile(r.log));
    REQUIRE(reply.rfind("250 ", 0) == 0);
    CHECK(readFile(r.log).find("workers (sandboxed processes)") != std::string::npos);
    std::string delivered;
    for (int i = 0; i < 100 && delivered.empty(); ++i) {
      for (const auto& f : filesIn(r.dump)) delivered = readFile(f);
      if (delivered.empty()) std::this_thread::sleep_for(100ms);
    }
    REQUIRE_FALSE(delivered.empty());
    auto ids = deliveredIds(r.dump);
    REQUIRE(ids.size() == 1);
    const std::string id = *ids.begin();
    CHECK(reply.find(id) != std::string::npos);
    std::string notice = firstPartText(delivered);
    INFO(notice);
    REQUIRE(notice.find("受付番号: " + id) != std::string::npos);
    const std::string link = "https://mugai.city.example.lg.jp/items/" + id;
    if (console) {
      const std::size_t ja = notice.find("問い合わせ先: " + link);
      const std::size_t en = notice.find("Where to ask: " + link);
      CHECK(ja != std::string::npos);
      CHECK(en != std::string::npos);
      CHECK(ja < en);  // Japanese first
      CHECK(notice.find("情報システム担当までお問い合わせください。") == std::string::npos);
      CHECK(notice.find("情報システム担当へ受付番号をお知らせください。") == std::string::npos);  // footer
    } else {
      CHECK(notice.find("情報システム担当へ受付番号をお知らせください。") != std::string::npos);
      CHECK(notice.find("/items/") == std::string::npos);
      CHECK(notice.find("問い合わせ先: 情報システム担当までお問い合わせください。") != std::string::npos);
    }
  }
}
