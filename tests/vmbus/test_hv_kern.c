/*
 * test_hv_kern.c - the Hyper-V and VMBus kernel glue itself
 * (kernel/hv/hv_kern.c, vmbus/vmbus_kern.c) built for the host and run
 * against the strict simulator: the gate (nothing runs off Hyper-V), the
 * executable hypercall page installed, the SINT2 vector, the clock
 * hand-over, the panic hook filling the crash MSRs, synthetic timer 0
 * taking over the tick from the LAPIC timer (direct and message mode)
 * or leaving it (no privilege, a silent timer), and UNLOAD at shutdown.
 *
 * The glue files are included here (their kernel-only declarations come
 * from tests/vmbus/hv_kern_stubs.c, which stands in for the kernel:
 * interrupt vectors, cpu_idle, the clock, the LAPIC timer, the exec
 * page).  What stays unproven: the real IDT, LAPIC EOI and hlt, and the
 * page-table attributes of the exec page (docs/hyperv.md).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/err.h"
#include "kernel/platform/platform.h"
#include "tests/hw/kstubs.h"
#include "tests/vmbus/hv_kern_stubs.h"
#include "tests/vmbus/hv_sim.h"

/* Kernel-only declarations of other modules the glue calls (under
   TERN_KERNEL in their headers; hv_kern_stubs.c defines them). */
int platform_name(void);
bool platform_has_hyperv_hypercalls(void);
void clock_hv_ref_tsc(uint64_t scale);
void hw_hypercall_set_page(void *page);

/* Before cmocka.h: its fail() macro would eat kernel/panic.h's fail(). */
#include "kernel/hv/hv_kern.c"
#include "vmbus/vmbus_kern.c"

#include <cmocka.h>

#define RING (4 * 4096)

/* ---- a driver bound to netvsc's class that opens its channel ---------- */

static int td_attached, td_detached;
static int expect_leaked;		/* allocations a test leaks on purpose */

static int
td_attach(struct device *dev, void *softc)
{
	struct vmbus_chan *ch = vmbus_chan_of(dev);
	if (ch == NULL)
		return TERN_EINVAL;
	*(struct vmbus_chan **)softc = ch;
	int rc = vmbus_chan_open(ch, RING, RING, NULL, 0, NULL, NULL);
	if (rc == TERN_OK)
		td_attached++;
	return rc;
}

static void
td_detach(struct device *dev, void *softc)
{
	vmbus_chan_close(*(struct vmbus_chan **)softc);
	td_detached++;
}

static const struct driver_guid td_ids[] = {
	{ { 0x63, 0x51, 0x61, 0xf8, 0x3e, 0xdf, 0xc5, 0x46,
	    0x91, 0x3f, 0xf2, 0xd2, 0xf9, 0x65, 0xed, 0x0e } },
	{ { 0 } },
};
static const struct driver td_driver = {
	.name = "tnet", .bus = DRIVER_BUS_VMBUS, .vmbus_ids = td_ids,
	.softc_size = sizeof(struct vmbus_chan *), .attach = td_attach,
	.detach = td_detach,
};
static const struct driver *const td_table[] = { &td_driver, NULL };

/* ---- fixture: a fresh machine for the glue's statics ------------------- */

static int
fx_setup(void **state)
{
	struct hv_sim *s = calloc(1, sizeof(*s));
	hv_sim_init(s);
	hv_sim_offer(s, hv_sim_guid_netvsc, 1, 14, 0x2e);
	hv_kern_stubs_reset(s);
	kstub_platform = PLATFORM_AZURE;
	kstub_hv_hypercalls = true;
	memset(&hv_state, 0, sizeof(hv_state));
	memset(&hv_tick, 0, sizeof(hv_tick));
	memset(&vmbus_root, 0, sizeof(vmbus_root));
	hv_up = false;
	hv_cpu.ops = &hv_sim_ops;	/* the machine's CPU is the simulator */
	hv_cpu.backend = s;
	td_attached = td_detached = 0;
	expect_leaked = 0;
	kstub_reset();
	*state = s;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct hv_sim *s = *state;
	/* The kernel never undoes this; the test does, to check leaks. */
	vmbus_fini(&vmbus_root);
	hv_stimer_stop(&hv_tick);
	hv_time_fini(&hv_state);
	hv_synic_fini(&hv_state);
	hv_hypercall_disable(&hv_state);
	if (kstub_exec_page.va != NULL)
		hw_dma_free(&s->dev, &kstub_exec_page);
	int errs = hv_sim_error_count(s);
	int leaked = hv_sim_fini(s);
	free(s);
	assert_int_equal(errs, 0);
	assert_int_equal(leaked, expect_leaked);
	return 0;
}

/* Not Azure/Hyper-V (KVM with hv-* enlightenments, Nitro, QEMU dressed
   as Azure): nothing is touched, no vector taken, the LAPIC stays. */
