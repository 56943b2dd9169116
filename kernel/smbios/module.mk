# kernel/smbios: SMBIOS reader (portable, host-tested) and kernel glue.
KERNEL_SRCS += kernel/smbios/smbios.c kernel/smbios/smbios_kern.c
