/*
 * ts_azure.c - ternsim --platform=azure: the Hyper-V enlightenments
 * (kernel/hv) and the VMBus core (vmbus/) brought up as the kernel does
 * on Azure, against the host simulator of tests/vmbus (a netvsc and a
 * storvsc offer).  It prints TERN HV and TERN VMBUS like a boot on Azure.
 * With a disk (ts_azure_disk, --disk=FILE) two storvsc controllers get
 * the storvsc VSP of tests/vmbus: relid 15 a 16 MiB memory disk (the boot
 * disk, sda), relid 16 the file (sdb, the disk blktest uses), and the
 * storvsc driver binds both; a second file (ts_azure_disk2, --disk given
 * twice) is LUN 1 of relid 16 (sdc).  With a TAP (--tap=IF) the netvsc driver
 * binds to the netvsc offer (relid 14) and the simulator's netvsc VSP
 * (tests/vmbus/netvsc_vsp.c) puts the frames it is sent on the TAP and
 * hands frames read from the TAP to the guest as transfer packets (three
 * sub-channels granted, the frames spread by the guest's RSS settings;
 * one channel with --fault=reset-after).  A
 * driver binds only where its VSP runs: without a TAP the guest runs
 * without network, without a disk it has none.  --impair: both
 * directions of the netvsc wire go through ts_impair.c, as on the other
 * platforms.
 */
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernel/dev/nic.h"
#include "kernel/err.h"
#include "kernel/hv/hv.h"
#include "kernel/log.h"
#include "tests/vmbus/hv_sim.h"
#include "tests/vmbus/netvsc_vsp.h"
#include "tests/vmbus/storvsc_vsp.h"
#include "tools/ternsim/ternsim.h"
#include "tools/ternsim/ts_impair.h"
#include "vmbus/netvsc.h"
#include "vmbus/storvsc.h"
#include "vmbus/vmbus_var.h"

static struct hv_sim az_sim;
static struct hv az_hv;
static struct vmbus az_vb;
static struct hw_dma az_hcpage;
/* The drivers that bind: netvsc with a TAP, storvsc with a disk. */
static const struct driver *az_table[3];
static struct storvsc_vsp az_blk_vsp[2];
static uint8_t *az_disk, *az_disk2;
static size_t az_disk_len, az_disk2_len;

void
ts_azure_disk2(uint8_t *disk, size_t len)
{
	az_disk2 = disk;
	az_disk2_len = len;
}

void
ts_azure_disk(uint8_t *disk, size_t len)
{
	az_disk = disk;
	az_disk_len = len;
}

/* One hook for the host: each VSP answers only its own channel. */
static void
az_hook(struct hv_sim *s, struct sim_chan *c, void *ctx)
{
	(void)ctx;
	for (int i = 0; i < 2; i++)
		if (az_blk_vsp[i].s != NULL)
			storvsc_vsp_hook(s, c, &az_blk_vsp[i]);
}

static struct netvsc_vsp az_net_vsp;
static int az_tap = -1;
static struct nic *az_nic;
static const struct nic_ops *az_drv_ops;
static struct nic_ops az_ops;
static uint64_t az_in, az_in_dropped, az_out, az_out_lost;
static long az_rescind_after = -1;	/* --fault=reset-after=N */
static bool az_reoffer_due;
static uint64_t az_rescinds;

static void *az_zalloc(size_t n) { return calloc(1, n); }

static void
az_tap_put(void *ctx, const uint8_t *frame, uint32_t len)
{
	(void)ctx;
	if (write(az_tap, frame, len) == (ssize_t)len)
		az_out++;
	else
		az_out_lost++;
}

/* VSP on_tx: a frame the guest sent goes on the wire (impaired). */
static void
az_wire_tx(void *ctx, const uint8_t *frame, uint32_t len)
{
	ts_impair_frame(TS_FROM_GUEST, frame, len, az_tap_put, ctx);
}

/* A frame from the wire to the guest as one transfer packet; with no
   room (the guest holds its buffers, the ring is full) or no NIC (it was
   rescinded) it is lost as on a wire. */
