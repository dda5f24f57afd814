/*
 * test_addr.c - the addresses a redirect may reach (fetch.h
 * "Addresses"): every internal form refused, public ones and the admin's
 * allow_networks let through.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "helsefeed/fetch.h"

static int public_(const char *ip, const char *allow)
{
	struct sockaddr_storage ss = {0};
	struct fetch_cidr c;
	size_t n = 0;

	if (allow) {
		assert_int_equal(fetch_cidr_parse(allow, &c), 0);
		n = 1;
	}
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, ip, &a->sin6_addr), 1);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, ip, &a->sin_addr), 1);
	}
	return fetch_addr_public((struct sockaddr *)&ss, n ? &c : NULL, n);
}

static void internal_addresses_are_refused(void **state)
{
	/* What curl connects to for http://0/, http://2130706433/,
	 * http://localhost/, http://[::1]/, the metadata service, and the
	 * IPv4-mapped and NAT64 spellings of loopback. */
	static const char *const internal[] = {
		"0.0.0.0", "127.0.0.1", "127.255.255.254", "10.1.2.3", "172.16.0.1",
		"172.31.255.255", "192.168.1.1", "169.254.169.254", "100.64.0.1",
		"100.127.255.255", "224.0.0.1", "239.255.255.250", "255.255.255.255",
		"240.0.0.1", "192.0.2.1", "198.18.0.1", "::", "::1", "::ffff:127.0.0.1",
		"::ffff:10.0.0.1", "::127.0.0.1", "64:ff9b::a9fe:a9fe", "fe80::1",
		"fc00::1", "fd12:3456::1", "ff02::1", "2001:db8::1", "fec0::1",
	};

	(void)state;
	for (size_t i = 0; i < sizeof internal / sizeof *internal; i++) {
		if (public_(internal[i], NULL))
			fail_msg("%s was let through", internal[i]);
	}
}

static void public_addresses_pass(void **state)
{
	static const char *const pub[] = {
		"151.101.1.1", "8.8.8.8", "100.128.0.1", "172.32.0.1", "169.255.0.1",
		"2a02:c7f::1", "2001:4860:4860::8888", "::ffff:151.101.1.1",
	};

	(void)state;
	for (size_t i = 0; i < sizeof pub / sizeof *pub; i++) {
		if (!public_(pub[i], NULL))
			fail_msg("%s was refused", pub[i]);
	}
}

static void allow_networks_lets_the_admins_own_through(void **state)
{
	(void)state;
	assert_true(public_("127.0.0.1", "127.0.0.0/8"));
	assert_true(public_("10.20.30.40", "10.20.0.0/16"));
	assert_false(public_("10.21.30.40", "10.20.0.0/16"));
	assert_true(public_("::1", "::1/128"));
	assert_true(public_("::ffff:127.0.0.1", "127.0.0.1"));
	assert_false(public_("127.0.0.2", "127.0.0.1"));
	assert_true(public_("fd00::5", "fd00::/8"));
}

static void cidr_syntax_is_checked(void **state)
{
	static const char *const bad[] = {
		"", "/8", "10.0.0.0/", "10.0.0.0/33", "::1/129", "10.0.0.0/-1",
		"10.0.0.0/+8", "10.0.0.0/8x", "localhost", "10.0.0", "1.2.3.4.5",
	};
	struct fetch_cidr c;

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		if (fetch_cidr_parse(bad[i], &c) != HF_EINVAL)
			fail_msg("'%s' was accepted", bad[i]);
	}
	assert_int_equal(fetch_cidr_parse("192.168.0.0/16", &c), 0);
	assert_int_equal(c.family, AF_INET);
	assert_int_equal(c.prefix, 16);
	assert_int_equal(fetch_cidr_parse("fe80::/10", &c), 0);
	assert_int_equal(c.family, AF_INET6);
	assert_int_equal(c.prefix, 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(internal_addresses_are_refused),
		cmocka_unit_test(public_addresses_pass),
		cmocka_unit_test(allow_networks_lets_the_admins_own_through),
		cmocka_unit_test(cidr_syntax_is_checked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
