/*
 * ts_nitro.c - ternsim's EC2 Nitro network (--platform=nitro): the ENA
 * driver (ena/ena.c, ena/ena_datapath.c) over the ENA device simulator
 * (tests/ena/ena_sim.c), its wire a TAP device.  Polled (no MSI-X), LLQ
 * on, MTU 9001 offered, all received frames on queue pair 0 (the
 * simulator has no RSS).  The simulator's clock follows CLOCK_MONOTONIC
 * and it posts a keep-alive every second, so the driver's watchdogs run
 * in real time.  --fault=reset-after=N: after N transmitted frames the
 * device asks for a reset through the AENQ; the driver recovers in place
 * (same struct nic, same MAC) from its own poll.  --disk=FILE: an EBS
 * volume, the NVMe driver over the NVMe simulator with Amazon identity
 * (tests/nvme/nvme_sim.c), its blocks the mapped file.  --impair: both
 * directions of the wire go through ts_impair.c.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ena/ena_var.h"
#include "kernel/err.h"
#include "kernel/log.h"
#include "kernel/panic.h"
#include "nvme/nvme_var.h"
#include "tests/ena/ena_sim.h"
#include "tests/nvme/nvme_sim.h"
#include "tools/ternsim/ternsim.h"
#include "tools/ternsim/ts_impair.h"

static struct {
	int tap;
	struct ena_sim sim;
	struct ena_softc *sc;
	const struct nic_ops *drv_ops;
	struct nic_ops ops;
	uint64_t last_keepalive_ns;
	uint64_t wire_rx, wire_tx, wire_rx_dropped, wire_tx_errors;
	struct nvme_sim nvme_sim;
	struct nvme_softc *nvme;
} tn;

static uint64_t
mono_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

/* The device's clock: real time, never behind what its delays added. */
static void
sim_clock(void)
{
	uint64_t now = mono_ns();
	if (now > tn.sim.now_ns)
		tn.sim.now_ns = now;
	if (tn.sim.now_ns - tn.last_keepalive_ns >= 1000000000ULL) {
		tn.last_keepalive_ns = tn.sim.now_ns;
		ena_sim_keepalive(&tn.sim);
	}
}

static void
tap_put(void *ctx, const uint8_t *frame, uint32_t len)
{
	(void)ctx;
	if (write(tn.tap, frame, len) == (ssize_t)len)
		tn.wire_tx++;
	else
		tn.wire_tx_errors++;
}

static void
wire_tx(void *ctx, const uint8_t *frame, uint32_t len)
{
	ts_impair_frame(TS_FROM_GUEST, frame, len, tap_put, ctx);
}

/* A frame from the wire into queue 0's posted buffers; no room: lost. */
static void
sim_put(void *ctx, const uint8_t *frame, uint32_t len)
{
	(void)ctx;
	if (len < 14 || ena_sim_rx(&tn.sim, 0, frame, len) != 0) {
		tn.wire_rx_dropped++;
		return;
	}
	tn.wire_rx++;
}

static void
wire_pump(void)
{
	static uint8_t frame[65536];
	sim_clock();
	ts_impair_poll();
	while (ena_sim_rx_room(&tn.sim, 0) > 0) {
		ssize_t n = read(tn.tap, frame, sizeof(frame));
		if (n <= 0)
			return;
		ts_impair_frame(TS_TO_GUEST, frame, (uint32_t)n, sim_put, NULL);
	}
}

static int
nitro_poll(struct nic *n, int queue, int budget)
{
	ts_check_stop();
	if (queue == 0)
		wire_pump();
	return tn.drv_ops->poll(n, queue, budget);
}

void
ts_nitro_attach(int tap, long reset_after)
{
	struct ena_sim_cfg c;
	tn.tap = tap;
	ena_sim_default_cfg(&c);
	c.msix_off = true;	/* no MSI-X: the simulator refuses any unmask */
	ena_sim_init(&tn.sim, &c);
	tn.sim.on_tx = wire_tx;
	tn.sim.now_ns = mono_ns();
	tn.last_keepalive_ns = tn.sim.now_ns;
	struct ena_softc *sc = calloc(1, sizeof(*sc));
	if (sc == NULL)
		exit(1);
	snprintf(sc->hw.name, sizeof(sc->hw.name), "ena0");
	ena_sim_bind(&tn.sim, &sc->hw, &sc->regs, &sc->llq_bar);
	sc->readless = true;
	sc->nvec = 0;		/* polled: ternsim has no interrupts */
	sc->ncpus = 1;
	if (ena_attach_core(sc, 0) != TERN_OK)
		fail("net", "ena_attach");
	tn.sc = sc;
	tn.drv_ops = sc->nic.ops;
	tn.ops = *sc->nic.ops;
	tn.ops.poll = nitro_poll;
	sc->nic.ops = &tn.ops;
	if (reset_after >= 0) {
		tn.sim.f_reset_after_tx = (uint32_t)reset_after;
		log_info("ternsim", "fault: the ENA device requests a reset after %ld "
		    "transmitted frames", reset_after);
	}
}

void
ts_nitro_disk(uint8_t *disk, size_t len)
{
	nvme_sim_init(&tn.nvme_sim, true, 1, len / 512);
	free(tn.nvme_sim.disk[0]);
	tn.nvme_sim.disk[0] = disk;
	struct nvme_softc *sc = calloc(1, sizeof(*sc));
	if (sc == NULL)
		exit(1);
	snprintf(sc->hw.name, sizeof(sc->hw.name), "nvme0");
	sc->hw.ops = &nvme_sim_ops;
	sc->hw.backend = &tn.nvme_sim;
	sc->hw.dma_limit = 1ULL << 48;	/* Amazon controller (nvme_pci.c) */
	sc->regs.dev = &sc->hw;
	sc->want_ioq = 1;
	if (nvme_attach_core(sc, 0) != TERN_OK)
		fail("blk", "nvme_attach");
	tn.nvme = sc;
}

void
ts_nitro_wait(int ms)
{
	if (ena_sim_rx_room(&tn.sim, 0) > 0) {
		struct pollfd p = { tn.tap, POLLIN, 0 };
		if (poll(&p, 1, ms) > 0)
			wire_pump();
	} else {
		usleep((useconds_t)ms * 1000);
	}
	sim_clock();
	ts_impair_poll();
}

void
ts_nitro_shutdown(void)
{
	if (tn.sc == NULL)
		return;
	log_info("ternsim", "wire: %llu frames in, %llu out, %llu dropped in, %llu lost out; "
	    "ena: %llu resets, %llu protocol errors seen by the simulator",
	    (unsigned long long)tn.wire_rx, (unsigned long long)tn.wire_tx,
	    (unsigned long long)tn.wire_rx_dropped, (unsigned long long)tn.wire_tx_errors,
	    (unsigned long long)tn.sc->st.resets, (unsigned long long)tn.sim.perrs);
	if (tn.sim.perrs != 0)
		log_warn("ternsim", "ena simulator: first protocol error: %s", tn.sim.perr_first);
}
