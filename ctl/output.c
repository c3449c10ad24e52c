/*
 * meshgatectl: human output (aligned tables, "key: value" lines) with
 * control characters escaped, and --json output.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"

static void *xmalloc(size_t n)
{
	void *p = malloc(n);

	if (!p) {
		errorx("out of memory");
		exit(EXIT_FAIL);
	}
	return p;
}

/* Length of a code point to escape at s (C1 controls, bidi overrides), or 0. */
static size_t unsafe_utf8(const unsigned char *s)
{
	if (s[0] == 0xc2 && s[1] >= 0x80 && s[1] <= 0x9f)
		return 2;
	if (s[0] == 0xe2 && s[1] == 0x80 && s[2] >= 0xaa && s[2] <= 0xae)
		return 3;
	if (s[0] == 0xe2 && s[1] == 0x81 && s[2] >= 0xa6 && s[2] <= 0xa9)
		return 3;
	return 0;
}

char *escape_str(const char *in)
{
	const unsigned char *s = (const unsigned char *)in;
	char *out, *o;
	size_t n;

	if (!in)
		return NULL;
	/* Worst case "\xNN" (4 bytes) or "\uNNNN" (6 for 2 or 3) per byte. */
	out = o = xmalloc(strlen(in) * 4 + 1);
	while (*s) {
		if ((n = unsafe_utf8(s))) {
			unsigned cp = n == 2 ? s[1] : (unsigned)(((s[0] & 0x0f) << 12) |
								  ((s[1] & 0x3f) << 6) | (s[2] & 0x3f));
			o += sprintf(o, "\\u%04x", cp);
			s += n;
			continue;
		}
		switch (*s) {
		case '\n': *o++ = '\\'; *o++ = 'n'; break;
		case '\r': *o++ = '\\'; *o++ = 'r'; break;
		case '\t': *o++ = '\\'; *o++ = 't'; break;
		case '\\': *o++ = '\\'; *o++ = '\\'; break;
		default:
			if (*s < 0x20 || *s == 0x7f)
				o += sprintf(o, "\\x%02x", *s);
			else
				*o++ = (char)*s;
		}
		s++;
	}
	*o = '\0';
	return out;
}

const char *fmt_time(long long t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "%lld", t);
	return buf;
}

static char *fmt_value(json_t *v, enum col_kind kind)
{
	char tbuf[64], *s, *tmp, *item;
	size_t i, len;
	json_t *e;

	if (!v || json_is_null(v))
		return strdup("-");
	switch (json_typeof(v)) {
	case JSON_STRING:
		return escape_str(json_string_value(v));
	case JSON_INTEGER:
		if (kind == COL_TIME)
			return strdup(fmt_time((long long)json_integer_value(v), tbuf, sizeof(tbuf)));
		return xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
	case JSON_REAL:
		if (kind == COL_TIME)
			return strdup(fmt_time((long long)json_real_value(v), tbuf, sizeof(tbuf)));
		return xasprintf("%g", json_real_value(v));
	case JSON_TRUE:
		return strdup("yes");
	case JSON_FALSE:
		return strdup("no");
	case JSON_ARRAY:
		if (!json_array_size(v))
			return strdup("-");
		s = strdup("");
		json_array_foreach(v, i, e) {
			if (json_is_object(e) || json_is_array(e)) {
				tmp = json_dumps(e, JSON_COMPACT | JSON_ENCODE_ANY);
				item = escape_str(tmp ? tmp : "?");
				free(tmp);
			} else {
				item = fmt_value(e, kind);
			}
			len = strlen(s);
			tmp = xasprintf("%s%s%s", s, len ? "," : "", item ? item : "");
			free(item);
			free(s);
			s = tmp;
		}
		return s;
	case JSON_OBJECT:
	default:
		tmp = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		s = escape_str(tmp ? tmp : "?");
		free(tmp);
		return s;
	}
}

/* Egress ranges: "10.1.0.0/16,192.168.5.0/24(nonat),0.0.0.0/0(wins)"; "-" when none. */
static char *fmt_egress(json_t *arr)
{
	const char *range;
	char *s, *tmp, *esc;
	bool nonat, wins;
	size_t i;
	json_t *e;

	if (!json_is_array(arr))
		return fmt_value(arr, COL_STR);
	if (!json_array_size(arr))
		return strdup("-");
	s = strdup("");
	json_array_foreach(arr, i, e) {
		if (!s)
			return NULL;
		range = json_string_value(json_object_get(e, "range"));
		nonat = json_is_false(json_object_get(e, "nat"));
		wins = json_is_true(json_object_get(e, "wins"));
		esc = escape_str(range ? range : "?");
		tmp = xasprintf("%s%s%s%s%s%s%s", s, i ? "," : "", esc, nonat || wins ? "(" : "",
				nonat ? "nonat" : "", nonat && wins ? "," : "",
				wins ? "wins)" : nonat ? ")" : "");
		free(esc);
		free(s);
		s = tmp;
	}
	return s;
}

