/*
 * Login throttling: failures are counted per key ("user:NAME", "ip:ADDR")
 * in a fixed window. A key over its limit is refused until the window ends.
 * The table is fixed-size; when full, the entry with the oldest window is
 * reused, so memory stays bounded whatever an attacker sends.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "server.h"

#define RL_SLOTS 4096
#define RL_WINDOW 60
#define RL_KEYLEN 96

struct rl_entry {
	char key[RL_KEYLEN];
	int64_t window_start;
	unsigned failures;
};

static struct rl_entry table[RL_SLOTS];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

/* 0 free, 1 window over, 2 counting, 3 refusing. */
static int slot_rank(const struct rl_entry *e, int64_t now)
{
	if (!e->key[0])
		return 0;
	if (now - e->window_start >= RL_WINDOW)
		return 1;
	return e->failures >= 5 ? 3 : 2;
}

static struct rl_entry *find(const char *key, bool create, int64_t now)
{
	struct rl_entry *victim = NULL;

	for (unsigned i = 0; i < RL_SLOTS; i++) {
		struct rl_entry *e = &table[i];

		if (e->key[0] && !strncmp(e->key, key, RL_KEYLEN - 1)) {
			if (now - e->window_start >= RL_WINDOW) {
				e->window_start = now;
				e->failures = 0;
			}
			return e;
		}
		/*
		 * Prefer a free slot, then an expired window, then the oldest:
		 * a flood of new keys should not evict the ones now refused.
		 */
		if (!victim || (victim->key[0] && (!e->key[0] || slot_rank(e, now) < slot_rank(victim, now) ||
						   (slot_rank(e, now) == slot_rank(victim, now) &&
						    e->window_start < victim->window_start))))
			victim = e;
	}
	if (!create)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	strncpy(victim->key, key, RL_KEYLEN - 1);
	victim->window_start = now;
	return victim;
}

unsigned ratelimit_check(const char *key, unsigned max_failures)
{
	int64_t now = now_unix();
	struct rl_entry *e;
	unsigned wait = 0;

	pthread_mutex_lock(&mu);
	e = find(key, false, now);
	if (e && e->failures >= max_failures) {
		int64_t left = e->window_start + RL_WINDOW - now;

		wait = left > 0 ? (unsigned)left : 1;
	}
	pthread_mutex_unlock(&mu);
	return wait;
}

void ratelimit_fail(const char *key)
{
	struct rl_entry *e;

	pthread_mutex_lock(&mu);
	e = find(key, true, now_unix());
	e->failures++;
	pthread_mutex_unlock(&mu);
}

void ratelimit_reset(const char *key)
{
	struct rl_entry *e;

	pthread_mutex_lock(&mu);
	e = find(key, false, now_unix());
	if (e)
		memset(e, 0, sizeof(*e));
	pthread_mutex_unlock(&mu);
}

void ratelimit_ip_key(char *out, size_t len, const char *ip_text)
{
	struct mg_ip ip;
	char buf[MG_IP_STRLEN];

	/* One IPv6 client has a whole /64 to hop around in: count it as one. */
	if (mg_ip_parse(ip_text, &ip) == 0 && ip.family == AF_INET6) {
		memset(ip.bytes + 8, 0, 8);
		mg_ip_format(&ip, buf, sizeof(buf));
		snprintf(out, len, "ip:%s/64", buf);
	} else {
		snprintf(out, len, "ip:%s", ip_text);
	}
}