static void
test_gate(void **state)
{
	struct hv_sim *s = *state;

	kstub_platform = PLATFORM_KVM;
	assert_int_equal(hv_kern_init(), TERN_ENODEV);
	kstub_platform = PLATFORM_AZURE;
	kstub_hv_hypercalls = false;
	assert_int_equal(hv_kern_init(), TERN_ENODEV);
	assert_int_equal(s->guest_os_id, 0);
	assert_null(hv_kern());
	assert_int_equal(kstub_vector("hv-sint2"), -1);
	assert_int_equal(kstub_lapic_stops, 0);
	assert_int_equal(vmbus_kern_init(td_table), TERN_ENODEV);
	vmbus_kern_shutdown();			/* nothing connected: no UNLOAD */
	assert_int_equal(s->unloads, 0);
}

/* The whole bring-up on a host offering everything: hypercall page
   installed, SINT2 on its vector, TSC rate from the page, panic hook,
   and stimer0 (direct mode) taking over the tick. */
static void
test_bringup_direct(void **state)
{
	struct hv_sim *s = *state;
	char m[160];

	assert_int_equal(hv_kern_init(), TERN_OK);
	assert_true(kstub_marker(0, m, sizeof(m)));
	assert_true(strncmp(m, "HV version=10.0.20348 ", 22) == 0);
	/* The executable page is the one the HYPERCALL MSR names. */
	assert_non_null(kstub_hcall_page);
	assert_ptr_equal(kstub_hcall_page, kstub_exec_page.va);
	assert_int_equal(s->hypercall & ~0xfffull, kstub_exec_page.pa);
	assert_true(s->hypercall & 1);
	/* SINT2 on the vector the glue allocated for it. */
	int v2 = kstub_vector("hv-sint2");
	assert_true(v2 >= 0x21);
	assert_int_equal(s->sint[2] & 0xff, (uint64_t)v2);
	assert_ptr_equal(hv_kern(), &hv_state);
	/* Clock: the page's scale reached the kernel clock. */
	assert_int_equal(kstub_tsc_hz / 1000, s->tsc_hz / 1000);
	assert_true(kstub_marker(1, m, sizeof(m)));
	assert_true(strncmp(m, "CLOCK source=hv-tsc-page hz=", 28) == 0);
	/* The tick: stimer0 direct on its own vector, LAPIC timer stopped. */
	int vt = kstub_vector("hv-stimer0");
	assert_true(vt >= 0x21 && vt != v2);
	assert_true(s->stimer_config & HV_STIMER_DIRECT);
	assert_int_equal((s->stimer_config & HV_STIMER_VECTOR_MASK) >>
	    HV_STIMER_VECTOR_SHIFT, (uint64_t)vt);
	assert_int_equal(kstub_lapic_stops, 1);
	assert_true(kstub_ticks >= 2);
	assert_true(kstub_logged("tick: synthetic timer 0, direct mode"));
	/* It keeps ticking: 10 ms, 10 ticks. */
	unsigned before = kstub_ticks;
	for (int i = 0; i < 10; i++)
		cpu_idle();
	assert_int_equal(kstub_ticks, before + 10);
}

/* No direct mode: timer messages in SINT3, the VMBus slot untouched. */
static void
test_bringup_message_mode(void **state)
{
	struct hv_sim *s = *state;

	s->misc &= ~HV_M_STIMER_DIRECT;
	assert_int_equal(hv_kern_init(), TERN_OK);
	int vt = kstub_vector("hv-stimer0");
	assert_true(vt >= 0x21);
	assert_int_equal(s->sint[HV_SINT_TIMER] & 0xff, (uint64_t)vt);
	assert_int_equal(s->stimer_config & HV_STIMER_DIRECT, 0);
	assert_int_equal(kstub_lapic_stops, 1);
	assert_true(kstub_logged("tick: synthetic timer 0, message mode"));
	unsigned before = kstub_ticks;
	for (int i = 0; i < 5; i++)
		cpu_idle();
	assert_int_equal(kstub_ticks, before + 5);
	assert_int_equal(hv_tick.msgs_bad, 0);
}

/* No timer privilege: the LAPIC timer stays the tick, said in the log,
   and the vector is given back. */
static void
test_no_stimer_keeps_lapic(void **state)
{
	struct hv_sim *s = *state;

	s->priv_lo &= ~HV_P_STIMER;
	assert_int_equal(hv_kern_init(), TERN_OK);
	assert_int_equal(kstub_lapic_stops, 0);
	assert_int_equal(kstub_vector("hv-stimer0"), -1);
	assert_true(kstub_logged("the LAPIC timer stays the tick"));
}

/* A timer that never interrupts: after the bounded wait it is stopped
   and the LAPIC timer stays. */
static void
test_silent_stimer_keeps_lapic(void **state)
{
	struct hv_sim *s = *state;

	kstub_irqs_lost = true;
	assert_int_equal(hv_kern_init(), TERN_OK);
	assert_int_equal(kstub_lapic_stops, 0);
	assert_int_equal(s->stimer_config, 0);
	assert_int_equal(kstub_vector("hv-stimer0"), -1);
	assert_true(kstub_logged("0 ticks in 50 ms; the LAPIC timer stays the tick"));
	assert_true(kstub_idles <= 60);
}

/* The panic hook: installed only with the crash MSRs; fills P0..P4 and
   notifies. */
