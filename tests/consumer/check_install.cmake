# Installs the build tree into a fresh prefix, then configures, builds and runs the consumer
# project against it. Arguments: -DBUILD_DIR=<cldyn build> -DSOURCE_DIR=<this folder>
# -DWORK_DIR=<scratch folder>.
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
# Runs a command in WORK_DIR; fails on a non-zero exit status. Its stdout goes to the variable
# `output` of the caller (and is echoed).
function(run)
  execute_process(COMMAND ${ARGN} WORKING_DIRECTORY ${WORK_DIR} RESULT_VARIABLE rc
                  OUTPUT_VARIABLE out)
  message(STATUS "${out}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}")
  endif()
  set(output "${out}" PARENT_SCOPE)
endfunction()
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/prefix)
run(${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/build -DCMAKE_BUILD_TYPE=Release
    -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix)
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
# Without arguments the program writes x.npy and x_prime.npy (save_npy) and reads them back
# (load_npy); given the two files it reads them and must train to the same numbers.
run(${WORK_DIR}/build/consumer)
set(generated "${output}")
foreach(file x.npy x_prime.npy)
  if(NOT EXISTS ${WORK_DIR}/${file})
    message(FATAL_ERROR "the consumer did not write ${WORK_DIR}/${file}")
  endif()
endforeach()
run(${WORK_DIR}/build/consumer x.npy x_prime.npy)
string(REGEX REPLACE ", best pattern cos = [^\n]*" "" generated "${generated}")
if(NOT output STREQUAL generated)
  message(FATAL_ERROR "reading the saved views gave other results:\n${output}\nthan the "
                      "generated views:\n${generated}")
endif()
# A file that is not NPY is refused with a message naming it, exit status 1.
file(WRITE ${WORK_DIR}/bad.npy "not an npy file")
execute_process(COMMAND ${WORK_DIR}/build/consumer bad.npy x_prime.npy WORKING_DIRECTORY ${WORK_DIR}
                RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 1 OR NOT err MATCHES "bad\\.npy")
  message(FATAL_ERROR "bad.npy: expected exit status 1 and a message naming it, got ${rc}: ${err}")
endif()
