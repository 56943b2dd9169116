/*
 * test_ena_fault.c - the ENA driver against the simulator with one fault
 * at every countdown position, as tests/nvme/test_nvme_fault.c does for
 * NVMe: the k-th admin command failing (two statuses) or never
 * completing, the k-th read-less register read never answered, the k-th
 * DMA allocation failing.  Each position ends in a clean attach error
 * (no DMA left, no protocol error) or a working device that moves a
 * frame each way.  The same matrix runs over recovery: a device-requested
 * reset whose recovery meets the fault either succeeds, or fails, is
 * counted and succeeds on the retry a second later.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ena/ena_var.h"
#include "kernel/err.h"
#include "tests/ena/ena_sim.h"
#include "tests/hw/kstubs.h"

enum fault { F_ADMIN_FAIL, F_ADMIN_UNSUP, F_ADMIN_DROP, F_READLESS, F_DMA, F_NKINDS };
static const char *const fault_name[F_NKINDS] = {
	"admin-fail", "admin-unsupported", "admin-drop", "readless-drop", "dma-fail",
};

struct fix {
	struct ena_sim sim;
	struct ena_softc sc;
	struct nic_buf *rx;
	int released;
	struct nic_buf tb;
	uint8_t tmem[256];
};

static void
on_rx(void *upper, struct nic_buf *b)
{
	struct fix *f = upper;
	if (f->rx == NULL)
		f->rx = b;
	else
		nic_buf_release_chain(b);
}

static void on_tx_release(struct nic_buf *b) { ((struct fix *)b->owner)->released++; }

static struct fix *
fix_new(void)
{
	struct fix *f = calloc(1, sizeof(*f));
	struct ena_sim_cfg c;
	ena_sim_default_cfg(&c);
	ena_sim_init(&f->sim, &c);
	f->sim.quiet = true;
	ena_sim_bind(&f->sim, &f->sc.hw, &f->sc.regs, &f->sc.llq_bar);
	strcpy(f->sc.hw.name, "ena0");
	f->sc.readless = true;
	f->sc.nvec = 1 + ENA_MAX_QUEUES;
	f->sc.ncpus = 1;
	return f;
}

/* Arm fault `k` at countdown position n; returns a pointer to the
   countdown so the caller can see whether it was consumed. */
static uint32_t *
arm(struct fix *f, enum fault k, uint32_t n)
{
	switch (k) {
	case F_ADMIN_FAIL:
		f->sim.f_admin_fail_at = n;
		return &f->sim.f_admin_fail_at;
	case F_ADMIN_UNSUP:
		f->sim.f_admin_fail_status = ENA_ADMIN_UNSUPPORTED;
		f->sim.f_admin_fail_at = n;
		return &f->sim.f_admin_fail_at;
	case F_ADMIN_DROP:
		f->sim.f_admin_drop_at = n;
		return &f->sim.f_admin_drop_at;
	case F_READLESS:
		f->sim.f_readless_drop_at = n;
		return &f->sim.f_readless_drop_at;
	default:
		f->sim.f_dma_fail_at = n;
		return &f->sim.f_dma_fail_at;
	}
}

/* One frame out and one in on queue `q`. */
static void
traffic(struct fix *f, int q)
{
	uint8_t frame[64], got[128];
	memset(frame, 0xab, sizeof(frame));
	memcpy(frame, "\x02\x1d\x0f\xec\x20\x01\x02\x00\x00\x00\x00\x02\x88\xb5", 14);
	memset(&f->tb, 0, sizeof(f->tb));
	f->tb.data = f->tmem;
	f->tb.len = sizeof(frame);
	memcpy(f->tmem, frame, sizeof(frame));
	f->tb.release = on_tx_release;
	f->tb.owner = f;
	f->tb.refs = 1;
	int before = f->released;
	assert_int_equal(nic_tx(&f->sc.nic, q, &f->tb, NULL), TERN_OK);
	assert_int_equal(ena_sim_wire_pop(&f->sim, got, sizeof(got)), (int)sizeof(frame));
	assert_memory_equal(got, frame, sizeof(frame));
	assert_int_equal(ena_sim_rx(&f->sim, (uint16_t)q, frame, sizeof(frame)), 0);
	nic_poll_queue(&f->sc.nic, q, 64);
	assert_int_equal(f->released, before + 1);
	assert_non_null(f->rx);
	assert_memory_equal(f->rx->data, frame, sizeof(frame));
	nic_buf_release_chain(f->rx);
	f->rx = NULL;
}

