/*
 * Fuzzer: enrollment tokens, base64url of {"server": URL, "key": "mge_..."}.
 *
 * Both readers are the project's own code: the server's enrollment_key_of
 * (static in server/api_hosts.c, so that file is included here and left
 * out of the server archive this fuzzer links) and the agent's
 * token_server (appliance/agent/api.c).
 *
 * The first byte picks how the rest becomes a token:
 *   0  the bytes are the token text;
 *   1  the bytes are the JSON inside, base64url-encoded here;
 *   2  "SERVER\nKEY": a token built the way server/api_keys.c builds one,
 *      which must read back (the URL less its trailing slashes, the key).
 * Invariants: a server URL handed back starts with http:// or https://, has
 * no whitespace, no trailing '/', fewer than 2048 bytes; a key handed back
 * starts with "mge_" and, when it came out of a JSON token, fits
 * MG_TOKEN_LEN.
 */
#include "server/api_hosts.c"

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>

#include "agent/agent.h"

static bool url_prefix_ok(const char *s)
{
	return !strncmp(s, "http://", 7) || !strncmp(s, "https://", 8);
}

static void check_server(const char *s)
{
	size_t n = strlen(s);

	assert(url_prefix_ok(s));
	assert(n > 8 || (n > 7 && !strncmp(s, "http://", 7)));
	assert(n < 2048);
	assert(!strpbrk(s, " \t\r\n"));
	assert(n == 0 || s[n - 1] != '/');
}

/* Decodes tok both ways; returns the results (caller frees). */
static void decode(const char *tok, char **server, char **key)
{
	int r = token_server(tok, server);

	assert(r == 0 || r == -EINVAL || r == -ENOMEM);
	assert((r == 0) == (*server != NULL));
	if (*server)
		check_server(*server);
	*key = enrollment_key_of(tok);
	if (*key) {
		assert(!strncmp(*key, "mge_", 4));
		if (strncmp(tok, "mge_", 4))
			assert(strlen(*key) < MG_TOKEN_LEN);
		else
			assert(!strcmp(*key, tok));
	}
}

static char *build_token(const char *server_url, const char *key)
{
	json_t *obj = json_pack("{s:s, s:s}", "server", server_url, "key", key);
	char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
	char *tok = text ? mg_b64url_encode(text, strlen(text)) : NULL;

	free(text);
	json_decref(obj);
	return tok;
}

/* What token_server accepts: a plain http(s) URL with something after the scheme once trailing slashes go. */
static bool round_trip_server_ok(const char *s)
{
	size_t n = strlen(s), scheme;

	while (n > 0 && s[n - 1] == '/')
		n--;
	if (!url_prefix_ok(s) || strlen(s) >= 2048 || strpbrk(s, " \t\r\n"))
		return false;
	scheme = !strncmp(s, "https://", 8) ? 8 : 7;
	return n > scheme && s[scheme] != '/';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text, *tok = NULL, *server = NULL, *key = NULL, *nl;
	uint8_t mode;

	if (size < 1)
		return 0;
	mode = data[0] % 3;
	data++, size--;
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	switch (mode) {
	case 0:
		decode(text, &server, &key);
		break;
	case 1:
		tok = mg_b64url_encode(data, size);
		if (tok)
			decode(tok, &server, &key);
		break;
	case 2:
		nl = strchr(text, '\n');
		if (!nl)
			break;
		*nl = '\0';
		/* json_pack refuses invalid UTF-8: then there is no token. */
		tok = build_token(text, nl + 1);
		if (!tok)
			break;
		decode(tok, &server, &key);
		if (round_trip_server_ok(text)) {
			size_t n = strlen(text);

			while (n > 0 && text[n - 1] == '/')
				n--;
			assert(server && strlen(server) == n && !strncmp(server, text, n));
		} else {
			assert(!server);
		}
		if (!strncmp(nl + 1, "mge_", 4) && strlen(nl + 1) < MG_TOKEN_LEN)
			assert(key && !strcmp(key, nl + 1));
		else
			assert(!key);
		break;
	}
	free(server);
	free(key);
	free(tok);
	free(text);
	return 0;
}
