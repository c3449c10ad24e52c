/*
 * Live rules and set elements back into text. It understands the
 * expressions the renderer writes (meta ifname and nfproto, network header
 * addresses, ct state, lookup, counter, immediate verdicts, masq); anything
 * else is shown in libnftnl's "[ expr ]" form, so nothing is hidden.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/udata.h>

#include "nat_show.h"

enum reg_kind { REG_NONE, REG_META, REG_PAYLOAD, REG_CT };

struct decoder {
	FILE *f;
	bool first;
	enum reg_kind kind;	/* what register 1 holds */
	uint32_t key;		/* meta or ct key */
	uint32_t base, off, len;/* payload */
	uint32_t mask;		/* ct state after bitwise */
	bool masked;
	struct nat_rule_info *info;
};

static void word(struct decoder *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void word(struct decoder *d, const char *fmt, ...)
{
	va_list ap;

	if (!d->first)
		fputc(' ', d->f);
	d->first = false;
	va_start(ap, fmt);
	vfprintf(d->f, fmt, ap);
	va_end(ap);
}

static void raw(struct decoder *d, const struct nftnl_expr *e)
{
	char buf[512];

	nftnl_expr_snprintf(buf, sizeof(buf), e, NFTNL_OUTPUT_DEFAULT, 0);
	word(d, "[ %s %s ]", nftnl_expr_get_str(e, NFTNL_EXPR_NAME), buf);
	d->kind = REG_NONE;
}

/* The address field a payload load names, or NULL. */
static const char *addr_field(const struct decoder *d, int *family)
{
	if (d->kind != REG_PAYLOAD || d->base != NFT_PAYLOAD_NETWORK_HEADER)
		return NULL;
	if (d->len == 4 && (d->off == 12 || d->off == 16)) {
		*family = AF_INET;
		return d->off == 12 ? "ip saddr" : "ip daddr";
	}
	if (d->len == 16 && (d->off == 8 || d->off == 24)) {
		*family = AF_INET6;
		return d->off == 8 ? "ip6 saddr" : "ip6 daddr";
	}
	return NULL;
}

static void quoted(struct decoder *d, const char *prefix, const uint8_t *s, size_t len)
{
	size_t i;

	word(d, "%s\"", prefix);
	for (i = 0; i < len && s[i]; i++) {
		if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\')
			fputc(s[i], d->f);
		else
			fprintf(d->f, "\\x%02x", s[i]);
	}
	fputc('"', d->f);
}

static void ct_state(struct decoder *d, uint32_t bits)
{
	static const struct { uint32_t bit; const char *name; } names[] = {
		{ 1, "invalid" }, { 2, "established" }, { 4, "related" },
		{ 8, "new" }, { 64, "untracked" },
	};
	size_t i;
	bool any = false;

	word(d, "ct state ");
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (bits & names[i].bit) {
			fprintf(d->f, "%s%s", any ? "," : "", names[i].name);
			any = true;
		}
	}
	if (!any)
		fprintf(d->f, "0x%x", bits);
}

static void cmp(struct decoder *d, const struct nftnl_expr *e)
{
	uint32_t len = 0, op = nftnl_expr_get_u32(e, NFTNL_EXPR_CMP_OP);
	const uint8_t *data = nftnl_expr_get(e, NFTNL_EXPR_CMP_DATA, &len);
	const char *field;
	int family = 0;
	char addr[MG_IP_STRLEN];
	struct mg_ip ip;

	if (data && d->kind == REG_PAYLOAD && d->base == NFT_PAYLOAD_TRANSPORT_HEADER && d->off == 2 &&
	    d->len == 2 && len == 2 && (op == NFT_CMP_EQ || op == NFT_CMP_GTE || op == NFT_CMP_LTE)) {
		word(d, "th dport %s%u", op == NFT_CMP_EQ ? "" : op == NFT_CMP_GTE ? ">= " : "<= ",
		     (unsigned)data[0] << 8 | data[1]);
		return;
	}
	if (!data || (op != NFT_CMP_EQ && op != NFT_CMP_NEQ))
		goto raw;
	if (d->kind == REG_META && d->key == NFT_META_L4PROTO && len == 1 && op == NFT_CMP_EQ) {
		static const char *const names[] = { [1] = "icmp", [6] = "tcp", [17] = "udp", [58] = "ipv6-icmp" };

		if (data[0] < sizeof(names) / sizeof(names[0]) && names[data[0]])
			word(d, "meta l4proto %s", names[data[0]]);
		else
			word(d, "meta l4proto %u", data[0]);
		return;
	}
	if (d->kind == REG_META && (d->key == NFT_META_IIFNAME || d->key == NFT_META_OIFNAME)) {
		quoted(d, d->key == NFT_META_IIFNAME ? (op == NFT_CMP_EQ ? "iifname " : "iifname != ")
			  : (op == NFT_CMP_EQ ? "oifname " : "oifname != "), data, len);
		return;
	}
	if (d->kind == REG_META && d->key == NFT_META_NFPROTO && len == 1 && op == NFT_CMP_EQ &&
	    (data[0] == NFPROTO_IPV4 || data[0] == NFPROTO_IPV6))
		return;		/* implied by the ip / ip6 address that follows */
	if (d->kind == REG_CT && d->key == NFT_CT_STATE && d->masked && op == NFT_CMP_NEQ &&
	    len == 4 && !data[0] && !data[1] && !data[2] && !data[3]) {
		ct_state(d, d->mask);
		return;
	}
	field = addr_field(d, &family);
	if (field && len == d->len) {
		memset(&ip, 0, sizeof(ip));
		ip.family = family;
		memcpy(ip.bytes, data, len);
		if (mg_ip_format(&ip, addr, sizeof(addr)) == 0) {
			word(d, "%s %s%s", field, op == NFT_CMP_EQ ? "" : "!= ", addr);
			return;
		}
	}
raw:
	raw(d, e);
}

