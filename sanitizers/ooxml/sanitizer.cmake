# The shared bounded ZIP reader/writer and XML scanner (src/zip).
target_link_libraries(${SANITIZER_TARGET} PUBLIC mugai_zip)
# Pictures inside a package go through the image chain (sanitizers/image).
target_link_libraries(${SANITIZER_TARGET} PUBLIC mugai_sanitizer_image)
# Word field codes: the tokenizer and dangerous-field list shared with ole2 and rtf.
target_link_libraries(${SANITIZER_TARGET} PUBLIC mugai_office)
