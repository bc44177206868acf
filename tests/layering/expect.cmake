# Runs the layering check (cmake/CheckLayering.cmake) on one fixture file of tests/layering/ and
# checks its verdict: with EXPECT, the check must fail with a message matching EXPECT (file:line,
# include and rule); without, it must pass.
#   cmake -DSCRIPT=<CheckLayering.cmake> -DRULES=<rules> -DROOT=<tests/layering> -DFILE=<path in ROOT>
#         [-DEXPECT=<regex>] -P expect.cmake
cmake_minimum_required(VERSION 3.25)
execute_process(COMMAND ${CMAKE_COMMAND} -DROOT=${ROOT} -DRULES=${RULES} -DFILES=${FILE} -P ${SCRIPT}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
message(STATUS "layering check on ${FILE}: exit status ${rc}\n${out}")
if(DEFINED EXPECT)
  if(rc EQUAL 0)
    message(FATAL_ERROR "the layering check accepted ${FILE}, which breaks a rule")
  endif()
  if(NOT out MATCHES "${EXPECT}")
    message(FATAL_ERROR "the layering check failed on ${FILE}, but its message does not match: ${EXPECT}")
  endif()
elseif(NOT rc EQUAL 0)
  message(FATAL_ERROR "the layering check rejected ${FILE}, which breaks no rule")
endif()
