# X-ALT-DESC (HTML descriptions) is rendered to text with sanitizer.html_to_text's converter.
target_link_libraries(${SANITIZER_TARGET} PUBLIC mugai_sanitizer_html_to_text)