static void
test_panic_hook(void **state)
{
	struct hv_sim *s = *state;

	assert_int_equal(hv_kern_init(), TERN_OK);
	assert_non_null(panic_report_hook);
	panic_report_hook("double fault in rt_run");
	assert_int_equal(s->crash[0], HV_CRASH_P0_TERN);
	assert_memory_equal(&s->crash[1], "double fault in ", 16);
	assert_memory_equal(&s->crash[3], "rt_run\0\0", 8);
	assert_int_equal(s->crash[5], HV_CRASH_CTL_NOTIFY);
}

static void
test_no_crash_msrs_no_hook(void **state)
{
	struct hv_sim *s = *state;

	s->misc &= ~HV_M_CRASH_MSRS;
	assert_int_equal(hv_kern_init(), TERN_OK);
	assert_null(panic_report_hook);
}

/* The reference page invalid: the rate comes from the frequency MSR. */
static void
test_clock_from_freq_msr(void **state)
{
	struct hv_sim *s = *state;
	char m[160];

	s->f_tsc_seq0 = true;
	assert_int_equal(hv_kern_init(), TERN_OK);
	assert_int_equal(kstub_tsc_hz, s->tsc_hz);
	assert_string_equal(kstub_tsc_ref, "hv-tsc-freq");
	assert_true(kstub_marker(1, m, sizeof(m)));
	assert_string_equal(m, "CLOCK source=hv-tsc-freq hz=2500000000");
}

/* vmbus_kern: connect and probe on the glue's SynIC, a driver opens its
   channel; the shutdown hook detaches it, closes the channel and sends
   UNLOAD (the simulator fails a test that UNLOADs with a channel open). */
static void
test_vmbus_shutdown_unload(void **state)
{
	struct hv_sim *s = *state;

	assert_int_equal(hv_kern_init(), TERN_OK);
	assert_int_equal(vmbus_kern_init(td_table), TERN_OK);
	assert_int_equal(td_attached, 1);
	assert_true(hv_sim_chan(s, 14)->open);
	vmbus_kern_poll();
	assert_int_equal(s->unloads, 0);
	vmbus_kern_shutdown();
	assert_int_equal(s->unloads, 1);
	assert_int_equal(td_detached, 1);
	assert_false(hv_sim_chan(s, 14)->open);
	assert_false(s->connected);
	/* A second shutdown (power-off after reboot hook) sends nothing. */
	vmbus_kern_shutdown();
	assert_int_equal(s->unloads, 1);
}

/* A live migration rewrites the reference TSC page with another rate:
   the next vmbus_kern_poll hands it to the kernel clock, interrupts held
   off; an unchanged page costs nothing. */
static void
test_clock_follows_migration(void **state)
{
	struct hv_sim *s = *state;

	assert_int_equal(hv_kern_init(), TERN_OK);
	assert_int_equal(vmbus_kern_init(td_table), TERN_OK);
	assert_int_equal(s->unloads, 0);
	uint64_t first = kstub_hv_scale;
	assert_int_equal(kstub_tsc_hz / 1000, 2500000);
	vmbus_kern_poll();
	assert_int_equal(kstub_hv_scale, first);
	assert_int_equal(kstub_intr_saves, 0);
	/* The host moves us to a 3 GHz machine. */
	struct hv_tsc_page *p = hv_state.tsc_page.va;
	p->scale = (uint64_t)(((unsigned __int128)10000000u << 64) / 3000000000ull);
	p->sequence++;
	vmbus_kern_poll();
	assert_int_not_equal(kstub_hv_scale, first);
	assert_int_equal(kstub_tsc_hz / 1000, 3000000);
	assert_int_equal(kstub_intr_saves, 1);
	assert_true(kstub_logged("reference TSC page rewritten"));
	vmbus_kern_poll();
	assert_int_equal(kstub_intr_saves, 1);
	vmbus_kern_shutdown();
	assert_int_equal(s->unloads, 1);
}

/* A host that stops answering: the shutdown still ends (bounded) and
   says which reply it missed. */
static void
test_vmbus_shutdown_mute_host(void **state)
{
	struct hv_sim *s = *state;

	assert_int_equal(hv_kern_init(), TERN_OK);
	assert_int_equal(vmbus_kern_init(td_table), TERN_OK);
	s->f_mute = true;
	vmbus_kern_shutdown();
	assert_true(kstub_logged("UNLOAD_RESPONSE"));
	assert_true(kstub_logged("unload:"));
	/* The rings whose GPADL teardown was never confirmed stay allocated
	   (the host may still map them). */
	assert_true(kstub_logged("rings leaked on purpose"));
	expect_leaked = 1;
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_gate),
		T(test_bringup_direct),
		T(test_bringup_message_mode),
		T(test_no_stimer_keeps_lapic),
		T(test_silent_stimer_keeps_lapic),
		T(test_panic_hook),
		T(test_no_crash_msrs_no_hook),
		T(test_clock_from_freq_msr),
		T(test_vmbus_shutdown_unload),
		T(test_vmbus_shutdown_mute_host),
		T(test_clock_follows_migration),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