static void
az_sim_put(void *ctx, const uint8_t *frame, uint32_t len)
{
	(void)ctx;
	const uint8_t *fp = frame;
	uint32_t l = len;
	if (az_nic == NULL || len < 14 || len > 1514 ||
	    netvsc_vsp_rx(&az_net_vsp, &fp, &l, 1, RNDIS_RXCSUM_IP_OK) == 0)
		az_in_dropped++;
	else
		az_in++;
}

int
ts_azure_wire_fd(void)
{
	return az_tap;
}

void ts_azure_wire_pump(void);

static int
az_poll(struct nic *n, int queue, int budget)
{
	ts_azure_wire_pump();
	return az_drv_ops->poll(n, queue, budget);
}

/* The NIC the bus has now (a rescind removes it, a re-offer brings a
   new one): its poll is wrapped so the wire is pumped where the runtime
   polls the NIC. */
static void
az_wrap(void)
{
	struct nic *n = nic_first();
	if (n == az_nic)
		return;
	az_nic = n;
	if (n == NULL)
		return;
	az_drv_ops = n->ops;
	az_ops = *n->ops;
	az_ops.poll = az_poll;
	n->ops = &az_ops;
}

/* Host messages (rescind, re-offer) and the rescind fault: the
   scheduler's service hook (rt_service_hook, as vmbus_kern_poll is in the
   kernel), never called from inside the NIC's poll. */
void
ts_azure_service(void)
{
	if (az_tap < 0)
		return;
	vmbus_poll(&az_vb);
	struct sim_chan *c = hv_sim_chan(&az_sim, 14);
	if (az_reoffer_due && (c == NULL || !c->rescinded)) {
		/* The guest released the old channel: offer it again. */
		az_reoffer_due = false;
		netvsc_vsp_reoffered(&az_net_vsp);
		hv_sim_offer(&az_sim, hv_sim_guid_netvsc, 1, 14, 0x2e);
		log_info("ternsim", "fault: netvsc offered again");
		vmbus_poll(&az_vb);
	}
	az_wrap();
}

void
ts_azure_set_rescind_after(long n)
{
	az_rescind_after = n;
}

/* Frames waiting on the TAP go to the guest (az_sim_put), through the
   impairment; frames it holds back are delivered when their time is up. */
void
ts_azure_wire_pump(void)
{
	static uint8_t frame[65536];
	/* The fault: the host rescinds the NIC (a message the guest takes
	   when it next services the bus; until then what it sends is
	   lost and nothing arrives, as on a host that took the device). */
	if (az_rescind_after >= 0 && az_in >= (uint64_t)az_rescind_after &&
	    az_nic != NULL) {
		az_rescind_after = -1;
		az_rescinds++;
		log_info("ternsim", "fault: netvsc rescinded after %llu frames",
		    (unsigned long long)az_in);
		hv_sim_rescind(&az_sim, 14);
		az_reoffer_due = true;
	}
	if (az_tap < 0)
		return;
	ts_impair_poll();
	for (int i = 0; i < 64 && az_nic != NULL; i++) {
		ssize_t n = read(az_tap, frame, sizeof(frame));
		if (n <= 0)
			return;
		ts_impair_frame(TS_TO_GUEST, frame, (uint32_t)n, az_sim_put, NULL);
	}
}


void
ts_azure_shutdown(void)
{
	if (az_tap >= 0)
		log_info("ternsim", "netvsc wire: %llu frames in, %llu out, %llu dropped in, %llu lost out, %llu rescinds, %d host protocol errors",
		    (unsigned long long)az_in, (unsigned long long)az_out,
		    (unsigned long long)az_in_dropped,
		    (unsigned long long)az_out_lost, (unsigned long long)az_rescinds,
		    hv_sim_error_count(&az_sim));
	if (hv_sim_error_count(&az_sim) != 0)
		log_warn("ternsim", "host simulator protocol errors, first: %s",
		    az_sim.err[0]);
}

