/*
 * ena_stubs.h - what the ENA tests can inspect of the stubs in
 * ena_stubs.c (log lines, the last marker, registry calls).
 */
#ifndef TERN_TESTS_ENA_STUBS_H
#define TERN_TESTS_ENA_STUBS_H

#include <stdbool.h>

#define ENA_TEST_LOG_LINES 64
extern char ena_test_marker[256];
extern int ena_test_nmarkers;
extern int ena_test_registered, ena_test_unregistered;
/* Was a line containing `needle` logged since the last reset? */
bool ena_test_logged(const char *needle);
void ena_test_reset_log(void);

#endif
