# Word field codes: the tokenizer and dangerous-field list shared with ooxml and ole2.
target_link_libraries(${SANITIZER_TARGET} PUBLIC mugai_office)
