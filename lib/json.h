/*
 * Strict JSON request parsing over jansson. A request body is an object whose
 * fields are described by a table; unknown fields, wrong types and missing
 * required fields are errors with a message naming the field.
 */
#ifndef MG_JSON_H
#define MG_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum mg_json_type {
	MG_JSON_STRING,		/* out: const char ** (borrowed from the object) */
	MG_JSON_INT,		/* out: int64_t *; min/max inclusive bounds apply */
	MG_JSON_BOOL,		/* out: bool * */
	MG_JSON_ARRAY,		/* out: json_t ** (borrowed) */
	MG_JSON_OBJECT,		/* out: json_t ** (borrowed) */
};

struct mg_json_field {
	const char *name;
	enum mg_json_type type;
	bool required;
	void *out;
	int64_t min, max;	/* MG_JSON_INT only; both 0 = no bounds */
	bool *present;		/* optional: set true when the field was given */
	bool nullable;		/* JSON null accepted: leaves out untouched, sets *present */
};

/*
 * Parse a body that must be a JSON object (at most depth 32). Returns the
 * object (caller json_decref's it) or NULL with a message in err.
 */
json_t *mg_json_parse_object(const char *buf, size_t len, char *err, size_t errlen);

/*
 * Fill the outputs of `fields` (terminated by a field with name NULL) from
 * obj. Returns 0, or -EINVAL with a message such as
 * "unknown field 'foo'", "field 'name' must be a string",
 * "field 'mtu' must be between 576 and 9000", "missing field 'name'".
 * Strings with embedded NUL bytes are rejected.
 */
int mg_json_unpack(json_t *obj, const struct mg_json_field *fields, char *err, size_t errlen);

/* Each element of an array must be a string: returns 0 or -EINVAL with err. */
int mg_json_string_array(json_t *arr, const char *field, size_t max_items, char *err, size_t errlen);

/* json_string() that maps NULL to JSON null. */
json_t *mg_json_string_or_null(const char *s);

#endif
