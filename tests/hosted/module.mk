# tests/hosted: build/tools/ternsim, the hosted guest, against Linux peers
# on TAP devices in a private network namespace (docs/ternsim.md).
INTEG_TESTS += tests/hosted/ternsim.sh
