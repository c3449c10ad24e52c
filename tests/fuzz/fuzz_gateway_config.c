/*
 * Fuzzer: the agent's gateway and access control sections
 * (appliance/agent/gateway.c `gateway_render`, then nat/ `nat_render`).
 *
 * The input is a CONFIG as the server sends it; only its "gateway"
 * ({"egress", "ingress_clients", "relayed"}) and "acl" sections matter. It
 * is decoded as the agent decodes it (json_loadb, JSON_REJECT_DUPLICATES;
 * anything but an object is dropped) and rendered for interface meshgate0
 * exactly as gateway_apply renders it before handing the batch to the
 * kernel. A rendered batch is also printed (nat_batch_print) and encoded
 * into its netlink messages (nat_wire_encode), as nat_batch_apply would.
 *
 * Invariants: the result is 0, -EINVAL or -EOPNOTSUPP; errors come with a
 * one-line message and no batch; a list of the wrong type (a section, an
 * ext client, an ACL rule's "src" or "dst") is an error, never read as an
 * empty list (no filter, any source); success without a batch only when the
 * CONFIG gives the host no role (no egress range, ext client address, ACL
 * rule or relayed prefix), and a batch has messages; rendering is
 * deterministic (the same text twice); the CONFIG is never modified.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "nat/nat.h"
#include "nat/nat_int.h"

#define IFNAME AGENT_DEFAULT_IFNAME

static bool is_list(json_t *v)
{
	return !v || json_is_null(v) || json_is_array(v);
}

/*
 * Whether every list the render relies on can be read: a section, client
 * or ACL scope of the wrong type must fail the render, never read as "none"
 * (no filter, any source).
 */
static bool readable(json_t *cfg)
{
	json_t *gw = json_object_get(cfg, "gateway"), *v, *r = json_object_get(gw, "relayed");
	size_t i;

	if ((gw && !json_is_null(gw) && !json_is_object(gw)) || !is_list(json_object_get(gw, "egress")) ||
	    !is_list(json_object_get(gw, "ingress_clients")) || !is_list(json_object_get(cfg, "acl")) ||
	    (r && !json_is_array(r)))
		return false;
	json_array_foreach(json_object_get(gw, "ingress_clients"), i, v) {
		json_t *a = json_object_get(v, "address"), *a6 = json_object_get(v, "address6");

		if (!json_is_object(v) || !is_list(json_object_get(v, "allowed_destinations")) ||
		    (a && !json_is_null(a) && !json_is_string(a)) || (a6 && !json_is_null(a6) && !json_is_string(a6)))
			return false;
	}
	json_array_foreach(json_object_get(cfg, "acl"), i, v)
		if (!json_is_object(v) || !is_list(json_object_get(v, "src")) || !is_list(json_object_get(v, "dst")))
			return false;
	return true;
}

/* Whether the CONFIG names any role, read independently of gateway.c. */
static bool has_role(json_t *cfg)
{
	json_t *gw = json_object_get(cfg, "gateway"), *v;
	size_t i;

	if (json_array_size(json_object_get(gw, "egress")) || json_array_size(json_object_get(cfg, "acl")) ||
	    json_array_size(json_object_get(gw, "relayed")))
		return true;
	json_array_foreach(json_object_get(gw, "ingress_clients"), i, v)
		if (json_is_string(json_object_get(v, "address")) || json_is_string(json_object_get(v, "address6")))
			return true;
	return false;
}

static char *render_text(json_t *cfg, int *ret, bool *empty)
{
	struct nat_batch *b = (struct nat_batch *)0x1;
	struct nat_wire w = { 0 };
	char err[512], *text = NULL;
	int r;

	memset(err, 'x', sizeof(err));
	*ret = gateway_render(cfg, IFNAME, &b, err, sizeof(err));
	*empty = false;
	if (*ret < 0) {
		assert(*ret == -EINVAL || *ret == -EOPNOTSUPP);
		assert(!b);
		assert(memchr(err, '\0', sizeof(err)) && err[0] && !strchr(err, '\n'));
		return NULL;
	}
	assert(*ret == 0);
	if (!b) {
		*empty = true;
		return NULL;
	}
	assert(nat_batch_count(b) > 0);
	r = nat_batch_print(b, &text);
	assert(r == 0 && text);
	r = nat_wire_encode(b, 1, &w);
	assert(r == 0 && w.n == nat_batch_count(b) && w.len > 0);
	nat_wire_free(&w);
	nat_batch_free(b);
	return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *cfg, *copy;
	char *t1, *t2;
	bool empty1, empty2;
	int r1, r2;

	cfg = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (!cfg)
		return 0;
	if (!json_is_object(cfg)) {
		json_decref(cfg);
		return 0;
	}
	copy = json_deep_copy(cfg);
	assert(copy);

	t1 = render_text(cfg, &r1, &empty1);
	if (r1 == 0) {
		assert(readable(cfg));
		assert(empty1 == !has_role(cfg));
	}
	t2 = render_text(cfg, &r2, &empty2);
	assert(r1 == r2 && empty1 == empty2);
	assert((!t1 && !t2) || (t1 && t2 && !strcmp(t1, t2)));
	free(t1);
	free(t2);

	assert(json_equal(cfg, copy));
	json_decref(copy);
	json_decref(cfg);
	return 0;
}
