# tests/: each area keeps its tests and their registration in its own
# folder: tests/<area>/module.mk uses $(call host_test,...) and appends
# scripts to INTEG_TESTS.
include $(wildcard tests/*/module.mk)
# tests/run.sh itself: a silent script is a failure, counts are honest.
INTEG_TESTS += tests/run_check.sh
