/*
 * dev.c - the NIC registry (kernel/dev/nic.h).  The block registry and
 * the synchronous block helper are in kernel/dev/blk.c.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel/dev/nic.h"
#include "kernel/err.h"

static struct nic *nics;

int
nic_register(struct nic *n)
{
	struct nic **pp = &nics;
	/* A driver that recovered its device registers the same NIC again
	   (virtio_net_recover): it keeps its place. */
	for (; *pp != NULL; pp = &(*pp)->next_nic)
		if (*pp == n)
			return TERN_OK;
	n->next_nic = NULL;
	*pp = n;
	return TERN_OK;
}

struct nic *
nic_first(void)
{
	return nics;
}
