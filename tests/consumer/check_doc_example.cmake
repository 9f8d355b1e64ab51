# docs/api.md shows tests/consumer/main.cpp verbatim between the markers
#   <!-- BEGIN tests/consumer/main.cpp ... -->  ```cpp ... ```  <!-- END tests/consumer/main.cpp -->
# Fails when the copy and the file differ (writing the copy to WORK_DIR/api-md-example.cpp).
# Arguments: -DDOC=<api.md> -DSOURCE=<main.cpp> -DWORK_DIR=<scratch folder>.
file(READ "${DOC}" doc)
file(READ "${SOURCE}" source)
string(FIND "${doc}" "<!-- BEGIN tests/consumer/main.cpp" begin)
string(FIND "${doc}" "<!-- END tests/consumer/main.cpp -->" end)
if(begin EQUAL -1 OR end EQUAL -1 OR end LESS begin)
  message(FATAL_ERROR "${DOC}: markers of the tests/consumer/main.cpp block not found")
endif()
math(EXPR length "${end} - ${begin}")
string(SUBSTRING "${doc}" ${begin} ${length} block)
set(open_fence "```cpp\n")
string(FIND "${block}" "${open_fence}" code_begin)
string(FIND "${block}" "\n```\n" code_end REVERSE)
if(code_begin EQUAL -1 OR code_end EQUAL -1)
  message(FATAL_ERROR "${DOC}: no ```cpp code block between the markers")
endif()
string(LENGTH "${open_fence}" fence_length)
math(EXPR code_begin "${code_begin} + ${fence_length}")
math(EXPR code_length "${code_end} + 1 - ${code_begin}")
string(SUBSTRING "${block}" ${code_begin} ${code_length} code)
if(NOT code STREQUAL source)
  file(WRITE "${WORK_DIR}/api-md-example.cpp" "${code}")
  message(FATAL_ERROR "the example in ${DOC} differs from ${SOURCE}; compare "
                      "${WORK_DIR}/api-md-example.cpp with it")
endif()
message(STATUS "the example in ${DOC} is identical to ${SOURCE}")
