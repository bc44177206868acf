# CTest driver (cmake -P): mnist trained straight for EPOCHS epochs must print the same final test
# loss and accuracy, to the last bit (%.17g), as a run saved after HALF epochs (--save) and continued
# by a second process (--resume): weights, optimizer, the shuffling sampler and the global generator
# (dropout) all come back. Arguments: -DEXE=mnist -DWORK_DIR=dir -DEPOCHS=n -DHALF=k; the other
# options (a small generated data set) are fixed here.
file(MAKE_DIRECTORY ${WORK_DIR})
set(COMMON --data ${WORK_DIR}/no_mnist_here --train-count 600 --test-count 200 --lr 0.05 --workers 2)
function(run_mnist out_var epoch)
  execute_process(COMMAND ${EXE} ${COMMON} ${ARGN} WORKING_DIRECTORY ${WORK_DIR}
                  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
  message("$ ${EXE} ${COMMON} ${ARGN}\n${out}${err}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "mnist exited with ${rc}")
  endif()
  string(REGEX MATCH "final test loss after epoch ${epoch}: [^\n]*" line "${out}")
  if(NOT line)
    message(FATAL_ERROR "no 'final test loss after epoch ${epoch}' line")
  endif()
  set(${out_var} "${line}" PARENT_SCOPE)
endfunction()
run_mnist(straight ${EPOCHS} --epochs ${EPOCHS})
run_mnist(first_half ${HALF} --epochs ${HALF} --save ${WORK_DIR}/ckpt)
run_mnist(resumed ${EPOCHS} --epochs ${EPOCHS} --resume ${WORK_DIR}/ckpt)
if(NOT straight STREQUAL resumed)
  message(FATAL_ERROR "resume mismatch:\n  straight: ${straight}\n  resumed:  ${resumed}")
endif()
message("resume matches: ${resumed}")
