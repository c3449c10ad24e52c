#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

static json_t *parse(const char *s, char *err, size_t errlen)
{
	return mg_json_parse_object(s, strlen(s), err, errlen);
}

static void expect_parse_error(const char *body, const char *want_prefix)
{
	char err[256] = "";
	json_t *o = parse(body, err, sizeof(err));

	if (o) {
		json_decref(o);
		fail_msg("parsed invalid body '%s'", body);
	}
	if (strncmp(err, want_prefix, strlen(want_prefix)) != 0)
		fail_msg("body '%s': error '%s' lacks '%s'", body, err, want_prefix);
}

static void test_parse_ok(void **state)
{
	char err[256];
	json_t *o;

	(void)state;
	o = parse("{}", err, sizeof(err));
	assert_non_null(o);
	json_decref(o);
	o = parse(" {\"a\": [1, {\"b\": null}], \"c\": \"\\u00e9\"}\n", err, sizeof(err));
	assert_non_null(o);
	assert_int_equal(json_object_size(o), 2);
	json_decref(o);
}

static void test_parse_malformed(void **state)
{
	(void)state;
	expect_parse_error("", "malformed JSON: ");
	expect_parse_error("{", "malformed JSON: ");
	expect_parse_error("{\"a\":1,}", "malformed JSON: ");
	expect_parse_error("{\"a\":1} x", "malformed JSON: ");
	expect_parse_error("{\"a\":1}{}", "malformed JSON: ");
	expect_parse_error("{'a':1}", "malformed JSON: ");
	expect_parse_error("{\"a\":1, \"a\":2}", "malformed JSON: ");	/* duplicate key */
	expect_parse_error("{\"a\":NaN}", "malformed JSON: ");
	expect_parse_error("{\"a\":\"\xff\"}", "malformed JSON: ");	/* invalid UTF-8 */
	expect_parse_error("{\"a\\u0000\":1}", "malformed JSON: ");	/* NUL in a key */
	expect_parse_error("{\"a\":99999999999999999999999}", "malformed JSON: ");
	expect_parse_error("[]", "body must be a JSON object");
	expect_parse_error("\"s\"", "body must be a JSON object");
	expect_parse_error("1", "body must be a JSON object");
	expect_parse_error("null", "body must be a JSON object");
}

static void test_parse_error_position(void **state)
{
	char err[256];
	json_t *o;

	(void)state;
	o = parse("{\n  \"a\": tru\n}", err, sizeof(err));
	assert_null(o);
	assert_non_null(strstr(err, " at line 2 column "));
	/* A short buffer truncates but stays terminated. */
	o = parse("[]", err, 8);
	assert_null(o);
	assert_string_equal(err, "body mu");
	assert_null(parse("[]", NULL, 0));
}

static void test_parse_embedded_nul_in_buffer(void **state)
{
	static const char body[] = "{\"a\":1}\0junk";
	char err[256];
	json_t *o;

	(void)state;
	o = mg_json_parse_object(body, sizeof(body) - 1, err, sizeof(err));
	assert_null(o);
	assert_non_null(strstr(err, "malformed JSON"));
	o = mg_json_parse_object(body, 7, err, sizeof(err));
	assert_non_null(o);
	json_decref(o);
}

/*
 * A body whose containers nest `depth` deep: {"a":{"a":{..."z":1}}} or,
 * with arrays, {"a":[[[...1]]]}.
 */
static char *nested(int depth, bool arrays)
{
	char *s = malloc((size_t)depth * 6 + 16), *p = s;
	int i;

	assert_non_null(s);
	*p++ = '{';
	for (i = 1; i < depth; i++)
		p += sprintf(p, "%s", arrays ? (i == 1 ? "\"a\":[" : "[") : "\"a\":{");
	p += sprintf(p, "%s", arrays && depth > 1 ? "1" : "\"z\":1");
	for (i = 1; i < depth; i++)
		*p++ = arrays ? ']' : '}';
	*p++ = '}';
	*p = '\0';
	return s;
}

