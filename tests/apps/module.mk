# tests/apps: host tests of the sample workloads' portable parts.
$(eval $(call host_test,apps/test_http,tests/apps/test_http.c apps/httpd/http.c,))

$(B)/fuzz/http: tests/apps/fuzz_http.c apps/httpd/http.c $(ALL_HDRS)
	@mkdir -p $(dir $@)
	$(MSG) FUZZCC $@
	$(Q)clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -I. \
		-o $@ tests/apps/fuzz_http.c apps/httpd/http.c
FUZZ_TARGETS += $(B)/fuzz/http
INTEG_TESTS += tests/apps/http_fuzz.sh
