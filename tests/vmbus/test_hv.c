/*
 * test_hv.c - kernel/hv (PROTOCOLS.md B.1-B.6) against the host
 * simulator: detection, guest OS id and hypercall page, SynIC setup and
 * the EOM rule, PostMessage retry, the reference TSC page with sequence
 * changes mid-read and its fallbacks, the TSC frequency MSR, crash MSRs.
 * Every test ends by checking the simulator saw no protocol error and
 * nothing leaked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "kernel/err.h"
#include "kernel/hv/hv.h"
#include "tests/vmbus/hv_sim.h"
#include "tests/hw/kstubs.h"

struct fx {
	struct hv_sim s;
	struct hv hv;
	struct hw_dma hcpage;
};

static int
fx_setup(void **state)
{
	struct fx *f = test_calloc(1, sizeof(*f));
	hv_sim_init(&f->s);
	f->hv.read_tsc = hv_sim_read_tsc;
	kstub_reset();
	*state = f;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *f = *state;
	hv_time_fini(&f->hv);
	hv_synic_fini(&f->hv);
	hv_hypercall_disable(&f->hv);
	if (f->hcpage.va != NULL)
		hw_dma_free(&f->s.dev, &f->hcpage);
	int leaked = hv_sim_fini(&f->s);
	int errs = hv_sim_error_count(&f->s);
	test_free(f);
	assert_int_equal(leaked, 0);
	assert_int_equal(errs, 0);
	return 0;
}

static int
bring_up(struct fx *f)
{
	int rc = hv_probe(&f->hv, &f->s.dev);
	if (rc != TERN_OK)
		return rc;
	if (hw_dma_alloc(&f->s.dev, 4096, 4096, &f->hcpage) != 0)
		return TERN_ENOMEM;
	if ((rc = hv_hypercall_enable(&f->hv, f->hcpage.pa)) != TERN_OK)
		return rc;
	if ((rc = hv_synic_init(&f->hv, 0x40)) != TERN_OK)
		return rc;
	return hv_time_init(&f->hv);
}

static void
test_probe_format(void **state)
{
	struct fx *f = *state;
	char line[160];

	f->s.vp_index = 3;
	assert_int_equal(hv_probe(&f->hv, &f->s.dev), TERN_OK);
	assert_int_equal(f->hv.vp_index, 3);
	assert_int_equal(f->hv.max_leaf, 0x4000000B);
	hv_format(&f->hv, line, sizeof(line));
	assert_non_null(strstr(line, "HV version=10.0.20348 features="));
	assert_non_null(strstr(line, "max_leaf=0x4000000b"));
	f->s.vp_index = 0;
}

static void
test_probe_not_hyperv(void **state)
{
	struct fx *f = *state;

	f->s.not_hyperv = true;
	assert_int_equal(hv_probe(&f->hv, &f->s.dev), TERN_ENODEV);
	f->s.not_hyperv = false;
	f->s.max_leaf = 0x40000001;	/* too few leaves to drive */
	assert_int_equal(hv_probe(&f->hv, &f->s.dev), TERN_ENODEV);
}

static void
test_hypercall_page(void **state)
{
	struct fx *f = *state;

	assert_int_equal(bring_up(f), TERN_OK);
	assert_true(f->s.guest_os_id >> 63);
	assert_int_equal((f->s.guest_os_id >> 56) & 0x7f, 0x54);
	assert_int_equal(f->s.hypercall, f->hcpage.pa | 1);
	assert_true(f->hv.hypercall_on);
}

static void
test_hypercall_no_privilege(void **state)
{
	struct fx *f = *state;

	f->s.priv_lo &= ~HV_P_HYPERCALL;
	assert_int_equal(hv_probe(&f->hv, &f->s.dev), TERN_OK);
	assert_int_equal(hv_hypercall_enable(&f->hv, 0x1000), TERN_ENOTSUP);
	assert_int_equal(f->s.guest_os_id, 0);
	/* And SynIC needs the hypercall page. */
	assert_int_equal(hv_synic_init(&f->hv, 0x40), TERN_ENOTSUP);
}

