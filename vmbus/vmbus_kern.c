/*
 * vmbus_kern.c - kernel glue for the VMBus: one bus, connected on the
 * SynIC that kernel/hv brought up, bound to the VMBus drivers of the
 * driver table.  Does nothing where kernel/hv found no Hyper-V.
 */
#include "kernel/err.h"
#include "kernel/heap.h"
#include "kernel/log.h"
#include "vmbus/vmbus_var.h"

static struct vmbus vmbus_root;

int
vmbus_kern_init(const struct driver *const *table)
{
	struct hv *hv = hv_kern();
	int rc;

	if (hv == NULL)
		return TERN_ENODEV;
	vmbus_root.bus.zalloc = kzalloc;
	vmbus_root.bus.free = kfree;
	if ((rc = vmbus_connect(&vmbus_root, hv)) != TERN_OK) {
		log_error("vmbus", "connect: %s", err_str(rc));
		return rc;
	}
	rc = vmbus_probe(&vmbus_root, table);
	if (rc < 0)
		log_error("vmbus", "probe: %s", err_str(rc));
	return rc < 0 ? rc : TERN_OK;
}

/* Also where the kernel clock follows a rewritten reference TSC page:
   the one thread-context poll the Hyper-V path has. */
void
vmbus_kern_poll(void)
{
	hv_kern_clock_poll();
	vmbus_poll(&vmbus_root);
}

void
vmbus_kern_shutdown(void)
{
	int rc = vmbus_unload(&vmbus_root);
	if (rc != TERN_OK)
		log_warn("vmbus", "unload: %s", err_str(rc));
}
