# MrAddJob.cmake -- mr_add_job(NAME SOURCES ... [LIBS ...]): a job module.
#
# A job is a MODULE named exactly NAME.so (no "lib" prefix): `mr-run NAME`
# opens NAME.so and calls mr_job_NAME_init. Symbols are hidden by default,
# so the module exports only what MR_JOB_PLUGIN marks MR_PUBLIC.
function(mr_add_job name)
  cmake_parse_arguments(J "" "" "SOURCES;LIBS" ${ARGN})
  add_library(${name} MODULE ${J_SOURCES})
  set_target_properties(${name} PROPERTIES
    PREFIX "" OUTPUT_NAME ${name}
    C_VISIBILITY_PRESET hidden
    LIBRARY_OUTPUT_DIRECTORY ${MR_JOB_OUTPUT_DIRECTORY}
    INSTALL_RPATH "$ORIGIN/../../../${CMAKE_INSTALL_LIBDIR}")
  target_compile_options(${name} PRIVATE ${MR_WARNINGS})
  target_link_libraries(${name} PRIVATE mr ${J_LIBS})
  install(TARGETS ${name} LIBRARY DESTINATION ${MR_JOB_DIR_REL})
endfunction()
