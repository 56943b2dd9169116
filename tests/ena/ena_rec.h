/*
 * ena_rec.h - a recording wrapper backend for host tests: wraps the
 * hw_ops backend a device already has and writes every seam call as a
 * trace event (docs/trace-format.md) to a stdio stream, so a simulator
 * run can be committed as a trace and replayed (tests/hw/hw_replay.c).
 */
#ifndef TERN_TESTS_ENA_REC_H
#define TERN_TESTS_ENA_REC_H

#include <stdio.h>

#include "kernel/hw/hw.h"

struct ena_rec {
	const struct hw_ops *inner;
	void *inner_backend;
	FILE *out;
};

extern const struct hw_ops ena_rec_ops;
/* Wrap d's backend (set it up first); events go to out from seq 0. */
void ena_rec_attach(struct ena_rec *r, struct hw_dev *d, FILE *out);
/* Give d its own backend back. */
void ena_rec_detach(struct ena_rec *r, struct hw_dev *d);

#endif
