# boot/: the UEFI loader (gnu-efi).  See boot/README.md.
EFI_SRCS += $(wildcard boot/*.c)