static void
test_synic_setup(void **state)
{
	struct fx *f = *state;

	assert_int_equal(bring_up(f), TERN_OK);
	assert_int_equal(f->s.simp, f->hv.simp.pa | 1);
	assert_int_equal(f->s.siefp, f->hv.siefp.pa | 1);
	assert_int_equal(f->s.sint[2] & 0xff, 0x40);
	assert_false(f->s.sint[2] & HV_SINT_MASKED);
	assert_false(f->s.sint[2] & HV_SINT_AUTOEOI);
	assert_true(f->s.scontrol & 1);
	struct hv bad = f->hv;
	bad.synic_on = false;
	assert_int_equal(hv_synic_init(&bad, 15), TERN_EINVAL);
}

static void
test_synic_no_privilege(void **state)
{
	struct fx *f = *state;

	f->s.priv_hi &= ~HV_PH_SIGNAL_EVENTS;
	assert_int_equal(hv_probe(&f->hv, &f->s.dev), TERN_OK);
	assert_int_equal(hw_dma_alloc(&f->s.dev, 4096, 4096, &f->hcpage), 0);
	assert_int_equal(hv_hypercall_enable(&f->hv, f->hcpage.pa), TERN_OK);
	assert_int_equal(hv_synic_init(&f->hv, 0x40), TERN_ENOTSUP);
	assert_int_equal(f->s.simp, 0);
}

/* Three queued messages: each arrives only after the EOM for the last. */
static void
test_msg_eom(void **state)
{
	struct fx *f = *state;
	struct hv_message m;
	uint8_t msg[12] = { 0 };

	assert_int_equal(bring_up(f), TERN_OK);
	assert_int_equal(hv_msg_take(&f->hv, 2, &m), TERN_EAGAIN);
	for (uint8_t i = 1; i <= 3; i++) {
		msg[8] = i;
		hv_sim_queue(&f->s, msg, sizeof(msg));
	}
	for (uint8_t i = 1; i <= 3; i++) {
		assert_int_equal(hv_msg_take(&f->hv, 2, &m), TERN_OK);
		assert_int_equal(m.message_type, HV_MSGTYPE_VMBUS);
		assert_int_equal(m.payload_size, 12);
		assert_int_equal(m.payload[8], i);
	}
	assert_int_equal(hv_msg_take(&f->hv, 2, &m), TERN_EAGAIN);
	assert_int_equal(f->s.eoms, 2);
	assert_int_equal(f->hv.st.eoms, 2);
	/* A message queued while the slot is busy sets msg_pending late; the
	   guest must still EOM for it. */
	msg[8] = 4;
	hv_sim_queue(&f->s, msg, sizeof(msg));
	msg[8] = 5;
	hv_sim_queue(&f->s, msg, sizeof(msg));
	assert_int_equal(hv_msg_take(&f->hv, 2, &m), TERN_OK);
	assert_int_equal(hv_msg_take(&f->hv, 2, &m), TERN_OK);
	assert_int_equal(m.payload[8], 5);
}

static void
test_msg_oversize(void **state)
{
	struct fx *f = *state;
	struct hv_message m;
	uint8_t msg[8] = { 0 };

	assert_int_equal(bring_up(f), TERN_OK);
	hv_sim_queue(&f->s, msg, sizeof(msg));
	hv_sim_queue(&f->s, msg, sizeof(msg));
	struct hv_message *slot = (struct hv_message *)f->hv.simp.va + 2;
	slot->payload_size = 250;		/* a hostile host */
	assert_int_equal(hv_msg_take(&f->hv, 2, &m), TERN_EPROTO);
	assert_int_equal(f->hv.st.msgs_bad, 1);
	/* The slot was still freed and the next message delivered. */
	assert_int_equal(hv_msg_take(&f->hv, 2, &m), TERN_OK);
	assert_int_equal(m.payload_size, 8);
}

static void
test_event_flags(void **state)
{
	struct fx *f = *state;

	assert_int_equal(bring_up(f), TERN_OK);
	uint32_t *w = (uint32_t *)((uint8_t *)f->hv.siefp.va + 2 * 256);
	w[1] = 1u << 3;				/* relid 35 */
	assert_false(hv_event_test_clear(&f->hv, 2, 34));
	assert_true(hv_event_test_clear(&f->hv, 2, 35));
	assert_false(hv_event_test_clear(&f->hv, 2, 35));
	assert_false(hv_event_test_clear(&f->hv, 2, 5000));
}

