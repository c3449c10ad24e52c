/*
 * First-run setup, login, logout and the caller's own account.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "key.h"
#include "log.h"
#include "names.h"
#include "handlers.h"

#define LOGIN_MAX_PER_USER 5
#define LOGIN_MAX_PER_IP 10

json_t *user_json(struct store_stmt *s)
{
	/* Columns: id, username, role, created_at. */
	return json_pack("{s:I, s:s, s:s, s:I}", "id", (json_int_t)store_col_int(s, 0),
			 "username", store_col_text(s, 1), "role", store_col_text(s, 2),
			 "created_at", (json_int_t)store_col_int(s, 3));
}

void handle_setup_get(struct request *req)
{
	bool needed;

	pthread_mutex_lock(&req->srv->setup_mu);
	needed = req->srv->setup_pending;
	pthread_mutex_unlock(&req->srv->setup_mu);
	reply_json(req, 200, json_pack("{s:b}", "needed", needed));
}

void handle_setup_post(struct request *req)
{
	struct server *srv = req->srv;
	const char *token = NULL, *username = NULL, *password = NULL, *msg;
	const struct mg_json_field fields[] = {
		{ .name = "setup_token", .type = MG_JSON_STRING, .required = true, .out = &token },
		{ .name = "username", .type = MG_JSON_STRING, .required = true, .out = &username },
		{ .name = "password", .type = MG_JSON_STRING, .required = true, .out = &password },
		{ 0 }
	};
	char hash[MG_HASH_HEX_LEN], pwhash[128], path[PATH_MAX + 32];
	int64_t id;
	json_t *body;
	int ret;

	body = request_json(req, fields);
	if (!body)
		return;
	if ((msg = mg_check_user_name(username))) {
		reply_error(req, 400, "username: %s", msg);
		goto out;
	}
	if ((msg = password_check(password))) {
		reply_error(req, 400, "%s", msg);
		goto out;
	}
	pthread_mutex_lock(&srv->setup_mu);
	if (!srv->setup_pending) {
		reply_error(req, 409, "setup already completed");
		goto unlock;
	}
	mg_token_hash(hash, token);
	if (!mg_streq_ct(hash, srv->setup_hash)) {
		reply_error(req, 403, "wrong setup token");
		goto unlock;
	}
	if (password_hash(pwhash, password) < 0) {
		reply_error(req, 500, "cannot hash password");
		goto unlock;
	}
	ret = store_begin(srv->st);
	if (ret != STORE_OK) {
		reply_store_error(req, ret, "setup");
		goto unlock;
	}
	snprintf(req->auth.actor, sizeof(req->auth.actor), "setup");
	if ((ret = store_get_int(srv->st, &id, NULL,
				 "INSERT INTO users (username, password_hash, role, created_at)"
				 " VALUES (?, ?, 'admin', ?) RETURNING id",
				 "tti", username, pwhash, now_unix())) != STORE_OK ||
	    (ret = audit(req, "setup.complete", username, "first admin created")) != STORE_OK) {
		store_rollback(srv->st);
		reply_store_error(req, ret, "user");
		goto unlock;
	}
	ret = store_commit(srv->st);
	if (ret != STORE_OK) {
		reply_store_error(req, ret, "user");
		goto unlock;
	}
	srv->setup_pending = false;
	memset(srv->setup_hash, 0, sizeof(srv->setup_hash));
	snprintf(path, sizeof(path), "%s/setup-token", srv->data_dir);
	unlink(path);
	log_info("setup complete: admin '%s' created", username);
	reply_json(req, 201, json_pack("{s:{s:I, s:s, s:s, s:I}}", "user", "id", (json_int_t)id,
				       "username", username, "role", "admin", "created_at",
				       (json_int_t)now_unix()));
unlock:
	pthread_mutex_unlock(&srv->setup_mu);
out:
	json_decref(body);
}

