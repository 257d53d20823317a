# py_lib.sh -- shared by the python job's tests (source after lib.sh).
# Under ASan/LSan (MR_SANITIZE builds) the interpreter's allocations are
# suppressed as leaks (tests/python/lsan.supp says why), on top of the
# project's own suppressions; the variables are harmless otherwise.
cat "$MR_SOURCE_DIR/tests/lsan.supp" "$MR_SOURCE_DIR/tests/python/lsan.supp" >"$T/lsan.supp"
export LSAN_OPTIONS="suppressions=$T/lsan.supp:print_suppressions=0"
