/*
 * Enrollment keys: what a new host presents to join one or more networks.
 * The token is shown once; only its hash is stored. Uses are counted down
 * atomically at registration (api_hosts.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "key.h"
#include "names.h"

#define KEY_COLS "id, uses_remaining, unlimited, expires_at, created_at"

/* Inside the lock. */
static json_t *key_json(struct store *st, struct store_stmt *k)
{
	int64_t id = store_col_int(k, 0);
	json_t *nets = json_array(), *tags = json_array();
	struct store_stmt *s;

	if (store_query(st, &s, "SELECT n.name FROM enrollment_key_networks kn JOIN networks n ON n.id = kn.network_id"
			" WHERE kn.key_id = ? ORDER BY n.name", "i", id) == STORE_OK) {
		while (store_step(s) == STORE_ROW)
			json_array_append_new(nets, json_string(store_col_text(s, 0)));
		store_finalize(s);
	}
	if (store_query(st, &s, "SELECT tag FROM enrollment_key_tags WHERE key_id = ? ORDER BY tag", "i", id) == STORE_OK) {
		while (store_step(s) == STORE_ROW)
			json_array_append_new(tags, json_string(store_col_text(s, 0)));
		store_finalize(s);
	}
	return json_pack("{s:I, s:o, s:o, s:b, s:o, s:o, s:I}", "id", (json_int_t)id, "networks", nets,
			 "uses_remaining", store_col_null(k, 1) ? json_null() : json_integer(store_col_int(k, 1)),
			 "unlimited", (int)store_col_int(k, 2),
			 "expires_at", json_time_or_null(store_col_null(k, 3), store_col_int(k, 3)),
			 "tags", tags, "created_at", (json_int_t)store_col_int(k, 4));
}

void handle_keys_list(struct request *req)
{
	reply_rows(req, key_json, "enrollment keys", "SELECT " KEY_COLS " FROM enrollment_keys ORDER BY id", NULL);
}

/* The token handed to the admin: base64url of {"server": URL, "key": KEY}. */
static char *enrollment_token(const char *server_url, const char *key)
{
	json_t *obj = json_pack("{s:s, s:s}", "server", server_url, "key", key);
	char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
	char *tok = text ? mg_b64url_encode(text, strlen(text)) : NULL;

	if (text) {
		mg_wipe(text, strlen(text));
		free(text);
	}
	json_decref(obj);
	return tok;
}

