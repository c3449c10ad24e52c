/*
 * The agent's handling of update messages (docs/API.md "Update messages"):
 * deltas applied only on the matching base revision, gaps answered with a
 * pull, whole configurations replacing the old one, messages for other
 * hosts refused; and enrollment-token decoding.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/agent.h"

#define KEY_A "YAnz7RZ6JYDmM8+bXT0kYR2sVk/2t9kMTQsSKBoxGk0="
#define KEY_B "y9XReUBiOzEHXUB0Z+PiFGW2eQc5M1QeUbOYzsVUag8="
#define KEY_C "QGJ1p6GswKmHBEyQjwp7PlDA8ZiCT6F7uULHxOqKnGc="

static json_t *base_config(void)
{
	json_t *cfg = json_loads("{\"host_id\": 1, \"name\": \"n1\", \"revision\": 5, \"listen_port\": 51821,"
				 " \"mtu\": 1420, \"addresses\": [\"10.0.0.1/24\"], \"networks\": [],"
				 " \"peers\": [{\"host_id\": 2, \"name\": \"n2\", \"public_key\": \"" KEY_A "\","
				 "  \"endpoint\": \"198.18.0.2:51821\", \"allowed_ips\": [\"10.0.0.2/32\"],"
				 "  \"persistent_keepalive\": 20}],"
				 " \"gateway\": {\"egress\": [], \"ingress_clients\": []}}", 0, NULL);

	assert_non_null(cfg);
	return cfg;
}

static int apply(json_t *cfg, const char *msg_text, json_t **out)
{
	char err[256];
	json_t *msg = json_loads(msg_text, 0, NULL);
	int ret;

	assert_non_null(msg);
	ret = config_apply_update(cfg, config_revision(cfg), 1, msg, out, err, sizeof(err));
	json_decref(msg);
	return ret;
}

static json_t *peer_by_key(json_t *cfg, const char *key)
{
	size_t i;
	json_t *p;

	json_array_foreach(json_object_get(cfg, "peers"), i, p)
		if (!strcmp(json_string_value(json_object_get(p, "public_key")), key))
			return p;
	return NULL;
}

static void test_base_is_valid(void **state)
{
	json_t *cfg = base_config();
	char err[256];

	assert_int_equal(config_check(cfg, err, sizeof(err)), 0);
	assert_int_equal(config_revision(cfg), 5);
	json_decref(cfg);
}

static void test_upsert_adds_a_peer(void **state)
{
	json_t *cfg = base_config(), *out = NULL;

	assert_int_equal(apply(cfg, "{\"host_id\": 1, \"base_revision\": 5, \"revision\": 6, \"action\": \"node.join\","
			       " \"peers_upsert\": [{\"host_id\": 3, \"name\": \"n3\", \"public_key\": \"" KEY_B "\","
			       " \"endpoint\": null, \"allowed_ips\": [\"10.0.0.3/32\"], \"persistent_keepalive\": 20}],"
			       " \"peers_remove\": []}", &out), UPDATE_APPLIED);
	assert_int_equal(config_revision(out), 6);
	assert_int_equal(json_array_size(json_object_get(out, "peers")), 2);
	assert_non_null(peer_by_key(out, KEY_A));
	assert_non_null(peer_by_key(out, KEY_B));
	/* The input is not modified. */
	assert_int_equal(json_array_size(json_object_get(cfg, "peers")), 1);
	json_decref(out);
	json_decref(cfg);
}

static void test_upsert_replaces_the_same_peer(void **state)
{
	json_t *cfg = base_config(), *out = NULL, *p;

	assert_int_equal(apply(cfg, "{\"host_id\": 1, \"base_revision\": 5, \"revision\": 6,"
			       " \"peers_upsert\": [{\"host_id\": 2, \"name\": \"n2\", \"public_key\": \"" KEY_A "\","
			       " \"endpoint\": \"198.18.0.9:4000\", \"allowed_ips\": [\"10.0.0.2/32\", \"172.31.0.0/24\"],"
			       " \"persistent_keepalive\": 20}], \"peers_remove\": []}", &out), UPDATE_APPLIED);
	assert_int_equal(json_array_size(json_object_get(out, "peers")), 1);
	p = peer_by_key(out, KEY_A);
	assert_string_equal(json_string_value(json_object_get(p, "endpoint")), "198.18.0.9:4000");
	assert_int_equal(json_array_size(json_object_get(p, "allowed_ips")), 2);
	json_decref(out);
	json_decref(cfg);
}

static void test_remove(void **state)
{
	json_t *cfg = base_config(), *out = NULL;

	assert_int_equal(apply(cfg, "{\"host_id\": 1, \"base_revision\": 5, \"revision\": 6,"
			       " \"peers_upsert\": [], \"peers_remove\": [\"" KEY_A "\", \"" KEY_C "\"]}", &out),
			 UPDATE_APPLIED);
	assert_int_equal(json_array_size(json_object_get(out, "peers")), 0);
	json_decref(out);
	json_decref(cfg);
}