/* ACL selector: "KIND" or "KIND:VALUE" (the form "acl add" takes). */
static char *fmt_sel(json_t *sel)
{
	json_t *kind, *value;
	char *k, *v, *s;

	kind = json_object_get(sel, "kind");
	if (!json_is_object(sel) || !json_is_string(kind))
		return fmt_value(sel, COL_STR);
	value = json_object_get(sel, "value");
	k = fmt_value(kind, COL_STR);
	/* The server answers "value": "" for "any". */
	if (!value || json_is_null(value) ||
	    (json_is_string(value) && !*json_string_value(value)))
		return k;
	v = fmt_value(value, COL_STR);
	s = xasprintf("%s:%s", k ? k : "?", v ? v : "?");
	free(k);
	free(v);
	return s;
}

static char *fmt_cell(json_t *row, const struct column *col)
{
	json_t *v;

	if (!json_is_object(row))
		return strdup("?");
	if (col->kind == COL_USES) {
		if (json_is_true(json_object_get(row, "unlimited")))
			return strdup("unlimited");
		return fmt_value(json_object_get(row, col->key), COL_STR);
	}
	v = json_object_get(row, col->key);
	if (col->kind == COL_EGRESS)
		return fmt_egress(v);
	if (col->kind == COL_SEL)
		return fmt_sel(v);
	return fmt_value(v, col->kind);
}

/* Display width: code points (the strings are valid UTF-8 from jansson). */
static size_t width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

static void print_cell(FILE *f, const char *s, size_t w, bool last)
{
	fputs(s, f);
	if (last) {
		fputc('\n', f);
		return;
	}
	for (size_t n = width(s); n < w + 2; n++)
		fputc(' ', f);
}

int print_table(FILE *f, json_t *arr, const struct column *cols)
{
	size_t ncols = 0, nrows, i, j, *w;
	char **cells;

	if (!json_is_array(arr))
		return print_json(f, arr);
	while (cols[ncols].header)
		ncols++;
	nrows = json_array_size(arr);
	cells = xmalloc(sizeof(*cells) * (nrows * ncols + 1));
	w = xmalloc(sizeof(*w) * (ncols + 1));
	for (j = 0; j < ncols; j++)
		w[j] = strlen(cols[j].header);
	for (i = 0; i < nrows; i++) {
		for (j = 0; j < ncols; j++) {
			char *s = fmt_cell(json_array_get(arr, i), &cols[j]);

			if (!s) {
				errorx("out of memory");
				exit(EXIT_FAIL);
			}
			cells[i * ncols + j] = s;
			if (width(s) > w[j])
				w[j] = width(s);
		}
	}
	for (j = 0; j < ncols; j++)
		print_cell(f, cols[j].header, w[j], j + 1 == ncols);
	for (i = 0; i < nrows; i++)
		for (j = 0; j < ncols; j++)
			print_cell(f, cells[i * ncols + j], w[j], j + 1 == ncols);
	for (i = 0; i < nrows * ncols; i++)
		free(cells[i]);
	free(cells);
	free(w);
	return 0;
}

static bool is_time_key(const char *k)
{
	size_t n = strlen(k);

	return !strcmp(k, "at") || !strcmp(k, "last_checkin") ||
	       (n > 3 && !strcmp(k + n - 3, "_at"));
}

int print_object(FILE *f, json_t *obj)
{
	size_t kw = 0, n;
	const char *k;
	char *ek, *ev;
	json_t *v;

	if (!json_is_object(obj))
		return print_json(f, obj);
	json_object_foreach(obj, k, v) {
		ek = escape_str(k);
		n = width(ek);
		if (n > kw)
			kw = n;
		free(ek);
	}
	json_object_foreach(obj, k, v) {
		ek = escape_str(k);
		/* A node's egress ranges read as in the node table. */
		ev = !strcmp(k, "egress") ? fmt_egress(v)
					  : fmt_value(v, is_time_key(k) ? COL_TIME : COL_STR);
		if (!ev) {
			errorx("out of memory");
			exit(EXIT_FAIL);
		}
		fprintf(f, "%s:", ek);
		for (n = width(ek); n < kw + 1; n++)
			fputc(' ', f);
		fprintf(f, "%s\n", ev);
		free(ek);
		free(ev);
	}
	return 0;
}

int print_json(FILE *f, json_t *v)
{
	if (!v)
		return 0;
	if (json_dumpf(v, f, JSON_INDENT(2) | JSON_ENCODE_ANY) < 0)
		return -EIO;
	fputc('\n', f);
	return 0;
}

int print_result(struct ctl *c, json_t *v, const struct column *cols)
{
	if (c->json)
		return print_json(stdout, v);
	if (json_is_array(v) && cols)
		return print_table(stdout, v, cols);
	if (json_is_object(v))
		return print_object(stdout, v);
	return print_json(stdout, v);
}
