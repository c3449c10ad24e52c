#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

static struct mg_ip ip(const char *s)
{
	struct mg_ip a;

	assert_int_equal(mg_ip_parse(s, &a), 0);
	return a;
}

static struct mg_prefix pfx(const char *s)
{
	struct mg_prefix p;

	assert_int_equal(mg_prefix_parse(s, &p), 0);
	return p;
}

static void assert_ip_str(const struct mg_ip *a, const char *want)
{
	char buf[MG_IP_STRLEN];

	assert_int_equal(mg_ip_format(a, buf, sizeof(buf)), 0);
	assert_string_equal(buf, want);
}

static void test_ip_parse_good(void **state)
{
	static const struct {
		const char *in, *out;
		int family;
	} cases[] = {
		{ "10.0.0.1", "10.0.0.1", AF_INET },
		{ "0.0.0.0", "0.0.0.0", AF_INET },
		{ "255.255.255.255", "255.255.255.255", AF_INET },
		{ "fd00::1", "fd00::1", AF_INET6 },
		{ "FD00:0:0:0:0:0:0:1", "fd00::1", AF_INET6 },
		{ "::", "::", AF_INET6 },
		{ "::1", "::1", AF_INET6 },
		{ "::ffff:10.1.2.3", "::ffff:10.1.2.3", AF_INET6 },
		{ "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", AF_INET6 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mg_ip a = ip(cases[i].in);

		assert_int_equal(a.family, cases[i].family);
		assert_ip_str(&a, cases[i].out);
	}
}

static void test_ip_parse_bad(void **state)
{
	static const char *const bad[] = {
		"", " ", " 10.0.0.1", "10.0.0.1 ", "10.0.0.1\n", "+10.0.0.1", "-1.0.0.0",
		"10.0.0", "10.0.0.1.2", "10.0.0.256", "10.0.0.01", "010.0.0.1", "0x0a.0.0.1",
		"10.0.0.1/32", "10..0.1", "1e1.0.0.1", "abc", "fd00::1%eth0", "fe80::1%1",
		"fd00:::1", "fd00::1::2", "1:2:3:4:5:6:7:8:9", "fd00::g", "[fd00::1]",
		"fd00::1/128", "::ffff:10.0.0.256", "10.0.0.1:80", "fd00::1 ",
		"0000000000000000000000000000000000000000000000000000000::1",
	};
	struct mg_ip a;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (mg_ip_parse(bad[i], &a) != -EINVAL)
			fail_msg("accepted bad address '%s'", bad[i]);
	}
	assert_int_equal(mg_ip_parse(NULL, &a), -EINVAL);
}

static void test_ip_format_small_buffer(void **state)
{
	struct mg_ip a = ip("10.0.0.1");
	char buf[9];

	(void)state;
	assert_int_equal(mg_ip_format(&a, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "10.0.0.1");
	assert_int_equal(mg_ip_format(&a, buf, 8), -ENOSPC);
	assert_int_equal(mg_ip_format(&a, buf, 0), -ENOSPC);
	a = ip("fd00::1");
	assert_int_equal(mg_ip_format(&a, buf, 8), 0);
	assert_string_equal(buf, "fd00::1");
	assert_int_equal(mg_ip_format(&a, buf, 7), -ENOSPC);
}

static void test_ip_cmp(void **state)
{
	struct mg_ip a = ip("10.0.0.1"), b = ip("10.0.0.2"), c = ip("::1"), d = ip("255.255.255.255");

	(void)state;
	assert_true(mg_ip_cmp(&a, &b) < 0);
	assert_true(mg_ip_cmp(&b, &a) > 0);
	assert_int_equal(mg_ip_cmp(&a, &a), 0);
	assert_true(mg_ip_cmp(&d, &c) < 0);	/* IPv4 sorts first */
	assert_true(mg_ip_cmp(&c, &a) > 0);
}

static void test_prefix_parse_good(void **state)
{
	static const struct {
		const char *in, *out;
		unsigned len;
		bool canonical;
	} cases[] = {
		{ "10.0.0.0/24", "10.0.0.0/24", 24, true },
		{ "10.0.0.5/24", "10.0.0.5/24", 24, false },
		{ "0.0.0.0/0", "0.0.0.0/0", 0, true },
		{ "1.2.3.4/0", "1.2.3.4/0", 0, false },
		{ "10.1.2.3/32", "10.1.2.3/32", 32, true },
		{ "fd00::/64", "fd00::/64", 64, true },
		{ "fd00::1/64", "fd00::1/64", 64, false },
		{ "::/0", "::/0", 0, true },
		{ "fd00::1/128", "fd00::1/128", 128, true },
		{ "FD00:0::/8", "fd00::/8", 8, true },
	};
	size_t i;
	char buf[MG_PREFIX_STRLEN];

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mg_prefix p = pfx(cases[i].in), q;

		assert_int_equal(p.len, cases[i].len);
		assert_int_equal(mg_prefix_format(&p, buf, sizeof(buf)), 0);
		assert_string_equal(buf, cases[i].out);
		assert_int_equal(mg_prefix_is_canonical(&p), cases[i].canonical);
		assert_int_equal(mg_prefix_parse_canonical(cases[i].in, &q),
				 cases[i].canonical ? 0 : -EINVAL);
	}
}

