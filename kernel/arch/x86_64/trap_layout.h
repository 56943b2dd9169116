/* trap_layout.h - selectors shared by entry.S and C (no C code here). */
#ifndef TERN_TRAP_LAYOUT_H
#define TERN_TRAP_LAYOUT_H
#define GDT_KCODE	0x08
#define GDT_KDATA	0x10
#define GDT_TSS		0x18
#endif
