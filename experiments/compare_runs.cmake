# Reproducibility: runs one check twice with the same seed, at --threads 1 and --threads 2, and
# requires the two JSON results to be identical outside the top-level "timing" object (and, for
# experiments, outside each entry's "seconds" in the top-level "runs" array: training wall times).
# Arguments: -DEXE=<check executable> -DNAME=<json stem> -DWORK_DIR=<scratch> [-DARGS=<;-list>]
file(REMOVE_RECURSE ${WORK_DIR})
foreach(threads 1 2)
  execute_process(COMMAND ${EXE} --smoke --quiet --seed 11 --threads ${threads} --out ${WORK_DIR}/t${threads} ${ARGS}
                  RESULT_VARIABLE rc OUTPUT_QUIET)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${EXE} --threads ${threads} exited with ${rc}")
  endif()
  file(READ ${WORK_DIR}/t${threads}/${NAME}.json json)
  string(JSON json REMOVE "${json}" timing)
  string(JSON n_runs ERROR_VARIABLE no_runs LENGTH "${json}" runs)
  if(NOT no_runs AND n_runs GREATER 0)
    math(EXPR last "${n_runs} - 1")
    foreach(i RANGE ${last})
      string(JSON json REMOVE "${json}" runs ${i} seconds)
    endforeach()
  endif()
  set(result_${threads} "${json}")
endforeach()
if(NOT result_1 STREQUAL result_2)
  file(WRITE ${WORK_DIR}/t1.json "${result_1}")
  file(WRITE ${WORK_DIR}/t2.json "${result_2}")
  message(FATAL_ERROR "results differ between 1 and 2 threads: compare ${WORK_DIR}/t1.json and t2.json")
endif()
message(STATUS "identical at 1 and 2 threads")
