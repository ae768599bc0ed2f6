// sanitizer.pdf, flatten mode: poppler renders every page, qpdf writes a new PDF holding one
// JPEG per page and nothing else (no fonts, no text layer, no annotations, no original objects).
//
// Trust: the PDF is hostile and poppler parses all of it (page content, fonts, images) in this
//        process; rebuild mode exposes far less (qpdf never decodes content). See README.md.
// Limits: flatten_max_pages (limit.document_objects); the pixels of all pages together against
//         image_pixel_limit (limit.image_pixels), computed from the page boxes BEFORE rendering;
//         one page buffer and the output charged to the budget; the deadline between pages AND
//         inside a page (DeadlineDevice), so a page whose content never ends (the fuzz campaign
//         found one, bench/FUZZING.md finding 6) stops at the item's deadline with limit.time
//         instead of holding its worker.
// Errors: cannot load or render, or a font it does not embed cannot be read (text would vanish)
//         -> cdr.failed; needs a password -> content.encrypted.
#include <poppler/cpp/poppler-document.h>
#include <poppler/cpp/poppler-global.h>
#include <poppler/cpp/poppler-page.h>
// poppler's core (libpoppler-private-dev): the C++ wrapper's render_page() takes no abort
// callback, PDFDoc::displayPageSlice() does (docs/dependencies.md).
#include <poppler/PDFDoc.h>
#include <poppler/SplashOutputDev.h>
#include <poppler/Stream.h>
#include <poppler/splash/SplashBitmap.h>

#include <climits>
#include <cmath>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>
#include <qpdf/Pl_Buffer.hh>
#include <qpdf/Pl_DCT.hh>
#include <qpdf/QPDF.hh>
#include <qpdf/QPDFObjectHandle.hh>
#include <qpdf/QPDFPageDocumentHelper.hh>
#include <qpdf/QPDFWriter.hh>
#include <qpdf/QUtil.hh>

#include "sanitizers/pdf/pdf.h"
#include "sanitizers/pdf/prescan.h"
#include "sanitizers/pdf/qpdf_support.h"

namespace mugai::sanitizers::pdf {
namespace {

/// Poppler prints parse errors to stderr by default; the report says what matters.
void quietPoppler() {
  static std::once_flag once;
  std::call_once(
      once, [] { poppler::set_debug_error_function([](const std::string&, void*) {}, nullptr); });
}

/// Pixel size of a page rendered at `dpi` (rotation swaps the sides); {0,0} when absurd.
std::pair<std::uint64_t, std::uint64_t> renderedSize(const poppler::page& page, int dpi) {
  poppler::rectf box = page.page_rect(poppler::crop_box);
  double w = std::abs(box.width()) * dpi / 72.0;
  double h = std::abs(box.height()) * dpi / 72.0;
  // 200 inches at 300 dpi is 60000 px; beyond that (or NaN) the box is nonsense.
  if (!(w >= 1 && h >= 1 && w <= 60000 && h <= 60000)) return {0, 0};
  auto o = page.orientation();
  if (o == poppler::page::landscape || o == poppler::page::seascape) std::swap(w, h);
  return {static_cast<std::uint64_t>(std::ceil(w)), static_cast<std::uint64_t>(std::ceil(h))};
}

/// RGB rows (`row_bytes` apart) -> baseline JPEG bytes via qpdf's own libjpeg pipeline.
std::shared_ptr<Buffer> toJpeg(const unsigned char* data, int width, int height,
                               std::size_t row_bytes) {
  Pl_Buffer out("page jpeg");
  Pl_DCT dct("page dct", &out, static_cast<JDIMENSION>(width), static_cast<JDIMENSION>(height), 3,
             JCS_RGB);
  const std::size_t row = static_cast<std::size_t>(width) * 3;
  for (int y = 0; y < height; ++y)
    dct.write(const_cast<unsigned char*>(data) + static_cast<std::size_t>(y) * row_bytes, row);
  dct.finish();
  return out.getBufferSharedPointer();
}

/// poppler's renderer, told of the item's deadline in every way poppler asks a device.
/// The abort callback alone is not enough: Gfx asks it only after ten operators of the same
/// content stream, and every nested content stream (a form, a Type 3 glyph, an annotation's
/// appearance) starts that count again, so forms of a few operators each that draw each other
/// (64^6 strokes from a 3 KB file) never reach it. Past the deadline this device therefore also
/// takes every form and every Type 3 glyph as drawn (useDrawForm, beginType3Char: their streams
/// are not interpreted), skips the annotations (annotDisplayDecide) and wants no more images,
/// patterns or shadings (needNonText), so what is left of the page's operators ends at once.
/// Soft masks are not asked about (sanitizers/pdf/README.md): the worker's deadline bounds them.
class DeadlineDevice : public SplashOutputDev {
 public:
  DeadlineDevice(const Budget& budget, SplashColorPtr paper)
      : SplashOutputDev(splashModeRGB8, 4, false, paper, true), budget_(budget) {}

