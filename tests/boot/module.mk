# tests/boot: the loader's pure-C parts (ELF validation, memory map
# translation) compiled for the host.
$(eval $(call host_test,boot_elf,tests/boot/test_elf.c boot/elf.c,))
$(eval $(call host_test,boot_memmap,tests/boot/test_memmap.c boot/memmap.c,))
