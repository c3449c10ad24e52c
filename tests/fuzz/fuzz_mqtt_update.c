/*
 * Fuzzer: the agent's MQTT update messages (appliance/agent/config.c).
 *
 * The input is a message payload; it is decoded as the daemon decodes it
 * (json_loadb, JSON_REJECT_DUPLICATES) and applied with
 * config_apply_update to a fixed base configuration (host 7, revision 10)
 * and, every other time, to no configuration at all (an agent that has not
 * pulled yet). config_check also sees the raw message as a CONFIG.
 *
 * Invariants: the result is one of the documented values; UPDATE_APPLIED
 * hands back a configuration that passes config_check, is for host 7 and
 * carries the message's revision; the same message applied again to that
 * result is UPDATE_STALE; the base configuration and the message are never
 * modified; errors come with a message.
 */
#include <assert.h>
#include <stdbool.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"

#define HOST_ID 7
#define HAVE 10

static const char base_text[] =
	"{\"revision\": 10, \"host_id\": 7, \"listen_port\": 51820, \"mtu\": 1420,"
	" \"addresses\": [\"10.10.0.1/24\", \"fd00:10::1/64\"],"
	" \"networks\": [{\"name\": \"office\", \"id\": 1}],"
	" \"peers\": ["
	"  {\"host_id\": 8, \"name\": \"b\", \"public_key\": \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\","
	"   \"endpoint\": \"192.0.2.8:51820\", \"persistent_keepalive\": 25,"
	"   \"allowed_ips\": [\"10.10.0.2/32\", \"fd00:10::2/128\"]},"
	"  {\"host_id\": 9, \"name\": \"c\", \"public_key\": \"BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA=\","
	"   \"endpoint\": null, \"allowed_ips\": [\"10.10.0.3/32\", \"192.168.50.0/24\"]},"
	"  {\"ext_client_id\": 3, \"public_key\": \"CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCA=\","
	"   \"allowed_ips\": [\"10.10.0.254/32\"]}"
	" ],"
	" \"gateway\": {\"egress\": [], \"ingress_clients\": []}}";

static json_t *base, *base_copy;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];

	(void)argc, (void)argv;
	base = json_loads(base_text, JSON_REJECT_DUPLICATES, NULL);
	if (!base || config_check(base, err, sizeof(err)) != 0 || config_revision(base) != HAVE)
		abort();
	base_copy = json_deep_copy(base);
	return 0;
}

static void check_err(const char *err, size_t errlen)
{
	assert(memchr(err, '\0', errlen) && err[0]);
}

static void apply(json_t *cfg, json_t *msg)
{
	json_t *out = (json_t *)0x1, *out2 = NULL;
	char err[256];
	int r, r2;

	memset(err, 'x', sizeof(err));
	r = config_apply_update(cfg, cfg ? HAVE : 0, HOST_ID, msg, &out, err, sizeof(err));
	switch (r) {
	case UPDATE_APPLIED:
		assert(out);
		r2 = config_check(out, err, sizeof(err));
		assert(r2 == 0);
		assert(json_integer_value(json_object_get(out, "host_id")) == HOST_ID);
		assert(config_revision(out) == json_integer_value(json_object_get(msg, "revision")));
		assert(config_revision(out) > (cfg ? HAVE : 0));
		assert(out != cfg && out != msg);
		/* Delivered twice (QoS 1): the second time it is stale. */
		r2 = config_apply_update(out, config_revision(out), HOST_ID, msg, &out2, err, sizeof(err));
		assert(r2 == UPDATE_STALE && !out2);
		json_decref(out);
		break;
	case UPDATE_STALE:
	case UPDATE_NEED_PULL:
		assert(!out);
		break;
	default:
		assert(r == -EINVAL);
		assert(!out);
		check_err(err, sizeof(err));
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *msg, *msg_copy;
	char err[256];
	int r;

	msg = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (!msg)
		return 0;
	msg_copy = json_deep_copy(msg);
	assert(msg_copy);

	memset(err, 'x', sizeof(err));
	r = config_check(msg, err, sizeof(err));
	assert(r == 0 || r == -EINVAL);
	if (r)
		check_err(err, sizeof(err));

	apply(base, msg);
	apply(NULL, msg);

	assert(json_equal(base, base_copy));
	assert(json_equal(msg, msg_copy));
	json_decref(msg_copy);
	json_decref(msg);
	return 0;
}
