/*
 * serial.c - the COM1 16550 console (I/O port 0x3F8, 115200 8N1).
 *
 * Works before anything else is set up and from any context.  Output is
 * polled: a wait (bounded) for the transmitter to empty, then as many
 * bytes as its FIFO holds (16 on a 16550A, 1 without a FIFO), so bytes
 * are never dropped when they come faster than the UART drains, and a
 * line costs one status read per 16 bytes instead of one per byte (each
 * port access is an exit to the hypervisor).  If the UART does not exist (all-ones line status that never
 * shows an empty transmitter), serial_init detects it and output becomes
 * a no-op instead of spinning on every byte.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/arch/x86_64/arch.h"
#include "kernel/arch/x86_64/cpu.h"
#include "kernel/intr.h"
#include "kernel/log.h"

#define COM1		0x3f8
#define UART_THR	0
#define UART_IER	1
#define UART_FCR	2
#define UART_IIR	2	/* read: bits 7-6 set when the FIFOs are on */
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5
#define UART_SCR	7
#define LSR_THRE	0x20
#define TX_SPIN_MAX	200000	/* ~20 ms at 115200 is far more than a byte */

static bool serial_present;
static int tx_room = 1;		/* bytes per empty transmitter */
static int tx_left;		/* bytes that still fit before the next wait */

void
serial_init(void)
{
	/* Scratch-register probe: absent ports read back 0xff. */
	outb(COM1 + UART_SCR, 0x5a);
	if (inb(COM1 + UART_SCR) != 0x5a) {
		serial_present = false;
		return;
	}
	outb(COM1 + UART_IER, 0x00);	/* no UART interrupts */
	outb(COM1 + UART_LCR, 0x80);	/* DLAB */
	outb(COM1 + 0, 0x01);		/* divisor 1: 115200 baud */
	outb(COM1 + 1, 0x00);
	outb(COM1 + UART_LCR, 0x03);	/* 8N1 */
	outb(COM1 + UART_FCR, 0xc7);	/* FIFO on, cleared, 14-byte threshold */
	outb(COM1 + UART_MCR, 0x03);	/* DTR, RTS */
	/* A 16550A reports its FIFOs on; an 8250/16450 has none. */
	tx_room = (inb(COM1 + UART_IIR) & 0xc0) == 0xc0 ? 16 : 1;
	tx_left = 0;
	serial_present = true;
}

/* With interrupts off: a handler's output never splits the count. */
static void
put(char c)
{
	if (tx_left == 0) {
		/* THRE: the holding register, or with FIFOs the whole
		   transmit FIFO, is empty. */
		for (int i = 0; i < TX_SPIN_MAX; i++) {
			if (inb(COM1 + UART_LSR) & LSR_THRE)
				break;
			cpu_pause();
		}
		tx_left = tx_room;
	}
	tx_left--;
	outb(COM1 + UART_THR, (uint8_t)c);
}

void
serial_putc(char c)
{
	if (!serial_present)
		return;
	bool was = intr_save();
	put(c);
	intr_restore(was);
}

void
serial_write(const char *s, size_t n)
{
	if (!serial_present)
		return;
	bool was = intr_save();
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			put('\r');
		put(s[i]);
	}
	intr_restore(was);
}

/* The log sink (kernel/log.h). */
void
console_write(const char *s, size_t n)
{
	serial_write(s, n);
}