static void test_prefix_parse_bad(void **state)
{
	static const char *const bad[] = {
		"", "/", "/24", "10.0.0.0", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/024",
		"10.0.0.0/00", "10.0.0.0/-1", "10.0.0.0/+24", "10.0.0.0/24 ", " 10.0.0.0/24",
		"10.0.0.0 /24", "10.0.0.0/ 24", "10.0.0.0/24/8", "10.0.0.0/2a", "10.0.0.0/4294967320",
		"10.0.0.0/24\n", "10.0.0/24", "10.0.0.256/24", "fd00::/129", "fd00::/0128",
		"fd00::%eth0/64", "fd00::/64%eth0", "[fd00::]/64", "fd00::/1000", "fd00::/1e2",
		"10.0.0.0/0x18",
	};
	struct mg_prefix p;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (mg_prefix_parse(bad[i], &p) != -EINVAL)
			fail_msg("accepted bad prefix '%s'", bad[i]);
		if (mg_prefix_parse_canonical(bad[i], &p) != -EINVAL)
			fail_msg("accepted bad canonical prefix '%s'", bad[i]);
	}
	assert_int_equal(mg_prefix_parse(NULL, &p), -EINVAL);
}

static void test_prefix_canonicalize(void **state)
{
	struct mg_prefix p = pfx("10.1.2.3/20"), q = pfx("fd00::abcd:1/100"), r = pfx("1.2.3.4/0");
	char buf[MG_PREFIX_STRLEN];

	(void)state;
	mg_prefix_canonicalize(&p);
	assert_int_equal(mg_prefix_format(&p, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "10.1.0.0/20");
	assert_true(mg_prefix_is_canonical(&p));
	mg_prefix_canonicalize(&q);
	assert_int_equal(mg_prefix_format(&q, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "fd00::a000:0/100");
	mg_prefix_canonicalize(&r);
	assert_int_equal(mg_prefix_format(&r, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "0.0.0.0/0");
	assert_int_equal(mg_prefix_format(&r, buf, 9), -ENOSPC);
}

static void test_prefix_from_ip(void **state)
{
	struct mg_ip a = ip("10.0.0.7"), b = ip("fd00::7");
	struct mg_prefix p;

	(void)state;
	mg_prefix_from_ip(&p, &a);
	assert_int_equal(p.len, 32);
	assert_true(mg_prefix_contains_ip(&p, &a));
	mg_prefix_from_ip(&p, &b);
	assert_int_equal(p.len, 128);
	assert_true(mg_prefix_is_canonical(&p));
	assert_true(mg_prefix_contains_ip(&p, &b));
}

static void test_contains_ip(void **state)
{
	struct mg_prefix p4 = pfx("10.0.0.0/24"), all4 = pfx("0.0.0.0/0");
	struct mg_prefix p6 = pfx("fd00::/64"), all6 = pfx("::/0"), host = pfx("10.0.0.5/32");
	struct mg_ip a;

	(void)state;
	a = ip("10.0.0.0");
	assert_true(mg_prefix_contains_ip(&p4, &a));
	a = ip("10.0.0.255");
	assert_true(mg_prefix_contains_ip(&p4, &a));
	a = ip("10.0.1.0");
	assert_false(mg_prefix_contains_ip(&p4, &a));
	a = ip("9.255.255.255");
	assert_false(mg_prefix_contains_ip(&p4, &a));
	assert_true(mg_prefix_contains_ip(&all4, &a));
	a = ip("10.0.0.5");
	assert_true(mg_prefix_contains_ip(&host, &a));
	a = ip("10.0.0.6");
	assert_false(mg_prefix_contains_ip(&host, &a));

	a = ip("fd00::ffff:ffff:ffff:ffff");
	assert_true(mg_prefix_contains_ip(&p6, &a));
	assert_true(mg_prefix_contains_ip(&all6, &a));
	assert_false(mg_prefix_contains_ip(&all4, &a));	/* family mismatch */
	a = ip("fd00:0:0:1::");
	assert_false(mg_prefix_contains_ip(&p6, &a));
	a = ip("::ffff:10.0.0.1");	/* v4-mapped is still IPv6 */
	assert_false(mg_prefix_contains_ip(&p4, &a));
	a = ip("10.0.0.1");
	assert_false(mg_prefix_contains_ip(&all6, &a));
}

static void test_contains_overlaps(void **state)
{
	static const struct {
		const char *a, *b;
		bool a_has_b, b_has_a, overlap;
	} cases[] = {
		{ "10.0.0.0/8", "10.1.0.0/16", true, false, true },
		{ "10.0.0.0/24", "10.0.0.0/24", true, true, true },
		{ "10.0.0.0/24", "10.0.1.0/24", false, false, false },
		{ "10.0.0.0/23", "10.0.1.0/24", true, false, true },
		{ "0.0.0.0/0", "192.168.1.0/24", true, false, true },
		{ "0.0.0.0/0", "0.0.0.0/0", true, true, true },
		{ "10.0.0.0/25", "10.0.0.128/25", false, false, false },
		{ "10.0.0.5/24", "10.0.0.77/32", true, false, true },	/* host bits ignored */
		{ "10.0.0.0/32", "10.0.0.1/32", false, false, false },
		{ "fd00::/8", "fd12:3456::/48", true, false, true },
		{ "fd00::/64", "fd00:0:0:1::/64", false, false, false },
		{ "::/0", "2001:db8::/32", true, false, true },
		{ "::/0", "0.0.0.0/0", false, false, false },	/* families differ */
		{ "fd00::1/128", "fd00::1/128", true, true, true },
		{ "fd00::/127", "fd00::1/128", true, false, true },
		{ "fd00::/128", "fd00::1/128", false, false, false },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mg_prefix a = pfx(cases[i].a), b = pfx(cases[i].b);

		if (mg_prefix_contains(&a, &b) != cases[i].a_has_b ||
		    mg_prefix_contains(&b, &a) != cases[i].b_has_a ||
		    mg_prefix_overlaps(&a, &b) != cases[i].overlap ||
		    mg_prefix_overlaps(&b, &a) != cases[i].overlap)
			fail_msg("wrong relation between %s and %s", cases[i].a, cases[i].b);
	}
}

static void test_nth_offset_v4(void **state)
{
	struct mg_prefix p = pfx("10.0.0.0/24"), all = pfx("0.0.0.0/0"), dirty = pfx("10.0.0.9/24");
	struct mg_ip a;
	uint64_t off, i;

	(void)state;
	assert_int_equal(mg_prefix_nth(&p, 0, &a), 0);
	assert_ip_str(&a, "10.0.0.0");
	assert_int_equal(mg_prefix_nth(&p, 255, &a), 0);
	assert_ip_str(&a, "10.0.0.255");
	assert_int_equal(mg_prefix_nth(&p, 256, &a), -ERANGE);
	assert_int_equal(mg_prefix_nth(&p, UINT64_MAX, &a), -ERANGE);
	/* Host bits in the prefix don't shift the base. */
	assert_int_equal(mg_prefix_nth(&dirty, 1, &a), 0);
	assert_ip_str(&a, "10.0.0.1");

	for (i = 0; i < 256; i++) {
		assert_int_equal(mg_prefix_nth(&p, i, &a), 0);
		assert_int_equal(mg_prefix_offset(&p, &a, &off), 0);
		assert_int_equal(off, i);
	}

	assert_int_equal(mg_prefix_nth(&all, 0xffffffffULL, &a), 0);
	assert_ip_str(&a, "255.255.255.255");
	assert_int_equal(mg_prefix_nth(&all, 0x100000000ULL, &a), -ERANGE);
	assert_int_equal(mg_prefix_offset(&all, &a, &off), 0);
	assert_int_equal(off, 0xffffffffULL);

	a = ip("10.0.1.0");
	assert_int_equal(mg_prefix_offset(&p, &a, &off), -ERANGE);
	a = ip("fd00::");
	assert_int_equal(mg_prefix_offset(&p, &a, &off), -ERANGE);
}

static void test_nth_offset_v6(void **state)
{
	struct mg_prefix p64 = pfx("fd00:1::/64"), p120 = pfx("fd00::/120"), all = pfx("::/0");
	struct mg_prefix p63 = pfx("fd00::/63");
	struct mg_ip a;
	uint64_t off;
	const uint64_t samples[] = { 0, 1, 2, 0xff, 0x100, 0xdeadbeef, 1ULL << 63,
				     UINT64_MAX - 1, UINT64_MAX };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		assert_int_equal(mg_prefix_nth(&p64, samples[i], &a), 0);
		assert_int_equal(mg_prefix_offset(&p64, &a, &off), 0);
		assert_true(off == samples[i]);
		assert_int_equal(mg_prefix_nth(&p63, samples[i], &a), 0);
		assert_int_equal(mg_prefix_offset(&p63, &a, &off), 0);
		assert_true(off == samples[i]);
	}
	assert_int_equal(mg_prefix_nth(&p64, UINT64_MAX, &a), 0);
	assert_ip_str(&a, "fd00:1::ffff:ffff:ffff:ffff");
	assert_int_equal(mg_prefix_nth(&p64, 0x1234, &a), 0);
	assert_ip_str(&a, "fd00:1::1234");

	assert_int_equal(mg_prefix_nth(&p120, 255, &a), 0);
	assert_ip_str(&a, "fd00::ff");
	assert_int_equal(mg_prefix_nth(&p120, 256, &a), -ERANGE);

	/* Offsets beyond 64 bits cannot be represented. */
	a = ip("fd00:0:0:1::");
	assert_int_equal(mg_prefix_offset(&p63, &a, &off), -ERANGE);
	a = ip("fd00::1:0:5");
	assert_int_equal(mg_prefix_offset(&p63, &a, &off), 0);
	assert_true(off == 0x100000005ULL);
	a = ip("ffff::");
	assert_int_equal(mg_prefix_offset(&all, &a, &off), -ERANGE);
	a = ip("::1:2");
	assert_int_equal(mg_prefix_offset(&all, &a, &off), 0);
	assert_true(off == 0x10002);
	assert_int_equal(mg_prefix_nth(&all, UINT64_MAX, &a), 0);
	assert_ip_str(&a, "::ffff:ffff:ffff:ffff");
	a = ip("fd00:2::1");
	assert_int_equal(mg_prefix_offset(&p64, &a, &off), -ERANGE);
}

static void test_host_range(void **state)
{
	static const struct {
		const char *p;
		uint64_t first, last;
	} cases[] = {
		{ "10.0.0.0/24", 1, 254 },
		{ "10.0.0.0/30", 1, 2 },
		{ "10.0.0.0/8", 1, 16777214 },
		{ "0.0.0.0/0", 1, 0xfffffffeULL },
		{ "fd00::/120", 1, 255 },
		{ "fd00::/127", 1, 1 },
		{ "fd00::/65", 1, (1ULL << 63) - 1 },
		{ "fd00::/64", 1, UINT64_MAX - 1 },
		{ "fd00::/48", 1, UINT64_MAX - 1 },
		{ "::/0", 1, UINT64_MAX - 1 },
	};
	static const char *const empty[] = { "10.0.0.0/31", "10.0.0.1/32", "fd00::/128" };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mg_prefix p = pfx(cases[i].p);

		assert_true(mg_prefix_first_host(&p) == cases[i].first);
		assert_true(mg_prefix_last_host(&p) == cases[i].last);
	}
	for (i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
		struct mg_prefix p = pfx(empty[i]);

		assert_true(mg_prefix_first_host(&p) > mg_prefix_last_host(&p));
	}
}

static void test_alloc_basic(void **state)
{
	struct mg_prefix p = pfx("10.0.0.0/24");
	struct mg_ip a;
	const uint64_t used[] = { 3, 1, 1, 2, 7, 0, 255 };

	(void)state;
	assert_int_equal(mg_alloc_addr(&p, NULL, 0, false, &a), 0);
	assert_ip_str(&a, "10.0.0.1");	/* skips the network address */
	assert_int_equal(mg_alloc_addr(&p, NULL, 0, true, &a), 0);
	assert_ip_str(&a, "10.0.0.254");	/* skips broadcast */
	assert_int_equal(mg_alloc_addr(&p, used, sizeof(used) / sizeof(used[0]), false, &a), 0);
	assert_ip_str(&a, "10.0.0.4");
	assert_int_equal(mg_alloc_addr(&p, used, sizeof(used) / sizeof(used[0]), true, &a), 0);
	assert_ip_str(&a, "10.0.0.254");
}

static void test_alloc_from_top(void **state)
{
	struct mg_prefix p = pfx("10.0.0.0/24"), p6 = pfx("fd00::/120");
	struct mg_ip a;
	const uint64_t used[] = { 254, 253, 253, 251, 300, 1 };

	(void)state;
	assert_int_equal(mg_alloc_addr(&p, used, 6, true, &a), 0);
	assert_ip_str(&a, "10.0.0.252");
	assert_int_equal(mg_alloc_addr(&p, used, 6, false, &a), 0);
	assert_ip_str(&a, "10.0.0.2");
	assert_int_equal(mg_alloc_addr(&p6, used, 6, true, &a), 0);
	assert_ip_str(&a, "fd00::ff");	/* IPv6 has no broadcast */
	assert_int_equal(mg_alloc_addr(&p6, NULL, 0, false, &a), 0);
	assert_ip_str(&a, "fd00::1");	/* but skips the anycast address */
}

static void test_alloc_fill(void **state)
{
	struct mg_prefix p = pfx("10.9.8.0/28");
	uint64_t used[16], off;
	struct mg_ip a;
	size_t n = 0;
	bool top = false;

	(void)state;
	/* Alternate ends; every allocation must be new and a host address. */
	while (mg_alloc_addr(&p, used, n, top, &a) == 0) {
		size_t i;

		assert_true(n < 14);
		assert_int_equal(mg_prefix_offset(&p, &a, &off), 0);
		assert_true(off >= 1 && off <= 14);
		for (i = 0; i < n; i++)
			assert_true(used[i] != off);
		used[n++] = off;
		top = !top;
	}
	assert_int_equal(n, 14);
	assert_int_equal(mg_alloc_addr(&p, used, n, false, &a), -ENOSPC);
	assert_int_equal(mg_alloc_addr(&p, used, n, true, &a), -ENOSPC);
	/* Network and broadcast offsets in `used` change nothing. */
	used[n++] = 0;
	used[n++] = 15;
	assert_int_equal(mg_alloc_addr(&p, used, n, false, &a), -ENOSPC);
}

static void test_alloc_tiny(void **state)
{
	static const char *const none[] = { "10.0.0.0/31", "10.0.0.0/32", "fd00::/128" };
	struct mg_prefix p;
	struct mg_ip a;
	const uint64_t one = 1;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
		p = pfx(none[i]);
		assert_int_equal(mg_alloc_addr(&p, NULL, 0, false, &a), -ENOSPC);
		assert_int_equal(mg_alloc_addr(&p, NULL, 0, true, &a), -ENOSPC);
	}
	p = pfx("10.0.0.0/30");
	assert_int_equal(mg_alloc_addr(&p, &one, 1, false, &a), 0);
	assert_ip_str(&a, "10.0.0.2");
	p = pfx("fd00::/127");
	assert_int_equal(mg_alloc_addr(&p, NULL, 0, true, &a), 0);
	assert_ip_str(&a, "fd00::1");
	assert_int_equal(mg_alloc_addr(&p, &one, 1, false, &a), -ENOSPC);
}

