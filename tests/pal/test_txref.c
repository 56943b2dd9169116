/*
 * test_txref.c: pal/txref.c on the real scheduler with a fake clock.  A
 * "NIC" in the poll hook releases references at set times; the drainer
 * thread stands for the supervisor between two runs of a workload.  The
 * idle hook jumps the clock to the next release or the drain deadline.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/asan_interface.h>
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "detect_leaks=0"; }
#endif

#include "pal/sched.h"
#include "pal/txref.h"

#define MS 1000000ULL
#define STACK 65536
#define NREL 8

static struct sched S;
static struct sched_thread th;
static uint8_t *stack;
static uint64_t clock_ns;
static struct txref R;
/* Pending NIC completions: at time rel_at[i], put a reference of
   rel_epoch[i]; UINT64_MAX: done. */
static uint64_t rel_at[NREL];
static uint32_t rel_epoch[NREL];
static uint64_t drain_deadline;
static uint32_t drain_left;
static uint64_t drain_end;

static uint64_t fake_now(void *ctx) { (void)ctx; return clock_ns; }

static int
fake_poll(void *ctx)
{
	(void)ctx;
	int n = 0;
	for (int i = 0; i < NREL; i++) {
		if (rel_at[i] <= clock_ns) {
			rel_at[i] = UINT64_MAX;
			txref_put(&S, &R, rel_epoch[i]);
			n++;
		}
	}
	return n;
}

static void
fake_idle(void *ctx, uint64_t deadline)
{
	(void)ctx;
	uint64_t next = deadline;
	for (int i = 0; i < NREL; i++)
		if (rel_at[i] < next)
			next = rel_at[i];
	assert_true(next != SCHED_FOREVER);	/* would hang */
	clock_ns = next;
}

static void
drainer(void *arg)
{
	(void)arg;
	drain_left = txref_drain(&S, &R, drain_deadline);
	drain_end = clock_ns;
}

static void
run_drain(uint64_t deadline)
{
	drain_deadline = deadline;
	sched_thread_init(&S, &th, stack, STACK, drainer, NULL, 0);
	sched_run(&S);
}

static int
setup(void **state)
{
	(void)state;
	stack = malloc(STACK);
	clock_ns = 0;
	for (int i = 0; i < NREL; i++)
		rel_at[i] = UINT64_MAX;
	sched_init(&S, fake_now, fake_poll, fake_idle, NULL);
	txref_init(&R);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	free(stack);
	return 0;
}

/* Nothing lent: the drain returns at once and the epoch moves on. */
static void
test_nothing_out(void **state)
{
	(void)state;
	run_drain(100 * MS);
	assert_int_equal(drain_left, 0);
	assert_int_equal(drain_end, 0);
	assert_int_equal(txref_epoch(&R), 1);
}

/* The NIC completes the last frame at 30 ms: the drain waits exactly
   that long, not for the deadline. */
static void
test_waits_for_last_release(void **state)
{
	(void)state;
	uint32_t ep = txref_epoch(&R);
	for (int i = 0; i < 3; i++) {
		txref_take(&R, ep);
		rel_epoch[i] = ep;
		rel_at[i] = (uint64_t)(10 + 10 * i) * MS;
	}
	run_drain(1000 * MS);
	assert_int_equal(drain_left, 0);
	assert_int_equal(drain_end, 30 * MS);
	assert_int_equal(R.released, 3);
	assert_int_equal(R.abandoned, 0);
}

/* A frame that never comes back: the drain gives up at the deadline and
   reports it; its late release (and one from before) is stale and does
   not disturb the next run's count. */
static void
test_gives_up_at_deadline(void **state)
{
	(void)state;
	uint32_t ep = txref_epoch(&R);
	txref_take(&R, ep);
	txref_take(&R, ep);
	rel_epoch[0] = ep;
	rel_at[0] = 5 * MS;
	run_drain(200 * MS);
	assert_int_equal(drain_left, 1);
	assert_int_equal(drain_end, 200 * MS);
	assert_int_equal(R.abandoned, 1);

	uint32_t ep2 = txref_epoch(&R);
	assert_int_not_equal(ep2, ep);
	txref_take(&R, ep2);
	txref_put(&S, &R, ep);		/* the late one of the old run */
	assert_int_equal(R.stale, 1);
	assert_int_equal(R.out, 1);
	rel_epoch[1] = ep2;
	rel_at[1] = 250 * MS;
	run_drain(1000 * MS);
	assert_int_equal(drain_left, 0);
	assert_int_equal(drain_end, 250 * MS);
}

/* A socket of an ended run that still sends is not counted against the
   new run; a put with nothing out does not underflow. */
static void
test_old_epoch_not_counted(void **state)
{
	(void)state;
	uint32_t ep = txref_epoch(&R);
	txref_take(&R, ep + 7);
	assert_int_equal(R.out, 0);
	txref_put(&S, &R, ep);
	assert_int_equal(R.out, 0);
	assert_int_equal(R.stale, 1);
	run_drain(10 * MS);
	assert_int_equal(drain_left, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_nothing_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_waits_for_last_release, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gives_up_at_deadline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_old_epoch_not_counted, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