static void test_parse_depth(void **state)
{
	char err[256];
	json_t *o;
	char *s;

	(void)state;
	s = nested(32, false);
	o = parse(s, err, sizeof(err));
	assert_non_null(o);
	json_decref(o);
	free(s);

	s = nested(33, false);
	o = parse(s, err, sizeof(err));
	assert_null(o);
	assert_non_null(strstr(err, "nested"));
	free(s);

	s = nested(32, true);
	o = parse(s, err, sizeof(err));
	assert_non_null(o);
	json_decref(o);
	free(s);

	s = nested(33, true);
	assert_null(parse(s, err, sizeof(err)));
	free(s);

	/* Deep nesting that jansson itself refuses is still a clean error. */
	s = nested(5000, true);
	assert_null(parse(s, err, sizeof(err)));
	free(s);

	/* Wide but shallow is fine. */
	o = parse("{\"a\":[[],[],{},[[]],{\"b\":{}}],\"b\":{},\"c\":[1,2,3]}", err, sizeof(err));
	assert_non_null(o);
	json_decref(o);
}

struct net_req {
	const char *name, *range;
	int64_t mtu, port;
	bool enabled;
	json_t *tags, *meta;
	bool has_mtu, has_range;
};

static int unpack_net(const char *body, struct net_req *r, char *err, size_t errlen)
{
	const struct mg_json_field fields[] = {
		{ .name = "name", .type = MG_JSON_STRING, .required = true, .out = &r->name },
		{ .name = "ipv6_range", .type = MG_JSON_STRING, .out = &r->range,
		  .present = &r->has_range, .nullable = true },
		{ .name = "mtu", .type = MG_JSON_INT, .out = &r->mtu, .min = 1280, .max = 9000,
		  .present = &r->has_mtu },
		{ .name = "port", .type = MG_JSON_INT, .out = &r->port },
		{ .name = "enabled", .type = MG_JSON_BOOL, .out = &r->enabled },
		{ .name = "tags", .type = MG_JSON_ARRAY, .out = &r->tags },
		{ .name = "meta", .type = MG_JSON_OBJECT, .out = &r->meta },
		{ 0 },
	};
	char perr[256];
	json_t *o;
	int ret;

	o = parse(body, perr, sizeof(perr));
	if (!o)
		fail_msg("unexpected parse failure of '%s': %s", body, perr);
	memset(r, 0, sizeof(*r));
	r->has_mtu = r->has_range = true;	/* must be reset by unpack */
	ret = mg_json_unpack(o, fields, err, errlen);
	/* Outputs are borrowed from o: keep copies past its release. */
	if (ret == 0) {
		r->tags = r->tags ? json_incref(r->tags) : NULL;
		r->meta = r->meta ? json_incref(r->meta) : NULL;
		if (r->name)
			r->name = strdup(r->name);
		if (r->range)
			r->range = strdup(r->range);
	}
	json_decref(o);
	return ret;
}

static void free_net(struct net_req *r)
{
	free((char *)r->name);
	free((char *)r->range);
	json_decref(r->tags);
	json_decref(r->meta);
}

static void test_unpack_ok(void **state)
{
	struct net_req r;
	char err[256];

	(void)state;
	assert_int_equal(unpack_net("{\"name\":\"n\",\"mtu\":1420,\"port\":-5,\"enabled\":true,"
				    "\"tags\":[\"a\"],\"meta\":{\"k\":1},\"ipv6_range\":\"fd00::/64\"}",
				    &r, err, sizeof(err)), 0);
	assert_string_equal(r.name, "n");
	assert_int_equal(r.mtu, 1420);
	assert_int_equal(r.port, -5);
	assert_true(r.enabled);
	assert_true(r.has_mtu);
	assert_true(r.has_range);
	assert_string_equal(r.range, "fd00::/64");
	assert_int_equal(json_array_size(r.tags), 1);
	assert_true(json_is_object(r.meta));
	free_net(&r);

	/* Optional fields absent: outputs untouched, present flags false. */
	assert_int_equal(unpack_net("{\"name\":\"x\"}", &r, err, sizeof(err)), 0);
	assert_false(r.has_mtu);
	assert_false(r.has_range);
	assert_int_equal(r.mtu, 0);
	assert_null(r.tags);
	free_net(&r);

	/* Bounds are inclusive; unbounded ints take the whole range. */
	assert_int_equal(unpack_net("{\"name\":\"x\",\"mtu\":1280,\"port\":9223372036854775807}",
				    &r, err, sizeof(err)), 0);
	assert_int_equal(r.mtu, 1280);
	assert_true(r.port == INT64_MAX);
	free_net(&r);
	assert_int_equal(unpack_net("{\"name\":\"x\",\"mtu\":9000,\"port\":-9223372036854775808}",
				    &r, err, sizeof(err)), 0);
	assert_int_equal(r.mtu, 9000);
	assert_true(r.port == INT64_MIN);
	free_net(&r);

	assert_int_equal(unpack_net("{\"name\":\"\",\"enabled\":false}", &r, err, sizeof(err)), 0);
	assert_string_equal(r.name, "");
	assert_false(r.enabled);
	free_net(&r);
}

