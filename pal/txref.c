/*
 * txref.c - counting a run's transmit references (pal/txref.h).
 */
#include <string.h>

#include "pal/txref.h"

void
txref_init(struct txref *r)
{
	memset(r, 0, sizeof(*r));
	r->idle.set = true;
}

void
txref_take(struct txref *r, uint32_t epoch)
{
	r->taken++;
	if (epoch != r->epoch)
		return;
	r->out++;
	sched_event_clear(&r->idle);
}

void
txref_put(struct sched *s, struct txref *r, uint32_t epoch)
{
	r->released++;
	if (epoch != r->epoch || r->out == 0) {
		r->stale++;
		return;
	}
	if (--r->out == 0)
		sched_event_set(s, &r->idle);
}

uint32_t
txref_drain(struct sched *s, struct txref *r, uint64_t deadline)
{
	while (r->out > 0 && sched_wait(s, &r->idle, deadline) == 0)
		;
	uint32_t left = r->out;
	r->abandoned += left;
	r->epoch++;
	r->out = 0;
	r->idle.set = true;
	return left;
}