static int expr_cb(struct nftnl_expr *e, void *data)
{
	struct decoder *d = data;
	const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
	const char *field;
	uint32_t len = 0;
	int family;

	if (!strcmp(name, "meta") && nftnl_expr_is_set(e, NFTNL_EXPR_META_DREG)) {
		d->kind = REG_META;
		d->key = nftnl_expr_get_u32(e, NFTNL_EXPR_META_KEY);
	} else if (!strcmp(name, "payload") && nftnl_expr_is_set(e, NFTNL_EXPR_PAYLOAD_DREG)) {
		d->kind = REG_PAYLOAD;
		d->base = nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_BASE);
		d->off = nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET);
		d->len = nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_LEN);
	} else if (!strcmp(name, "ct") && nftnl_expr_is_set(e, NFTNL_EXPR_CT_DREG)) {
		d->kind = REG_CT;
		d->key = nftnl_expr_get_u32(e, NFTNL_EXPR_CT_KEY);
		d->masked = false;
	} else if (!strcmp(name, "bitwise") && d->kind == REG_CT) {
		const void *mask = nftnl_expr_get(e, NFTNL_EXPR_BITWISE_MASK, &len);

		if (!mask || len != 4) {
			raw(d, e);
			return 0;
		}
		memcpy(&d->mask, mask, 4);
		d->masked = true;
	} else if (!strcmp(name, "cmp")) {
		cmp(d, e);
	} else if (!strcmp(name, "lookup") && (field = addr_field(d, &family))) {
		bool inv = nftnl_expr_is_set(e, NFTNL_EXPR_LOOKUP_FLAGS) &&
			   (nftnl_expr_get_u32(e, NFTNL_EXPR_LOOKUP_FLAGS) & NFT_LOOKUP_F_INV);

		word(d, "%s %s@%s", field, inv ? "!= " : "", nftnl_expr_get_str(e, NFTNL_EXPR_LOOKUP_SET));
	} else if (!strcmp(name, "counter")) {
		d->info->has_counter = true;
		d->info->packets += nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_PACKETS);
		d->info->bytes += nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_BYTES);
		word(d, "counter");
	} else if (!strcmp(name, "immediate") &&
		   nftnl_expr_get_u32(e, NFTNL_EXPR_IMM_DREG) == NFT_REG_VERDICT) {
		int v = (int)nftnl_expr_get_u32(e, NFTNL_EXPR_IMM_VERDICT);

		switch (v) {
		case NF_ACCEPT: word(d, "accept"); break;
		case NF_DROP: word(d, "drop"); break;
		case NFT_RETURN: word(d, "return"); break;
		case NFT_CONTINUE: word(d, "continue"); break;
		case NFT_JUMP:
		case NFT_GOTO:
			word(d, "%s %s", v == NFT_JUMP ? "jump" : "goto",
			     nftnl_expr_is_set(e, NFTNL_EXPR_IMM_CHAIN) ?
			     nftnl_expr_get_str(e, NFTNL_EXPR_IMM_CHAIN) : "?");
			break;
		default: raw(d, e); break;
		}
	} else if (!strcmp(name, "masq")) {
		word(d, "masquerade");
	} else {
		raw(d, e);
	}
	return 0;
}

static int comment_cb(const struct nftnl_udata *attr, void *data)
{
	struct nat_rule_info *info = data;
	const char *s = nftnl_udata_get(attr);
	uint8_t len = nftnl_udata_len(attr);

	if (nftnl_udata_type(attr) != NFTNL_UDATA_RULE_COMMENT || !len || s[len - 1] != '\0')
		return 0;
	free(info->comment);
	info->comment = strdup(s);
	return 0;
}

int nat_rule_decode(struct nftnl_rule *r, struct nat_rule_info *info)
{
	struct decoder d = { .first = true, .info = info };
	size_t len = 0;
	const void *ud;
	uint32_t udlen = 0;

	memset(info, 0, sizeof(*info));
	d.f = open_memstream(&info->text, &len);
	if (!d.f)
		return -ENOMEM;
	nftnl_expr_foreach(r, expr_cb, &d);
	if (fclose(d.f) != 0 || !info->text)
		goto nomem;
	if (nftnl_rule_is_set(r, NFTNL_RULE_USERDATA)) {
		ud = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &udlen);
		if (ud)
			nftnl_udata_parse(ud, udlen, comment_cb, info);
	}
	info->handle = nftnl_rule_get_u64(r, NFTNL_RULE_HANDLE);
	return 0;
