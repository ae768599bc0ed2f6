// See xml_check.h.
#include "src/zip/xml_check.h"

#include <expat.h>

#include <climits>
#include <memory>

namespace mugai::zip::xml {
namespace {

struct State {
  XML_Parser parser;
  bool doctype = false;
  bool entity = false;
};

void XMLCALL onDoctype(void* data, const XML_Char*, const XML_Char*, const XML_Char*, int) {
  auto* s = static_cast<State*>(data);
  s->doctype = true;
  XML_StopParser(s->parser, XML_FALSE);
}

void XMLCALL onEntity(void* data, const XML_Char*, int, const XML_Char*, int, const XML_Char*,
                      const XML_Char*, const XML_Char*, const XML_Char*) {
  auto* s = static_cast<State*>(data);
  s->entity = true;
  XML_StopParser(s->parser, XML_FALSE);
}

struct Free {
  void operator()(XML_ParserStruct* p) const { XML_ParserFree(p); }
};

}  // namespace

std::optional<std::string> checkWellFormed(std::string_view xml) {
  if (xml.size() > static_cast<std::size_t>(INT_MAX)) return "part too large for the XML check";
  std::unique_ptr<XML_ParserStruct, Free> p(XML_ParserCreate(nullptr));
  if (!p) return "the XML parser could not be created";
  State s{p.get()};
  XML_SetUserData(p.get(), &s);
  XML_SetStartDoctypeDeclHandler(p.get(), onDoctype);
  XML_SetEntityDeclHandler(p.get(), onEntity);
  XML_SetParamEntityParsing(p.get(), XML_PARAM_ENTITY_PARSING_NEVER);
  XML_Status st = XML_Parse(p.get(), xml.data(), static_cast<int>(xml.size()), XML_TRUE);
  if (s.doctype) return "a DOCTYPE (DTDs are not allowed in a package part)";
  if (s.entity) return "an entity declaration";
  if (st != XML_STATUS_OK) {
    return std::string("not well-formed XML (") + XML_ErrorString(XML_GetErrorCode(p.get())) +
           ", line " + std::to_string(XML_GetCurrentLineNumber(p.get())) + ")";
  }
  return std::nullopt;
}

}  // namespace mugai::zip::xml
