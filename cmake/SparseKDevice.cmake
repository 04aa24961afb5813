# Programs that run on a GPU machine, built here (where LLVM/MLIR and the
# CUDA toolkit are) by the `sparsek-device` target and carried there by
# scripts/device-build.sh. Their kernels come from the project's own
# compiler: each .mlir is compiled by sparsek-compile --target=cuda into an
# object at build time. Not part of `all`: compiling every grid kernel for
# CUDA takes a while, and CI has no GPU to run them.

add_custom_target(sparsek-device)

# sparsek_cuda_object(<var> <name> <input.mlir> [DEPENDS ...]): compiles
# <input.mlir> for CUDA into <name>.o; <var> gets the object's path.
function(sparsek_cuda_object var name input)
  cmake_parse_arguments(ARG "" "" "DEPENDS" ${ARGN})
  set(obj ${CMAKE_CURRENT_BINARY_DIR}/${name}.o)
  add_custom_command(OUTPUT ${obj}
    COMMAND sparsek-compile --target=cuda ${input} -o ${obj}
    DEPENDS sparsek-compile ${input} ${ARG_DEPENDS}
    COMMENT "sparsek-compile --target=cuda ${name}")
  set(${var} ${obj} PARENT_SCOPE)
endfunction()

# sparsek_device_program(<name> SOURCES ... OBJECTS ... [LIBS ...]): an
# executable of the sparsek-device target, in bin/device/, linked against
# the CUDA runtime with an rpath of $ORIGIN (the runtime is copied beside
# it).
function(sparsek_device_program name)
  cmake_parse_arguments(ARG "" "" "SOURCES;OBJECTS;LIBS" ${ARGN})
  add_executable(${name} EXCLUDE_FROM_ALL ${ARG_SOURCES} ${ARG_OBJECTS})
  target_include_directories(${name} PRIVATE ${SPARSEK_SOURCE_DIR}/include)
  target_link_libraries(${name} PRIVATE sparsek_cuda_runtime ${ARG_LIBS})
  set_target_properties(${name} PROPERTIES
    RUNTIME_OUTPUT_DIRECTORY ${SPARSEK_BINARY_DIR}/bin/device
    BUILD_RPATH "$ORIGIN"
    CXX_STANDARD 17)
  add_dependencies(sparsek-device ${name})
endfunction()

add_custom_command(TARGET sparsek-device POST_BUILD
  COMMAND ${CMAKE_COMMAND} -E copy $<TARGET_FILE:sparsek_cuda_runtime>
          ${SPARSEK_BINARY_DIR}/bin/device/
  COMMENT "Copying the CUDA runtime beside the device programs")