int
ts_azure_start(int tap)
{
	char line[256];
	int rc;

	hv_sim_init(&az_sim);
	hv_sim_offer(&az_sim, hv_sim_guid_netvsc, 1, 14, 0x2e);
	hv_sim_offer(&az_sim, hv_sim_guid_storvsc, 2, 15, 0x2f);
	if (az_disk != NULL) {
		hv_sim_offer(&az_sim, hv_sim_guid_storvsc, 3, 16, 0x30);
		storvsc_vsp_init(&az_blk_vsp[0], &az_sim, 15, 512, 32768);
		storvsc_vsp_init(&az_blk_vsp[1], &az_sim, 16, 512, az_disk_len / 512);
		free(az_blk_vsp[1].disk);
		az_blk_vsp[1].disk = az_disk;	/* the mapped file */
		if (az_disk2 != NULL) {
			uint8_t *d2 = storvsc_vsp_add_lun(&az_blk_vsp[1], 1, 512,
			    az_disk2_len / 512);
			for (int i = 0; i < VSP_MAX_LUNS; i++)
				if (az_blk_vsp[1].more[i].disk == d2) {
					free(d2);
					az_blk_vsp[1].more[i].disk = az_disk2;
				}
		}
		az_sim.hook = az_hook;
		az_sim.gpa_any = true;	/* blktest's buffers come from the heap */
		az_sim.hook_ctx = NULL;
	}
	az_hv.read_tsc = hv_sim_read_tsc;
	if ((rc = hv_probe(&az_hv, &az_sim.dev)) != TERN_OK)
		return rc;
	hv_format(&az_hv, line, sizeof(line));
	marker("%s", line);
	if (hw_dma_alloc(&az_sim.dev, 4096, 4096, &az_hcpage) != 0)
		return TERN_ENOMEM;
	if ((rc = hv_hypercall_enable(&az_hv, az_hcpage.pa)) != TERN_OK ||
	    (rc = hv_synic_init(&az_hv, 0x40)) != TERN_OK)
		return rc;
	if (hv_time_init(&az_hv) == TERN_OK)
		log_info("hv", "reference time %s", hv_clock_source(&az_hv));
	az_vb.bus.zalloc = az_zalloc;
	az_vb.bus.free = free;
	if ((rc = vmbus_connect(&az_vb, &az_hv)) != TERN_OK)
		return rc;
	int nd = 0;
	if (tap >= 0) {
		az_tap = tap;
		/* Chains to the storvsc hook installed above, if any. */
		netvsc_vsp_init(&az_net_vsp, &az_sim, 14);
		az_net_vsp.on_tx = az_wire_tx;
		az_net_vsp.any_guest_memory = true;
		/* vRSS: three sub-channels, so the guest sets its receive-
		   scale parameters and the VSP spreads flows over four
		   channels.  Not with the rescind fault: the simulator does
		   not rescind and re-offer sub-channels with the primary. */
		if (az_rescind_after < 0)
			az_net_vsp.max_sub = 3;
		az_table[nd++] = &netvsc_driver;
	}
	if (az_disk != NULL)
		az_table[nd++] = &storvsc_driver;
	az_table[nd] = NULL;
	rc = vmbus_probe(&az_vb, az_table);
	if (tap >= 0)
		az_wrap();
	ts_azure_check();
	return rc < 0 ? rc : TERN_OK;
}

void
ts_azure_check(void)
{
	if (hv_sim_error_count(&az_sim) != 0)
		log_warn("ternsim", "host simulator saw %d protocol errors, first: %s",
		    hv_sim_error_count(&az_sim), az_sim.err[0]);
	if (az_blk_vsp[1].s != NULL)
		log_info("ternsim", "storvsc host: %llu reads, %llu writes, %llu flushes, "
		    "%llu fua writes", (unsigned long long)az_blk_vsp[1].reads,
		    (unsigned long long)az_blk_vsp[1].writes,
		    (unsigned long long)az_blk_vsp[1].flushes,
		    (unsigned long long)az_blk_vsp[1].fua_writes);
}