static void test_unpack_nullable(void **state)
{
	struct net_req r;
	char err[256];

	(void)state;
	assert_int_equal(unpack_net("{\"name\":\"x\",\"ipv6_range\":null}", &r, err, sizeof(err)), 0);
	assert_true(r.has_range);
	assert_null(r.range);
	free_net(&r);

	assert_int_equal(unpack_net("{\"name\":\"x\",\"mtu\":null}", &r, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "field 'mtu' must be an integer");
	assert_int_equal(unpack_net("{\"name\":null}", &r, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "field 'name' must be a string");
}

static void test_unpack_errors(void **state)
{
	static const struct {
		const char *body, *err;
	} cases[] = {
		{ "{}", "missing field 'name'" },
		{ "{\"mtu\":1420}", "missing field 'name'" },
		{ "{\"name\":\"x\",\"nmae\":1}", "unknown field 'nmae'" },
		{ "{\"name\":\"x\",\"\":1}", "unknown field ''" },
		{ "{\"name\":\"x\",\"Name\":\"y\"}", "unknown field 'Name'" },
		{ "{\"name\":1}", "field 'name' must be a string" },
		{ "{\"name\":[\"x\"]}", "field 'name' must be a string" },
		{ "{\"name\":true}", "field 'name' must be a string" },
		{ "{\"name\":\"x\\u0000y\"}", "field 'name' must not contain NUL bytes" },
		{ "{\"name\":\"\\u0000\"}", "field 'name' must not contain NUL bytes" },
		{ "{\"name\":\"x\",\"ipv6_range\":\"a\\u0000\"}",
		  "field 'ipv6_range' must not contain NUL bytes" },
		{ "{\"name\":\"x\",\"mtu\":\"1420\"}", "field 'mtu' must be an integer" },
		{ "{\"name\":\"x\",\"mtu\":1420.0}", "field 'mtu' must be an integer" },
		{ "{\"name\":\"x\",\"mtu\":1.42e3}", "field 'mtu' must be an integer" },
		{ "{\"name\":\"x\",\"mtu\":true}", "field 'mtu' must be an integer" },
		{ "{\"name\":\"x\",\"mtu\":1279}", "field 'mtu' must be between 1280 and 9000" },
		{ "{\"name\":\"x\",\"mtu\":9001}", "field 'mtu' must be between 1280 and 9000" },
		{ "{\"name\":\"x\",\"mtu\":-1}", "field 'mtu' must be between 1280 and 9000" },
		{ "{\"name\":\"x\",\"enabled\":1}", "field 'enabled' must be a boolean" },
		{ "{\"name\":\"x\",\"enabled\":\"true\"}", "field 'enabled' must be a boolean" },
		{ "{\"name\":\"x\",\"enabled\":null}", "field 'enabled' must be a boolean" },
		{ "{\"name\":\"x\",\"tags\":{}}", "field 'tags' must be an array" },
		{ "{\"name\":\"x\",\"tags\":\"a\"}", "field 'tags' must be an array" },
		{ "{\"name\":\"x\",\"meta\":[]}", "field 'meta' must be an object" },
		{ "{\"name\":\"x\",\"meta\":null}", "field 'meta' must be an object" },
	};
	struct net_req r;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		if (unpack_net(cases[i].body, &r, err, sizeof(err)) != -EINVAL)
			fail_msg("accepted '%s'", cases[i].body);
		if (strcmp(err, cases[i].err) != 0)
			fail_msg("'%s': got '%s', want '%s'", cases[i].body, err, cases[i].err);
	}
}

static void test_unpack_not_object(void **state)
{
	const struct mg_json_field fields[] = { { 0 } };
	char err[64];
	json_t *a = json_array();

	(void)state;
	assert_int_equal(mg_json_unpack(a, fields, err, sizeof(err)), -EINVAL);
	assert_int_equal(mg_json_unpack(NULL, fields, err, sizeof(err)), -EINVAL);
	json_decref(a);
}

static void test_unpack_null_outputs(void **state)
{
	const struct mg_json_field fields[] = {
		{ .name = "a", .type = MG_JSON_INT, .required = true },
		{ .name = "b", .type = MG_JSON_STRING },
		{ 0 },
	};
	json_t *o = json_pack("{s:i,s:s}", "a", 3, "b", "x");

	(void)state;
	assert_non_null(o);
	assert_int_equal(mg_json_unpack(o, fields, NULL, 0), 0);
	json_object_set_new(o, "c", json_true());
	assert_int_equal(mg_json_unpack(o, fields, NULL, 0), -EINVAL);
	json_decref(o);
}

static void test_string_array(void **state)
{
	char err[256], *body;
	json_t *o, *v;

	(void)state;
	o = parse("{\"ok\":[\"a\",\"\",\"c\"],\"empty\":[],\"mixed\":[\"a\",1],"
		  "\"nul\":[\"a\",\"b\\u0000\"],\"obj\":{},\"nested\":[[\"a\"]],\"nulls\":[null]}",
		  err, sizeof(err));
	assert_non_null(o);

	v = json_object_get(o, "ok");
	assert_int_equal(mg_json_string_array(v, "ok", 3, err, sizeof(err)), 0);
	assert_int_equal(mg_json_string_array(v, "ok", 2, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "field 'ok' must have at most 2 items");
	assert_int_equal(mg_json_string_array(json_object_get(o, "empty"), "empty", 0, err,
					      sizeof(err)), 0);

	assert_int_equal(mg_json_string_array(json_object_get(o, "mixed"), "mixed", 10, err,
					      sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "'mixed'"));
	assert_int_equal(mg_json_string_array(json_object_get(o, "nul"), "nul", 10, err,
					      sizeof(err)), -EINVAL);
	assert_string_equal(err, "field 'nul' must not contain NUL bytes");
	assert_int_equal(mg_json_string_array(json_object_get(o, "obj"), "obj", 10, err,
					      sizeof(err)), -EINVAL);
	assert_string_equal(err, "field 'obj' must be an array");
	assert_int_equal(mg_json_string_array(json_object_get(o, "nested"), "nested", 10, err,
					      sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "'nested'"));
	assert_int_equal(mg_json_string_array(json_object_get(o, "nulls"), "nulls", 10, err,
					      sizeof(err)), -EINVAL);
	assert_int_equal(mg_json_string_array(NULL, "missing", 10, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "field 'missing' must be an array");
	json_decref(o);

	/* A large array against a small cap. */
	body = malloc(4 * 1000 + 16);
	assert_non_null(body);
	strcpy(body, "{\"t\":[");
	for (int i = 0; i < 1000; i++)
		strcat(body, i ? ",\"x\"" : "\"x\"");
	strcat(body, "]}");
	o = parse(body, err, sizeof(err));
	assert_non_null(o);
	assert_int_equal(mg_json_string_array(json_object_get(o, "t"), "t", 1000, err,
					      sizeof(err)), 0);
	assert_int_equal(mg_json_string_array(json_object_get(o, "t"), "t", 999, err,
					      sizeof(err)), -EINVAL);
	json_decref(o);
	free(body);
}

static void test_string_or_null(void **state)
{
	json_t *v;

	(void)state;
	v = mg_json_string_or_null("x");
	assert_true(json_is_string(v));
	assert_string_equal(json_string_value(v), "x");
	json_decref(v);
	v = mg_json_string_or_null(NULL);
	assert_true(json_is_null(v));
	json_decref(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_ok),
		cmocka_unit_test(test_parse_malformed),
		cmocka_unit_test(test_parse_error_position),
		cmocka_unit_test(test_parse_embedded_nul_in_buffer),
		cmocka_unit_test(test_parse_depth),
		cmocka_unit_test(test_unpack_ok),
		cmocka_unit_test(test_unpack_nullable),
		cmocka_unit_test(test_unpack_errors),
		cmocka_unit_test(test_unpack_not_object),
		cmocka_unit_test(test_unpack_null_outputs),
		cmocka_unit_test(test_string_array),
		cmocka_unit_test(test_string_or_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
