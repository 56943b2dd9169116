/*
 * subsys.c - the order in which subsystems start after the core
 * (platform detection, buses, drivers, then services).  Kept apart from
 * main.c so adding a subsystem is a one-line change here.
 */
#include "kernel/kernel.h"
#include "kernel/log.h"

void
kernel_subsystems_init(void)
{
}

void
kernel_services_run(void)
{
}
