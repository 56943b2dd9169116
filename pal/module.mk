KERNEL_SRCS += $(wildcard pal/*.c)
INTEG_TESTS += tests/integration/http.sh
