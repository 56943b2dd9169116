# cloud/: metadata and provisioning clients above the netstack (portable:
# the kernel links them, tests/cloud runs them on the host).
CLOUD_SRCS := cloud/http.c cloud/extract.c cloud/userdata.c cloud/cloud.c
KERNEL_SRCS += $(CLOUD_SRCS)
