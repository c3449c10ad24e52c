/*
 * Fuzzer: name checkers (lib/names.c).
 *
 * The input, cut at its first NUL, goes through every checker. They must
 * never crash, and each verdict is compared with a small independent
 * reading of the rule documented in names.h (network, host, user and DNS
 * names exactly; labels and endpoints by the properties that keep a
 * config file or a log line safe: no control bytes, no spaces, no '#',
 * ',' or '=').
 */
#include <arpa/inet.h>
#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"

static bool lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool alnum(char c)
{
	return lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static bool ref_network(const char *s)
{
	size_t n = strlen(s), i;

	if (n < 1 || n > 32 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (i = 0; i < n; i++)
		if (!lower_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

static bool ref_label(const char *s, size_t n)
{
	size_t i;

	if (n < 1 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (i = 0; i < n; i++)
		if (!alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

static bool ref_user(const char *s)
{
	size_t n = strlen(s), i;

	if (n < 1 || n > 64 || !alnum(s[0]))
		return false;
	for (i = 0; i < n; i++)
		if (!alnum(s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
			return false;
	return true;
}

static bool ref_dns(const char *s, size_t n)
{
	size_t start = 0, i;

	if (n < 1 || n > 253)
		return false;
	for (i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			if (!ref_label(s + start, i - start))
				return false;
			start = i + 1;
		}
	}
	return true;
}

static bool ref_port(const char *s)
{
	size_t n = strlen(s), i;
	long v = 0;

	if (n < 1 || n > 5 || s[0] == '0')
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	return v >= 1 && v <= 65535;
}

static bool ref_endpoint(const char *s)
{
	char host[300];
	unsigned char buf[16];
	const char *colon;
	size_t n;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			return false;
		n = (size_t)(close - s - 1);
		if (n == 0 || n >= 46)
			return false;
		memcpy(host, s + 1, n);
		host[n] = '\0';
		return strchr(host, ':') && inet_pton(AF_INET6, host, buf) == 1 && ref_port(close + 2);
	}
	colon = strchr(s, ':');
	if (!colon || strchr(colon + 1, ':'))
		return false;
	n = (size_t)(colon - s);
	if (n == 0 || n >= sizeof(host))
		return false;
	memcpy(host, s, n);
	host[n] = '\0';
	if (strspn(host, "0123456789.") == n) {
		if (inet_pton(AF_INET, host, buf) != 1)
			return false;
	} else if (!ref_dns(host, n)) {
		return false;
	}
	return ref_port(colon + 1);
}

/* Bytes that must never get through into a config or a log line. */
static bool has_unsafe(const char *s, const char *extra)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f || strchr(extra, c))
			return true;
	}
	return false;
}

static void check_msg(const char *msg)
{
	if (msg)
		assert(msg[0] && strlen(msg) < 256);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *m;
	char *s;
	size_t n;

	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	n = strlen(s);

	m = mg_check_network_name(s);
	check_msg(m);
	assert(!m == ref_network(s));

	m = mg_check_host_name(s);
	check_msg(m);
	assert(!m == ref_label(s, n));

	m = mg_check_user_name(s);
	check_msg(m);
	assert(!m == ref_user(s));

	m = mg_check_dns_name(s);
	check_msg(m);
	assert(!m == ref_dns(s, n));

	m = mg_check_endpoint(s);
	check_msg(m);
	assert(!m == ref_endpoint(s));
	if (!m)
		assert(!has_unsafe(s, " #,=\"'\\") && n <= 300);

	m = mg_check_label(s);
	check_msg(m);
	if (!m) {
		size_t i;

		assert(n >= 1 && n <= 128);
		assert(!has_unsafe(s, ""));
		/* No C1 controls (U+0080..U+009F are 0xC2 0x80..0x9F). */
		for (i = 0; i + 1 < n; i++)
			assert(!((unsigned char)s[i] == 0xc2 && (unsigned char)s[i + 1] <= 0x9f &&
				 (unsigned char)s[i + 1] >= 0x80));
	} else {
		/* Printable ASCII of the right length is always a label. */
		size_t i;
		bool printable = n >= 1 && n <= 128;

		for (i = 0; i < n && printable; i++)
			printable = s[i] >= 0x20 && s[i] < 0x7f;
		assert(!printable);
	}

	/* NULL is refused, never dereferenced. */
	assert(mg_check_network_name(NULL) && mg_check_host_name(NULL) && mg_check_user_name(NULL) &&
	       mg_check_label(NULL) && mg_check_endpoint(NULL) && mg_check_dns_name(NULL));
	free(s);
	return 0;
}
