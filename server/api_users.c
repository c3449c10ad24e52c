/*
 * Users (admins only) and API tokens (each user their own; admins all).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "key.h"
#include "names.h"
#include "handlers.h"



static bool parse_id(struct request *req, const char *s, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || end == s || v <= 0 || s[0] == '+' || s[0] == '0') {
		reply_error(req, 404, "not found");
		return false;
	}
	*out = v;
	return true;
}

bool request_id_param(struct request *req, unsigned i, int64_t *out)
{
	return parse_id(req, req->params[i], out);
}

static json_t *user_row(struct store *st, struct store_stmt *s)
{
	return user_json(s);
}

void handle_users_list(struct request *req)
{
	reply_rows(req, user_row, "users", "SELECT id, username, role, created_at FROM users ORDER BY id", NULL);
}

static json_t *user_by_id(struct store *st, int64_t id)
{
	struct store_stmt *s;
	json_t *user = NULL;

	if (store_query(st, &s, "SELECT id, username, role, created_at FROM users WHERE id = ?", "i", id) == STORE_OK) {
		if (store_step(s) == STORE_ROW)
			user = user_json(s);
		store_finalize(s);
	}
	return user;
}

static const char *check_role(const char *role)
{
	return strcmp(role, "admin") && strcmp(role, "user") ? "role must be 'admin' or 'user'" : NULL;
}

void handle_users_create(struct request *req)
{
	struct store *st = req->srv->st;
	const char *username = NULL, *password = NULL, *role = "user", *msg;
	const struct mg_json_field fields[] = {
		{ .name = "username", .type = MG_JSON_STRING, .required = true, .out = &username },
		{ .name = "password", .type = MG_JSON_STRING, .required = true, .out = &password },
		{ .name = "role", .type = MG_JSON_STRING, .out = &role },
		{ 0 }
	};
	char pwhash[128];
	bool exists = false;
	int64_t id = 0, dummy;
	json_t *body, *user = NULL;
	int ret;

	body = request_json(req, fields);
	if (!body)
		return;
	if ((msg = mg_check_user_name(username))) {
		reply_error(req, 400, "username: %s", msg);
		goto out;
	}
	if ((msg = password_check(password)) || (msg = check_role(role))) {
		reply_error(req, 400, "%s", msg);
		goto out;
	}
	if (password_hash(pwhash, password) < 0) {
		reply_error(req, 500, "cannot hash password");
		goto out;
	}
	ret = store_begin(st);
	if (ret == STORE_OK) {
		ret = store_get_int(st, &dummy, &exists, "SELECT id FROM users WHERE username = ?", "t", username);
		if (ret == STORE_OK && !exists)
			ret = store_get_int(st, &id, NULL, "INSERT INTO users (username, password_hash, role, created_at)"
					    " VALUES (?, ?, ?, ?) RETURNING id", "ttti", username, pwhash, role, now_unix());
		if (ret == STORE_OK && !exists)
			ret = audit(req, "user.create", username, "role=%s", role);
		if (ret == STORE_OK && !exists)
			user = user_by_id(st, id);
		ret = store_finish(st, exists ? STORE_CONSTRAINT : ret);
	}
	if (ret != STORE_OK) {
		json_decref(user);
		if (exists)
			reply_error(req, 409, "user '%s' already exists", username);
		else
			reply_store_error(req, ret, "user");
		goto out;
	}
	reply_json(req, 201, user);
out:
	json_decref(body);
}

void handle_users_get(struct request *req)
{
	int64_t id;
	json_t *user;

	if (!request_id_param(req, 0, &id))
		return;
	store_lock(req->srv->st);
	user = user_by_id(req->srv->st, id);
	store_unlock(req->srv->st);
	if (!user)
		reply_error(req, 404, "user not found");
	else
		reply_json(req, 200, user);
}

/* Would this change leave no admin? Call inside the transaction. */
static int last_admin(struct store *st, int64_t id, bool *is_last)
{
	int64_t admins = 0, is_admin = 0;
	int ret;

	ret = store_get_int(st, &admins, NULL, "SELECT COUNT(*) FROM users WHERE role = 'admin'", NULL);
	if (ret == STORE_OK)
		ret = store_get_int(st, &is_admin, NULL, "SELECT COUNT(*) FROM users WHERE id = ? AND role = 'admin'",
				    "i", id);
	*is_last = is_admin && admins <= 1;
	return ret;
}