static void test_gap_pulls_and_stale_is_ignored(void **state)
{
	json_t *cfg = base_config(), *out = NULL;

	/* Base 6 while we are at 5: a message was missed. */
	assert_int_equal(apply(cfg, "{\"host_id\": 1, \"base_revision\": 6, \"revision\": 7,"
			       " \"peers_upsert\": [], \"peers_remove\": []}", &out), UPDATE_NEED_PULL);
	assert_null(out);
	/* Already have it (a message delivered twice). */
	assert_int_equal(apply(cfg, "{\"host_id\": 1, \"base_revision\": 4, \"revision\": 5,"
			       " \"peers_upsert\": [], \"peers_remove\": []}", &out), UPDATE_STALE);
	assert_null(out);
	json_decref(cfg);
}

static void test_whole_config_replaces(void **state)
{
	json_t *cfg = base_config(), *out = NULL;

	/* A whole configuration applies whatever the base: it is the complete state. */
	assert_int_equal(apply(cfg, "{\"host_id\": 1, \"base_revision\": 8, \"revision\": 9, \"config\":"
			       " {\"host_id\": 1, \"name\": \"n1\", \"revision\": 9, \"listen_port\": 51900,"
			       " \"mtu\": 1380, \"addresses\": [\"10.0.0.1/24\"], \"networks\": [], \"peers\": [],"
			       " \"gateway\": {\"egress\": [], \"ingress_clients\": []}}}", &out), UPDATE_APPLIED);
	assert_int_equal(config_revision(out), 9);
	assert_int_equal(json_integer_value(json_object_get(out, "listen_port")), 51900);
	assert_int_equal(json_array_size(json_object_get(out, "peers")), 0);
	json_decref(out);
	json_decref(cfg);
}

static void test_refuses_malformed_and_foreign(void **state)
{
	static const char *const bad[] = {
		"[]",
		"{\"host_id\": 2, \"base_revision\": 5, \"revision\": 6, \"peers_upsert\": [], \"peers_remove\": []}",
		"{\"host_id\": 1, \"base_revision\": 5}",
		"{\"host_id\": 1, \"base_revision\": 5, \"revision\": \"6\"}",
		"{\"host_id\": 1, \"base_revision\": 5, \"revision\": 6, \"peers_upsert\":"
		" [{\"public_key\": \"not a key\", \"allowed_ips\": []}]}",
		"{\"host_id\": 1, \"base_revision\": 5, \"revision\": 6, \"peers_upsert\":"
		" [{\"public_key\": \"" KEY_B "\", \"allowed_ips\": [\"10.0.0.3/32\\n[Peer]\"]}]}",
		"{\"host_id\": 1, \"base_revision\": 5, \"revision\": 6, \"peers_remove\": [1]}",
		"{\"host_id\": 1, \"base_revision\": 5, \"revision\": 6, \"config\": {\"host_id\": 2, \"revision\": 6,"
		" \"listen_port\": 1, \"mtu\": 1420, \"addresses\": [], \"networks\": [], \"peers\": []}}",
	};
	json_t *cfg = base_config(), *out = NULL;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_true(apply(cfg, bad[i], &out) < 0);
		assert_null(out);
	}
	json_decref(cfg);
}

static char *b64(const char *s)
{
	char *t = mg_b64url_encode(s, strlen(s));

	assert_non_null(t);
	return t;
}

static void test_token_server(void **state)
{
	char *server = NULL;
	char *tok = b64("{\"server\":\"https://gw.example:8443/\",\"key\":\"mge_x\"}");

	assert_non_null(tok);
	assert_int_equal(token_server(tok, &server), 0);
	/* The trailing slash is dropped. */
	assert_string_equal(server, "https://gw.example:8443");
	free(server);
	free(tok);
	server = NULL;
	assert_true(token_server("not base64 !!", &server) < 0);
	assert_null(server);
	tok = b64("{\"key\":\"mge_x\"}");
	assert_true(token_server(tok, &server) < 0);
	free(tok);
	tok = b64("{\"server\":\"file:///etc/passwd\",\"key\":\"mge_x\"}");
	assert_true(token_server(tok, &server) < 0);
	free(tok);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base_is_valid),
		cmocka_unit_test(test_upsert_adds_a_peer),
		cmocka_unit_test(test_upsert_replaces_the_same_peer),
		cmocka_unit_test(test_remove),
		cmocka_unit_test(test_gap_pulls_and_stale_is_ignored),
		cmocka_unit_test(test_whole_config_replaces),
		cmocka_unit_test(test_refuses_malformed_and_foreign),
		cmocka_unit_test(test_token_server),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
