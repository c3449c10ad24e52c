/*
 * Validation of names that come from users: network, host and user names.
 * Each returns NULL when the name is valid, else a static message fit for an
 * API error ("must be 1-32 characters of a-z, 0-9 and '-'").
 */
#ifndef MG_NAMES_H
#define MG_NAMES_H

#include <stddef.h>

/* Network names: 1-32 of [a-z0-9-], starting and ending with a letter or digit. */
const char *mg_check_network_name(const char *s);
/* Host/node names: a DNS label, 1-63 of [A-Za-z0-9-], no leading or trailing '-'. */
const char *mg_check_host_name(const char *s);
/* User names: 1-64 of [A-Za-z0-9._-], starting with a letter or digit. */
const char *mg_check_user_name(const char *s);
/* Free-text labels (token names, descriptions): 1-128 bytes of valid UTF-8 without control characters. */
const char *mg_check_label(const char *s);
/* "HOST:PORT", "IPv4:PORT" or "[IPv6]:PORT": HOST a DNS name, port 1-65535. */
const char *mg_check_endpoint(const char *s);
/* A DNS name (labels of [A-Za-z0-9-] separated by dots, at most 253 chars). */
const char *mg_check_dns_name(const char *s);

#endif
