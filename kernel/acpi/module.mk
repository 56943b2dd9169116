# kernel/acpi: ACPI table parser (portable, host-tested in tests/platform)
# and its kernel glue (acpi_init, power-off, reset, PM timer).
KERNEL_SRCS += kernel/acpi/acpi.c kernel/acpi/acpi_kern.c
