# tests/: each area keeps its tests and their registration in its own
# folder: tests/<area>/module.mk uses $(call host_test,...) and appends
# scripts to INTEG_TESTS.
include $(wildcard tests/*/module.mk)
