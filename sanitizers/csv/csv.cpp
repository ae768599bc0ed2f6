// sanitizer.csv (see csv.h and README.md).
#include "sanitizers/csv/csv.h"

#include <vector>

namespace mugai::sanitizers::csv {
namespace {

/// The text as code units: bytes, or 16-bit units of UTF-16 (BOM decides the byte order).
class Units {
 public:
  explicit Units(std::string_view d) : d_(d) {
    if (d.size() >= 2 && static_cast<unsigned char>(d[0]) == 0xFF && static_cast<unsigned char>(d[1]) == 0xFE) {
      width_ = 2;
      little_ = true;
    } else if (d.size() >= 2 && static_cast<unsigned char>(d[0]) == 0xFE && static_cast<unsigned char>(d[1]) == 0xFF) {
      width_ = 2;
      little_ = false;
    }
  }
  std::size_t size() const { return d_.size() / width_; }
  std::size_t width() const { return width_; }
  unsigned at(std::size_t i) const {
    if (i >= size()) return 0x110000;  // past the end: nothing matches
    if (width_ == 1) return static_cast<unsigned char>(d_[i]);
    unsigned a = static_cast<unsigned char>(d_[2 * i]), b = static_cast<unsigned char>(d_[2 * i + 1]);
    return little_ ? (a | (b << 8)) : ((a << 8) | b);
  }
  std::string quote() const {
    if (width_ == 1) return "'";
    return little_ ? std::string("'\0", 2) : std::string("\0'", 2);
  }
  std::size_t firstUnit() const {
    if (width_ == 2) return 1;  // the BOM
    if (d_.substr(0, 3) == "\xEF\xBB\xBF") return 3;
    return 0;
  }

 private:
  std::string_view d_;
  std::size_t width_ = 1;
  bool little_ = true;
};

bool separator(unsigned c) { return c == ',' || c == ';' || c == '\t'; }
bool lineEnd(unsigned c) { return c == '\r' || c == '\n'; }

/// Number of units of a formula trigger at i (0: none). `quoted`: inside an opening quote, where
/// TAB and CR are cell content (OWASP lists both).
std::size_t trigger(const Units& u, std::size_t i, bool quoted) {
  unsigned c = u.at(i);
  if (c == '=' || c == '+' || c == '-' || c == '@') return 1;
  if (quoted && (c == '\t' || c == '\r')) return 1;
  if (u.width() == 2) return (c == 0xFF1D || c == 0xFF0B || c == 0xFF0D || c == 0xFF20) ? 1 : 0;
  unsigned c1 = u.at(i + 1), c2 = u.at(i + 2);
  if (c == 0xEF && c1 == 0xBC && (c2 == 0x9D || c2 == 0x8B || c2 == 0x8D || c2 == 0xA0)) return 3;  // UTF-8
  if (c == 0x81 && (c1 == 0x81 || c1 == 0x7B || c1 == 0x7C || c1 == 0x97)) return 2;              // CP932
  return 0;
}

/// A plain signed number from i to the end of the cell ("-5", "+3.25", "-1,000" unquoted stops
/// at the ',', which is fine: the rest is its own cell).
bool signedNumber(const Units& u, std::size_t i, bool quoted) {
  unsigned c = u.at(i);
  if (c != '-' && c != '+') return false;
  std::size_t j = i + 1;
  if (!(u.at(j) >= '0' && u.at(j) <= '9')) return false;
  while (j < u.size()) {
    unsigned d = u.at(j);
    if ((d >= '0' && d <= '9') || d == '.') {
      ++j;
      continue;
    }
    if (quoted ? d == '"' : (separator(d) || lineEnd(d))) return true;
    if (quoted && d == ',') {
      ++j;
      continue;
    }
    return false;
  }
  return true;
}

}  // namespace

Result neutraliseFormulas(std::string_view data, const Options& options) {
  Units u(data);
  std::vector<std::size_t> inserts;  // unit positions that get a "'" before them
  bool in_quotes = false, cell_start = true;
  for (std::size_t i = u.firstUnit(); i < u.size();) {
    if (cell_start) {
      cell_start = false;
      std::size_t k = i;
      while (u.at(k) == ' ') ++k;
      bool quoted = u.at(k) == '"';
      if (quoted) {
        ++k;
        while (u.at(k) == ' ') ++k;
      }
      if (trigger(u, k, quoted) && !(options.keep_numbers && signedNumber(u, k, quoted))) inserts.push_back(k);
    }
    unsigned c = u.at(i);
    if (in_quotes) {
      if (c == '"') {
        if (u.at(i + 1) == '"') {
          i += 2;
          continue;
        }
        in_quotes = false;
      }
    } else if (c == '"') {
      in_quotes = true;
    } else if (separator(c) || lineEnd(c)) {
      cell_start = true;
    }
    ++i;
  }
  Result r;
  r.neutralised = inserts.size();
  if (inserts.empty()) {
    r.data.assign(data);
    return r;
  }
  std::string q = u.quote();
  r.data.reserve(data.size() + inserts.size() * q.size());
  std::size_t from = 0;
  for (std::size_t unit : inserts) {
    std::size_t at = unit * u.width();
    r.data.append(data.substr(from, at - from));
    r.data += q;
    from = at;
  }
  r.data.append(data.substr(from));
  return r;
}

Outcome CsvSanitizer::apply(const Part& part, MessageContext& ctx) const {
  if (auto over = ctx.budget.chargeDecoded(part.data.size())) return Outcome::fail(*over);
  Result r = neutraliseFormulas(part.data, options_);
  if (r.neutralised == 0) return Outcome::keep();
  Part next = replacedPart(part, std::move(r.data));
  next.output_type = "text/csv";  // still CSV text: keeps its name (no ".txt" as for conversions)
  Outcome out = Outcome::replace(std::move(next), Reason::CdrRebuilt);
  out.findings.push_back({"neutralised", std::to_string(r.neutralised) + " cell(s) that start a formula (=, +, -, @, TAB, CR) now start with '"});
  return out;
}

namespace {

class Factory : public SanitizerFactory {
 public:
  std::string_view name() const override { return "sanitizer.csv"; }
  std::string_view summary() const override {
    return "CSV/TSV text: every cell that a spreadsheet would read as a formula (=, +, -, @, TAB, "
           "CR, also full-width) gets a leading ' (OWASP CSV injection); bytes and charset kept.";
  }
  std::vector<ParamSpec> describe() const override {
    return {{"keep_numbers", ParamSpec::Kind::Bool, "true", 0, 0,
             "Leave signed numbers (-5, +3.25) as they are."}};
  }
  SanitizerConstSharedPtr create(const SanitizerParams& params, std::string* error) const override {
    auto specs = describe();
    if (auto err = params.validate(specs)) {
      *error = *err;
      return nullptr;
    }
    Options o;
    o.keep_numbers = params.getBool(specs, "keep_numbers");
    return std::make_shared<const CsvSanitizer>(o);
  }
};

}  // namespace

SanitizerFactoryPtr makeFactory() { return std::make_unique<Factory>(); }

}  // namespace mugai::sanitizers::csv