nomem:
	nat_rule_info_free(info);
	return -ENOMEM;
}

void nat_rule_info_free(struct nat_rule_info *info)
{
	free(info->text);
	free(info->comment);
	memset(info, 0, sizeof(*info));
}

/* --- set elements --------------------------------------------------------- */

struct elem {
	uint8_t key[16];
	uint32_t len;
	bool end;
};

static int cmp_elem(const void *a, const void *b)
{
	const struct elem *x = a, *y = b;
	int c = memcmp(x->key, y->key, sizeof(x->key));

	if (c)
		return c;
	return (int)y->end - (int)x->end;	/* an end before a start at the same key */
}

struct elem_list {
	struct elem *v;
	size_t n, cap;
	int err;
};

static int collect_elem(struct nftnl_set_elem *e, void *data)
{
	struct elem_list *l = data;
	const void *key;
	uint32_t len = 0;

	key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);
	if (!key || len > 16)
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct elem *v = realloc(l->v, cap * sizeof(*v));

		if (!v) {
			l->err = -ENOMEM;
			return -1;
		}
		l->v = v;
		l->cap = cap;
	}
	memset(&l->v[l->n], 0, sizeof(l->v[l->n]));
	memcpy(l->v[l->n].key, key, len);
	l->v[l->n].len = len;
	l->v[l->n].end = nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS) &&
			 (nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS) & NFT_SET_ELEM_INTERVAL_END);
	l->n++;
	return 0;
}

static int emit(char ***out, size_t *n, const char *s)
{
	char **v = realloc(*out, (*n + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	*out = v;
	v[*n] = strdup(s);
	if (!v[*n])
		return -ENOMEM;
	(*n)++;
	return 0;
}

static void key_text(const struct elem *e, char *buf, size_t size)
{
	struct mg_ip ip = { .family = e->len == 4 ? AF_INET : AF_INET6 };
	size_t i, off = 0;

	if (e->len == 4 || e->len == 16) {
		memcpy(ip.bytes, e->key, e->len);
		if (mg_ip_format(&ip, buf, size) == 0)
			return;
	}
	buf[0] = '\0';
	for (i = 0; i < e->len && off + 3 < size; i++)
		off += (size_t)snprintf(buf + off, size - off, "%02x", e->key[i]);
}

int nat_set_elements(struct nftnl_set *s, char ***out, size_t *n_out)
{
	bool interval = nftnl_set_is_set(s, NFTNL_SET_FLAGS) &&
			(nftnl_set_get_u32(s, NFTNL_SET_FLAGS) & NFT_SET_INTERVAL);
	struct elem_list l = { 0 };
	struct nat_ival iv;
	char text[2 * MG_IP_STRLEN + 2];
	size_t i, n = 0;
	long open = -1;
	int ret = 0;

	*out = NULL;
	*n_out = 0;
	nftnl_set_elem_foreach(s, collect_elem, &l);
	if (l.err) {
		ret = l.err;
		goto out;
	}
	if (l.n)
		qsort(l.v, l.n, sizeof(*l.v), cmp_elem);
	for (i = 0; i < l.n; i++) {
		const struct elem *e = &l.v[i];

		if (!interval) {
			key_text(e, text, sizeof(text));
			if ((ret = emit(out, &n, text)) < 0)
				goto out;
			continue;
		}
		if (!e->end) {
			if (open >= 0) {	/* unterminated: runs to the next start */
				key_text(&l.v[open], text, sizeof(text));
				if ((ret = emit(out, &n, text)) < 0)
					goto out;
			}
			open = (long)i;
			continue;
		}
		if (open < 0)
			continue;	/* the leading end at 0 */
		memset(&iv, 0, sizeof(iv));
		memcpy(iv.lo, l.v[open].key, e->len);
		memcpy(iv.hi, e->key, e->len);
		/* hi = end - 1 */
		{
			size_t k = e->len;

			while (k-- > 0)
				if (iv.hi[k]-- != 0)
					break;
		}
		if (e->len == 4 || e->len == 16)
			nat_ival_format(&iv, e->len == 4 ? AF_INET : AF_INET6, text, sizeof(text));
		else
			key_text(&l.v[open], text, sizeof(text));
		if ((ret = emit(out, &n, text)) < 0)
			goto out;
		open = -1;
	}
	if (open >= 0) {	/* runs to the last address */
		memset(&iv, 0, sizeof(iv));
		memcpy(iv.lo, l.v[open].key, l.v[open].len);
		memset(iv.hi, 0xff, l.v[open].len);
		if (l.v[open].len == 4 || l.v[open].len == 16)
			nat_ival_format(&iv, l.v[open].len == 4 ? AF_INET : AF_INET6, text, sizeof(text));
		else
			key_text(&l.v[open], text, sizeof(text));
		ret = emit(out, &n, text);
	}
out:
	free(l.v);
	if (ret < 0) {
		while (n)
			free((*out)[--n]);
		free(*out);
		*out = NULL;
		return ret;
	}
	*n_out = n;
	return 0;
}
