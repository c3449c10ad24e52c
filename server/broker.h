/*
 * The server's side of the MQTT broker (mosquitto with the
 * dynamic-security plugin): per-host broker accounts that may read only
 * their own topic, and publishing update messages to hosts.
 */
#ifndef MG_BROKER_H
#define MG_BROKER_H

#include <stddef.h>
#include <stdint.h>

struct broker;

/*
 * Connect (in the background, reconnecting by itself) to `url`
 * ("mqtt://HOST:PORT") as the dynamic-security admin whose credentials are
 * in admin_file (first line user name, second line password).
 * public_url is what agents are told to connect to.
 */
int broker_start(const char *url, const char *public_url, const char *admin_file, struct broker **out);
void broker_stop(struct broker *b);

/* The topic a host's updates are published on. */
void broker_host_topic(char *out, size_t len, int64_t host_id);
void broker_host_username(char *out, size_t len, int64_t host_id);
const char *broker_public_url(const struct broker *b);

/*
 * Create the host's broker account, or give it a fresh password if it
 * exists. Waits (bounded) for the broker to confirm. Returns 0 or -errno.
 */
int broker_set_host_account(struct broker *b, int64_t host_id, const char *password);
/* Best effort. */
void broker_delete_host_account(struct broker *b, int64_t host_id);
/* QoS 1, not retained. Returns 0 or -ENOTCONN. */
int broker_publish(struct broker *b, const char *topic, const char *payload);

#endif
