/*
 * WireGuard keys and bearer tokens, on top of libsodium.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "key.h"

#define KEY_B64_CHARS (MG_KEY_B64_LEN - 1)
#define TOKEN_RAND_LEN 32
#define TOKEN_PREFIX_MAX 7

int mg_crypto_init(void)
{
	return sodium_init() < 0 ? -1 : 0;
}

void mg_key_generate_private(mg_key out)
{
	randombytes_buf(out, MG_KEY_LEN);
	out[0] &= 248;
	out[31] &= 127;
	out[31] |= 64;
}

void mg_key_public_from_private(mg_key pub, const mg_key priv)
{
	mg_key k;

	memcpy(k, priv, MG_KEY_LEN);
	k[0] &= 248;
	k[31] &= 127;
	k[31] |= 64;
	crypto_scalarmult_curve25519_base(pub, k);
	sodium_memzero(k, sizeof(k));
}

void mg_key_to_base64(char out[MG_KEY_B64_LEN], const mg_key key)
{
	sodium_bin2base64(out, MG_KEY_B64_LEN, key, MG_KEY_LEN,
			  sodium_base64_VARIANT_ORIGINAL);
}

int mg_key_from_base64(mg_key out, const char *b64)
{
	char again[MG_KEY_B64_LEN];
	mg_key k;
	size_t binlen;
	const char *end;
	int ret = -EINVAL;

	if (!b64 || strnlen(b64, KEY_B64_CHARS + 1) != KEY_B64_CHARS ||
	    b64[KEY_B64_CHARS - 1] != '=')
		return -EINVAL;
	if (sodium_base642bin(k, sizeof(k), b64, KEY_B64_CHARS, NULL, &binlen, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    binlen != MG_KEY_LEN || end != b64 + KEY_B64_CHARS)
		goto out;
	/* Reject encodings with non-zero trailing bits by round-tripping. */
	mg_key_to_base64(again, k);
	if (memcmp(again, b64, KEY_B64_CHARS) != 0)
		goto out;
	memcpy(out, k, MG_KEY_LEN);
	ret = 0;
out:
	sodium_memzero(k, sizeof(k));
	sodium_memzero(again, sizeof(again));
	return ret;
}

int mg_key_valid_base64(const char *b64)
{
	mg_key k;
	int ret;

	ret = mg_key_from_base64(k, b64);
	sodium_memzero(k, sizeof(k));
	return ret;
}

void mg_wipe(void *p, size_t len)
{
	sodium_memzero(p, len);
}

int mg_token_generate(char out[MG_TOKEN_LEN], const char *prefix)
{
	uint8_t rnd[TOKEN_RAND_LEN];
	size_t plen;

	if (!prefix)
		prefix = "";
	plen = strnlen(prefix, TOKEN_PREFIX_MAX + 1);
	if (plen > TOKEN_PREFIX_MAX)
		return -EINVAL;
	memcpy(out, prefix, plen);
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2base64(out + plen, MG_TOKEN_LEN - plen, rnd, sizeof(rnd),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(rnd, sizeof(rnd));
	return 0;
}

void mg_token_hash(char out[MG_HASH_HEX_LEN], const char *token)
{
	uint8_t h[32];

	crypto_generichash(h, sizeof(h), (const unsigned char *)token, strlen(token), NULL, 0);
	sodium_bin2hex(out, MG_HASH_HEX_LEN, h, sizeof(h));
}

int mg_streq_ct(const char *a, const char *b)
{
	size_t la, lb;

	if (!a || !b)
		return 0;
	la = strlen(a);
	lb = strlen(b);
	/* Only the length leaks, which a bearer token's format gives away anyway. */
	if (la != lb)
		return 0;
	return sodium_memcmp(a, b, la) == 0;
}

char *mg_b64url_encode(const void *data, size_t len)
{
	const int variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
	size_t outlen = sodium_base64_ENCODED_LEN(len, variant);
	char *out;

	if (!(out = malloc(outlen)))
		return NULL;
	sodium_bin2base64(out, outlen, data, len, variant);
	return out;
}

char *mg_b64url_decode(const char *s, size_t *out_len)
{
	size_t slen, maxlen, binlen;
	const char *end;
	char *out;

	if (!s)
		return NULL;
	slen = strlen(s);
	maxlen = slen / 4 * 3 + 3;
	if (!(out = malloc(maxlen + 1)))
		return NULL;
	if (sodium_base642bin((unsigned char *)out, maxlen, s, slen, NULL, &binlen, &end,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    end != s + slen) {
		free(out);
		return NULL;
	}
	out[binlen] = '\0';
	if (out_len)
		*out_len = binlen;
	return out;
}
