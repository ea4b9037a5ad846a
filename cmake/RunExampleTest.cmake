# Installs the C++ component of the build in BINARY_DIR into a scratch
# prefix, then configures, builds and runs the example in SOURCE_DIR against
# it with find_package(ambervault). Used by the cpp_example_find_package test.
file(REMOVE_RECURSE "${WORK_DIR}")
set(prefix "${WORK_DIR}/prefix")
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "command failed (${rc}): ${ARGN}")
  endif()
endfunction()
run(${CMAKE_COMMAND} --install "${BINARY_DIR}" --prefix "${prefix}" --component cpp)
run(${CMAKE_COMMAND} -S "${SOURCE_DIR}" -B "${WORK_DIR}/build" "-DCMAKE_PREFIX_PATH=${prefix}")
run(${CMAKE_COMMAND} --build "${WORK_DIR}/build")
run("${WORK_DIR}/build/kv_example" "${WORK_DIR}/example.db")
run("${WORK_DIR}/build/column_example" "${WORK_DIR}/columns.db")
