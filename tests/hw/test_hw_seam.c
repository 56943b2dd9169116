/*
 * test_hw_seam.c - the CPU-level and bulk operations of the hardware seam
 * (kernel/hw/hw.h: MSR, CPUID, hypercall, block write, random draw)
 * through the replay backend (tests/hw/hw_replay.c) with small
 * hand-written traces in docs/trace-format.md form, and through the fault
 * wrapper (tests/hw/hw_fault.c).  Each replay test has a matching
 * divergence test whose message must name the MSR, leaf, hypercall code
 * or register.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/hw/hw_fault.h"
#include "tests/hw/hw_replay.h"

struct fixture {
	struct hw_replay *r;
	struct hw_dev dev;
	struct hw_bar bar;
	char msg[512];
	int fails;
};

static const struct hw_regname llq_names[] = {
	{ 0x0, 8, "llq[0].desc" },
	{ 0x40, 8, "llq[1].desc" },
	{ 0x48, 8, "llq[1].desc_hi" },
	{ 0, 0, NULL },
};

static void
on_fail(void *arg, const char *msg)
{
	struct fixture *fx = arg;
	snprintf(fx->msg, sizeof(fx->msg), "%s", msg);
	fx->fails++;
}

static void
open_trace(struct fixture *fx, const char *text)
{
	memset(fx, 0, sizeof(*fx));
	fx->r = hw_replay_open_mem(text, "cpu0");
	assert_non_null(fx->r);
	hw_replay_attach(fx->r, &fx->dev);
	hw_replay_set_fail(fx->r, on_fail, fx);
	fx->bar.dev = &fx->dev;
	fx->bar.index = 2;
	fx->bar.len = 0x1000;
	fx->bar.names = llq_names;
}

static void
close_trace(struct fixture *fx)
{
	hw_replay_close(fx->r);
}

static const char msr_trace[] =
	"# hand-written: PAT read, then a write of the WC layout\n"
	"cpu0 0 m 0x277 0x7040600070406\n"
	"cpu0 1 M 0x277 0x7010600070106\n";

static void test_msr_replay(void **state)
{
	(void)state;
	struct fixture fx;
	open_trace(&fx, msr_trace);
	assert_int_equal(hw_msr_read(&fx.dev, 0x277), 0x7040600070406ULL);
	hw_msr_write(&fx.dev, 0x277, 0x7010600070106ULL);
	assert_true(hw_replay_finish(fx.r));
	assert_int_equal(fx.fails, 0);
	close_trace(&fx);
}

static void test_msr_divergence(void **state)
{
	(void)state;
	struct fixture fx;
	open_trace(&fx, msr_trace);
	(void)hw_msr_read(&fx.dev, 0x277);
	hw_msr_write(&fx.dev, 0x277, 0x7040600070406ULL);
	assert_int_equal(fx.fails, 1);
	assert_non_null(strstr(fx.msg, "replay cpu0: divergence at event 2"));
	assert_non_null(strstr(fx.msg, "msr IA32_PAT (0x277): expected write "
	    "0x7010600070106, driver wrote 0x7040600070406"));
	close_trace(&fx);

	open_trace(&fx, msr_trace);
	(void)hw_msr_read(&fx.dev, 0x40000001);
	assert_non_null(strstr(fx.msg, "msr read HV_HYPERCALL (0x40000001)"));
	assert_non_null(strstr(fx.msg, "reads msr IA32_PAT (0x277)"));
	close_trace(&fx);
}

static const char cpuid_trace[] =
	"cpu0 0 X 0x40000000 0x0 0x4000000b 0x7263694d 0x666f736f 0x76482074\n"
	"cpu0 1 X 0x7 0x0 0x0 0x40000 0x0 0x0\n";

static void test_cpuid_replay(void **state)
{
	(void)state;
	struct fixture fx;
	uint32_t r[4];
	open_trace(&fx, cpuid_trace);
	hw_cpuid(&fx.dev, 0x40000000, 0, r);
	assert_int_equal(r[0], 0x4000000b);
	assert_memory_equal(&r[1], "Microsoft Hv", 12);
	hw_cpuid(&fx.dev, 7, 0, r);
	assert_int_equal(r[1], 1u << 18);
	assert_true(hw_replay_finish(fx.r));
	close_trace(&fx);

	open_trace(&fx, cpuid_trace);
	hw_cpuid(&fx.dev, 0x40000000, 0, r);
	hw_cpuid(&fx.dev, 7, 1, r);
	assert_int_equal(fx.fails, 1);
	assert_non_null(strstr(fx.msg, "driver did cpuid leaf 0x7 subleaf 0x1, trace "
	    "(seq 1, line 2) has cpuid leaf 0x7 subleaf 0x0"));
	assert_int_equal(r[1], ~0u);
	close_trace(&fx);
}

static const char hc_trace[] =
	"cpu0 0 H 0x5c 0x10000 0x11000 0x0\n"
	"cpu0 1 H 0x10008 0x10000 0x0 0x13\n";

static void test_hypercall_replay(void **state)
{
	(void)state;
	struct fixture fx;
	open_trace(&fx, hc_trace);
	/* HvPostMessage (0x5c), then a fast HvSignalEvent the host refused. */
	assert_int_equal(hw_hypercall(&fx.dev, 0x5c, 0x10000, 0x11000), 0);
	assert_int_equal(hw_hypercall(&fx.dev, 0x10008, 0x10000, 0), 0x13);
	assert_true(hw_replay_finish(fx.r));
	close_trace(&fx);

	open_trace(&fx, hc_trace);
	assert_int_equal(hw_hypercall(&fx.dev, 0x5c, 0x10000, 0x12000),
	    HW_HYPERCALL_NO_PAGE);
	assert_int_equal(fx.fails, 1);
	assert_non_null(strstr(fx.msg, "driver did hypercall code 0x5c (control 0x5c, "
	    "in 0x10000, out 0x12000), trace (seq 0, line 1) expects hypercall code "
	    "0x5c (control 0x5c, in 0x10000, out 0x11000)"));
	close_trace(&fx);
}

