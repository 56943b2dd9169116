/*
 * console.c - loader output: every line goes to the firmware console
 * (ConOut) and directly to COM1, so it is visible on a serial-only cloud
 * console even when the firmware's console is graphical.
 */
#include <stdarg.h>

#include "boot/loader.h"

#define COM1 0x3f8

static void
outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" :: "a"(v), "Nd"(port));
}

static uint8_t
inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static int com1_ok;
/* Bytes that may go before THRE is read again: the transmit FIFO's
   depth when the FIFOs are on (16550A), else 1 (kernel/arch/x86_64/
   serial.c does the same: each status read is a VM exit). */
static int tx_room = 1, tx_left;
/* Progress lines go to COM1 only (OVMF mirrors ConOut onto the serial
   port, which would print them twice); errors go to both. */
static int use_conout = 0;
static int exited;

void
ldr_console_init(void)
{
	outb(COM1 + 7, 0x5a);
	com1_ok = inb(COM1 + 7) == 0x5a;
	if (com1_ok) {
		outb(COM1 + 1, 0x00);
		outb(COM1 + 3, 0x80);
		outb(COM1 + 0, 0x01);	/* 115200 */
		outb(COM1 + 1, 0x00);
		outb(COM1 + 3, 0x03);	/* 8N1 */
		outb(COM1 + 2, 0xc7);
		outb(COM1 + 4, 0x03);
		tx_room = (inb(COM1 + 2) & 0xc0) == 0xc0 ? 16 : 1;
	}
}

static void
com1_putc(char c)
{
	if (!com1_ok)
		return;
	if (tx_left == 0) {
		/* THRE: the holding register, or the whole FIFO, is empty. */
		for (int i = 0; i < 100000 && !(inb(COM1 + 5) & 0x20); i++)
			__asm__ volatile("pause");
		tx_left = tx_room;
	}
	tx_left--;
	outb(COM1, (uint8_t)c);
}

/* After ExitBootServices ConOut is gone: only serial stays. */
void ldr_console_serial_only(void);

void
ldr_console_serial_only(void)
{
	exited = 1;
}

void
ldr_puts(const char *s)
{
	CHAR16 w[160];
	int n = 0;

	/* The firmware may have written to the port since: look first. */
	tx_left = 0;
	for (const char *p = s; *p; p++) {
		if (*p == '\n')
			com1_putc('\r');
		com1_putc(*p);
		if (!use_conout)
			continue;
		if (*p == '\n')
			w[n++] = L'\r';
		w[n++] = (CHAR16)(unsigned char)*p;
		if (n >= 150) {
			w[n] = 0;
			uefi_call_wrapper(ST->ConOut->OutputString, 2, ST->ConOut, w);
			n = 0;
		}
	}
	if (use_conout && n > 0) {
		w[n] = 0;
		uefi_call_wrapper(ST->ConOut->OutputString, 2, ST->ConOut, w);
	}
}

/* A small formatter: %s %d %u %x %lx %llx %lu %llu %c %%. */
static void
fmt(char *out, int len, const char *f, va_list ap)
{
	int o = 0;
	for (; *f && o < len - 1; f++) {
		if (*f != '%') {
			out[o++] = *f;
			continue;
		}
		f++;
		int lng = 0;
		while (*f == 'l') {
			lng++;
			f++;
		}
		char tmp[24];
		int t = 0;
		unsigned long long v;
		int base = 10;
		switch (*f) {
		case 's': {
			const char *s = va_arg(ap, const char *);
			if (s == NULL)
				s = "(null)";
			while (*s && o < len - 1)
				out[o++] = *s++;
			continue;
		}
		case 'c':
			out[o++] = (char)va_arg(ap, int);
			continue;
		case 'd': {
			long long sv = lng ? va_arg(ap, long long) : va_arg(ap, int);
			if (sv < 0) {
				out[o++] = '-';
				v = (unsigned long long)-(sv + 1) + 1;
			} else {
				v = (unsigned long long)sv;
			}
			break;
		}
		case 'x':
			base = 16;
			/* fall through */
		case 'u':
			v = lng ? va_arg(ap, unsigned long long) : va_arg(ap, unsigned);
			break;
		case '%':
			out[o++] = '%';
			continue;
		default:
			continue;
		}
		do {
			tmp[t++] = "0123456789abcdef"[v % base];
			v /= base;
		} while (v && t < 24);
		while (t > 0 && o < len - 1)
			out[o++] = tmp[--t];
	}
	out[o] = 0;
}

void
ldr_printf(const char *f, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, f);
	fmt(buf, sizeof(buf), f, ap);
	va_end(ap);
	ldr_puts(buf);
}

EFI_STATUS
ldr_fail(const char *reason, const char *f, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, f);
	fmt(buf, sizeof(buf), f, ap);
	va_end(ap);
	if (ST != NULL && ST->ConOut != NULL && !exited) {
		/* Once on the firmware console, then on COM1 below. */
		int save = com1_ok;
		com1_ok = 0;
		use_conout = 1;
		ldr_printf("tern-loader: error: %s\n", buf);
		use_conout = 0;
		com1_ok = save;
	}
	ldr_printf("tern-loader: error: %s\n", buf);
	ldr_printf("TERN FAIL stage=loader reason=%s\n", reason);
	return EFI_LOAD_ERROR;
}