static void
test_post_retry(void **state)
{
	struct fx *f = *state;
	uint8_t msg[8] = { 3, 0 };	/* REQUESTOFFERS, before contact */
	uint16_t st;

	assert_int_equal(bring_up(f), TERN_OK);
	f->s.f_busy_posts = 3;
	/* Host busy three times, then the message is judged (and refused:
	   no connection yet), so the retry loop gave it to the host. */
	assert_int_equal(hv_post_message(&f->hv, 1, msg, sizeof(msg), &st), TERN_EIO);
	assert_int_equal(st, HV_STATUS_INVALID_CONNECTION_ID);
	assert_int_equal(f->hv.st.post_retries, 3);
	assert_true(hv_sim_has_error(&f->s, "before the connection"));
	hv_sim_clear_errors(&f->s);
	/* A host that stays busy: bounded, about 100 ms of virtual time. */
	uint64_t t0 = f->s.now_ns;
	f->s.f_busy_posts = 1000;
	assert_int_equal(hv_post_message(&f->hv, 1, msg, sizeof(msg), &st), TERN_EIO);
	assert_int_equal(st, HV_STATUS_INSUFFICIENT_BUFFERS);
	assert_true(f->s.now_ns - t0 < 200000000ull);
	assert_int_equal(hv_post_message(&f->hv, 1, msg, 241, &st), TERN_EINVAL);
}

static void
test_ref_time_tsc_page(void **state)
{
	struct fx *f = *state;
	uint64_t t0, t1;

	assert_int_equal(bring_up(f), TERN_OK);
	assert_string_equal(hv_clock_source(&f->hv), "hv-tsc-page");
	assert_int_equal(f->hv.tsc_hz, 2500000000ull);
	assert_int_equal(hv_ref_time(&f->hv, &t0), TERN_OK);
	assert_true(t0 >= f->s.now_ns / 100 - 1 && t0 <= f->s.now_ns / 100);
	hw_delay_us(&f->s.dev, 1000);
	assert_int_equal(hv_ref_time(&f->hv, &t1), TERN_OK);
	assert_true(t1 - t0 >= 9999 && t1 - t0 <= 10001);
	assert_int_equal(f->hv.st.tsc_reads, 2);
	assert_int_equal(f->hv.st.tsc_fallbacks, 0);
}

static void
test_ref_time_sequence_change(void **state)
{
	struct fx *f = *state;
	uint64_t t;

	assert_int_equal(bring_up(f), TERN_OK);
	f->s.f_tsc_bump = 2;		/* migrated twice during the read */
	assert_int_equal(hv_ref_time(&f->hv, &t), TERN_OK);
	assert_int_equal(f->hv.st.tsc_retries, 2);
	assert_int_equal(f->hv.st.tsc_reads, 1);
	assert_true(t <= f->s.now_ns / 100 && t + 1 >= f->s.now_ns / 100);
	f->s.f_tsc_bump = 1000;		/* never stable: the MSR answers */
	assert_int_equal(hv_ref_time(&f->hv, &t), TERN_OK);
	assert_int_equal(f->hv.st.tsc_fallbacks, 1);
	assert_int_equal(t, f->s.now_ns / 100);
	f->s.f_tsc_bump = 0;
}

static void
test_ref_time_sequence_zero(void **state)
{
	struct fx *f = *state;
	uint64_t t;

	f->s.f_tsc_seq0 = true;
	assert_int_equal(bring_up(f), TERN_OK);
	assert_int_equal(hv_ref_time(&f->hv, &t), TERN_OK);
	assert_int_equal(f->hv.st.tsc_fallbacks, 1);
	assert_int_equal(f->hv.st.tsc_reads, 0);
	assert_int_equal(t, f->s.now_ns / 100);
}

static void
test_ref_time_no_page(void **state)
{
	struct fx *f = *state;
	uint64_t t;

	f->s.priv_lo &= ~(HV_P_REF_TSC | HV_P_FREQ_MSRS);
	assert_int_equal(bring_up(f), TERN_OK);
	assert_string_equal(hv_clock_source(&f->hv), "hv-ref-count");
	assert_int_equal(f->hv.tsc_hz, 0);
	assert_int_equal(hv_ref_time(&f->hv, &t), TERN_OK);
	assert_int_equal(t, f->s.now_ns / 100);
	assert_int_equal(f->hv.st.tsc_fallbacks, 0);
}

