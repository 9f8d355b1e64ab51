# The layering of docs/contributing.md, checked on the sources: a file of a layer includes only
# cldyn headers of the layers it may include. Run as
#   cmake -DSOURCE_DIR=<repository root> -P tests/layering.cmake
# Fails (FATAL_ERROR) listing every include that goes up or sideways.
#
# layer                 its files                      may include cldyn headers of
#   core                lib/cldyn/core                 core
#   data                lib/cldyn/data                 core, data
#   models              lib/cldyn/models               core, data, models
#   train               lib/cldyn/train                core, data, models, train
#   analysis            analysis/cldyn/analysis        lib (every folder, and cldyn/core.hpp,
#                                                      cldyn/version.hpp), analysis
# and lib/ never includes analysis/ or experiments/ (nor does analysis/ include experiments/).
if(NOT SOURCE_DIR)
  message(FATAL_ERROR "layering.cmake: pass -DSOURCE_DIR=<repository root>")
endif()

set(violations "")
function(check_layer folder allowed_regex)
  file(GLOB_RECURSE files ${SOURCE_DIR}/${folder}/*.hpp ${SOURCE_DIR}/${folder}/*.cpp)
  if(NOT files)
    message(FATAL_ERROR "layering.cmake: no sources under ${folder}")
  endif()
  foreach(f ${files})
    file(STRINGS ${f} includes REGEX "^#include [\"<]cldyn/")
    foreach(line ${includes})
      string(REGEX REPLACE "^#include [\"<]([^\">]*)[\">].*" "\\1" header "${line}")
      if(NOT header MATCHES "${allowed_regex}")
        file(RELATIVE_PATH rel ${SOURCE_DIR} ${f})
        list(APPEND violations "${rel}: ${header}")
      endif()
    endforeach()
  endforeach()
  set(violations "${violations}" PARENT_SCOPE)
endfunction()

check_layer(lib/cldyn/core "^cldyn/(core/|version\\.hpp)")
check_layer(lib/cldyn/data "^cldyn/(core|data)/")
check_layer(lib/cldyn/models "^cldyn/(core|data|models)/")
check_layer(lib/cldyn/train "^cldyn/(core|data|models|train)/")
check_layer(analysis/cldyn/analysis "^cldyn/(core/|data/|models/|train/|analysis/|core\\.hpp|version\\.hpp)")

# Every lib header sits in one of the four folders (besides the umbrella cldyn/core.hpp).
file(GLOB loose ${SOURCE_DIR}/lib/cldyn/*.cpp ${SOURCE_DIR}/lib/cldyn/*.hpp)
foreach(f ${loose})
  get_filename_component(name ${f} NAME)
  if(NOT name STREQUAL "core.hpp")
    list(APPEND violations "lib/cldyn/${name}: outside core/, data/, models/, train/")
  endif()
endforeach()

if(violations)
  list(JOIN violations "\n  " text)
  message(FATAL_ERROR "layering: includes against docs/contributing.md's layers:\n  ${text}")
endif()
message(STATUS "layering: every include of lib/cldyn and analysis/cldyn follows the layers")