static void test_alloc_big_v6(void **state)
{
	struct mg_prefix p = pfx("fd00:abcd::/48"), p0 = pfx("::/0");
	enum { N = 100000 };
	uint64_t *used = calloc(N, sizeof(*used));
	struct mg_ip a;
	size_t i;

	(void)state;
	assert_non_null(used);
	/* Offsets 1..N-1 used, in reverse order; allocation must not walk the range. */
	for (i = 0; i < N; i++)
		used[i] = N - i;
	assert_int_equal(mg_alloc_addr(&p, used, N, false, &a), 0);
	assert_ip_str(&a, "fd00:abcd::1:86a1");	/* offset 100001 */
	assert_int_equal(mg_alloc_addr(&p, used, N, true, &a), 0);
	assert_ip_str(&a, "fd00:abcd::ffff:ffff:ffff:fffe");
	used[0] = UINT64_MAX - 1;
	used[1] = UINT64_MAX;
	assert_int_equal(mg_alloc_addr(&p, used, N, true, &a), 0);
	assert_ip_str(&a, "fd00:abcd::ffff:ffff:ffff:fffd");
	assert_int_equal(mg_alloc_addr(&p0, used, N, true, &a), 0);
	assert_ip_str(&a, "::ffff:ffff:ffff:fffd");
	free(used);
}