static void
test_ref_time_none(void **state)
{
	struct fx *f = *state;
	uint64_t t;

	f->s.priv_lo &= ~(HV_P_REF_TSC | HV_P_TIME_REF_COUNT);
	assert_int_equal(hv_probe(&f->hv, &f->s.dev), TERN_OK);
	assert_int_equal(hv_time_init(&f->hv), TERN_ENOTSUP);
	assert_int_equal(hv_ref_time(&f->hv, &t), TERN_ENOTSUP);
	assert_string_equal(hv_clock_source(&f->hv), "none");
}

static void
test_tsc_freq_implausible(void **state)
{
	struct fx *f = *state;

	f->s.tsc_hz = 1000;		/* 1 kHz: not believed */
	assert_int_equal(bring_up(f), TERN_OK);
	assert_int_equal(f->hv.tsc_hz, 0);
	assert_true(kstub_warnings > 0);
}

static void
test_crash_msrs(void **state)
{
	struct fx *f = *state;
	const uint64_t p[5] = { 0xdead, 1, 2, 3, 4 };

	assert_int_equal(hv_probe(&f->hv, &f->s.dev), TERN_OK);
	assert_true(hv_crash_report(&f->hv, p));
	assert_int_equal(f->s.crash[0], 0xdead);
	assert_int_equal(f->s.crash[4], 4);
	assert_int_equal(f->s.crash[5], HV_CRASH_CTL_NOTIFY);
	f->s.misc &= ~HV_M_CRASH_MSRS;
	f->s.crash[5] = 0;
	assert_int_equal(hv_probe(&f->hv, &f->s.dev), TERN_OK);
	assert_false(hv_crash_report(&f->hv, p));
	assert_int_equal(f->s.crash[5], 0);
}

static void
test_teardown_order(void **state)
{
	struct fx *f = *state;

	assert_int_equal(bring_up(f), TERN_OK);
	hv_time_fini(&f->hv);
	hv_synic_fini(&f->hv);
	assert_int_equal(f->s.simp & 1, 0);
	assert_true(f->s.sint[2] & HV_SINT_MASKED);
	hv_hypercall_disable(&f->hv);
	assert_int_equal(f->s.guest_os_id, 0);
	assert_int_equal(f->s.hypercall & 1, 0);
}


/* ---- synthetic timer (B.6) ------------------------------------------- */

/* Direct mode (CPUID offers it): periodic at 1000 Hz on our vector, one
   expiry per simulated millisecond, each an interrupt on that vector. */
static void
test_stimer_direct_periodic(void **state)
{
	struct fx *f = *state;
	struct hv_stimer t;

	assert_int_equal(bring_up(f), TERN_OK);
	assert_int_equal(hv_stimer_start(&t, &f->hv, 0x41, 1000, true), TERN_OK);
	assert_int_equal(t.mode, HV_STIMER_MODE_DIRECT);
	assert_string_equal(hv_stimer_mode_name(t.mode), "direct");
	uint64_t c = f->s.stimer_config;
	assert_true(c & HV_STIMER_ENABLE);
	assert_true(c & HV_STIMER_PERIODIC);
	assert_true(c & HV_STIMER_DIRECT);
	assert_int_equal((c & HV_STIMER_VECTOR_MASK) >> HV_STIMER_VECTOR_SHIFT, 0x41);
	assert_int_equal(f->s.stimer_count, 10000);	/* 1 ms in 100 ns */
	for (int i = 0; i < 10; i++) {
		hv_sim_advance(&f->s, 1000000);
		assert_int_equal(f->s.stimer_direct_irqs, (uint64_t)i + 1);
		assert_int_equal(f->s.stimer_vec, 0x41);
		assert_int_equal(hv_stimer_isr(&t), 1);
	}
	assert_int_equal(t.ticks, 10);
	assert_int_equal(f->s.stimer_msgs, 0);
	hv_stimer_stop(&t);
	assert_int_equal(f->s.stimer_config, 0);
	hv_sim_advance(&f->s, 10000000);
	assert_int_equal(f->s.stimer_fires, 10);
}

/* Message mode (no direct mode): HVMSG_TIMER_EXPIRED in SINT3's slot,
   SINT3 on our vector; expiries while the slot is busy wait for EOM. */
