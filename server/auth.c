/*
 * Who is calling: session tokens (login; Bearer or the mg_session cookie),
 * API tokens and host tokens, all stored as hashes. Passwords are Argon2id.
 */
#include <microhttpd.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "key.h"
#include "log.h"
#include "server.h"

int password_hash(char out[128], const char *password)
{
	_Static_assert(crypto_pwhash_STRBYTES <= 128, "hash buffer too small");
	if (crypto_pwhash_str(out, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
			      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		return -1;
	return 0;
}

bool password_verify(const char *hash, const char *password)
{
	return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}

const char *password_check(const char *password)
{
	size_t n = strlen(password);

	if (n < 10)
		return "password must be at least 10 characters";
	if (n > 256)
		return "password must be at most 256 characters";
	return NULL;
}

/* Not a secret: only the cost of verifying against it matters. */
static char dummy_hash[128];

static void make_dummy_hash(void)
{
	if (password_hash(dummy_hash, "no user has this password") < 0)
		dummy_hash[0] = '\0';
}

/*
 * Spend the time of one verification when the user does not exist, so the
 * response time does not tell which user names are taken.
 */
void auth_dummy_verify(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, make_dummy_hash);
	password_verify(dummy_hash, "not the password");
}

void csrf_for_session(char out[MG_HASH_HEX_LEN], const char *session_token)
{
	char buf[MG_TOKEN_LEN + 8];

	snprintf(buf, sizeof(buf), "csrf:%s", session_token);
	mg_token_hash(out, buf);
	sodium_memzero(buf, sizeof(buf));
}

static bool starts_with(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

static void auth_user_row(struct request *req, struct store_stmt *s)
{
	/* Columns: id, username, role, [session or token id]. */
	req->auth.kind = AUTH_USER;
	req->auth.user_id = store_col_int(s, 0);
	req->auth.admin = !strcmp(store_col_text(s, 2), "admin");
	snprintf(req->auth.username, sizeof(req->auth.username), "%s", store_col_text(s, 1));
	snprintf(req->auth.actor, sizeof(req->auth.actor), "user:%s", store_col_text(s, 1));
}

static void lookup(struct request *req, const char *token)
{
	struct store *st = req->srv->st;
	char hash[MG_HASH_HEX_LEN];
	struct store_stmt *s;
	int64_t now = now_unix();

	mg_token_hash(hash, token);
	store_lock(st);
	if (starts_with(token, "mgs_")) {
		if (store_query(st, &s,
				"SELECT u.id, u.username, u.role, s.id FROM sessions s JOIN users u ON u.id = s.user_id"
				" WHERE s.token_hash = ? AND s.expires_at > ?", "ti", hash, now) == STORE_OK) {
			if (store_step(s) == STORE_ROW) {
				auth_user_row(req, s);
				req->auth.session_id = store_col_int(s, 3);
			}
			store_finalize(s);
		}
	} else if (starts_with(token, "mga_")) {
		if (store_query(st, &s,
				"SELECT u.id, u.username, u.role, t.id FROM api_tokens t JOIN users u ON u.id = t.user_id"
				" WHERE t.token_hash = ? AND (t.expires_at IS NULL OR t.expires_at > ?)",
				"ti", hash, now) == STORE_OK) {
			if (store_step(s) == STORE_ROW) {
				auth_user_row(req, s);
				req->auth.api_token_id = store_col_int(s, 3);
				/* Automation is audited as its token, not as the person. */
				snprintf(req->auth.actor, sizeof(req->auth.actor), "token:%lld",
					 (long long)req->auth.api_token_id);
			}
			store_finalize(s);
		}
	} else if (starts_with(token, "mgh_")) {
		int64_t id;
		bool found;

		if (store_get_int(st, &id, &found, "SELECT id FROM hosts WHERE token_hash = ?", "t", hash) == STORE_OK &&
		    found) {
			req->auth.kind = AUTH_HOST;
			req->auth.host_id = id;
			snprintf(req->auth.actor, sizeof(req->auth.actor), "host:%lld", (long long)id);
		}
	}
	store_unlock(st);
}

void auth_request(struct request *req)
{
	const char *h = request_header(req, MHD_HTTP_HEADER_AUTHORIZATION);
	const char *token = NULL;

	memset(&req->auth, 0, sizeof(req->auth));
	if (h) {
		if (strncasecmp(h, "Bearer ", 7))
			return;
		token = h + 7;
	} else {
		token = MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, "mg_session");
		if (!token)
			return;
		req->auth.via_cookie = true;
	}
	if (strlen(token) >= MG_TOKEN_LEN || strlen(token) < 8)
		return;
	lookup(req, token);

	/* A cookie only authenticates sessions, and writes need the CSRF header. */
	if (req->auth.via_cookie) {
		const char *sent = request_header(req, "X-CSRF-Token");
		char want[MG_HASH_HEX_LEN];

		if (req->auth.session_id == 0) {
			memset(&req->auth, 0, sizeof(req->auth));
			return;
		}
		csrf_for_session(want, token);
		req->auth.csrf_ok = sent && mg_streq_ct(sent, want);
		memcpy(req->auth.csrf, want, sizeof(want));
	}
}

static bool is_write(const char *method)
{
	return strcmp(method, "GET") && strcmp(method, "HEAD");
}

bool auth_check(struct request *req, enum route_access access)
{
	const struct auth *a = &req->auth;

	if (access == ACCESS_PUBLIC)
		return true;
	if (a->kind == AUTH_NONE) {
		reply_error(req, 401, "authentication required");
		return false;
	}
	if (a->via_cookie && is_write(req->method) && !a->csrf_ok) {
		reply_error(req, 403, "missing or wrong X-CSRF-Token header");
		return false;
	}
	switch (access) {
	case ACCESS_HOST:
		if (a->kind != AUTH_HOST) {
			reply_error(req, 403, "this route is for hosts");
			return false;
		}
		return true;
	case ACCESS_USER:
	case ACCESS_ADMIN:
		if (a->kind != AUTH_USER) {
			reply_error(req, 403, "this route is for users");
			return false;
		}
		if (access == ACCESS_ADMIN && !a->admin) {
			reply_error(req, 403, "admin role required");
			return false;
		}
		return true;
	default:
		reply_error(req, 403, "forbidden");
		return false;
	}
}
