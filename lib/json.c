/*
 * Strict JSON request parsing over jansson.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "json.h"

#define JSON_MAX_DEPTH 32

__attribute__((format(printf, 3, 4)))
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * Containers nested in v, counting v itself (a scalar is 0). The walk stops
 * descending once the answer exceeds limit, so recursion stays shallow.
 */
static int json_depth(json_t *v, int limit)
{
	json_t *child;
	const char *key;
	size_t i;
	int d, max = 0;

	if (!json_is_object(v) && !json_is_array(v))
		return 0;
	if (limit <= 0)
		return 1;
	if (json_is_object(v)) {
		json_object_foreach(v, key, child) {
			if ((d = json_depth(child, limit - 1)) > max)
				max = d;
			if (max >= limit)
				break;
		}
	} else {
		json_array_foreach(v, i, child) {
			if ((d = json_depth(child, limit - 1)) > max)
				max = d;
			if (max >= limit)
				break;
		}
	}
	return max + 1;
}

json_t *mg_json_parse_object(const char *buf, size_t len, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *obj;

	/*
	 * NUL bytes in strings get past the parser only so that mg_json_unpack
	 * and mg_json_string_array can name the offending field. Any top-level
	 * value is decoded so that "1" earns the clearer error below.
	 */
	obj = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL | JSON_DECODE_ANY,
			 &jerr);
	if (!obj) {
		seterr(err, errlen, "malformed JSON: %s at line %d column %d",
		       jerr.text, jerr.line, jerr.column);
		return NULL;
	}
	if (!json_is_object(obj)) {
		seterr(err, errlen, "body must be a JSON object");
		goto fail;
	}
	if (json_depth(obj, JSON_MAX_DEPTH + 1) > JSON_MAX_DEPTH) {
		seterr(err, errlen, "JSON nested deeper than %d levels", JSON_MAX_DEPTH);
		goto fail;
	}
	return obj;
fail:
	json_decref(obj);
	return NULL;
}

static const struct mg_json_field *find_field(const struct mg_json_field *fields,
					      const char *name)
{
	for (; fields->name; fields++) {
		if (strcmp(fields->name, name) == 0)
			return fields;
	}
	return NULL;
}

static const char *type_phrase(enum mg_json_type type)
{
	switch (type) {
	case MG_JSON_STRING:
		return "a string";
	case MG_JSON_INT:
		return "an integer";
	case MG_JSON_BOOL:
		return "a boolean";
	case MG_JSON_ARRAY:
		return "an array";
	case MG_JSON_OBJECT:
		return "an object";
	}
	return "valid";
}

static bool string_has_nul(json_t *v)
{
	return memchr(json_string_value(v), '\0', json_string_length(v)) != NULL;
}

static int unpack_one(const struct mg_json_field *f, json_t *v, char *err, size_t errlen)
{
	json_int_t i;
	bool ok;

	switch (f->type) {
	case MG_JSON_STRING:
		ok = json_is_string(v);
		break;
	case MG_JSON_INT:
		ok = json_is_integer(v);
		break;
	case MG_JSON_BOOL:
		ok = json_is_boolean(v);
		break;
	case MG_JSON_ARRAY:
		ok = json_is_array(v);
		break;
	case MG_JSON_OBJECT:
		ok = json_is_object(v);
		break;
	default:
		ok = false;
		break;
	}
	if (!ok) {
		seterr(err, errlen, "field '%s' must be %s", f->name, type_phrase(f->type));
		return -EINVAL;
	}

	switch (f->type) {
	case MG_JSON_STRING:
		if (string_has_nul(v)) {
			seterr(err, errlen, "field '%s' must not contain NUL bytes", f->name);
			return -EINVAL;
		}
		if (f->out)
			*(const char **)f->out = json_string_value(v);
		break;
	case MG_JSON_INT:
		i = json_integer_value(v);
		if ((f->min || f->max) && (i < f->min || i > f->max)) {
			seterr(err, errlen, "field '%s' must be between %" PRId64 " and %" PRId64,
			       f->name, f->min, f->max);
			return -EINVAL;
		}
		if (f->out)
			*(int64_t *)f->out = i;
		break;
	case MG_JSON_BOOL:
		if (f->out)
			*(bool *)f->out = json_is_true(v);
		break;
	case MG_JSON_ARRAY:
	case MG_JSON_OBJECT:
		if (f->out)
			*(json_t **)f->out = v;
		break;
	}
	return 0;
}

int mg_json_unpack(json_t *obj, const struct mg_json_field *fields, char *err, size_t errlen)
{
	const struct mg_json_field *f;
	const char *key;
	json_t *v;
	int r;

	if (!json_is_object(obj)) {
		seterr(err, errlen, "body must be a JSON object");
		return -EINVAL;
	}
	for (f = fields; f->name; f++) {
		if (f->present)
			*f->present = false;
	}
	json_object_foreach(obj, key, v) {
		if (!find_field(fields, key)) {
			seterr(err, errlen, "unknown field '%s'", key);
			return -EINVAL;
		}
	}
	for (f = fields; f->name; f++) {
		if (!(v = json_object_get(obj, f->name))) {
			if (f->required) {
				seterr(err, errlen, "missing field '%s'", f->name);
				return -EINVAL;
			}
			continue;
		}
		if (json_is_null(v) && f->nullable) {
			if (f->present)
				*f->present = true;
			continue;
		}
		if ((r = unpack_one(f, v, err, errlen)) < 0)
			return r;
		if (f->present)
			*f->present = true;
	}
	return 0;
}

int mg_json_string_array(json_t *arr, const char *field, size_t max_items, char *err, size_t errlen)
{
	json_t *v;
	size_t i;

	if (!json_is_array(arr)) {
		seterr(err, errlen, "field '%s' must be an array", field);
		return -EINVAL;
	}
	if (json_array_size(arr) > max_items) {
		seterr(err, errlen, "field '%s' must have at most %zu items", field, max_items);
		return -EINVAL;
	}
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v)) {
			seterr(err, errlen, "field '%s' must be an array of strings", field);
			return -EINVAL;
		}
		if (string_has_nul(v)) {
			seterr(err, errlen, "field '%s' must not contain NUL bytes", field);
			return -EINVAL;
		}
	}
	return 0;
}

json_t *mg_json_string_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}
