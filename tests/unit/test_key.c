#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "key.h"

/* Computed with: echo YAnz7RZ6JYDmM8+bXT0kYR2sVk/2t9kMTQsSKBoxGk0= | wg pubkey */
#define VEC_PRIV "YAnz7RZ6JYDmM8+bXT0kYR2sVk/2t9kMTQsSKBoxGk0="
#define VEC_PUB "y9XReUBiOzEHXUB0Z+PiFGW2eQc5M1QeUbOYzsVUag8="

static int setup(void **state)
{
	(void)state;
	return mg_crypto_init();
}

static void test_known_vector(void **state)
{
	mg_key priv, pub;
	char b64[MG_KEY_B64_LEN];

	(void)state;
	assert_int_equal(mg_key_from_base64(priv, VEC_PRIV), 0);
	mg_key_public_from_private(pub, priv);
	mg_key_to_base64(b64, pub);
	assert_string_equal(b64, VEC_PUB);
	mg_key_to_base64(b64, priv);
	assert_string_equal(b64, VEC_PRIV);
}

static void test_public_clamps(void **state)
{
	mg_key priv, raw, pub1, pub2;

	(void)state;
	/* An unclamped private key yields the same public key as its clamped form. */
	assert_int_equal(mg_key_from_base64(priv, VEC_PRIV), 0);
	memcpy(raw, priv, sizeof(raw));
	raw[0] |= 7;
	raw[31] |= 128;
	raw[31] &= ~64;
	mg_key_public_from_private(pub1, priv);
	mg_key_public_from_private(pub2, raw);
	assert_memory_equal(pub1, pub2, MG_KEY_LEN);
	assert_int_equal(raw[0] & 7, 7);	/* the input is left alone */
}

static void test_generate_round_trip(void **state)
{
	mg_key priv, priv2, pub, back;
	char b64[MG_KEY_B64_LEN];
	int i;

	(void)state;
	for (i = 0; i < 50; i++) {
		mg_key_generate_private(priv);
		assert_int_equal(priv[0] & 7, 0);
		assert_int_equal(priv[31] & 128, 0);
		assert_int_equal(priv[31] & 64, 64);
		mg_key_to_base64(b64, priv);
		assert_int_equal(strlen(b64), 44);
		assert_int_equal(b64[43], '=');
		assert_int_equal(mg_key_valid_base64(b64), 0);
		assert_int_equal(mg_key_from_base64(back, b64), 0);
		assert_memory_equal(back, priv, MG_KEY_LEN);
		mg_key_public_from_private(pub, priv);
		mg_key_to_base64(b64, pub);
		assert_int_equal(mg_key_from_base64(back, b64), 0);
		assert_memory_equal(back, pub, MG_KEY_LEN);
	}
	mg_key_generate_private(priv2);
	assert_memory_not_equal(priv, priv2, MG_KEY_LEN);
}

static void test_bad_base64(void **state)
{
	static const char *const bad[] = {
		"",
		"=",
		"YAnz7RZ6JYDmM8+bXT0kYR2sVk/2t9kMTQsSKBoxGk0",		/* 43: no padding */
		"YAnz7RZ6JYDmM8+bXT0kYR2sVk/2t9kMTQsSKBoxGk=",		/* 43 */
		"YAnz7RZ6JYDmM8+bXT0kYR2sVk/2t9kMTQsSKBoxGk0==",	/* 45 */
		"YAnz7RZ6JYDmM8+bXT0kYR2sVk/2t9kMTQsSKBoxGk0= ",
		" YAnz7RZ6JYDmM8+bXT0kYR2sVk/2t9kMTQsSKBoxGk0=",
		"YAnz7RZ6JYDmM8+bXT0kYR2sVk/2t9kMTQsSKBoxGk0=\n",
		"YAnz7RZ6JYDmM8+bXT0kYR2sVk/2t9kMTQsSKBoxGk1=",		/* non-canonical last char */
		"YAnz7RZ6JYDmM8+bXT0kYR2sVk/2t9kMTQsSKBoxGk3=",
		"YAnz7RZ6JYDmM8-bXT0kYR2sVk_2t9kMTQsSKBoxGk0=",		/* base64url alphabet */
		"YAnz7RZ6JYDmM8+bXT0kYR2sVk/2t9kMTQsSKBoxG!0=",		/* invalid char */
		"YAnz7RZ6JYDmM8+bXT0kYR2s k/2t9kMTQsSKBoxGk0=",		/* space inside */
		"YAnz7RZ6JYDmM8+bXT0kYR2sVk/2t9kMTQsSKBoxGk==",		/* two '=' */
		"YAnz7RZ6JYDmM8+bXT0kYR2sVk/2t9kMTQsSKBoxG=k0",		/* '=' in the middle */
		"YAnz7RZ6JYDmM8+bXT0kYR2sVk/2t9kMTQsSKBoxGk0A",		/* no '=' */
		"YAnz7RZ6JYDmM8+bXT0kYR2sVk/2t9kMTQsSKBoxGk0=YAnz7RZ6JYDmM8+bXT0kYR2sVk/2t9kMTQsSKBoxGk0=",
	};
	mg_key k;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (mg_key_from_base64(k, bad[i]) != -EINVAL)
			fail_msg("accepted bad key '%s'", bad[i]);
		if (mg_key_valid_base64(bad[i]) != -EINVAL)
			fail_msg("validated bad key '%s'", bad[i]);
	}
	assert_int_equal(mg_key_from_base64(k, NULL), -EINVAL);
	assert_int_equal(mg_key_valid_base64(NULL), -EINVAL);
}