static void test_alloc_bad_range(void **state)
{
	struct mg_prefix p = { 0 };
	struct mg_ip a;

	(void)state;
	p.ip.family = 12345;
	assert_int_equal(mg_alloc_addr(&p, NULL, 0, false, &a), -EINVAL);
	p = pfx("10.0.0.0/24");
	p.len = 40;
	assert_int_equal(mg_alloc_addr(&p, NULL, 0, false, &a), -EINVAL);
	assert_int_equal(mg_prefix_nth(&p, 0, &a), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ip_parse_good),
		cmocka_unit_test(test_ip_parse_bad),
		cmocka_unit_test(test_ip_format_small_buffer),
		cmocka_unit_test(test_ip_cmp),
		cmocka_unit_test(test_prefix_parse_good),
		cmocka_unit_test(test_prefix_parse_bad),
		cmocka_unit_test(test_prefix_canonicalize),
		cmocka_unit_test(test_prefix_from_ip),
		cmocka_unit_test(test_contains_ip),
		cmocka_unit_test(test_contains_overlaps),
		cmocka_unit_test(test_nth_offset_v4),
		cmocka_unit_test(test_nth_offset_v6),
		cmocka_unit_test(test_host_range),
		cmocka_unit_test(test_alloc_basic),
		cmocka_unit_test(test_alloc_from_top),
		cmocka_unit_test(test_alloc_fill),
		cmocka_unit_test(test_alloc_tiny),
		cmocka_unit_test(test_alloc_big_v6),
		cmocka_unit_test(test_alloc_bad_range),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
