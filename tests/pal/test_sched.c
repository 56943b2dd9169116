/*
 * test_sched.c: the PAL scheduler (pal/sched.c) on the host with a fake
 * clock.  The idle hook advances the clock to the deadline it is given,
 * so sleeps and timeouts are exact and the tests take no real time; an
 * idle call with no deadline (SCHED_FOREVER) while threads wait forever
 * would hang, so it fails the test instead.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <cmocka.h>

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/asan_interface.h>
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
/* LeakSanitizer's exit-time scan trips over stacks switched by hand (it
   faults and then hangs); sched.c allocates nothing, so leaks are not
   what this test is about. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "detect_leaks=0"; }
#else
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#include "pal/sched.h"

#define STACK 65536
#define NT 8

static struct sched S;
static struct sched_thread th[NT];
static uint8_t *stacks[NT];
static uint64_t clock_ns;
static int polls, reaped, idle_forever;
static char trace[256];
static size_t tlen;
/* A poll hook action: set `poll_ev` when the clock reaches poll_at. */
static struct sched_event *poll_ev;
static uint64_t poll_at;

static uint64_t fake_now(void *ctx) { (void)ctx; return clock_ns; }

static int fake_poll(void *ctx)
{
	(void)ctx;
	polls++;
	if (poll_ev != NULL && clock_ns >= poll_at) {
		sched_event_set(&S, poll_ev);
		poll_ev = NULL;
		return 1;
	}
	return 0;
}

static void fake_idle(void *ctx, uint64_t deadline)
{
	(void)ctx;
	if (deadline == SCHED_FOREVER) {
		/* Only the poll hook can wake anyone: jump to its time. */
		if (poll_ev != NULL && poll_at > clock_ns) {
			clock_ns = poll_at;
			return;
		}
		idle_forever++;
		S.stop = true;
		return;
	}
	if (poll_ev != NULL && poll_at < deadline && poll_at > clock_ns)
		deadline = poll_at;
	clock_ns = deadline;
}

static void fake_reap(void *ctx, struct sched_thread *t)
{
	(void)ctx;
	reaped++;
	UNPOISON(stacks[t - th], STACK);
}

static void put(char c)
{
	if (tlen + 1 < sizeof(trace))
		trace[tlen++] = c;
	trace[tlen] = '\0';
}

