# sanitizer.ole2 reads and writes OLE2 compound files with libgsf (libgsf-1-dev; found in the top
# CMakeLists.txt for mugai_office, whose directory check it runs first).
target_link_libraries(${SANITIZER_TARGET} PUBLIC PkgConfig::GSF)
# Word field codes (shared with ooxml and rtf) and the compound-file directory check (shared
# with the engine's .msg reader).
target_link_libraries(${SANITIZER_TARGET} PUBLIC mugai_office)
