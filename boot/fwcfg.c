/*
 * fwcfg.c - read a named file from QEMU's fw_cfg device through the
 * legacy I/O ports (0x510 selector, 0x511 data).  Used only for the
 * command-line override opt/tern/cmdline.  On machines without fw_cfg the
 * signature check fails (absent ports read 0xff) and nothing else is
 * touched.
 */
#include "boot/loader.h"

#define FW_CFG_PORT_SEL		0x510
#define FW_CFG_PORT_DATA	0x511
#define FW_CFG_SIGNATURE	0x0000
#define FW_CFG_FILE_DIR		0x0019
#define FW_CFG_MAX_FILES	1024

static void
sel(uint16_t key)
{
	__asm__ volatile("outw %0, %1" :: "a"(key), "Nd"((uint16_t)FW_CFG_PORT_SEL));
}

static uint8_t
rd8(void)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"((uint16_t)FW_CFG_PORT_DATA));
	return v;
}

static uint32_t
rd_be32(void)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++)
		v = (v << 8) | rd8();
	return v;
}

int
fwcfg_read_file(const char *name, char *buf, int len)
{
	sel(FW_CFG_SIGNATURE);
	if (rd8() != 'Q' || rd8() != 'E' || rd8() != 'M' || rd8() != 'U')
		return -1;
	sel(FW_CFG_FILE_DIR);
	uint32_t count = rd_be32();
	if (count > FW_CFG_MAX_FILES)
		return -1;
	for (uint32_t i = 0; i < count; i++) {
		uint32_t size = rd_be32();
		uint16_t key = (uint16_t)(rd8() << 8);
		key |= rd8();
		rd8();
		rd8();
		char fname[56];
		for (int k = 0; k < 56; k++)
			fname[k] = (char)rd8();
		fname[55] = 0;
		int match = 1;
		for (int k = 0; ; k++) {
			if (fname[k] != name[k]) {
				match = 0;
				break;
			}
			if (name[k] == 0)
				break;
		}
		if (!match)
			continue;
		sel(key);
		int n = 0;
		for (uint32_t k = 0; k < size; k++) {
			char c = (char)rd8();
			if (n < len - 1)
				buf[n++] = c;
		}
		buf[n] = 0;
		return n;
	}
	return -1;
}
