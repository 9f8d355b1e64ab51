# Generates <cldyn/version.hpp> with the project version and the git hash of the source tree.
# The hash is refreshed at every build (the file is rewritten only when it changes).
set(CLDYN_VERSION_HEADER ${PROJECT_BINARY_DIR}/generated/cldyn/version.hpp)
add_custom_target(cldyn_version_header
  COMMAND ${CMAKE_COMMAND} -DSOURCE_DIR=${PROJECT_SOURCE_DIR} -DOUTPUT=${CLDYN_VERSION_HEADER}
          -DVERSION=${PROJECT_VERSION} -P ${PROJECT_SOURCE_DIR}/cmake/WriteVersion.cmake
  BYPRODUCTS ${CLDYN_VERSION_HEADER}
  COMMENT "cldyn version header")
execute_process(COMMAND ${CMAKE_COMMAND} -DSOURCE_DIR=${PROJECT_SOURCE_DIR}
                -DOUTPUT=${CLDYN_VERSION_HEADER} -DVERSION=${PROJECT_VERSION}
                -P ${PROJECT_SOURCE_DIR}/cmake/WriteVersion.cmake)