static void
fix_end(struct fix *f, bool attached)
{
	if (attached)
		ena_detach_core(&f->sc);
	assert_int_equal(f->sim.ndma, 0);
	ena_sim_fini(&f->sim);
	free(f);
}

static void
test_attach_matrix(void **state)
{
	(void)state;
	for (int k = 0; k < F_NKINDS; k++) {
		uint32_t n, failures = 0;
		for (n = 1; n < 200; n++) {
			struct fix *f = fix_new();
			uint32_t *left = arm(f, (enum fault)k, n);
			int rc = ena_attach_core(&f->sc, 0);
			bool consumed = *left == 0;
			if (rc == TERN_OK) {
				f->sc.nic.rx = on_rx;
				f->sc.nic.upper = f;
				*left = 0;
				traffic(f, 0);
				traffic(f, (int)f->sc.nq - 1);
			} else {
				failures++;
				assert_true(rc == TERN_EIO || rc == TERN_ETIMEDOUT ||
				    rc == TERN_ENOMEM || rc == TERN_ENODEV || rc == TERN_ENOTSUP ||
				    rc == TERN_EPROTO);
			}
			if (f->sim.perrs != 0)
				fprintf(stderr, "%s@%u: %s\n", fault_name[k], n, f->sim.perr_first);
			assert_int_equal(f->sim.perrs, 0);
			fix_end(f, rc == TERN_OK);
			if (!consumed)
				break;	/* past the last operation of attach */
		}
		fprintf(stderr, "# %s: %u positions, %u clean failures\n", fault_name[k],
		    n - 1, failures);
		assert_true(n > 5 && n < 200);
		assert_true(failures > 0);
	}
}

static void
test_recovery_matrix(void **state)
{
	(void)state;
	for (int k = 0; k < F_NKINDS; k++) {
		if (k == F_DMA)
			continue;	/* recovery allocates nothing */
		uint32_t n, retried = 0;
		for (n = 1; n < 200; n++) {
			struct fix *f = fix_new();
			assert_int_equal(ena_attach_core(&f->sc, 0), TERN_OK);
			f->sc.nic.rx = on_rx;
			f->sc.nic.upper = f;
			uint32_t *left = arm(f, (enum fault)k, n);
			assert_int_equal(ena_sim_aenq(&f->sim, ENA_AENQ_DEVICE_REQUEST_RESET, 0,
			    NULL, 0), 0);
			nic_poll_queue(&f->sc.nic, 0, 64);
			bool consumed = *left == 0;
			*left = 0;
			if (f->sc.st.resets == 0) {
				/* Failed or still pending: the retry comes after 1 s. */
				retried++;
				f->sim.now_ns += 1100ULL * 1000000;
				ena_sim_keepalive(&f->sim);
				nic_poll_queue(&f->sc.nic, 0, 64);
			}
			assert_int_equal(f->sc.st.resets, 1);
			assert_false(f->sc.dead);
			traffic(f, 0);
			assert_int_equal(f->sim.perrs, 0);
			fix_end(f, true);
			if (!consumed)
				break;
		}
		fprintf(stderr, "# recovery %s: %u positions, %u needed the retry\n",
		    fault_name[k], n - 1, retried);
		assert_true(n > 3 && n < 200);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_attach_matrix),
		cmocka_unit_test(test_recovery_matrix),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
