# sanitizer.ole2 reads and writes OLE2 compound files with libgsf (libgsf-1-dev).
pkg_check_modules(GSF REQUIRED IMPORTED_TARGET libgsf-1)
target_link_libraries(${SANITIZER_TARGET} PUBLIC PkgConfig::GSF)
# Word field codes: the tokenizer and dangerous-field list shared with ooxml and rtf.
target_link_libraries(${SANITIZER_TARGET} PUBLIC mugai_office)