/* Two LLQ-sized blocks: 64 bytes at entry 0, 128 at entry 1. */
static const char block_trace[] =
	"cpu0 0 B 2 0x0 64 "
	"0100000000000000020000000000000003000000000000000400000000000000"
	"0500000000000000060000000000000007000000000000000800000000000000\n"
	"cpu0 1 B 2 0x40 128 "
	"1100000000000000120000000000000013000000000000001400000000000000"
	"1500000000000000160000000000000017000000000000001800000000000000"
	"1900000000000000200000000000000021000000000000002200000000000000"
	"2300000000000000240000000000000025000000000000002600000000000000\n"
	"cpu0 2 W 2 4 0x100 0x2\n";

static void
blocks(uint64_t a[8], uint64_t b[16])
{
	for (int i = 0; i < 8; i++)
		a[i] = (uint64_t)i + 1;
	static const uint64_t v[16] = { 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
		0x18, 0x19, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26 };
	memcpy(b, v, sizeof(v));
}

static void test_block_replay(void **state)
{
	(void)state;
	struct fixture fx;
	uint64_t a[8], b[16];
	blocks(a, b);
	open_trace(&fx, block_trace);
	hw_write_block(&fx.bar, 0, a, 8);
	hw_write_block(&fx.bar, 0x40, b, 16);
	hw_write32(&fx.bar, 0x100, 2);
	assert_true(hw_replay_finish(fx.r));
	assert_int_equal(fx.fails, 0);
	close_trace(&fx);

	/* One word wrong: the message names the word and its register. */
	open_trace(&fx, block_trace);
	hw_write_block(&fx.bar, 0, a, 8);
	b[1] ^= 0x100;
	hw_write_block(&fx.bar, 0x40, b, 16);
	assert_int_equal(fx.fails, 1);
	assert_non_null(strstr(fx.msg, "block write to bar 2 +0x40 (trace seq 1, line 2): "
	    "word 1, llq[1].desc_hi (+0x48): expected 0x12, driver wrote 0x112 "
	    "(1 word differ)"));
	close_trace(&fx);

	/* The wrong length: a 64-byte entry where 128 were recorded. */
	open_trace(&fx, block_trace);
	hw_write_block(&fx.bar, 0, a, 8);
	hw_write_block(&fx.bar, 0x40, b, 8);
	assert_non_null(strstr(fx.msg, "driver did block write of 64 bytes to llq[1].desc "
	    "(bar 2 +0x40), trace (seq 1, line 2) writes 128 bytes"));
	close_trace(&fx);

	/* Word-by-word writes where a block was recorded. */
	open_trace(&fx, block_trace);
	hw_write64(&fx.bar, 0, 1);
	assert_non_null(strstr(fx.msg, "expects block write"));
	close_trace(&fx);
}

static const char rand_trace[] =
	"cpu0 0 N seed 0 0x0\n"
	"cpu0 1 N seed 1 0x123456789abcdef0\n"
	"cpu0 2 N rand 1 0xfeedface\n";

static void test_rand_replay(void **state)
{
	(void)state;
	struct fixture fx;
	uint64_t v = 1;
	open_trace(&fx, rand_trace);
	assert_false(hw_rand(&fx.dev, HW_RAND_SEED, &v));
	assert_true(hw_rand(&fx.dev, HW_RAND_SEED, &v));
	assert_int_equal(v, 0x123456789abcdef0ULL);
	assert_true(hw_rand(&fx.dev, HW_RAND_RAND, &v));
	assert_int_equal(v, 0xfeedface);
	assert_true(hw_replay_finish(fx.r));
	close_trace(&fx);

	open_trace(&fx, rand_trace);
	assert_false(hw_rand(&fx.dev, HW_RAND_RAND, &v));
	assert_non_null(strstr(fx.msg, "driver did an rdrand draw, trace (seq 0, line 1) "
	    "has an rdseed draw"));
	close_trace(&fx);
}

