/*
 * ts_azure.c - ternsim --platform=azure: the Hyper-V enlightenments
 * (kernel/hv) and the VMBus core (vmbus/) brought up as the kernel does
 * on Azure, against the host simulator of tests/vmbus (a netvsc and a
 * storvsc offer).  It prints TERN HV and TERN VMBUS like a boot on Azure;
 * no driver binds yet (netvsc/storvsc are issue 18), so the guest then
 * runs without network or disk.
 */
#include <stdlib.h>
#include <string.h>

#include "kernel/err.h"
#include "kernel/hv/hv.h"
#include "kernel/log.h"
#include "tests/vmbus/hv_sim.h"
#include "tools/ternsim/ternsim.h"
#include "vmbus/vmbus_var.h"

static struct hv_sim az_sim;
static struct hv az_hv;
static struct vmbus az_vb;
static struct hw_dma az_hcpage;
static const struct driver *const az_table[] = { NULL };

static void *az_zalloc(size_t n) { return calloc(1, n); }

int
ts_azure_start(void)
{
	char line[256];
	int rc;

	hv_sim_init(&az_sim);
	hv_sim_offer(&az_sim, hv_sim_guid_netvsc, 1, 14, 0x2e);
	hv_sim_offer(&az_sim, hv_sim_guid_storvsc, 2, 15, 0x2f);
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
	if (hv_sim_error_count(&az_sim) != 0)
		log_warn("ternsim", "host simulator saw %d protocol errors, first: %s",
		    hv_sim_error_count(&az_sim), az_sim.err[0]);
	return rc < 0 ? rc : TERN_OK;
}
