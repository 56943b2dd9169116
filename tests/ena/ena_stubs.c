/*
 * ena_stubs.c - the kernel services the ENA tests link against, in one
 * place: klog (kept for assertions, printed when ENA_TEST_VERBOSE is
 * set), marker (kept), and a NIC registry that records registrations.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/dev/nic.h"
#include "kernel/err.h"
#include "kernel/lib/fmt.h"
#include "kernel/log.h"
#include "tests/ena/ena_stubs.h"

char ena_test_log[ENA_TEST_LOG_LINES][256];
int ena_test_nlog;
char ena_test_marker[256];
int ena_test_nmarkers;
int ena_test_registered, ena_test_unregistered;

void
klog(int level, const char *mod, const char *fmt, ...)
{
	va_list ap;
	char line[256];
	(void)level;
	va_start(ap, fmt);
	kvsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	memcpy(ena_test_log[ena_test_nlog % ENA_TEST_LOG_LINES], line, sizeof(line));
	ena_test_nlog++;
	if (getenv("ENA_TEST_VERBOSE") != NULL)
		fprintf(stderr, "[%s] %s\n", mod, line);
}

void
marker(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	kvsnprintf(ena_test_marker, sizeof(ena_test_marker), fmt, ap);
	va_end(ap);
	ena_test_nmarkers++;
}

int
nic_register(struct nic *n)
{
	(void)n;
	ena_test_registered++;
	return TERN_OK;
}

int
nic_unregister(struct nic *n)
{
	(void)n;
	ena_test_unregistered++;
	return TERN_OK;
}

bool
ena_test_logged(const char *needle)
{
	int from = ena_test_nlog > ENA_TEST_LOG_LINES ? ena_test_nlog - ENA_TEST_LOG_LINES : 0;
	for (int i = from; i < ena_test_nlog; i++)
		if (strstr(ena_test_log[i % ENA_TEST_LOG_LINES], needle) != NULL)
			return true;
	return false;
}

void
ena_test_reset_log(void)
{
	ena_test_nlog = 0;
	ena_test_nmarkers = 0;
	ena_test_marker[0] = 0;
	ena_test_registered = ena_test_unregistered = 0;
}