/* Events the driver never reached are named by hw_replay_finish. */
static void test_finish_names_new_events(void **state)
{
	(void)state;
	struct fixture fx;
	open_trace(&fx, msr_trace);
	(void)hw_msr_read(&fx.dev, 0x277);
	assert_false(hw_replay_finish(fx.r));
	assert_non_null(strstr(fx.msg, "msr write IA32_PAT (0x277) = 0x7010600070106"));
	close_trace(&fx);
}

static void test_malformed(void **state)
{
	(void)state;
	assert_null(hw_replay_open_mem("cpu0 0 B 2 0x0 12 00\n", "cpu0"));
	assert_null(hw_replay_open_mem("cpu0 0 X 0x1 0x0 0x1\n", "cpu0"));
	assert_null(hw_replay_open_mem("cpu0 0 N maybe 1 0x1\n", "cpu0"));
}

static void test_fault(void **state)
{
	(void)state;
	struct fixture fx;
	struct hw_fault f;
	uint32_t r[4];
	uint64_t v;

	open_trace(&fx, cpuid_trace);
	hw_fault_wrap(&f, &fx.dev, HW_FAULT_READ_ONES, 1, false);
	hw_cpuid(&fx.dev, 0x40000000, 0, r);
	assert_int_equal(r[0], 0x4000000b);
	hw_cpuid(&fx.dev, 7, 0, r);
	assert_int_equal(r[1], ~0u);
	hw_fault_unwrap(&f, &fx.dev);
	assert_true(hw_replay_finish(fx.r));
	close_trace(&fx);

	open_trace(&fx, msr_trace);
	hw_fault_wrap(&f, &fx.dev, HW_FAULT_READ_ONES, 0, true);
	assert_int_equal(hw_msr_read(&fx.dev, 0x277), ~0ULL);
	hw_msr_write(&fx.dev, 0x277, 0x7010600070106ULL);
	hw_fault_unwrap(&f, &fx.dev);
	assert_true(hw_replay_finish(fx.r));
	close_trace(&fx);

	open_trace(&fx, rand_trace);
	hw_fault_wrap(&f, &fx.dev, HW_FAULT_RAND, 0, false);
	assert_false(hw_rand(&fx.dev, HW_RAND_SEED, &v));
	assert_int_equal(f.injected, 1);
	hw_fault_unwrap(&f, &fx.dev);
	close_trace(&fx);

	open_trace(&fx, hc_trace);
	hw_fault_wrap(&f, &fx.dev, HW_FAULT_HYPERCALL, 1, true);
	assert_int_equal(hw_hypercall(&fx.dev, 0x5c, 0x10000, 0x11000), 0);
	assert_int_equal(hw_hypercall(&fx.dev, 0x10008, 0x10000, 0), HW_FAULT_HV_STATUS);
	hw_fault_unwrap(&f, &fx.dev);
	close_trace(&fx);

	/* Blocks pass through the wrapper unchanged. */
	uint64_t a[8], b[16];
	blocks(a, b);
	open_trace(&fx, block_trace);
	hw_fault_wrap(&f, &fx.dev, HW_FAULT_READ_ONES, 0, false);
	hw_write_block(&fx.bar, 0, a, 8);
	hw_write_block(&fx.bar, 0x40, b, 16);
	hw_write32(&fx.bar, 0x100, 2);
	hw_fault_unwrap(&f, &fx.dev);
	assert_true(hw_replay_finish(fx.r));
	close_trace(&fx);
}

static void test_dev_tag(void **state)
{
	(void)state;
	struct hw_dev d = { .bus = HW_BUS_PCI, .pci_bus = 0x12, .pci_dev = 0x1f,
		.pci_fn = 3 };
	uint8_t t[3];
	hw_dev_tag(&d, t);
	assert_memory_equal(t, "\x12\x1f\x03", 3);
	struct hw_dev v = { .bus = HW_BUS_VMBUS, .pci_bus = 9 };
	memcpy(v.vmbus_instance, "0123456789abcdef", 16);
	hw_dev_tag(&v, t);
	assert_memory_equal(t, "def", 3);
	struct hw_dev n = { .pci_bus = 9, .pci_dev = 9 };
	hw_dev_tag(&n, t);
	assert_memory_equal(t, "\0\0\0", 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_msr_replay),
		cmocka_unit_test(test_msr_divergence),
		cmocka_unit_test(test_cpuid_replay),
		cmocka_unit_test(test_hypercall_replay),
		cmocka_unit_test(test_block_replay),
		cmocka_unit_test(test_rand_replay),
		cmocka_unit_test(test_finish_names_new_events),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_fault),
		cmocka_unit_test(test_dev_tag),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