static void
test_stimer_message_mode(void **state)
{
	struct fx *f = *state;
	struct hv_stimer t;

	f->s.misc &= ~HV_M_STIMER_DIRECT;
	assert_int_equal(bring_up(f), TERN_OK);
	assert_int_equal(hv_stimer_start(&t, &f->hv, 0x42, 1000, true), TERN_OK);
	assert_int_equal(t.mode, HV_STIMER_MODE_MESSAGE);
	assert_int_equal(f->s.stimer_config & HV_STIMER_DIRECT, 0);
	assert_int_equal((f->s.stimer_config & HV_STIMER_SINT_MASK) >> HV_STIMER_SINT_SHIFT,
	    HV_SINT_TIMER);
	assert_int_equal(f->s.sint[HV_SINT_TIMER] & 0xff, 0x42);
	assert_int_equal(f->s.sint[HV_SINT_TIMER] & (HV_SINT_MASKED | HV_SINT_AUTOEOI), 0);
	/* No expiry yet: an interrupt now is spurious, not a tick. */
	assert_int_equal(hv_stimer_isr(&t), 0);
	assert_int_equal(t.spurious, 1);
	hv_sim_advance(&f->s, 1000000);
	assert_int_equal(f->s.stimer_msgs, 1);
	assert_int_equal(hv_stimer_isr(&t), 1);
	/* Three expiries while the slot is full: one message, msg_pending,
	   and the next only after our EOM. */
	hv_sim_advance(&f->s, 3000000);
	assert_int_equal(f->s.stimer_fires, 4);
	assert_int_equal(f->s.stimer_msgs, 2);
	uint64_t eoms = f->s.eoms;
	assert_int_equal(hv_stimer_isr(&t), 1);
	assert_int_equal(f->s.eoms, eoms + 1);
	assert_int_equal(f->s.stimer_msgs, 3);
	assert_int_equal(hv_stimer_isr(&t), 1);
	assert_int_equal(hv_stimer_isr(&t), 0);
	assert_int_equal(t.ticks, 3);
	assert_int_equal(t.msgs_bad, 0);
	/* The VMBus slot was never touched. */
	assert_int_equal(((struct hv_message *)f->hv.simp.va)[HV_SINT_VMBUS].message_type, 0);
	hv_stimer_stop(&t);
	assert_true(f->s.sint[HV_SINT_TIMER] & HV_SINT_MASKED);
}

/* A slot holding something other than timer 0's expiry is counted and
   freed, never a tick. */
static void
test_stimer_bad_message(void **state)
{
	struct fx *f = *state;
	struct hv_stimer t;

	f->s.misc &= ~HV_M_STIMER_DIRECT;
	assert_int_equal(bring_up(f), TERN_OK);
	assert_int_equal(hv_stimer_start(&t, &f->hv, 0x42, 100, true), TERN_OK);
	struct hv_message *slot = (struct hv_message *)f->hv.simp.va + HV_SINT_TIMER;
	struct hv_timer_msg tm = { 2, 0, 1, 1 };	/* timer 2, not ours */
	memcpy(slot->payload, &tm, sizeof(tm));
	slot->payload_size = sizeof(tm);
	slot->message_type = HV_MSGTYPE_TIMER;
	assert_int_equal(hv_stimer_isr(&t), 0);
	assert_int_equal(slot->message_type, 0);
	slot->payload_size = 8;				/* too short */
	slot->message_type = HV_MSGTYPE_TIMER;
	assert_int_equal(hv_stimer_isr(&t), 0);
	slot->payload_size = sizeof(tm);		/* wrong type */
	slot->message_type = HV_MSGTYPE_VMBUS;
	assert_int_equal(hv_stimer_isr(&t), 0);
	assert_int_equal(t.msgs_bad, 3);
	assert_int_equal(t.ticks, 0);
	assert_true(kstub_logged("is not timer 0's expiry"));
	hv_sim_advance(&f->s, 10000000);
	assert_int_equal(hv_stimer_isr(&t), 1);
	hv_stimer_stop(&t);
}

/* One-shot re-armed from the interrupt at the absolute time of the next
   tick (auto-enable: the COUNT write enables it again). */
