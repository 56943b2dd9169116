/*
 * dev.c - the NIC registry (kernel/dev/nic.h).  The block registry and
 * the synchronous block helper are in kernel/dev/blk.c.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernel/dev/nic.h"
#include "kernel/err.h"
#include "kernel/log.h"

static struct nic *nics;
static struct nic_listener *nic_listeners;

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
	for (struct nic_listener *l = nic_listeners; l != NULL; l = l->next)
		if (l->added != NULL)
			l->added(l->ctx, n);
	return TERN_OK;
}

int
nic_unregister(struct nic *n)
{
	struct nic **pp = &nics;
	while (*pp != NULL && *pp != n)
		pp = &(*pp)->next_nic;
	if (*pp == NULL)
		return TERN_ENOENT;
	*pp = n->next_nic;
	n->next_nic = NULL;
	/* Listeners drop their references before the driver detaches. */
	for (struct nic_listener *l = nic_listeners; l != NULL; l = l->next)
		if (l->removed != NULL)
			l->removed(l->ctx, n);
	log_info("net", "%s: unregistered", n->name);
	return TERN_OK;
}

struct nic *
nic_first(void)
{
	return nics;
}

void
nic_listen(struct nic_listener *l)
{
	l->next = nic_listeners;
	nic_listeners = l;
	for (struct nic *n = nics; n != NULL; n = n->next_nic)
		if (l->added != NULL)
			l->added(l->ctx, n);
}