void handle_login(struct request *req)
{
	struct server *srv = req->srv;
	const char *username = NULL, *password = NULL;
	const struct mg_json_field fields[] = {
		{ .name = "username", .type = MG_JSON_STRING, .required = true, .out = &username },
		{ .name = "password", .type = MG_JSON_STRING, .required = true, .out = &password },
		{ 0 }
	};
	char ukey[96], ikey[96], pwhash[128] = "", role[16] = "", name[80] = "";
	char token[MG_TOKEN_LEN], hash[MG_HASH_HEX_LEN], csrf[MG_HASH_HEX_LEN], cookie[160];
	struct store_stmt *s;
	int64_t user_id = 0, created = 0, expires;
	unsigned wait;
	json_t *body;
	int ret;

	body = request_json(req, fields);
	if (!body)
		return;
	if (mg_check_user_name(username) || strlen(password) > 256) {
		reply_error(req, 401, "invalid username or password");
		goto out;
	}
	snprintf(ukey, sizeof(ukey), "user:%s", username);
	for (char *p = ukey; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	ratelimit_ip_key(ikey, sizeof(ikey), req->source_ip);
	wait = ratelimit_check(ikey, LOGIN_MAX_PER_IP);
	if (!wait)
		wait = ratelimit_check(ukey, LOGIN_MAX_PER_USER);
	if (wait) {
		req->retry_after = wait;
		reply_error(req, 429, "too many failed logins, try again in %u s", wait);
		goto out;
	}

	store_lock(srv->st);
	if (store_query(srv->st, &s, "SELECT id, username, role, password_hash, created_at FROM users"
			" WHERE username = ?", "t", username) == STORE_OK) {
		if (store_step(s) == STORE_ROW) {
			user_id = store_col_int(s, 0);
			snprintf(name, sizeof(name), "%s", store_col_text(s, 1));
			snprintf(role, sizeof(role), "%s", store_col_text(s, 2));
			snprintf(pwhash, sizeof(pwhash), "%s", store_col_text(s, 3));
			created = store_col_int(s, 4);
		}
		store_finalize(s);
	}
	store_unlock(srv->st);

	if (!user_id)
		auth_dummy_verify();
	if (!user_id || !password_verify(pwhash, password)) {
		ratelimit_fail(ikey);
		ratelimit_fail(ukey);
		log_info("failed login for '%s' from %s", username, req->source_ip);
		reply_error(req, 401, "invalid username or password");
		goto out;
	}
	ratelimit_reset(ukey);

	mg_token_generate(token, "mgs_");
	mg_token_hash(hash, token);
	expires = now_unix() + MG_SESSION_TTL;
	ret = store_begin(srv->st);
	if (ret == STORE_OK) {
		snprintf(req->auth.actor, sizeof(req->auth.actor), "user:%s", name);
		if ((ret = store_exec(srv->st, "INSERT INTO sessions (token_hash, user_id, created_at, expires_at)"
				      " VALUES (?, ?, ?, ?)", "tiii", hash, user_id, now_unix(), expires)) != STORE_OK ||
		    (ret = store_exec(srv->st, "DELETE FROM sessions WHERE expires_at <= ?", "i", now_unix())) != STORE_OK ||
		    (ret = audit(req, "session.login", name, NULL)) != STORE_OK)
			store_rollback(srv->st);
		else
			ret = store_commit(srv->st);
	}
	if (ret != STORE_OK) {
		reply_store_error(req, ret, "session");
		goto wipe;
	}
	csrf_for_session(csrf, token);
	snprintf(cookie, sizeof(cookie), "mg_session=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%d%s",
		 token, MG_SESSION_TTL, strncmp(srv->public_url, "https:", 6) ? "" : "; Secure");
	req->set_cookie = strdup(cookie);
	reply_json(req, 200, json_pack("{s:s, s:s, s:I, s:{s:I, s:s, s:s, s:I}}", "token", token, "csrf", csrf,
				       "expires_at", (json_int_t)expires, "user", "id", (json_int_t)user_id,
				       "username", name, "role", role, "created_at", (json_int_t)created));
wipe:
	mg_wipe(token, sizeof(token));
	mg_wipe(cookie, sizeof(cookie));
out:
	json_decref(body);
}

void handle_logout(struct request *req)
{
	int ret = STORE_OK;

	if (req->auth.session_id) {
		ret = store_begin(req->srv->st);
		if (ret == STORE_OK) {
			if ((ret = store_exec(req->srv->st, "DELETE FROM sessions WHERE id = ?", "i",
					      req->auth.session_id)) != STORE_OK ||
			    (ret = audit(req, "session.logout", req->auth.username, NULL)) != STORE_OK)
				store_rollback(req->srv->st);
			else
				ret = store_commit(req->srv->st);
		}
	}
	if (ret != STORE_OK) {
		reply_store_error(req, ret, "session");
		return;
	}
	req->set_cookie = strdup("mg_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
	reply_empty(req, 204);
}

void handle_me(struct request *req)
{
	struct store_stmt *s;
	json_t *user = NULL;

	store_lock(req->srv->st);
	if (store_query(req->srv->st, &s, "SELECT id, username, role, created_at FROM users WHERE id = ?", "i",
			req->auth.user_id) == STORE_OK) {
		if (store_step(s) == STORE_ROW)
			user = user_json(s);
		store_finalize(s);
	}
	store_unlock(req->srv->st);
	if (!user) {
		reply_error(req, 404, "user not found");
		return;
	}
	/* A new tab of the console has the cookie but not the CSRF value: give it here. */
	if (req->auth.via_cookie)
		json_object_set_new(user, "csrf", json_string(req->auth.csrf));
	reply_json(req, 200, user);
}

void handle_me_password(struct request *req)
{
	struct store *st = req->srv->st;
	const char *current = NULL, *new_pw = NULL, *msg;
	const struct mg_json_field fields[] = {
		{ .name = "current_password", .type = MG_JSON_STRING, .required = true, .out = &current },
		{ .name = "new_password", .type = MG_JSON_STRING, .required = true, .out = &new_pw },
		{ 0 }
	};
	char pwhash[128] = "", newhash[128], ukey[96];
	struct store_stmt *s;
	unsigned wait;
	json_t *body;
	int ret;

	body = request_json(req, fields);
	if (!body)
		return;
	if ((msg = password_check(new_pw))) {
		reply_error(req, 400, "%s", msg);
		goto out;
	}
	/* A stolen session must not become an unlimited oracle for the current password. */
	snprintf(ukey, sizeof(ukey), "pw:%lld", (long long)req->auth.user_id);
	wait = ratelimit_check(ukey, LOGIN_MAX_PER_USER);
	if (wait) {
		req->retry_after = wait;
		reply_error(req, 429, "too many wrong passwords, try again in %u s", wait);
		goto out;
	}
	store_lock(st);
	if (store_query(st, &s, "SELECT password_hash FROM users WHERE id = ?", "i", req->auth.user_id) == STORE_OK) {
		if (store_step(s) == STORE_ROW)
			snprintf(pwhash, sizeof(pwhash), "%s", store_col_text(s, 0));
		store_finalize(s);
	}
	store_unlock(st);
	if (!pwhash[0] || !password_verify(pwhash, current)) {
		ratelimit_fail(ukey);
		reply_error(req, 403, "current password is wrong");
		goto out;
	}
	if (password_hash(newhash, new_pw) < 0) {
		reply_error(req, 500, "cannot hash password");
		goto out;
	}
	ret = store_begin(st);
	if (ret == STORE_OK) {
		/* Other sessions of this user end; the current one stays. */
		if ((ret = store_exec(st, "UPDATE users SET password_hash = ? WHERE id = ?", "ti", newhash,
				      req->auth.user_id)) != STORE_OK ||
		    (ret = store_exec(st, "DELETE FROM sessions WHERE user_id = ? AND id != ?", "ii",
				      req->auth.user_id, req->auth.session_id)) != STORE_OK ||
		    (ret = audit(req, "user.password", req->auth.username, NULL)) != STORE_OK)
			store_rollback(st);
		else
			ret = store_commit(st);
	}
	if (ret != STORE_OK)
		reply_store_error(req, ret, "user");
	else
		reply_empty(req, 204);
out:
	json_decref(body);
}