static void
test_stimer_oneshot_rearm(void **state)
{
	struct fx *f = *state;
	struct hv_stimer t;

	assert_int_equal(bring_up(f), TERN_OK);
	assert_int_equal(hv_stimer_start(&t, &f->hv, 0x43, 1000, false), TERN_OK);
	assert_int_equal(f->s.stimer_config & HV_STIMER_PERIODIC, 0);
	assert_true(f->s.stimer_config & HV_STIMER_AUTO_ENABLE);
	for (int i = 0; i < 5; i++) {
		hv_sim_advance(&f->s, 1000000);
		assert_int_equal(f->s.stimer_fires, (uint64_t)i + 1);
		/* Fired and disabled itself until we re-arm. */
		assert_int_equal(f->s.stimer_config & HV_STIMER_ENABLE, 0);
		assert_int_equal(hv_stimer_isr(&t), 1);
		assert_true(f->s.stimer_config & HV_STIMER_ENABLE);
	}
	/* Held up for 5 ms: the next tick is one period from now, not five
	   back-to-back expiries. */
	hv_sim_advance(&f->s, 5000000);
	assert_int_equal(f->s.stimer_fires, 6);
	assert_int_equal(hv_stimer_isr(&t), 1);
	assert_int_equal(t.late, 1);
	hv_sim_advance(&f->s, 1000000);
	assert_int_equal(f->s.stimer_fires, 7);
	hv_stimer_stop(&t);
	assert_int_equal(t.rearm_fail, 0);
}

/* Without the privilege nothing is written (the simulator #GPs on any
   STIMER MSR); message mode without a SynIC is refused too. */
static void
test_stimer_fallbacks(void **state)
{
	struct fx *f = *state;
	struct hv_stimer t;

	f->s.priv_lo &= ~HV_P_STIMER;
	assert_int_equal(bring_up(f), TERN_OK);
	assert_int_equal(hv_stimer_start(&t, &f->hv, 0x41, 1000, true), TERN_ENOTSUP);
	assert_int_equal(t.mode, HV_STIMER_OFF);
	assert_int_equal(hv_stimer_isr(&t), 0);
	hv_stimer_stop(&t);
	f->hv.priv_lo |= HV_P_STIMER;
	f->s.priv_lo |= HV_P_STIMER;
	f->hv.misc &= ~HV_M_STIMER_DIRECT;
	hv_synic_fini(&f->hv);
	assert_int_equal(hv_stimer_start(&t, &f->hv, 0x41, 1000, true), TERN_ENOTSUP);
	assert_int_equal(f->s.stimer_config, 0);
	assert_int_equal(hv_stimer_start(&t, &f->hv, 0x41, 0, true), TERN_EINVAL);
	assert_int_equal(hv_stimer_start(&t, &f->hv, 8, 1000, true), TERN_EINVAL);
}

/* The simulator's STIMER0 model is strict: what a wrong guest would do
   is an error there (so the tests above would catch it). */
static void
test_stimer_sim_strict(void **state)
{
	struct fx *f = *state;

	f->s.misc &= ~HV_M_STIMER_DIRECT;
	assert_int_equal(bring_up(f), TERN_OK);
	hw_msr_write(&f->s.dev, HV_MSR_STIMER0_CONFIG, HV_STIMER_DIRECT |
	    0x41ull << HV_STIMER_VECTOR_SHIFT);
	assert_true(hv_sim_has_error(&f->s, "direct mode not offered"));
	hw_msr_write(&f->s.dev, HV_MSR_STIMER0_CONFIG, 1ull << 13);
	assert_true(hv_sim_has_error(&f->s, "reserved bits"));
	/* Enable with COUNT 0 does not stick. */
	hw_msr_write(&f->s.dev, HV_MSR_STIMER0_CONFIG, HV_STIMER_ENABLE | HV_STIMER_PERIODIC);
	assert_int_equal(hw_msr_read(&f->s.dev, HV_MSR_STIMER0_CONFIG) & HV_STIMER_ENABLE, 0);
	/* Message mode into a masked SINT: the expiry is lost, an error. */
	hw_msr_write(&f->s.dev, HV_MSR_STIMER0_COUNT, 10000);
	hw_msr_write(&f->s.dev, HV_MSR_STIMER0_CONFIG, HV_STIMER_ENABLE |
	    HV_STIMER_PERIODIC | (uint64_t)HV_SINT_TIMER << HV_STIMER_SINT_SHIFT);
	hv_sim_advance(&f->s, 1000000);
	assert_int_equal(f->s.stimer_lost, 1);
	assert_true(hv_sim_has_error(&f->s, "masked"));
	hw_msr_write(&f->s.dev, HV_MSR_STIMER0_COUNT, 0);
	hv_sim_clear_errors(&f->s);
}

