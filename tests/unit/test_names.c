#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "names.h"

typedef const char *(*checker)(const char *);

static void expect_ok(checker check, const char *const *v, size_t n)
{
	const char *msg;
	size_t i;

	for (i = 0; i < n; i++) {
		if ((msg = check(v[i])))
			fail_msg("rejected valid '%s': %s", v[i], msg);
	}
}

static void expect_bad(checker check, const char *const *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (!check(v[i]))
			fail_msg("accepted invalid '%s'", v[i]);
	}
	assert_non_null(check(NULL));
}

#define OK(check, ...)							\
	do {								\
		const char *const v_[] = { __VA_ARGS__ };	\
		expect_ok(check, v_, sizeof(v_) / sizeof(v_[0]));	\
	} while (0)
#define BAD(check, ...)							\
	do {								\
		const char *const v_[] = { __VA_ARGS__ };	\
		expect_bad(check, v_, sizeof(v_) / sizeof(v_[0]));	\
	} while (0)

/* A string of n copies of c (n < 600). */
static const char *rep(char c, size_t n)
{
	static char bufs[4][600];
	static int k;
	char *b = bufs[k++ % 4];

	memset(b, c, n);
	b[n] = '\0';
	return b;
}

static void test_network_name(void **state)
{
	(void)state;
	OK(mg_check_network_name, "a", "0", "prod", "prod-eu-1", "a-b", "1net", "x9");
	OK(mg_check_network_name, rep('a', 32));
	BAD(mg_check_network_name, "", "-a", "a-", "-", "Prod", "a_b", "a.b", "a b", " a",
	    "a\n", "a/b", "a\tb", "café", "a\x7f", "a:b", "..", "a\\b");
	BAD(mg_check_network_name, rep('a', 33));
	assert_non_null(strstr(mg_check_network_name(""), "1-32"));
}

static void test_host_name(void **state)
{
	(void)state;
	OK(mg_check_host_name, "n1", "Gateway-01", "A", "9", "db-primary", "a--b");
	OK(mg_check_host_name, rep('h', 63));
	BAD(mg_check_host_name, "", "-n1", "n1-", "n1.example", "n_1", "n 1", "n1\n", "n/1",
	    "nö", "\xff", "n1\r", "n\x01");
	BAD(mg_check_host_name, rep('h', 64));
}

static void test_user_name(void **state)
{
	(void)state;
	OK(mg_check_user_name, "admin", "Alice", "bob.smith", "j_doe-2", "0day", "a.", "a_");
	OK(mg_check_user_name, rep('u', 64));
	BAD(mg_check_user_name, "", ".admin", "_x", "-x", "a b", "a/b", "a@b", "a\n", "a\x01",
	    "ünïcode", "a:b", "a\\b");
	BAD(mg_check_user_name, rep('u', 65));
}

static void test_label_ok(void **state)
{
	(void)state;
	OK(mg_check_label, "CI token", "laptop / home", "café ☕", "日本語", "emoji 🎉",
	   "a", "tab-less", "\xc2\xa0nbsp", "\xef\xbf\xbf", "\xf4\x8f\xbf\xbf",
	   "\xed\x9f\xbf", "\xee\x80\x80", "quotes \"'<>&");
	OK(mg_check_label, rep('x', 128));
}

static void test_label_bad(void **state)
{
	(void)state;
	BAD(mg_check_label,
	    "",
	    "tab\there", "nl\n", "cr\r", "\x1b[31m", "del\x7f",
	    "\xc2\x80", "\xc2\x9f",			/* C1 controls */
	    "\xc0\xaf", "\xc1\xbf",			/* overlong 2-byte */
	    "\xe0\x80\xaf", "\xe0\x9f\xbf",		/* overlong 3-byte */
	    "\xf0\x80\x80\xaf", "\xf0\x8f\xbf\xbf",	/* overlong 4-byte */
	    "\xed\xa0\x80", "\xed\xbf\xbf",		/* surrogates */
	    "\xf4\x90\x80\x80", "\xf7\xbf\xbf\xbf",	/* above U+10FFFF */
	    "\xf8\x88\x80\x80\x80", "\xfc\x84\x80\x80\x80\x80", "\xfe", "\xff",
	    "\x80", "a\xbf", "\xc3", "\xe2\x82", "\xf0\x9f\x8e",	/* truncated/stray */
	    "\xe2\x28\xa1", "\xc3\x28");
	BAD(mg_check_label, rep('x', 129));
	/* A multi-byte character cut by the 128-byte limit is rejected on length. */
	assert_non_null(mg_check_label("日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語"
				       "日本語日本語日本語日本語日本語"));
}

static void test_dns_name(void **state)
{
	char long_ok[254], long_bad[255];
	size_t i;

	(void)state;
	OK(mg_check_dns_name, "example.com", "a", "db.internal", "A-1.b-2.C3", "xn--caf-dma.fr",
	   "1.example", "n1.mesh");
	OK(mg_check_dns_name, rep('l', 63));
	BAD(mg_check_dns_name, "", ".", ".com", "example.", "a..b", "-a.com", "a-.com", "a.-b",
	    "a_b.com", "a b.com", "a.com\n", "ex*ample.com", "exämple.com", "a/b", "a:80");
	BAD(mg_check_dns_name, rep('l', 64));
	/* 253 characters is the longest name. */
	for (i = 0; i < 253; i++)
		long_ok[i] = i % 2 ? '.' : 'a';
	long_ok[253] = '\0';
	assert_null(mg_check_dns_name(long_ok));
	memcpy(long_bad, long_ok, 253);
	long_bad[253] = 'a';
	long_bad[254] = '\0';
	long_bad[252] = 'a';
	assert_non_null(mg_check_dns_name(long_bad));
}

static void test_endpoint_ok(void **state)
{
	(void)state;
	OK(mg_check_endpoint, "1.2.3.4:51820", "[fd00::1]:51820", "host.example.com:51820",
	   "localhost:1", "10.0.0.1:65535", "[::1]:443", "[::ffff:1.2.3.4]:9",
	   "gw-1:51820", "[2001:db8::abcd]:1");
}

static void test_endpoint_bad(void **state)
{
	(void)state;
	BAD(mg_check_endpoint,
	    "", ":", ":51820", "1.2.3.4", "1.2.3.4:", "1.2.3.4:0", "1.2.3.4:65536",
	    "1.2.3.4:99999", "1.2.3.4:051820", "1.2.3.4:00", "1.2.3.4:+1", "1.2.3.4:-1",
	    "1.2.3.4:1 ", "1.2.3.4:1\n", " 1.2.3.4:1", "1.2.3.4 :1", "1.2.3.4:5x",
	    "1.2.3.4:123456", "fd00::1:51820", "fd00::1", "[fd00::1]", "[fd00::1]:",
	    "[fd00::1]51820", "[fd00::1]:0", "[fd00::1%eth0]:51820", "[1.2.3.4]:51820",
	    "[]:1", "[fd00::1:1", "[[fd00::1]]:1", "1.2.3.256:1", "1.2.3:1", "999:1",
	    "host..com:1", "-host:1", "host_name:1", "ho st:1", "host\n:1", "host:1:2",
	    "http://host:1", "host/x:1", "user@host:1", "host.:1", "[fd00::1]:1x");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_network_name),
		cmocka_unit_test(test_host_name),
		cmocka_unit_test(test_user_name),
		cmocka_unit_test(test_label_ok),
		cmocka_unit_test(test_label_bad),
		cmocka_unit_test(test_dns_name),
		cmocka_unit_test(test_endpoint_ok),
		cmocka_unit_test(test_endpoint_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
