# The shared bounded ZIP reader/writer and XML scanner (src/zip).
target_link_libraries(${SANITIZER_TARGET} PUBLIC mugai_zip)
