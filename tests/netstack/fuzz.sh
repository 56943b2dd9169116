#!/usr/bin/env bash
# fuzz.sh - the netstack's per-layer fuzzers (build/fuzz/netstack_<layer>,
# built from fuzz_input.c), each for a bounded time over its committed seed
# corpus tests/netstack/corpus/<layer>/; any crash or broken invariant
# fails.  6 s each, under a minute in all (FUZZ_SECONDS overrides).
cd "$(dirname "$0")/../.."
rc=0
for layer in eth:1600 arp:64 ip:4096 icmp:1500 udp:1500 tcp:2048 dhcp:2048 dns:2048; do
	name=${layer%%:*} max=${layer#*:}
	tests/fuzz-run.sh "netstack_$name" 6 "$max" tests/netstack/corpus/"$name"/* || rc=1
done
exit $rc