static void test_bad_base64_embedded_nul(void **state)
{
	char buf[MG_KEY_B64_LEN];
	mg_key k;

	(void)state;
	memcpy(buf, VEC_PRIV, sizeof(buf));
	buf[20] = '\0';
	assert_int_equal(mg_key_from_base64(k, buf), -EINVAL);
}

static void test_wipe(void **state)
{
	uint8_t buf[37];
	size_t i;

	(void)state;
	memset(buf, 0xa5, sizeof(buf));
	mg_wipe(buf, sizeof(buf));
	for (i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0);
	mg_wipe(buf, 0);
}

static bool b64url_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

static void test_token_generate(void **state)
{
	enum { N = 64 };
	char tokens[N][MG_TOKEN_LEN];
	size_t i, j, len;

	(void)state;
	for (i = 0; i < N; i++) {
		assert_int_equal(mg_token_generate(tokens[i], "mgs_"), 0);
		len = strlen(tokens[i]);
		assert_int_equal(len, 4 + 43);
		assert_memory_equal(tokens[i], "mgs_", 4);
		for (j = 4; j < len; j++)
			assert_true(b64url_char(tokens[i][j]));
		for (j = 0; j < i; j++)
			assert_string_not_equal(tokens[i], tokens[j]);
	}
	assert_int_equal(mg_token_generate(tokens[0], "abcdefg"), 0);
	assert_int_equal(strlen(tokens[0]), 50);
	assert_int_equal(mg_token_generate(tokens[0], ""), 0);
	assert_int_equal(strlen(tokens[0]), 43);
	assert_int_equal(mg_token_generate(tokens[0], "abcdefgh"), -EINVAL);
	assert_int_equal(mg_token_generate(tokens[0], "a-much-too-long-prefix_"), -EINVAL);
}

static void test_token_hash(void **state)
{
	char h1[MG_HASH_HEX_LEN], h2[MG_HASH_HEX_LEN];
	size_t i;

	(void)state;
	/* BLAKE2b-256 of the empty string. */
	mg_token_hash(h1, "");
	assert_string_equal(h1, "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
	mg_token_hash(h1, "mgs_abc");
	mg_token_hash(h2, "mgs_abc");
	assert_string_equal(h1, h2);
	assert_int_equal(strlen(h1), 64);
	for (i = 0; i < 64; i++)
		assert_non_null(strchr("0123456789abcdef", h1[i]));
	mg_token_hash(h2, "mgs_abd");
	assert_string_not_equal(h1, h2);
}

static void test_streq_ct(void **state)
{
	(void)state;
	assert_int_equal(mg_streq_ct("abc", "abc"), 1);
	assert_int_equal(mg_streq_ct("", ""), 1);
	assert_int_equal(mg_streq_ct("abc", "abd"), 0);
	assert_int_equal(mg_streq_ct("abc", "abcd"), 0);
	assert_int_equal(mg_streq_ct("abcd", "abc"), 0);
	assert_int_equal(mg_streq_ct("", "a"), 0);
	assert_int_equal(mg_streq_ct(NULL, "a"), 0);
	assert_int_equal(mg_streq_ct("a", NULL), 0);
}

static void test_b64url(void **state)
{
	static const char json[] = "{\"server\":\"https://x\",\"key\":\"k?>>?\"}";
	char *enc, *dec;
	size_t len, n;
	uint8_t bin[5] = { 0xfb, 0xff, 0x00, 0xfe, 0x3e };

	(void)state;
	enc = mg_b64url_encode(json, strlen(json));
	assert_non_null(enc);
	assert_null(strpbrk(enc, "+/="));
	dec = mg_b64url_decode(enc, &len);
	assert_non_null(dec);
	assert_int_equal(len, strlen(json));
	assert_string_equal(dec, json);
	free(enc);
	free(dec);

	/* Every length modulo 3, with bytes that need '-' and '_'. */
	for (n = 0; n <= sizeof(bin); n++) {
		enc = mg_b64url_encode(bin, n);
		assert_non_null(enc);
		dec = mg_b64url_decode(enc, &len);
		assert_non_null(dec);
		assert_int_equal(len, n);
		assert_memory_equal(dec, bin, n);
		assert_int_equal(dec[n], '\0');
		free(enc);
		free(dec);
	}
	enc = mg_b64url_encode(bin, 2);
	assert_string_equal(enc, "-_8");
	free(enc);
}

static void test_b64url_decode_bad(void **state)
{
	static const char *const bad[] = {
		"A",		/* impossible length */
		"AAAAA",
		"QQ==",		/* padding not allowed */
		"QR",		/* non-canonical trailing bits */
		"+/8",		/* standard alphabet */
		"QQ Q",
		"QQ\n",
		"Q!",
	};
	size_t i, len;
	char *p;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if ((p = mg_b64url_decode(bad[i], &len))) {
			free(p);
			fail_msg("decoded bad input '%s'", bad[i]);
		}
	}
	assert_null(mg_b64url_decode(NULL, &len));
	p = mg_b64url_decode("", &len);
	assert_non_null(p);
	assert_int_equal(len, 0);
	free(p);
	p = mg_b64url_decode("QQ", NULL);
	assert_non_null(p);
	assert_string_equal(p, "A");
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_vector),
		cmocka_unit_test(test_public_clamps),
		cmocka_unit_test(test_generate_round_trip),
		cmocka_unit_test(test_bad_base64),
		cmocka_unit_test(test_bad_base64_embedded_nul),
		cmocka_unit_test(test_wipe),
		cmocka_unit_test(test_token_generate),
		cmocka_unit_test(test_token_hash),
		cmocka_unit_test(test_streq_ct),
		cmocka_unit_test(test_b64url),
		cmocka_unit_test(test_b64url_decode_bad),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