static int setup(void **state)
{
	(void)state;
	for (int i = 0; i < NT; i++) {
		if (stacks[i] == NULL) {
			stacks[i] = mmap(NULL, STACK, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			assert_true(stacks[i] != MAP_FAILED);
		}
		UNPOISON(stacks[i], STACK);
	}
	sched_init(&S, fake_now, fake_poll, fake_idle, NULL);
	S.reap = fake_reap;
	clock_ns = 1000;
	polls = reaped = idle_forever = 0;
	tlen = 0;
	trace[0] = '\0';
	poll_ev = NULL;
	return 0;
}

static void spawn(int i, void (*fn)(void *), void *arg, uint32_t group)
{
	sched_thread_init(&S, &th[i], stacks[i], STACK, fn, arg, group);
}

/* Three threads yielding three times each run round-robin. */
static void t_letters(void *arg)
{
	for (int k = 0; k < 3; k++) {
		put(*(const char *)arg);
		sched_yield(&S);
	}
}

static void test_fairness(void **state)
{
	(void)state;
	spawn(0, t_letters, "a", 1);
	spawn(1, t_letters, "b", 1);
	spawn(2, t_letters, "c", 1);
	sched_run(&S);
	assert_string_equal(trace, "abcabcabc");
	assert_int_equal(reaped, 3);
	assert_int_equal(sched_live(&S), 0);
	assert_int_equal(idle_forever, 0);
	assert_true(polls >= 9);	/* the poll hook runs every round */
}

/* Sleepers wake in deadline order, not creation order, and on time. */
static uint64_t woke_at[NT];
struct sl { int idx; uint64_t ns; char c; };

static void t_sleep(void *arg)
{
	struct sl *s = arg;
	sched_sleep_until(&S, clock_ns + s->ns);
	woke_at[s->idx] = clock_ns;
	put(s->c);
}

static void test_sleep_order(void **state)
{
	(void)state;
	struct sl a = { 0, 3000, 'a' }, b = { 1, 1000, 'b' }, c = { 2, 2000, 'c' };
	spawn(0, t_sleep, &a, 1);
	spawn(1, t_sleep, &b, 1);
	spawn(2, t_sleep, &c, 1);
	sched_run(&S);
	assert_string_equal(trace, "bca");
	assert_int_equal(woke_at[1], 2000);
	assert_int_equal(woke_at[2], 3000);
	assert_int_equal(woke_at[0], 4000);
	assert_true(S.idles >= 3);	/* it idled instead of spinning */
}

/* An event wakes its waiter; another waiter times out at its deadline. */
static struct sched_event ev1, ev2;
static int rc_a = 99, rc_b = 99;
static uint64_t t_a, t_b;

static void t_wait_a(void *arg)
{
	(void)arg;
	rc_a = sched_wait(&S, &ev1, SCHED_FOREVER);
	t_a = clock_ns;
}
static void t_wait_b(void *arg)
{
	(void)arg;
	rc_b = sched_wait(&S, &ev2, clock_ns + 500);
	t_b = clock_ns;
}
static void t_setter(void *arg)
{
	(void)arg;
	sched_sleep_until(&S, clock_ns + 2000);
	sched_event_set(&S, &ev1);
}

static void test_wait_timeout(void **state)
{
	(void)state;
	memset(&ev1, 0, sizeof(ev1));
	memset(&ev2, 0, sizeof(ev2));
	spawn(0, t_wait_a, NULL, 1);
	spawn(1, t_wait_b, NULL, 1);
	spawn(2, t_setter, NULL, 1);
	sched_run(&S);
	assert_int_equal(rc_a, 0);
	assert_int_equal(t_a, 3000);
	assert_int_equal(rc_b, -1);
	assert_int_equal(t_b, 1500);
	assert_false(ev2.set);
	/* Woken and timed-out waiters are no longer counted, so setting
	   either event now walks no thread list. */
	assert_int_equal(ev1.waiting, 0);
	assert_int_equal(ev2.waiting, 0);
	/* Level-triggered: a set event does not block. */
	assert_true(ev1.set);
	rc_a = 99;
	setup(NULL);
	spawn(0, t_wait_a, NULL, 1);
	sched_run(&S);
	assert_int_equal(rc_a, 0);
	assert_int_equal(clock_ns, 1000);
}

/* The poll hook (the kernel's NIC polling) sets an event a thread is
   waiting for with no deadline: the idle hook is not asked to wait
   forever. */
static void test_event_from_poll(void **state)
{
	(void)state;
	memset(&ev1, 0, sizeof(ev1));
	poll_ev = &ev1;
	poll_at = 7000;
	rc_a = 99;
	spawn(0, t_wait_a, NULL, 1);
	sched_run(&S);
	assert_int_equal(rc_a, 0);
	assert_int_equal(t_a, 7000);
	assert_int_equal(idle_forever, 0);
}

/* A waiter that nothing will ever wake: the idle hook is told so. */
static void test_wait_forever_reported(void **state)
{
	(void)state;
	memset(&ev1, 0, sizeof(ev1));
	spawn(0, t_wait_a, NULL, 1);
	sched_run(&S);
	assert_int_equal(idle_forever, 1);
	assert_int_equal(sched_live(&S), 1);
}

/* kill_group ends waiting and runnable threads of one group from another
   thread, wherever they are, and leaves other groups alone. */
static int after_kill;

static void t_forever(void *arg)
{
	(void)arg;
	sched_wait(&S, &ev2, SCHED_FOREVER);
	after_kill++;		/* must never run */
}
static void t_spin(void *arg)
{
	(void)arg;
	for (;;) {
		sched_yield(&S);
		if (++after_kill > 1000)
			return;
	}
}
static int killed;
static void t_killer(void *arg)
{
	(void)arg;
	sched_yield(&S);	/* the spinner is queued, the waiter waits */
	killed = sched_kill_group(&S, 7);
	put('k');
}
static void t_other(void *arg)
{
	(void)arg;
	sched_sleep_until(&S, clock_ns + 5000);
	put('o');
}

static void test_kill_group(void **state)
{
	(void)state;
	memset(&ev2, 0, sizeof(ev2));
	after_kill = 0;
	spawn(0, t_forever, NULL, 7);
	spawn(1, t_spin, NULL, 7);
	spawn(2, t_killer, NULL, 1);
	spawn(3, t_other, NULL, 2);
	sched_run(&S);
	assert_int_equal(killed, 2);
	assert_string_equal(trace, "ko");
	/* A waiter killed inside sched_wait leaves the count high: the
	   skip stays safe, only the walk is no longer saved. */
	assert_int_equal(ev2.waiting, 1);
	assert_true(after_kill < 1000);	/* the spinner stopped */
	assert_int_equal(reaped, 4);
	assert_int_equal(sched_live(&S), 0);
	/* Killing from outside a thread (the boot context) reaps at once. */
	setup(NULL);
	spawn(0, t_forever, NULL, 9);
	assert_int_equal(sched_kill_group(&S, 9), 1);
	assert_int_equal(reaped, 1);
	assert_int_equal(sched_live(&S), 0);
}

/* A thread can end itself with sched_exit from deep in its call chain. */
static void deep(int n)
{
	if (n > 0)
		deep(n - 1);
	else
		put('x');
	if (n == 20)
		sched_exit(&S);
	put('.');		/* runs 20 times on the way back up */
}
static void t_exit(void *arg)
{
	(void)arg;
	deep(20);
	put('!');		/* never */
}

static void test_exit_and_stop(void **state)
{
	(void)state;
	spawn(0, t_exit, NULL, 1);
	spawn(1, t_letters, "y", 1);
	sched_run(&S);
	assert_string_equal(trace, "x....................yyy");
	/* s->stop makes sched_run return with threads still live; a later
	   sched_run carries on where they were. */
	setup(NULL);
	spawn(0, t_letters, "z", 1);
	S.stop = true;
	sched_run(&S);
	assert_string_equal(trace, "");
	S.stop = false;
	sched_run(&S);
	assert_string_equal(trace, "zzz");
}

/* Threads created by a running thread join the back of the queue, and
   stacks are reused after reaping (a long create/exit loop). */
static int spawned;
static void t_child(void *arg) { (void)arg; spawned++; }
static void t_parent(void *arg)
{
	(void)arg;
	for (int i = 0; i < 1000; i++) {
		spawn(1, t_child, NULL, 1);
		while (sched_live(&S) > 1)
			sched_yield(&S);
	}
}

static void test_spawn_loop(void **state)
{
	(void)state;
	spawned = 0;
	spawn(0, t_parent, NULL, 1);
	sched_run(&S);
	assert_int_equal(spawned, 1000);
	assert_int_equal(reaped, 1001);
}

/* The service hook (the VMBus's host messages) runs under load, when
   no round ever idles, at most SCHED_SERVICE_ROUNDS rounds apart, and
   after every idle. */
static int services, max_gap, last_service_poll;
static uint64_t idles_seen;

static void fake_service(void *ctx)
{
	(void)ctx;
	if (polls - last_service_poll > max_gap)
		max_gap = polls - last_service_poll;
	last_service_poll = polls;
	services++;
	idles_seen = S.idles;
}

static void t_busy(void *arg)
{
	(void)arg;
	for (int i = 0; i < 1000; i++)
		sched_yield(&S);
}

static void test_service_under_load(void **state)
{
	(void)state;
	services = max_gap = last_service_poll = 0;
	S.service = fake_service;
	spawn(0, t_busy, NULL, 1);
	sched_run(&S);
	assert_int_equal(S.idles, 0);
	assert_true(polls >= 1000);
	assert_true(services >= polls / SCHED_SERVICE_ROUNDS);
	assert_true(max_gap <= SCHED_SERVICE_ROUNDS);
	assert_int_equal((uint64_t)services, S.services);
}

static void t_nap(void *arg)
{
	(void)arg;
	for (int i = 0; i < 3; i++)
		sched_sleep_until(&S, clock_ns + 5000);
}

static void test_service_after_idle(void **state)
{
	(void)state;
	services = max_gap = last_service_poll = 0;
	idles_seen = 0;
	S.service = fake_service;
	spawn(0, t_nap, NULL, 1);
	sched_run(&S);
	assert_int_equal(S.idles, 3);
	assert_int_equal(services, 3);	/* one after each idle, no more */
	assert_int_equal(idles_seen, 3);
}

/* An idle hook that looks for work itself (idle_checks): a round that
   ran a thread and left nothing runnable goes to it without a poll, and
   the poll after the idle still delivers the event. */
static void test_idle_checks_skip_poll(void **state)
{
	(void)state;
	for (int checks = 0; checks < 2; checks++) {
		setup(NULL);
		S.idle_checks = checks;
		memset(&ev1, 0, sizeof(ev1));
		poll_ev = &ev1;
		poll_at = 7000;
		rc_a = 99;
		spawn(0, t_wait_a, NULL, 1);
		sched_run(&S);
		assert_int_equal(rc_a, 0);
		assert_int_equal(t_a, 7000);
		assert_int_equal(idle_forever, 0);
		/* Without: poll, run, poll, idle, poll (event), run, poll.
		   With: the two polls after a run are the idle hook's. */
		assert_int_equal(polls, checks ? 2 : 4);
		assert_int_equal(S.polls, (uint64_t)polls);
	}
}

/* The earliest-deadline shortcut: a sleep shorter than one already
   waiting, begun after the scheduler last walked the threads, still
   wakes on time (and the long one too). */
struct ysl { int idx; uint64_t ns; };
static void t_yield_sleep(void *arg)
{
	struct ysl *y = arg;
	sched_yield(&S);
	sched_sleep_until(&S, clock_ns + y->ns);
	woke_at[y->idx] = clock_ns;
}

static void test_deadline_shortcut(void **state)
{
	(void)state;
	struct sl x = { 0, 10000, 'x' };
	struct ysl y = { 1, 100 };
	spawn(0, t_sleep, &x, 1);
	spawn(1, t_yield_sleep, &y, 1);
	sched_run(&S);
	assert_int_equal(woke_at[1], 1100);
	assert_int_equal(woke_at[0], 11000);
	assert_string_equal(trace, "x");
}

/* Two waiters on one event, one of them with a deadline: after it
   timed out, setting the event wakes the other, whichever began to
   wait last (sched_event_set's one-waiter shortcut, then its walk). */
static void t_wait_a1(void *arg)
{
	(void)arg;
	rc_b = sched_wait(&S, &ev1, clock_ns + 500);
	t_b = clock_ns;
}

static void test_two_waiters_one_times_out(void **state)
{
	(void)state;
	for (int order = 0; order < 2; order++) {
		setup(NULL);
		memset(&ev1, 0, sizeof(ev1));
		rc_a = rc_b = 99;
		if (order == 0) {
			spawn(0, t_wait_a, NULL, 1);
			spawn(1, t_wait_a1, NULL, 1);
		} else {
			spawn(0, t_wait_a1, NULL, 1);
			spawn(1, t_wait_a, NULL, 1);
		}
		spawn(2, t_setter, NULL, 1);
		sched_run(&S);
		assert_int_equal(rc_b, -1);
		assert_int_equal(t_b, 1500);
		assert_int_equal(rc_a, 0);
		assert_int_equal(t_a, 3000);
		assert_int_equal(ev1.waiting, 0);
		assert_int_equal(idle_forever, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_fairness, setup),
		cmocka_unit_test_setup(test_sleep_order, setup),
		cmocka_unit_test_setup(test_wait_timeout, setup),
		cmocka_unit_test_setup(test_event_from_poll, setup),
		cmocka_unit_test_setup(test_wait_forever_reported, setup),
		cmocka_unit_test_setup(test_kill_group, setup),
		cmocka_unit_test_setup(test_exit_and_stop, setup),
		cmocka_unit_test_setup(test_spawn_loop, setup),
		cmocka_unit_test_setup(test_service_under_load, setup),
		cmocka_unit_test_setup(test_service_after_idle, setup),
		cmocka_unit_test_setup(test_idle_checks_skip_poll, setup),
		cmocka_unit_test_setup(test_deadline_shortcut, setup),
		cmocka_unit_test_setup(test_two_waiters_one_times_out, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
