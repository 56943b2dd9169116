/*
 * fuzz_ena.c - libFuzzer target: the ENA driver against a hostile device.
 * The simulator (ena_sim.c) runs in hostile mode: every register value,
 * admin completion, AENQ entry and TX/RX completion the driver is about
 * to read may be overwritten with bytes from the input, and the rest of
 * the input is a script of operations (transmit, inject a frame, poll,
 * post an AENQ event, let time pass, return held buffers, enable
 * interrupts).  Invariants: no sanitizer report, no hang (every driver
 * wait is bounded in virtual time), and after detach every DMA region
 * and every transmitted buffer has been given back.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ena/ena_var.h"
#include "kernel/err.h"
#include "tests/ena/ena_sim.h"
#include "tests/hw/kstubs.h"

struct in {
	const uint8_t *p;
	size_t n;
};

static uint8_t
take(struct in *in)
{
	if (in->n == 0)
		return 0;
	in->n--;
	return *in->p++;
}

#define NTX 8
#define NHELD 16

struct fz {
	struct in in;
	struct ena_sim sim;
	struct ena_softc sc;
	struct nic_buf tb[NTX];
	bool tx_busy[NTX];
	uint8_t tmem[NTX][1600];
	struct nic_buf *held[NHELD];
	int nheld;
};

/* One control byte per value: 1 in 8 gets overwritten from the input. */
static void
mangle(void *ctx, int kind, void *p, size_t len)
{
	struct fz *f = ctx;
	(void)kind;
	if ((take(&f->in) & 7) != 0)
		return;
	uint8_t *b = p;
	uint8_t how = take(&f->in);
	size_t at = how % len;
	b[at] ^= take(&f->in);
	if (how & 0x80)
		b[(at + 1) % len] = take(&f->in);
}

static void
tx_release(struct nic_buf *b)
{
	struct fz *f = b->owner;
	f->tx_busy[b - f->tb] = false;
}

static void
on_rx(void *upper, struct nic_buf *b)
{
	struct fz *f = upper;
	if (f->nheld < NHELD)
		f->held[f->nheld++] = b;
	else
		nic_buf_release_chain(b);
}

static void
do_tx(struct fz *f)
{
	int i;
	for (i = 0; i < NTX && f->tx_busy[i]; i++)
		;
	if (i == NTX)
		return;
	uint32_t len = 60 + (uint32_t)take(&f->in) * 5;
	struct nic_buf *b = &f->tb[i];
	memset(b, 0, sizeof(*b));
	b->data = f->tmem[i];
	b->len = len;
	b->cap = sizeof(f->tmem[i]);
	memset(b->data, take(&f->in), len);
	b->data[12] = 0x08;
	b->data[13] = 0x00;
	b->data[14] = 0x45;
	b->data[23] = 17;
	b->release = tx_release;
	b->owner = f;
	b->refs = 1;
	struct nic_tx_meta m = { 14, 34, NIC_PROTO_UDP, 0, 0, NIC_TX_CSUM_L4 };
	int q = take(&f->in) % (f->sc.nq ? f->sc.nq : 1);
	f->tx_busy[i] = true;
	if (nic_tx(&f->sc.nic, q, b, (take(&f->in) & 1) ? &m : NULL) != TERN_OK)
		f->tx_busy[i] = false;	/* refused: still ours */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz *f = calloc(1, sizeof(*f));
	f->in.p = data;
	f->in.n = size;
	struct ena_sim_cfg c;
	ena_sim_default_cfg(&c);
	uint8_t shape = take(&f->in);
	c.llq = (shape & 1) == 0;
	c.llq_large = (shape & 2) != 0;
	c.readless = (shape & 4) == 0;
	c.max_queues_ext = (shape & 8) == 0;
	c.depth = (shape & 16) ? 256 : 32;
	c.nq = (uint16_t)(1 + (shape >> 5) % 4);
	ena_sim_init(&f->sim, &c);
	f->sim.quiet = true;
	f->sim.mangle = mangle;
	f->sim.mangle_ctx = f;
	ena_sim_bind(&f->sim, &f->sc.hw, &f->sc.regs, &f->sc.llq_bar);
	strcpy(f->sc.hw.name, "ena0");
	f->sc.readless = c.readless;
	f->sc.nvec = 1 + ENA_MAX_QUEUES;
	f->sc.ncpus = 1;
	bool up = ena_attach_core(&f->sc, 0) == TERN_OK;
	if (up) {
		f->sc.nic.rx = on_rx;
		f->sc.nic.upper = f;
		for (int ops = 0; ops < 400 && f->in.n > 0; ops++) {
			uint8_t op = take(&f->in);
			int q = (op >> 4) % f->sc.nq;
			switch (op & 7) {
			case 0:
				do_tx(f);
				break;
			case 1: {
				uint8_t frame[3000];
				uint32_t len = 14 + (uint32_t)take(&f->in) * 11;
				memset(frame, take(&f->in), len);
				ena_sim_rx(&f->sim, (uint16_t)q, frame, len);
				break;
			}
			case 2:
				nic_poll_queue(&f->sc.nic, q, 1 + take(&f->in) % 64);
				break;
			case 3: {
				uint8_t pl[48];
				uint16_t g = take(&f->in) % 9;
				memset(pl, take(&f->in), sizeof(pl));
				ena_sim_aenq(&f->sim, g, take(&f->in), pl, sizeof(pl));
				break;
			}
			case 4:
				f->sim.now_ns += (uint64_t)take(&f->in) * 50000000ULL;
				break;
			case 5:
				if (f->nheld > 0)
					nic_buf_release_chain(f->held[--f->nheld]);
				break;
			case 6:
				nic_intr_enable(&f->sc.nic, q, true);
				break;
			default:
				ena_sim_keepalive(&f->sim);
				break;
			}
		}
		while (f->nheld > 0)
			nic_buf_release_chain(f->held[--f->nheld]);
		ena_detach_core(&f->sc);
	}
	if (f->sim.ndma != 0) {
		fprintf(stderr, "fuzz_ena: %llu DMA regions left after %s\n",
		    (unsigned long long)f->sim.ndma, up ? "detach" : "a failed attach");
		abort();
	}
	for (int i = 0; i < NTX; i++) {
		if (f->tx_busy[i]) {
			fprintf(stderr, "fuzz_ena: transmitted buffer %d never released\n", i);
			abort();
		}
	}
	ena_sim_fini(&f->sim);
	free(f);
	return 0;
}