/* ---- kernel glue, made portable ---------------------------------------- */

/* The panic hook's report: "TERNPANC" and the reason's first 32 bytes. */
static void
test_crash_report_reason(void **state)
{
	struct fx *f = *state;

	assert_int_equal(hv_probe(&f->hv, &f->s.dev), TERN_OK);
	assert_true(hv_crash_report_reason(&f->hv,
	    "page fault at 0xdeadbeef in rt_run, and more text"));
	assert_int_equal(f->s.crash[0], HV_CRASH_P0_TERN);
	char got[33];
	memcpy(got, &f->s.crash[1], 32);
	got[32] = '\0';
	assert_string_equal(got, "page fault at 0xdeadbeef in rt_r");
	assert_int_equal(f->s.crash[5], HV_CRASH_CTL_NOTIFY);
	assert_true(hv_crash_report_reason(&f->hv, "oops"));
	assert_int_equal(f->s.crash[1], 0x73706f6full);	/* "oops" */
	assert_int_equal(f->s.crash[2], 0);
	f->s.misc &= ~HV_M_CRASH_MSRS;
	assert_int_equal(hv_probe(&f->hv, &f->s.dev), TERN_OK);
	f->s.crash[5] = 0;
	assert_false(hv_crash_report_reason(&f->hv, "x"));
	assert_int_equal(f->s.crash[5], 0);
}

/* The clock hand-over's rate: the page's scale, else the frequency MSR;
   a rewritten page with a new scale (live migration) is noticed. */
static void
test_clock_rate(void **state)
{
	struct fx *f = *state;
	uint64_t scale, hz;

	assert_int_equal(bring_up(f), TERN_OK);
	assert_string_equal(hv_clock_rate(&f->hv, &scale, &hz), "hv-tsc-page");
	assert_int_equal(scale, (uint64_t)(((unsigned __int128)10000000u << 64) /
	    f->s.tsc_hz));
	assert_false(hv_clock_rate_changed(&f->hv, &scale));
	/* Same scale, new sequence: nothing to hand over. */
	f->s.f_tsc_bump = 1;
	hv_sim_read_tsc(&f->s.dev);
	assert_false(hv_clock_rate_changed(&f->hv, &scale));
	/* Migrated to a 3 GHz host: new scale, new sequence. */
	struct hv_tsc_page *p = f->hv.tsc_page.va;
	f->s.tsc_hz = 3000000000ull;
	p->scale = (uint64_t)(((unsigned __int128)10000000u << 64) / f->s.tsc_hz);
	p->sequence++;
	assert_true(hv_clock_rate_changed(&f->hv, &scale));
	assert_int_equal(scale, p->scale);
	assert_false(hv_clock_rate_changed(&f->hv, &scale));
	/* An invalid page: the frequency MSR. */
	p->sequence = 0;
	assert_string_equal(hv_clock_rate(&f->hv, &scale, &hz), "hv-tsc-freq");
	assert_int_equal(scale, 0);
	assert_int_equal(hz, f->hv.tsc_hz);
	f->hv.tsc_hz = 0;
	assert_null(hv_clock_rate(&f->hv, &scale, &hz));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_probe_format),
		T(test_probe_not_hyperv),
		T(test_hypercall_page),
		T(test_hypercall_no_privilege),
		T(test_synic_setup),
		T(test_synic_no_privilege),
		T(test_msg_eom),
		T(test_msg_oversize),
		T(test_event_flags),
		T(test_post_retry),
		T(test_ref_time_tsc_page),
		T(test_ref_time_sequence_change),
		T(test_ref_time_sequence_zero),
		T(test_ref_time_no_page),
		T(test_ref_time_none),
		T(test_tsc_freq_implausible),
		T(test_crash_msrs),
		T(test_teardown_order),
		T(test_stimer_direct_periodic),
		T(test_stimer_message_mode),
		T(test_stimer_bad_message),
		T(test_stimer_oneshot_rearm),
		T(test_stimer_fallbacks),
		T(test_stimer_sim_strict),
		T(test_crash_report_reason),
		T(test_clock_rate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
