/*
 * WireGuard keys (Curve25519, base64) and the random tokens the control
 * plane hands out. Everything here is backed by libsodium; call mg_crypto_init
 * once before use.
 */
#ifndef MG_KEY_H
#define MG_KEY_H

#include <stddef.h>
#include <stdint.h>

#define MG_KEY_LEN 32
/* Base64 of 32 bytes: 44 characters plus NUL. */
#define MG_KEY_B64_LEN 45
/* Token text: prefix (up to 7 chars) + base64url of 32 bytes (43) + NUL. */
#define MG_TOKEN_LEN 52
/* Hex of a 32-byte BLAKE2b hash plus NUL. */
#define MG_HASH_HEX_LEN 65

typedef uint8_t mg_key[MG_KEY_LEN];

/* Returns 0, or -1 if libsodium cannot initialise. */
int mg_crypto_init(void);

/* A new clamped private key. */
void mg_key_generate_private(mg_key out);
void mg_key_public_from_private(mg_key pub, const mg_key priv);

void mg_key_to_base64(char out[MG_KEY_B64_LEN], const mg_key key);
/*
 * Strict: exactly 44 characters of standard base64 with one '=' padding and
 * canonical trailing bits. Returns 0 or -EINVAL.
 */
int mg_key_from_base64(mg_key out, const char *b64);
/* Checks a base64 key without keeping it. */
int mg_key_valid_base64(const char *b64);
/* Zeroes a key (or any secret) in a way the compiler won't elide. */
void mg_wipe(void *p, size_t len);

/*
 * A random bearer token: `prefix` (e.g. "mgs_", at most 7 chars) followed by
 * 32 random bytes in base64url without padding. Returns 0 or -EINVAL.
 */
int mg_token_generate(char out[MG_TOKEN_LEN], const char *prefix);
/* BLAKE2b-256 of a string as lowercase hex: how tokens are stored. */
void mg_token_hash(char out[MG_HASH_HEX_LEN], const char *token);
/* Constant-time string comparison. Returns 1 when equal. */
int mg_streq_ct(const char *a, const char *b);

/* base64url without padding, for tokens that wrap JSON. Caller frees. */
char *mg_b64url_encode(const void *data, size_t len);
/* Returns the decoded bytes NUL-terminated (len in *out_len) or NULL. Caller frees. */
char *mg_b64url_decode(const char *s, size_t *out_len);

#endif