void handle_keys_create(struct request *req)
{
	struct store *st = req->srv->st;
	json_t *networks = NULL, *tags = NULL, *body, *result = NULL;
	int64_t uses = 0, expires_at = 0, id = 0, now = now_unix();
	bool has_uses = false, unlimited = false, has_expiry = false;
	const struct mg_json_field fields[] = {
		{ .name = "networks", .type = MG_JSON_ARRAY, .required = true, .out = &networks },
		{ .name = "uses", .type = MG_JSON_INT, .out = &uses, .min = 1, .max = 1000000, .present = &has_uses },
		{ .name = "unlimited", .type = MG_JSON_BOOL, .out = &unlimited },
		{ .name = "expires_at", .type = MG_JSON_INT, .out = &expires_at, .min = 1, .max = 253402300799LL,
		  .present = &has_expiry, .nullable = true },
		{ .name = "tags", .type = MG_JSON_ARRAY, .out = &tags },
		{ 0 }
	};
	char key[MG_TOKEN_LEN], hash[MG_HASH_HEX_LEN], err[256];
	char *token = NULL;
	size_t i;
	json_t *v;
	int ret;

	body = request_json(req, fields);
	if (!body)
		return;
	if (has_expiry && json_is_null(json_object_get(body, "expires_at")))
		has_expiry = false;
	if (mg_json_string_array(networks, "networks", 64, err, sizeof(err)) < 0 ||
	    (tags && mg_json_string_array(tags, "tags", 32, err, sizeof(err)) < 0)) {
		reply_error(req, 400, "%s", err);
		goto out;
	}
	if (json_array_size(networks) == 0) {
		reply_error(req, 400, "networks must name at least one network");
		goto out;
	}
	json_array_foreach(tags, i, v) {
		const char *msg = mg_check_host_name(json_string_value(v));

		if (msg) {
			reply_error(req, 400, "tag: %s", msg);
			goto out;
		}
	}
	if (has_uses && unlimited) {
		reply_error(req, 400, "give either uses or unlimited, not both");
		goto out;
	}
	if (!has_uses && !unlimited && !has_expiry) {
		reply_error(req, 400, "give uses, unlimited or expires_at");
		goto out;
	}
	if (has_expiry && expires_at <= now) {
		reply_error(req, 400, "expires_at is in the past");
		goto out;
	}
	if (!has_uses)
		unlimited = true;

	mg_token_generate(key, "mge_");
	mg_token_hash(hash, key);
	ret = store_begin(st);
	if (ret != STORE_OK) {
		reply_store_error(req, ret, "enrollment key");
		goto wipe;
	}
	ret = store_get_int(st, &id, NULL,
			    "INSERT INTO enrollment_keys (token_hash, uses_remaining, unlimited, expires_at, created_at)"
			    " VALUES (?, ?, ?, ?, ?) RETURNING id", "tjiji",
			    hash, has_uses ? &uses : NULL, (int64_t)unlimited, has_expiry ? &expires_at : NULL, now);
	json_array_foreach(networks, i, v) {
		int64_t net_id;
		bool found = false;

		if (ret != STORE_OK)
			break;
		ret = store_get_int(st, &net_id, &found, "SELECT id FROM networks WHERE name = ?", "t",
				    json_string_value(v));
		if (ret == STORE_OK && !found) {
			store_rollback(st);
			reply_error(req, 400, "unknown network '%s'", json_string_value(v));
			goto wipe;
		}
		if (ret == STORE_OK)
			ret = store_exec(st, "INSERT INTO enrollment_key_networks (key_id, network_id)"
					 " VALUES (?, ?) ON CONFLICT DO NOTHING", "ii", id, net_id);
	}
	json_array_foreach(tags, i, v) {
		if (ret != STORE_OK)
			break;
		ret = store_exec(st, "INSERT INTO enrollment_key_tags (key_id, tag) VALUES (?, ?) ON CONFLICT DO NOTHING", "it", id,
				 json_string_value(v));
	}
	if (ret == STORE_OK) {
		char target[24];

		snprintf(target, sizeof(target), "%lld", (long long)id);
		ret = audit(req, "key.create", target, "networks=%zu uses=%s", json_array_size(networks),
			    has_uses ? "limited" : "unlimited");
	}
	if (ret == STORE_OK)
		result = row_json_by_id(st, key_json, "SELECT " KEY_COLS " FROM enrollment_keys WHERE id = ?", id);
	ret = store_finish(st, ret);
	token = enrollment_token(req->srv->public_url, key);
	if (ret != STORE_OK || !result || !token) {
		json_decref(result);
		reply_store_error(req, ret, "enrollment key");
		goto wipe;
	}
	json_object_set_new(result, "token", json_string(token));
	reply_json(req, 201, result);
wipe:
	if (token) {
		mg_wipe(token, strlen(token));
		free(token);
	}
	mg_wipe(key, sizeof(key));
out:
	json_decref(body);
}

void handle_keys_delete(struct request *req)
{
	struct store *st = req->srv->st;
	int64_t id;
	int ret;

	if (!request_id_param(req, 0, &id))
		return;
	ret = store_begin(st);
	if (ret != STORE_OK) {
		reply_store_error(req, ret, "enrollment key");
		return;
	}
	ret = store_exec(st, "DELETE FROM enrollment_keys WHERE id = ?", "i", id);
	if (ret == STORE_OK && store_changes(st) == 0) {
		store_rollback(st);
		reply_error(req, 404, "enrollment key not found");
		return;
	}
	if (ret == STORE_OK)
		ret = audit(req, "key.delete", req->params[0], NULL);
	ret = store_finish(st, ret);
	if (ret != STORE_OK)
		reply_store_error(req, ret, "enrollment key");
	else
		reply_empty(req, 204);
}
