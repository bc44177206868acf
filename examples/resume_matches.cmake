# CTest driver (cmake -P) for the examples that save and resume (char_lm, mnist): trained straight for
# EPOCHS epochs, the example must print the same final line (LINE, e.g. "final loss", followed by
# " after epoch <n>: ..." with %.17g numbers) as a run saved after HALF epochs (--save) and continued
# by a second process (--resume). Arguments: -DEXE=path -DWORK_DIR=dir -DEPOCHS=n -DHALF=k
# -DLINE="final loss" [-DOPTIONS="--cell gru" (given to every run)] [-DRESUME_OPTIONS="--sample 60"
# (to the resumed run only)].
file(MAKE_DIRECTORY ${WORK_DIR})
separate_arguments(OPTIONS UNIX_COMMAND "${OPTIONS}")
separate_arguments(RESUME_OPTIONS UNIX_COMMAND "${RESUME_OPTIONS}")
get_filename_component(name ${EXE} NAME)
function(run out_var epoch)
  execute_process(COMMAND ${EXE} ${OPTIONS} ${ARGN} WORKING_DIRECTORY ${WORK_DIR}
                  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
  message("$ ${EXE} ${OPTIONS} ${ARGN}\n${out}${err}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${name} exited with ${rc}")
  endif()
  string(REGEX MATCH "${LINE} after epoch ${epoch}: [^\n]*" line "${out}")
  if(NOT line)
    message(FATAL_ERROR "no '${LINE} after epoch ${epoch}' line")
  endif()
  set(${out_var} "${line}" PARENT_SCOPE)
endfunction()
run(straight ${EPOCHS} --epochs ${EPOCHS})
run(first_half ${HALF} --epochs ${HALF} --save ${WORK_DIR}/ckpt)
run(resumed ${EPOCHS} --epochs ${EPOCHS} --resume ${WORK_DIR}/ckpt ${RESUME_OPTIONS})
if(NOT straight STREQUAL resumed)
  message(FATAL_ERROR "resume mismatch:\n  straight: ${straight}\n  resumed:  ${resumed}")
endif()
message("resumed run matches: ${resumed}")