void handle_users_patch(struct request *req)
{
	struct store *st = req->srv->st;
	const char *password = NULL, *role = NULL, *msg;
	const struct mg_json_field fields[] = {
		{ .name = "password", .type = MG_JSON_STRING, .out = &password },
		{ .name = "role", .type = MG_JSON_STRING, .out = &role },
		{ 0 }
	};
	char pwhash[128];
	int64_t id, found_id;
	bool found = false, is_last = false;
	json_t *body, *user = NULL;
	int ret;

	if (!request_id_param(req, 0, &id))
		return;
	body = request_json(req, fields);
	if (!body)
		return;
	if ((password && (msg = password_check(password))) || (role && (msg = check_role(role)))) {
		reply_error(req, 400, "%s", msg);
		goto out;
	}
	if (!password && !role) {
		reply_error(req, 400, "nothing to update");
		goto out;
	}
	if (password && password_hash(pwhash, password) < 0) {
		reply_error(req, 500, "cannot hash password");
		goto out;
	}
	ret = store_begin(st);
	if (ret != STORE_OK) {
		reply_store_error(req, ret, "user");
		goto out;
	}
	ret = store_get_int(st, &found_id, &found, "SELECT id FROM users WHERE id = ?", "i", id);
	if (ret == STORE_OK && found && role && strcmp(role, "admin"))
		ret = last_admin(st, id, &is_last);
	if (ret != STORE_OK || !found || is_last) {
		store_rollback(st);
		if (ret != STORE_OK)
			reply_store_error(req, ret, "user");
		else if (!found)
			reply_error(req, 404, "user not found");
		else
			reply_error(req, 409, "the last admin cannot be demoted");
		goto out;
	}
	if (password) {
		/* A reset password ends every way in that the old one gave: sessions and API tokens. */
		ret = store_exec(st, "UPDATE users SET password_hash = ? WHERE id = ?", "ti", pwhash, id);
		if (ret == STORE_OK)
			ret = store_exec(st, "DELETE FROM sessions WHERE user_id = ?", "i", id);
		if (ret == STORE_OK)
			ret = store_exec(st, "DELETE FROM api_tokens WHERE user_id = ?", "i", id);
	}
	if (ret == STORE_OK && role)
		ret = store_exec(st, "UPDATE users SET role = ? WHERE id = ?", "ti", role, id);
	if (ret == STORE_OK)
		ret = audit(req, "user.update", req->params[0], "%s%s%s", password ? "password " : "",
			    role ? "role=" : "", role ? role : "");
	if (ret == STORE_OK)
		user = user_by_id(st, id);
	ret = store_finish(st, ret);
	if (ret != STORE_OK) {
		json_decref(user);
		reply_store_error(req, ret, "user");
		goto out;
	}
	reply_json(req, 200, user);
out:
	json_decref(body);
}

void handle_users_delete(struct request *req)
{
	struct store *st = req->srv->st;
	int64_t id, found_id;
	bool found = false, is_last = false;
	int ret;

	if (!request_id_param(req, 0, &id))
		return;
	if (id == req->auth.user_id) {
		reply_error(req, 409, "you cannot delete yourself");
		return;
	}
	ret = store_begin(st);
	if (ret != STORE_OK) {
		reply_store_error(req, ret, "user");
		return;
	}
	ret = store_get_int(st, &found_id, &found, "SELECT id FROM users WHERE id = ?", "i", id);
	if (ret == STORE_OK && found)
		ret = last_admin(st, id, &is_last);
	if (ret != STORE_OK || !found || is_last) {
		store_rollback(st);
		if (ret != STORE_OK)
			reply_store_error(req, ret, "user");
		else if (!found)
			reply_error(req, 404, "user not found");
		else
			reply_error(req, 409, "the last admin cannot be deleted");
		return;
	}
	ret = store_exec(st, "DELETE FROM users WHERE id = ?", "i", id);
	if (ret == STORE_OK)
		ret = audit(req, "user.delete", req->params[0], NULL);
	ret = store_finish(st, ret);
	if (ret != STORE_OK)
		reply_store_error(req, ret, "user");
	else
		reply_empty(req, 204);
}

/* API tokens. */

