# tests/boot: the loader's pure-C parts (ELF validation, memory map
# translation, PCI BAR descriptors) compiled for the host.
$(eval $(call host_test,boot_elf,tests/boot/test_elf.c boot/elf.c,))
$(eval $(call host_test,boot_memmap,tests/boot/test_memmap.c boot/memmap.c,))
$(eval $(call host_test,boot_pcifw,tests/boot/test_pcifw.c boot/pcifw.c,))
