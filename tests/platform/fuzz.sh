#!/usr/bin/env bash
# fuzz.sh - the firmware-table fuzzers (build/fuzz/plat_acpi,
# build/fuzz/plat_smbios; tests/platform/fuzz_*.c) for a bounded time
# each over the committed seed corpus tests/platform/corpus/ (cut from the
# recorded OVMF tables in tests/platform/fixtures, see its README); a crash,
# a sanitizer report or a broken invariant fails.  5 s each (FUZZ_SECONDS
# overrides).
cd "$(dirname "$0")/../.."
rc=0
tests/fuzz-run.sh plat_acpi 5 9000 tests/platform/corpus/acpi/* || rc=1
tests/fuzz-run.sh plat_smbios 5 4096 tests/platform/corpus/smbios/* || rc=1
exit $rc
