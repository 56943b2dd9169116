# tests/cloud: the metadata clients (cloud/) on the host: the HTTP codec,
# the extractors and user-data parser with hostile inputs, and the real
# clients against fake IMDSv2 / WireServer / Azure IMDS servers running
# on a second netstack over a simulated link (test_cloud_e2e.c).
CLOUD_TEST_LIB := kernel/lib/fmt.c kernel/lib/err.c
$(eval $(call host_test,cloud_http,tests/cloud/test_cloud_http.c cloud/http.c,))
$(eval $(call host_test,cloud_extract,tests/cloud/test_cloud_extract.c cloud/extract.c cloud/userdata.c pal/cloud_cfg.c pal/pkg.c $(CLOUD_TEST_LIB),))
$(eval $(call host_test,cloud_e2e,tests/cloud/test_cloud_e2e.c tests/cloud/cloud_fake.c $(CLOUD_SRCS) $(NS_CORE) $(CLOUD_TEST_LIB),))
INTEG_TESTS += tests/cloud/ternsim_cloud.sh
$(B)/fuzz/cloud: tests/cloud/fuzz_cloud.c cloud/http.c cloud/extract.c cloud/userdata.c $(ALL_HDRS)
	@mkdir -p $(dir $@)
	$(MSG) FUZZCC $@
	$(Q)clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -DTERN_HOST=1 -I. \
		-o $@ tests/cloud/fuzz_cloud.c cloud/http.c cloud/extract.c cloud/userdata.c
FUZZ_TARGETS += $(B)/fuzz/cloud
INTEG_TESTS += tests/cloud/fuzz.sh
INTEG_TESTS += tests/cloud/qemu_cloud.sh
