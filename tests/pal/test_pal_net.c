/*
 * test_pal_net.c - pal/pal_net.c on the host: the netstack_port the
 * kernel builds for its stack.  The kernel pieces pal_net.c calls (NIC
 * registry, heap, clock, log, markers, the entropy source) are replaced
 * by fakes that record what they were asked, so the test can show the
 * random hook is bound to entropy_get and never to the clock: the
 * stack's ISN and SYN cookie keys and every word the hook returns are
 * words entropy_get handed out, the hook never reads the clock, two
 * bring-ups with identical clock readings get different keys, and when
 * the entropy source reports its fallback the hook still uses it and the
 * console says so once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Before cmocka.h, whose fail() macro shadows the kernel's fail(). */
#include "kernel/cmdline.h"
#include "kernel/heap.h"
#include "kernel/kernel.h"
#include "kernel/log.h"
#include "kernel/panic.h"
#include "kernel/time.h"
#include "pal/entropy.h"
#include "pal/rt.h"
#include "tests/hw/kstubs.h"
#include "tests/netstack/fake_nic.h"

#include <cmocka.h>

#include "pal/pal_boot.h"

/* ---- fakes for what pal_net.c links against --------------------------- */

struct kernel kernel;
struct netstack *rt_ns;
static struct fake_nic fnic;
static bool have_nic;

struct nic *nic_first(void) { return have_nic ? &fnic.nic : NULL; }
static struct nic_listener *listener;
void nic_listen(struct nic_listener *l) { listener = l; }

/* The kernel never frees the transmit buffers; one arena slot per
   bring-up, so nothing leaks under ASan. */
static uint8_t heap[6][sizeof(struct ns_txbuf) * NS_TXBUFS] __attribute__((aligned(4096)));
static int heap_used;
void *
kmalloc_aligned(size_t size, size_t align)
{
	if (heap_used == 6 || size > sizeof(heap[0]) || align > 4096)
		return NULL;
	return heap[heap_used++];
}

void (fail)(const char *stage, const char *reason) { fail_msg("fail %s %s", stage, reason); abort(); }
void machine_exit(int code) { fail_msg("machine_exit %d", code); abort(); }
static int net_ups;
void rt_net_up(void) { net_ups++; }
void pal_cloud_net_up(struct netstack *ns) { }	/* no cloud= in these tests */

/* The entropy source: a keystream that differs per call (an xorshift with
   its own state, unrelated to the clock), every 32-bit word it hands out
   recorded; `fallback` makes it report -1 as entropy.c does without a
   healthy hardware source. */
static uint64_t ent_state = 0x243f6a8885a308d3ULL;
static uint32_t ent_words[4096];
static int ent_nwords, ent_calls;
static bool fallback;

int
entropy_get(void *buf, size_t len)
{
	uint8_t *p = buf;
	ent_calls++;
	assert_int_equal(len % 4, 0);
	for (size_t i = 0; i < len; i += 4) {
		ent_state ^= ent_state << 13;
		ent_state ^= ent_state >> 7;
		ent_state ^= ent_state << 17;
		uint32_t w = (uint32_t)(ent_state >> 16);
		memcpy(p + i, &w, 4);
		if (ent_nwords < 4096)
			ent_words[ent_nwords++] = w;
	}
	return fallback ? -1 : 0;
}
const char *entropy_source(void) { return fallback ? "fallback (test)" : "rdrand (test)"; }

static bool
entropy_gave(uint32_t w)
{
	for (int i = 0; i < ent_nwords; i++)
		if (ent_words[i] == w)
			return true;
	return false;
}

/* ---- tests ----------------------------------------------------------- */

static void
start(uint64_t keys[4])
{
	fake_init(&fnic);
	have_nic = true;
	/* A fixed clock (tests/hw/kstubs.c), every reading still counted. */
	kstub_clock_step_ns = 0;
	kstub_now_ns = 7000000000ULL;
	memset(&kernel, 0, sizeof(kernel));
	snprintf(kernel.cmdline.ip, sizeof(kernel.cmdline.ip), "10.0.2.15/24");
	assert_int_equal(pal_net_start(), 0);
	assert_non_null(rt_ns);
	keys[0] = rt_ns->tcp.isn_key[0];
	keys[1] = rt_ns->tcp.isn_key[1];
	keys[2] = rt_ns->tcp.cookie_key[0];
	keys[3] = rt_ns->tcp.cookie_key[1];
}

/* The stack's secrets and every word of its random hook are words from
   the entropy source, and the hook does not read the clock. */
static void test_hook_is_entropy(void **state)
{
	(void)state;
	uint64_t k[4];
	fallback = false;
	start(k);
	assert_true(ent_calls > 0);
	for (int i = 0; i < 4; i++) {
		uint32_t lo = (uint32_t)k[i];
		assert_true(entropy_gave((uint32_t)(k[i] >> 32)));
		/* isn_key[0]'s low bit is forced by tcp_keys. */
		assert_true(entropy_gave(lo) || (i == 0 && entropy_gave(lo & ~1u)));
	}
	const struct netstack_port *p = &rt_ns->port;
	int reads = kstub_clock_reads;
	for (int i = 0; i < 100; i++)
		assert_true(entropy_gave(p->random(p->ctx)));
	assert_int_equal(kstub_clock_reads, reads);
	assert_int_equal(kstub_warnings, 0);
}

