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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
