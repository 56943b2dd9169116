/*
 * ts_azure.c - ternsim --platform=azure: the Hyper-V enlightenments
 * (kernel/hv) and the VMBus core (vmbus/) brought up as the kernel does
 * on Azure, against the host simulator of tests/vmbus (a netvsc and a
 * storvsc offer).  It prints TERN HV and TERN VMBUS like a boot on Azure.
 * With a disk (ts_azure_disk, --disk=FILE) two storvsc controllers get
 * the storvsc VSP of tests/vmbus: relid 15 a 16 MiB memory disk (the boot
 * disk, sda), relid 16 the file (sdb, the disk blktest uses), and the
 * storvsc driver binds both.  netvsc does not bind yet.
 */
#include <stdlib.h>
#include <string.h>

#include "kernel/err.h"
#include "kernel/hv/hv.h"
#include "kernel/log.h"
#include "tests/vmbus/hv_sim.h"
#include "tests/vmbus/storvsc_vsp.h"
#include "tools/ternsim/ternsim.h"
#include "vmbus/storvsc.h"
#include "vmbus/vmbus_var.h"

static struct hv_sim az_sim;
static struct hv az_hv;
static struct vmbus az_vb;
static struct hw_dma az_hcpage;
static const struct driver *const az_table[] = { &storvsc_driver, NULL };
static struct storvsc_vsp az_vsp[2];
static uint8_t *az_disk;
static size_t az_disk_len;

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
		if (az_vsp[i].s != NULL)
			storvsc_vsp_hook(s, c, &az_vsp[i]);
}

static void *az_zalloc(size_t n) { return calloc(1, n); }

int
ts_azure_start(void)
{
	char line[256];
	int rc;

	hv_sim_init(&az_sim);
	hv_sim_offer(&az_sim, hv_sim_guid_netvsc, 1, 14, 0x2e);
	hv_sim_offer(&az_sim, hv_sim_guid_storvsc, 2, 15, 0x2f);
	if (az_disk != NULL) {
		hv_sim_offer(&az_sim, hv_sim_guid_storvsc, 3, 16, 0x30);
		storvsc_vsp_init(&az_vsp[0], &az_sim, 15, 512, 32768);
		storvsc_vsp_init(&az_vsp[1], &az_sim, 16, 512, az_disk_len / 512);
		free(az_vsp[1].disk);
		az_vsp[1].disk = az_disk;	/* the mapped file */
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
	rc = vmbus_probe(&az_vb, az_table);
	ts_azure_check();
	return rc < 0 ? rc : TERN_OK;
}

void
ts_azure_check(void)
{
	if (hv_sim_error_count(&az_sim) != 0)
		log_warn("ternsim", "host simulator saw %d protocol errors, first: %s",
		    hv_sim_error_count(&az_sim), az_sim.err[0]);
	if (az_vsp[1].s != NULL)
		log_info("ternsim", "storvsc host: %llu reads, %llu writes, %llu flushes, "
		    "%llu fua writes", (unsigned long long)az_vsp[1].reads,
		    (unsigned long long)az_vsp[1].writes,
		    (unsigned long long)az_vsp[1].flushes,
		    (unsigned long long)az_vsp[1].fua_writes);
}
