# kernel/clock: reference clock choice and TSC calibration (clock_calc.c
# is portable and host-tested; clock_kern.c touches the timers).
KERNEL_SRCS += kernel/clock/clock_calc.c kernel/clock/clock_kern.c