  bool past() {
    if (!past_ && budget_.checkDeadline()) past_ = true;
    return past_;
  }
  static bool abortCheck(void* self) { return static_cast<DeadlineDevice*>(self)->past(); }
  static bool annotDisplayDecide(Annot*, void* self) {
    return !static_cast<DeadlineDevice*>(self)->past();
  }
  bool useDrawForm() override { return past(); }
  void drawForm(Ref) override {}  // only called past the deadline: draw nothing
  bool needNonText() override { return !past(); }
  bool beginType3Char(GfxState* state, double x, double y, double dx, double dy, CharCode code,
                      const Unicode* u, int uLen) override {
    if (past()) return true;  // "already drawn": its glyph procedure is not run (nor endType3Char)
    return SplashOutputDev::beginType3Char(state, x, y, dx, dy, code, u, uLen);
  }

 private:
  const Budget& budget_;
  bool past_ = false;
};

/// Renders page `index` (0-based) of `doc` as poppler-cpp's page_renderer did (RGB, white paper,
/// antialiased, crop box, the page's own rotation), stopping at the budget's deadline; the
/// caller checks the deadline after.
std::unique_ptr<SplashOutputDev> renderPage(PDFDoc& doc, int index, int dpi, const Budget& budget) {
  SplashColor paper = {0xff, 0xff, 0xff};
  auto dev = std::make_unique<DeadlineDevice>(budget, paper);
  dev->setFontAntialias(true);
  dev->setVectorAntialias(true);
  dev->startDoc(&doc);
  doc.displayPageSlice(dev.get(), index + 1, dpi, dpi, 0, false, true, false, -1, -1, -1, -1,
                       &DeadlineDevice::abortCheck, dev.get(), &DeadlineDevice::annotDisplayDecide,
                       dev.get());
  return dev;
}

/// A font the PDF names but does not embed is drawn with a system font that fontconfig finds;
/// where none can be found (a sandbox on a host without Landlock, a host without fonts) poppler
/// silently draws nothing: the page would lose its text, so such a document is refused.
std::optional<Outcome> refuseUnreadableFonts(poppler::document& doc) {
  for (const poppler::font_info& f : doc.fonts()) {
    if (f.is_embedded() || f.type() == poppler::font_info::type3 || !f.file().empty()) continue;
    return Outcome::fail(Reason::CdrFailed,
                         "pdf: font '" + f.name().substr(0, 64) +
                             "' is not embedded and no system font can be read to draw it "
                             "(the pages would lose their text)");
  }
  return std::nullopt;
}

/// Every page's pixel count, known from its box before anything is rendered: all pages together
/// against image_pixel_limit. `largest` is the biggest page's.
std::optional<Outcome> checkPageSizes(poppler::document& doc, int page_count, int dpi,
                                      const Limits& limits, std::uint64_t& largest) {
  std::uint64_t total_pixels = 0;
  for (int i = 0; i < page_count; ++i) {
    std::unique_ptr<poppler::page> p(doc.create_page(i));
    if (!p)
      return Outcome::fail(Reason::CdrFailed, "pdf: page " + std::to_string(i + 1) + " unreadable");
    auto [w, h] = renderedSize(*p, dpi);
    if (w == 0)
      return Outcome::fail(Reason::CdrFailed,
                           "pdf: page " + std::to_string(i + 1) + " has no usable size");
    total_pixels += w * h;
    largest = std::max(largest, w * h);
    if (total_pixels > limits.image_pixel_limit)
      return Outcome::fail(Reason::LimitImagePixels, "pdf: pages render to too many pixels");
  }
  return std::nullopt;
}

/// A page of `out` showing `jpeg` (width x height pixels at `dpi`) at the original's size in
/// points, and nothing else.
void addImagePage(QPDF& out, QPDFPageDocumentHelper& helper, const std::shared_ptr<Buffer>& jpeg,
                  int width, int height, int dpi) {
  QPDFObjectHandle image = out.newStream();
  image.replaceStreamData(jpeg, QPDFObjectHandle::newName("/DCTDecode"),
                          QPDFObjectHandle::newNull());
  QPDFObjectHandle idict = image.getDict();
  idict.replaceKey("/Type", QPDFObjectHandle::newName("/XObject"));
  idict.replaceKey("/Subtype", QPDFObjectHandle::newName("/Image"));
  idict.replaceKey("/Width", QPDFObjectHandle::newInteger(width));
  idict.replaceKey("/Height", QPDFObjectHandle::newInteger(height));
  idict.replaceKey("/ColorSpace", QPDFObjectHandle::newName("/DeviceRGB"));
  idict.replaceKey("/BitsPerComponent", QPDFObjectHandle::newInteger(8));

  // The page keeps the original's size in points: pixels * 72 / dpi.
  double wpt = width * 72.0 / dpi;
  double hpt = height * 72.0 / dpi;
  std::string content = "q " + QUtil::double_to_string(wpt, 3) + " 0 0 " +
                        QUtil::double_to_string(hpt, 3) + " 0 0 cm /Im0 Do Q\n";
  QPDFObjectHandle contents = out.newStream(content);

  QPDFObjectHandle page = QPDFObjectHandle::newDictionary();
  page.replaceKey("/Type", QPDFObjectHandle::newName("/Page"));
  page.replaceKey("/MediaBox",
                  QPDFObjectHandle::newArray(std::vector<QPDFObjectHandle>{
                      QPDFObjectHandle::newInteger(0), QPDFObjectHandle::newInteger(0),
                      QPDFObjectHandle::newReal(wpt, 3), QPDFObjectHandle::newReal(hpt, 3)}));
  QPDFObjectHandle xobjects = QPDFObjectHandle::newDictionary();
  xobjects.replaceKey("/Im0", image);
  QPDFObjectHandle resources = QPDFObjectHandle::newDictionary();
  resources.replaceKey("/XObject", xobjects);
  page.replaceKey("/Resources", resources);
  page.replaceKey("/Contents", contents);
  helper.addPage(QPDFPageObjectHelper(out.makeIndirectObject(page)), false);
}

/// Draws every page of `data` (poppler's core, stopping at the deadline) into `out` as one JPEG
/// each. `largest` bounds a page's pixels (checkPageSizes()). `opened` is the wrapper's document
/// on the same bytes: while it lives, poppler's global parameters (fonts, the error callback)
/// live, which the core document needs; it is not read here.
std::optional<Outcome> renderPages(const poppler::document& opened, const std::string& data,
                                   int page_count, int dpi, std::uint64_t largest, QPDF& out,
                                   MessageContext& ctx) {
  (void)opened;
  // poppler's core document on the same bytes: a second parse (the wrapper hides its own).
  PDFDoc core(new MemStream(data.data(), 0, static_cast<Goffset>(data.size()), Object(objNull)));
  if (!core.isOk() || core.getNumPages() != page_count)
    return Outcome::fail(Reason::CdrFailed, "pdf: poppler could not load it");
  QPDFPageDocumentHelper helper(out);
  for (int i = 0; i < page_count; ++i) {
    if (auto r = ctx.budget.checkDeadline()) return Outcome::fail(*r);
    std::unique_ptr<SplashOutputDev> dev = renderPage(core, i, dpi, ctx.budget);
    if (auto r = ctx.budget.checkDeadline())
      return Outcome::fail(*r, "pdf: rendering page " + std::to_string(i + 1) +
                                   " was stopped at the deadline");
    SplashBitmap* img = dev->getBitmap();
    if (!img || img->getWidth() <= 0 || img->getHeight() <= 0 || img->getMode() != splashModeRGB8 ||
        static_cast<std::uint64_t>(img->getWidth()) * img->getHeight() > largest * 2)
      return Outcome::fail(Reason::CdrFailed,
                           "pdf: page " + std::to_string(i + 1) + " could not be rendered");
    std::shared_ptr<Buffer> jpeg = toJpeg(img->getDataPtr(), img->getWidth(), img->getHeight(),
                                          static_cast<std::size_t>(img->getRowSize()));
    if (auto r = ctx.budget.chargeDecoded(jpeg->getSize())) return Outcome::fail(*r);
    addImagePage(out, helper, jpeg, img->getWidth(), img->getHeight(), dpi);
  }
  return std::nullopt;
}

}  // namespace

Outcome flattenPdf(const Part& part, const Options& options, MessageContext& ctx) {
  quietPoppler();
  if (part.data.size() > static_cast<std::size_t>(INT_MAX))
    return Outcome::fail(Reason::CdrFailed, "pdf: too large to render");
  if (auto r = ctx.budget.chargeDecoded(part.data.size())) return Outcome::fail(*r);
  // poppler, like qpdf, sizes its xref table from what the file declares (see prescan.h).
  if (std::uint64_t declared = declaredObjectCount(part.data);
      declared > ctx.limits.document_object_limit + 1)
    return Outcome::fail(Reason::LimitDocumentObjects,
                         "pdf: declares " + std::to_string(declared) + " objects");
  std::string output;
  int page_count = 0;
  try {
    std::unique_ptr<poppler::document> doc(poppler::document::load_from_raw_data(
        part.data.data(), static_cast<int>(part.data.size())));
    if (!doc) return Outcome::fail(Reason::CdrFailed, "pdf: poppler could not load it");
    if (doc->is_locked())
      return Outcome::fail(Reason::ContentEncrypted, "pdf: a password is needed to open it");
    page_count = doc->pages();
    if (page_count <= 0) return Outcome::fail(Reason::CdrFailed, "pdf: no pages");
    if (page_count > options.flatten_max_pages)
      return Outcome::fail(Reason::LimitDocumentObjects,
                           "pdf: " + std::to_string(page_count) + " pages to flatten");
    if (auto stop = refuseUnreadableFonts(*doc)) return std::move(*stop);
    std::uint64_t largest = 0;
    if (auto stop = checkPageSizes(*doc, page_count, options.flatten_dpi, ctx.limits, largest))
      return std::move(*stop);
    // One RGB page buffer lives at a time, plus its JPEG.
    if (auto r = ctx.budget.chargeDecoded(largest * 3)) return Outcome::fail(*r);

    QPDF out;
    makeQuiet(out);
    out.emptyPDF();
    if (auto stop = renderPages(*doc, part.data, page_count, options.flatten_dpi, largest, out, ctx))
      return std::move(*stop);

    QPDFWriter w(out);
    StringSink sink(output);
    w.setOutputPipeline(&sink);
    w.setStreamDataMode(qpdf_s_preserve);  // JPEGs as they are; content streams are tiny
    w.setLinearization(false);
    w.registerProgressReporter(deadlineReporter(ctx.budget));
    w.write();
  } catch (const BudgetHit& hit) {
    return Outcome::fail(hit.reason, "pdf: limit reached while flattening");
  } catch (const std::exception&) {
    return Outcome::fail(Reason::CdrFailed, "pdf: could not be flattened");
  }
  if (output.empty()) return Outcome::fail(Reason::CdrFailed, "pdf: empty output");
  if (auto r = ctx.budget.chargeDecoded(output.size())) return Outcome::fail(*r);

  Part next = replacedPart(part, std::move(output));
  Outcome o = Outcome::replace(std::move(next), Reason::CdrConverted);
  o.findings.push_back({"pages", std::to_string(page_count)});
  o.findings.push_back({"flattened", std::to_string(page_count) + " pages as images at " +
                                         std::to_string(options.flatten_dpi) + " dpi"});
  return o;
}

}  // namespace mugai::sanitizers::pdf
