/*
 * Validation of user-supplied names. Checks are byte-wise on purpose: no
 * locale, no ctype, nothing that could let a non-ASCII byte through.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"
#include "names.h"

#define DNS_NAME_MAX 253
#define DNS_LABEL_MAX 63
#define LABEL_MAX 128

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || is_digit(c);
}

static bool is_alnum(char c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

const char *mg_check_network_name(const char *s)
{
	static const char msg[] = "must be 1-32 characters of a-z, 0-9 and '-', "
				  "starting and ending with a letter or digit";
	size_t i, n;

	if (!s || (n = strnlen(s, 33)) == 0 || n > 32)
		return msg;
	for (i = 0; i < n; i++) {
		if (!is_lower_alnum(s[i]) && s[i] != '-')
			return msg;
	}
	if (s[0] == '-' || s[n - 1] == '-')
		return msg;
	return NULL;
}

/* One DNS label of exactly n bytes at s. */
static bool dns_label_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > DNS_LABEL_MAX || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (i = 0; i < n; i++) {
		if (!is_alnum(s[i]) && s[i] != '-')
			return false;
	}
	return true;
}

const char *mg_check_host_name(const char *s)
{
	if (!s || !dns_label_ok(s, strnlen(s, DNS_LABEL_MAX + 1)))
		return "must be 1-63 characters of A-Z, a-z, 0-9 and '-', "
		       "not starting or ending with '-'";
	return NULL;
}

const char *mg_check_user_name(const char *s)
{
	static const char msg[] = "must be 1-64 characters of A-Z, a-z, 0-9, '.', '_' and '-', "
				  "starting with a letter or digit";
	size_t i, n;

	if (!s || (n = strnlen(s, 65)) == 0 || n > 64 || !is_alnum(s[0]))
		return msg;
	for (i = 1; i < n; i++) {
		if (!is_alnum(s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
			return msg;
	}
	return NULL;
}

/*
 * Decodes one UTF-8 sequence at s (n bytes left). Returns its length and
 * the code point in *cp, or 0 when it is not well-formed: truncated, a stray
 * continuation byte, an overlong form, a surrogate or above U+10FFFF.
 */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t len, i;
	uint32_t c;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	} else if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		c = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		c = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		c = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min[len] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

const char *mg_check_label(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n, i, step;
	uint32_t c;

	if (!s || (n = strnlen(s, LABEL_MAX + 1)) == 0 || n > LABEL_MAX)
		return "must be 1-128 bytes long";
	for (i = 0; i < n; i += step) {
		if (!(step = utf8_decode(p + i, n - i, &c)))
			return "must be valid UTF-8";
		if (c < 0x20 || (c >= 0x7f && c <= 0x9f))
			return "must not contain control characters";
	}
	return NULL;
}

static const char *check_dns_name_len(const char *s, size_t n)
{
	const char *label = s, *dot;

	if (n == 0 || n > DNS_NAME_MAX)
		return "must be a DNS name of at most 253 characters";
	for (;;) {
		dot = memchr(label, '.', n - (size_t)(label - s));
		if (!dns_label_ok(label, dot ? (size_t)(dot - label) : n - (size_t)(label - s)))
			return "must be a DNS name: dot-separated labels of 1-63 characters "
			       "of A-Z, a-z, 0-9 and '-', not starting or ending with '-'";
		if (!dot)
			return NULL;
		label = dot + 1;
	}
}

const char *mg_check_dns_name(const char *s)
{
	if (!s)
		return "must be a DNS name";
	return check_dns_name_len(s, strnlen(s, DNS_NAME_MAX + 1));
}

/* 1-65535 in decimal, without sign or leading zeros. */
static bool port_ok(const char *s)
{
	unsigned long v = 0;
	size_t i, n = strnlen(s, 6);

	if (n == 0 || n > 5 || s[0] == '0')
		return false;
	for (i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	return v <= 65535;
}

static bool all_digits_and_dots(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (!is_digit(s[i]) && s[i] != '.')
			return false;
	}
	return true;
}

const char *mg_check_endpoint(const char *s)
{
	char host[DNS_NAME_MAX + 1];
	const char *colon, *close;
	struct mg_ip ip;
	size_t n;

	if (!s || !*s)
		return "must be HOST:PORT";
	if (s[0] == '[') {
		if (!(close = strchr(s, ']')) || close[1] != ':')
			return "must be [IPv6]:PORT";
		n = (size_t)(close - s - 1);
		if (n == 0 || n >= MG_IP_STRLEN)
			return "must contain a valid IPv6 address in brackets";
		memcpy(host, s + 1, n);
		host[n] = '\0';
		if (mg_ip_parse(host, &ip) < 0 || ip.family != AF_INET6)
			return "must contain a valid IPv6 address in brackets";
		colon = close + 1;
	} else {
		if (!(colon = strrchr(s, ':')))
			return "must be HOST:PORT";
		if (memchr(s, ':', (size_t)(colon - s)))
			return "must put an IPv6 address in brackets: [IPv6]:PORT";
		n = (size_t)(colon - s);
		if (n == 0 || n > DNS_NAME_MAX)
			return "must be HOST:PORT with a valid host";
		memcpy(host, s, n);
		host[n] = '\0';
		/* Something that looks numeric must be a real IPv4 address. */
		if (all_digits_and_dots(host, n)) {
			if (mg_ip_parse(host, &ip) < 0)
				return "must contain a valid IPv4 address";
		} else if (check_dns_name_len(host, n)) {
			return "must be HOST:PORT with a valid host";
		}
	}
	if (!port_ok(colon + 1))
		return "must have a port between 1 and 65535";
	return NULL;
}