static json_t *token_json(struct store_stmt *s)
{
	/* Columns: id, name, user_id, created_at, expires_at. */
	return json_pack("{s:I, s:s, s:I, s:I, s:o}", "id", (json_int_t)store_col_int(s, 0),
			 "name", store_col_text(s, 1), "user_id", (json_int_t)store_col_int(s, 2),
			 "created_at", (json_int_t)store_col_int(s, 3),
			 "expires_at", json_time_or_null(store_col_null(s, 4), store_col_int(s, 4)));
}

static json_t *token_row(struct store *st, struct store_stmt *s)
{
	return token_json(s);
}

void handle_tokens_list(struct request *req)
{
	reply_rows(req, token_row, "tokens", "SELECT id, name, user_id, created_at, expires_at FROM api_tokens"
		   " WHERE ? = 1 OR user_id = ? ORDER BY id", "ii", (int64_t)req->auth.admin, req->auth.user_id);
}

void handle_tokens_create(struct request *req)
{
	struct store *st = req->srv->st;
	const char *name = NULL, *msg;
	int64_t expires_in = 0, id = 0;
	bool has_expiry = false;
	const struct mg_json_field fields[] = {
		{ .name = "name", .type = MG_JSON_STRING, .required = true, .out = &name },
		{ .name = "expires_in", .type = MG_JSON_INT, .out = &expires_in, .min = 60,
		  .max = 10LL * 366 * 86400, .present = &has_expiry },
		{ 0 }
	};
	char token[MG_TOKEN_LEN], hash[MG_HASH_HEX_LEN];
	int64_t now = now_unix();
	json_t *body;
	int ret;

	if (req->auth.api_token_id) {
		/* Else a short-lived token could mint itself a lasting one. */
		reply_error(req, 403, "API tokens cannot create API tokens; log in");
		return;
	}
	body = request_json(req, fields);
	if (!body)
		return;
	if ((msg = mg_check_label(name)) || (strchr(name, '/') && (msg = "must not contain '/'"))) {
		reply_error(req, 400, "name: %s", msg);
		goto out;
	}
	mg_token_generate(token, "mga_");
	mg_token_hash(hash, token);
	ret = store_begin(st);
	if (ret == STORE_OK) {
		ret = has_expiry ?
		      store_get_int(st, &id, NULL, "INSERT INTO api_tokens (token_hash, user_id, name, created_at, expires_at)"
				    " VALUES (?, ?, ?, ?, ?) RETURNING id", "titii", hash, req->auth.user_id, name, now,
				    now + expires_in) :
		      store_get_int(st, &id, NULL, "INSERT INTO api_tokens (token_hash, user_id, name, created_at, expires_at)"
				    " VALUES (?, ?, ?, ?, NULL) RETURNING id", "titi", hash, req->auth.user_id, name, now);
		if (ret == STORE_OK)
			ret = audit(req, "token.create", name, NULL);
		ret = store_finish(st, ret);
	}
	if (ret != STORE_OK) {
		reply_store_error(req, ret, "token");
	} else {
		reply_json(req, 201, json_pack("{s:I, s:s, s:I, s:I, s:o, s:s}", "id", (json_int_t)id, "name", name,
					       "user_id", (json_int_t)req->auth.user_id, "created_at", (json_int_t)now,
					       "expires_at", has_expiry ? json_integer(now + expires_in) : json_null(),
					       "token", token));
	}
	mg_wipe(token, sizeof(token));
out:
	json_decref(body);
}

void handle_tokens_delete(struct request *req)
{
	struct store *st = req->srv->st;
	int64_t id;
	int ret;

	if (!request_id_param(req, 0, &id))
		return;
	ret = store_begin(st);
	if (ret != STORE_OK) {
		reply_store_error(req, ret, "token");
		return;
	}
	ret = store_exec(st, "DELETE FROM api_tokens WHERE id = ? AND (? = 1 OR user_id = ?)", "iii", id,
			 (int64_t)req->auth.admin, req->auth.user_id);
	if (ret == STORE_OK && store_changes(st) == 0) {
		store_rollback(st);
		reply_error(req, 404, "token not found");
		return;
	}
	if (ret == STORE_OK)
		ret = audit(req, "token.delete", req->params[0], NULL);
	ret = store_finish(st, ret);
	if (ret != STORE_OK)
		reply_store_error(req, ret, "token");
	else
		reply_empty(req, 204);
}
