/*
 * siphash.h - SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast
 * short-input PRF", 2012), the keyed function behind TCP's initial
 * sequence numbers (RFC 6528) and SYN cookies: with a secret 128-bit key
 * its output cannot be predicted from outputs seen on the wire.
 */
#ifndef TERN_SIPHASH_H
#define TERN_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t siphash24(const uint64_t key[2], const void *data, size_t len);

#endif
