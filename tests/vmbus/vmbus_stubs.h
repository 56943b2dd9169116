/* vmbus_stubs.h - what the shared log stub of tests/vmbus records. */
#ifndef TERN_TESTS_VMBUS_STUBS_H
#define TERN_TESTS_VMBUS_STUBS_H
extern unsigned vstub_warnings;
extern char vstub_markers[8192];
extern char vstub_last[400];
void vstub_reset(void);
#endif