/* Two bring-ups with the clock reading the same: different keys. */
static void test_same_clock_different_keys(void **state)
{
	(void)state;
	uint64_t a[4], b[4];
	fallback = false;
	start(a);
	start(b);
	for (int i = 0; i < 4; i++)
		assert_true(a[i] != b[i]);
}

/* The fallback still feeds the hook (never the clock) and the console is
   told once, however many words are drawn. */
static void test_fallback_warns_once(void **state)
{
	(void)state;
	uint64_t k[4];
	fallback = true;
	kstub_reset();
	start(k);
	const struct netstack_port *p = &rt_ns->port;
	for (int i = 0; i < 200; i++)
		assert_true(entropy_gave(p->random(p->ctx)));
	assert_true(entropy_gave((uint32_t)(k[1] >> 32)));
	assert_int_equal(kstub_warnings, 1);
	assert_true(kstub_logged("fallback (test)"));
	fallback = false;
}

/* Interrupt-to-poll switching: interrupts on every queue go on once
   before a sleep and off on the first pass with work after it; work that
   arrived before they were on is found by the extra poll (no halt); a
   NIC that goes away is never touched again. */
static void test_intr_poll_switching(void **state)
{
	(void)state;
	uint64_t k[4];
	start(k);
	fnic.nic.nqueues = 2;
	memset(&pal_net_stats, 0, sizeof(pal_net_stats));

	assert_int_equal(pal_net_sleep_prepare(), 0);
	assert_true(fnic.intr_on[0] && fnic.intr_on[1]);
	assert_int_equal(pal_net_stats.intr_arms, 1);
	int calls = fnic.intr_calls;
	assert_int_equal(pal_net_sleep_prepare(), 0);	/* still on: no writes */
	assert_int_equal(fnic.intr_calls, calls);
	assert_int_equal(pal_net_poll(), 0);		/* woke for nothing */
	assert_true(fnic.intr_on[0]);

	fnic.poll_work = 3;				/* the interrupt's frames */
	assert_int_equal(pal_net_poll(), 3);
	assert_false(fnic.intr_on[0] || fnic.intr_on[1]);
	assert_int_equal(pal_net_stats.intr_disarms, 1);
	calls = fnic.intr_calls;
	fnic.poll_work = 2;				/* busy: polled, no writes */
	assert_int_equal(pal_net_poll(), 2);
	assert_int_equal(fnic.intr_calls, calls);

	fnic.poll_work = 1;				/* came in before arming */
	assert_int_equal(pal_net_sleep_prepare(), 1);
	assert_true(fnic.intr_on[0]);
	assert_int_equal(pal_net_stats.late_work, 1);

	/* The NIC is rescinded: the stack forgets it, no call reaches it. */
	assert_non_null(listener);
	listener->removed(listener->ctx, &fnic.nic);
	calls = fnic.intr_calls;
	assert_int_equal(pal_net_sleep_prepare(), 0);
	assert_int_equal(pal_net_poll(), 0);
	assert_int_equal(fnic.intr_calls, calls);
}

/* A driver that can say whether a frame waits: the way to sleep asks it
   and polls nothing (the next pass does); while a queue waits for
   transmit room, or with a driver that cannot tell, it polls. */
static bool pending[NIC_MAX_QUEUES];
static int pending_asks;

static bool
fake_rx_pending(struct nic *n, int q)
{
	(void)n;
	pending_asks++;
	return pending[q];
}

static void test_idle_check_asks_the_driver(void **state)
{
	(void)state;
	uint64_t k[4];
	static struct nic_ops ops;
	start(k);
	ops = *fnic.nic.ops;
	ops.rx_pending = fake_rx_pending;
	fnic.nic.ops = &ops;
	fnic.nic.nqueues = 2;
	memset(&pal_net_stats, 0, sizeof(pal_net_stats));
	memset(pending, 0, sizeof(pending));
	pending_asks = 0;

	uint64_t passes = rt_ns->cnt.rx_frames;
	fnic.poll_work = 1;			/* would be found by a poll */
	assert_int_equal(pal_net_sleep_prepare(), 0);
	assert_int_equal(pending_asks, 2);	/* each queue asked */
	assert_int_equal(fnic.poll_work, 1);	/* nothing polled */
	pending[1] = true;			/* a frame on queue 1 */
	assert_int_equal(pal_net_sleep_prepare(), 1);
	assert_int_equal(pal_net_stats.late_work, 1);
	assert_int_equal(fnic.poll_work, 1);
	assert_int_equal(rt_ns->cnt.rx_frames, passes);
	assert_int_equal(pal_net_poll(), 1);	/* the scheduler's pass */
	assert_int_equal(rt_ns->cnt.rx_frames, passes + 1);

	/* A queue waits for transmit room: its completions raise no
	   interrupt, so the way to sleep polls. */
	pending[1] = false;
	rt_ns->tx_blocked = 1;
	rt_ns->tx_blocked_ns[0] = kstub_now_ns;
	fnic.poll_work = 2;
	int asks = pending_asks;
	assert_int_equal(pal_net_sleep_prepare(), 2);
	assert_int_equal(pending_asks, asks);
	assert_int_equal(fnic.poll_work, 0);
	rt_ns->tx_blocked = 0;
}

int main(void)
{
	(void)fake_now;		/* fake_nic.h's port: pal_net.c brings its own */
	(void)fake_random;
	(void)fake_inject;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hook_is_entropy),
		cmocka_unit_test(test_same_clock_different_keys),
		cmocka_unit_test(test_fallback_warns_once),
		cmocka_unit_test(test_intr_poll_switching),
		cmocka_unit_test(test_idle_check_asks_the_driver),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
