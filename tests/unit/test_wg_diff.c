/*
 * Reconciliation by diff: the smallest set request from the device as read
 * to the wanted one.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "wg/wg.h"

/* A peer with key byte k, endpoint ep (or NULL), keepalive ka and a ";"-free list of IPs. */
static struct wg_peer *peer(struct wg_device *dev, uint8_t k, const char *ep, int ka,
			    const char *const *ips)
{
	struct wg_peer *p = wg_device_add_peer(dev);
	struct wg_allowedip a;

	assert_non_null(p);
	p->flags = WG_PEER_HAS_PUBLIC_KEY;
	memset(p->public_key, k, MG_KEY_LEN);
	if (ep)
		assert_int_equal(wg_endpoint_parse(ep, &p->endpoint), 0);
	if (ka >= 0) {
		p->flags |= WG_PEER_HAS_KEEPALIVE;
		p->persistent_keepalive = (uint16_t)ka;
	}
	for (; ips && *ips; ips++) {
		assert_int_equal(wg_allowedip_parse(*ips, &a), 0);
		assert_int_equal(wg_peer_add_allowedip(p, &a), 0);
	}
	return p;
}

static const char *const ips_a[] = { "10.0.0.1/32", "fd00::1/128", NULL };
static const char *const ips_a_shuffled[] = { "fd00::1/128", "10.0.0.1/32", NULL };
static const char *const ips_a_hostbits[] = { "fd00::1/128", "10.0.0.1/32", "10.0.0.1/32", NULL };
static const char *const ips_b[] = { "10.0.0.2/32", NULL };
static const char *const ips_b2[] = { "10.0.0.2/32", "192.168.0.0/24", NULL };
static const char *const ips_c[] = { "10.0.0.3/32", NULL };

/* A device as read back: key, port, peers A and B. */
static struct wg_device *have_dev(void)
{
	struct wg_device *d = wg_device_new("wg0");

	d->ifindex = 9;
	d->flags = WG_DEVICE_HAS_PRIVATE_KEY | WG_DEVICE_HAS_PUBLIC_KEY | WG_DEVICE_HAS_LISTEN_PORT;
	memset(d->private_key, 0x60, MG_KEY_LEN);
	memset(d->public_key, 0x61, MG_KEY_LEN);
	d->listen_port = 51820;
	peer(d, 0xaa, "192.0.2.1:51820", 25, ips_a);
	peer(d, 0xbb, "192.0.2.2:51820", 0, ips_b);
	/* As read: counters, handshakes, which the diff ignores. */
	d->peers[0].rx_bytes = 1234;
	d->peers[0].last_handshake_sec = 1700000000;
	return d;
}

/* The same as wanted: no counters, keepalive 0 as "not flagged". */
static struct wg_device *want_dev(void)
{
	struct wg_device *d = wg_device_new("wg0");

	d->flags = WG_DEVICE_HAS_PRIVATE_KEY | WG_DEVICE_HAS_LISTEN_PORT;
	memset(d->private_key, 0x60, MG_KEY_LEN);
	d->listen_port = 51820;
	peer(d, 0xaa, "192.0.2.1:51820", 25, ips_a);
	peer(d, 0xbb, "192.0.2.2:51820", -1, ips_b);
	return d;
}

static void test_no_change_is_empty(void **state)
{
	struct wg_device *have = have_dev(), *want = want_dev(), *d;

	(void)state;
	d = wg_diff(have, want);
	assert_non_null(d);
	assert_true(wg_device_is_empty(d));
	assert_int_equal(d->flags, 0);
	assert_int_equal(d->n_peers, 0);
	assert_string_equal(d->name, "wg0");
	wg_free_device(d);

	/* A wanted device without endpoints leaves the learned ones alone. */
	memset(&want->peers[0].endpoint, 0, sizeof(want->peers[0].endpoint));
	d = wg_diff(have, want);
	assert_true(wg_device_is_empty(d));
	wg_free_device(d);

	/* Listen port 0 wanted: any port will do. */
	want->listen_port = 0;
	d = wg_diff(have, want);
	assert_true(wg_device_is_empty(d));
	wg_free_device(d);
	wg_free_device(have);
	wg_free_device(want);
}

static void test_empty_have(void **state)
{
	struct wg_device *have = wg_device_new("wg0"), *want = want_dev(), *d;

	(void)state;
	d = wg_diff(have, want);
	assert_int_equal(d->flags, WG_DEVICE_HAS_PRIVATE_KEY | WG_DEVICE_HAS_LISTEN_PORT);
	assert_memory_equal(d->private_key, want->private_key, MG_KEY_LEN);
	assert_int_equal(d->listen_port, 51820);
	assert_int_equal(d->n_peers, 2);
	assert_int_equal(d->peers[0].flags, WG_PEER_HAS_PUBLIC_KEY | WG_PEER_HAS_KEEPALIVE |
						    WG_PEER_REPLACE_ALLOWEDIPS);
	assert_int_equal(d->peers[0].n_allowedips, 2);
	/* Peer B wants no keepalive: a new peer has none, nothing to send. */
	assert_int_equal(d->peers[1].flags, WG_PEER_HAS_PUBLIC_KEY | WG_PEER_REPLACE_ALLOWEDIPS);
	assert_false(d->flags & WG_DEVICE_REPLACE_PEERS);
	wg_free_device(d);
	wg_free_device(have);
	wg_free_device(want);
}

static void test_add_and_remove(void **state)
{
	struct wg_device *have = have_dev(), *want = want_dev(), *d;

	(void)state;
	/* Want: A and C (B leaves, C joins). */
	memset(want->peers[1].public_key, 0xcc, MG_KEY_LEN);
	free(want->peers[1].allowedips);
	want->peers[1].allowedips = NULL;
	want->peers[1].n_allowedips = want->peers[1].cap_allowedips = 0;
	{
		struct wg_allowedip a;

		assert_int_equal(wg_allowedip_parse(ips_c[0], &a), 0);
		assert_int_equal(wg_peer_add_allowedip(&want->peers[1], &a), 0);
	}
	d = wg_diff(have, want);
	assert_int_equal(d->flags, 0);
	assert_int_equal(d->n_peers, 2);
	/* Removals first. */
	assert_int_equal(d->peers[0].public_key[0], 0xbb);
	assert_int_equal(d->peers[0].flags, WG_PEER_HAS_PUBLIC_KEY | WG_PEER_REMOVE_ME);
	assert_int_equal(d->peers[1].public_key[0], 0xcc);
	assert_int_equal(d->peers[1].flags, WG_PEER_HAS_PUBLIC_KEY | WG_PEER_REPLACE_ALLOWEDIPS);
	assert_true(wg_endpoint_equal(&d->peers[1].endpoint, &want->peers[1].endpoint));
	assert_int_equal(d->peers[1].n_allowedips, 1);
	wg_free_device(d);
	wg_free_device(have);
	wg_free_device(want);
}

static void test_change_endpoint(void **state)
{
	struct wg_device *have = have_dev(), *want = want_dev(), *d;

	(void)state;
	assert_int_equal(wg_endpoint_parse("[2001:db8::9]:1234", &want->peers[1].endpoint), 0);
	d = wg_diff(have, want);
	assert_int_equal(d->n_peers, 1);
	assert_int_equal(d->peers[0].public_key[0], 0xbb);
	assert_int_equal(d->peers[0].flags, WG_PEER_HAS_PUBLIC_KEY | WG_PEER_UPDATE_ONLY);
	assert_true(wg_endpoint_equal(&d->peers[0].endpoint, &want->peers[1].endpoint));
	assert_int_equal(d->peers[0].n_allowedips, 0);
	wg_free_device(d);

	/* Same address, other port. */
	want->peers[1].endpoint = have->peers[1].endpoint;
	want->peers[1].endpoint.sin.sin_port = htons(1);
	d = wg_diff(have, want);
	assert_int_equal(d->n_peers, 1);
	wg_free_device(d);
	wg_free_device(have);
	wg_free_device(want);
}

static void test_change_allowedips(void **state)
{
	struct wg_device *have = have_dev(), *want = wg_device_new("wg0"), *d;

	(void)state;
	want->flags = WG_DEVICE_HAS_LISTEN_PORT;
	want->listen_port = 51820;
	peer(want, 0xaa, NULL, 25, ips_a);
	peer(want, 0xbb, NULL, 0, ips_b2);
	d = wg_diff(have, want);
	assert_int_equal(d->flags, 0);
	assert_int_equal(d->n_peers, 1);
	assert_int_equal(d->peers[0].public_key[0], 0xbb);
	assert_int_equal(d->peers[0].flags, WG_PEER_HAS_PUBLIC_KEY | WG_PEER_UPDATE_ONLY |
						    WG_PEER_REPLACE_ALLOWEDIPS);
	assert_int_equal(d->peers[0].n_allowedips, 2);
	assert_int_equal(d->peers[0].endpoint.sa.sa_family, AF_UNSPEC);
	wg_free_device(d);

	/* Removing every allowed IP is a change too: replace with nothing. */
	want->peers[1].n_allowedips = 0;
	d = wg_diff(have, want);
	assert_int_equal(d->n_peers, 1);
	assert_true(d->peers[0].flags & WG_PEER_REPLACE_ALLOWEDIPS);
	assert_int_equal(d->peers[0].n_allowedips, 0);
	wg_free_device(d);
	wg_free_device(have);
	wg_free_device(want);
}

static void test_allowedips_order_independent(void **state)
{
	struct wg_device *have = have_dev(), *want = wg_device_new("wg0"), *d;

	(void)state;
	peer(want, 0xbb, NULL, 0, ips_b);
	peer(want, 0xaa, NULL, 25, ips_a_shuffled);	/* peers reordered too */
	d = wg_diff(have, want);
	assert_true(wg_device_is_empty(d));
	wg_free_device(d);
	wg_free_device(want);

	/* Duplicates and host bits compare as WireGuard stores them. */
	want = wg_device_new("wg0");
	peer(want, 0xaa, NULL, 25, ips_a_hostbits);
	peer(want, 0xbb, NULL, 0, (const char *const[]){ "10.0.0.2/32", NULL });
	d = wg_diff(have, want);
	assert_true(wg_device_is_empty(d));
	wg_free_device(d);
	wg_free_device(want);

	want = wg_device_new("wg0");
	peer(want, 0xaa, NULL, 25, (const char *const[]){ "10.0.0.1/32", "fd00::1/128", NULL });
	peer(want, 0xbb, NULL, 0, (const char *const[]){ "10.0.0.7/24", NULL });
	have->peers[1].allowedips[0].cidr = 24;
	have->peers[1].allowedips[0].ip4.s_addr = htonl(0x0a000000);
	d = wg_diff(have, want);
	assert_true(wg_device_is_empty(d));
	wg_free_device(d);
	wg_free_device(want);
	wg_free_device(have);
}

static void test_keepalive_only(void **state)
{
	struct wg_device *have = have_dev(), *want = want_dev(), *d;

	(void)state;
	want->peers[0].persistent_keepalive = 15;
	d = wg_diff(have, want);
	assert_int_equal(d->n_peers, 1);
	assert_int_equal(d->peers[0].public_key[0], 0xaa);
	assert_int_equal(d->peers[0].flags, WG_PEER_HAS_PUBLIC_KEY | WG_PEER_UPDATE_ONLY |
						    WG_PEER_HAS_KEEPALIVE);
	assert_int_equal(d->peers[0].persistent_keepalive, 15);
	assert_int_equal(d->peers[0].endpoint.sa.sa_family, AF_UNSPEC);
	assert_int_equal(d->peers[0].n_allowedips, 0);
	wg_free_device(d);

	/* Turning it off (flag dropped) is a change to 0. */
	want->peers[0].flags &= ~(uint32_t)WG_PEER_HAS_KEEPALIVE;
	d = wg_diff(have, want);
	assert_int_equal(d->n_peers, 1);
	assert_int_equal(d->peers[0].flags, WG_PEER_HAS_PUBLIC_KEY | WG_PEER_UPDATE_ONLY |
						    WG_PEER_HAS_KEEPALIVE);
	assert_int_equal(d->peers[0].persistent_keepalive, 0);
	wg_free_device(d);
	wg_free_device(have);
	wg_free_device(want);
}

/* The diff's peer with key byte k, or NULL. */
static struct wg_peer *diff_peer(struct wg_device *d, uint8_t k)
{
	size_t i;

	for (i = 0; i < d->n_peers; i++)
		if (d->peers[i].public_key[0] == k)
			return &d->peers[i];
	return NULL;
}

/*
 * The agent's keepalive hold (apply.c): of a new pair only the greater key
 * turns keepalive on at once. Self is 0x61...: a new peer 0xf0 waits, a new
 * 0x10 does not, a changed peer (0xbb) and a new one without keepalive
 * (0xe0) are left alone; the next pass turns the held one on, unless it is
 * inside the hold window.
 */
static void test_keepalive_hold_for_new_peers(void **state)
{
	struct wg_device *have = have_dev(), *want = want_dev(), *d;
	mg_key self;

	(void)state;
	memset(self, 0x61, MG_KEY_LEN);
	want->peers[1].flags |= WG_PEER_HAS_KEEPALIVE;
	want->peers[1].persistent_keepalive = 20;
	peer(want, 0xf0, "192.0.2.3:51820", 20, ips_c);
	peer(want, 0x10, "192.0.2.4:51820", 20, NULL);
	peer(want, 0xe0, "192.0.2.5:51820", -1, NULL);
	d = wg_diff(have, want);
	assert_non_null(d);
	assert_int_equal(d->n_peers, 4);
	assert_int_equal(hold_first_keepalives(d, self, false), 1);
	assert_false(diff_peer(d, 0xf0)->flags & WG_PEER_HAS_KEEPALIVE);
	assert_int_equal(diff_peer(d, 0xf0)->persistent_keepalive, 0);
	assert_true(diff_peer(d, 0xf0)->flags & WG_PEER_REPLACE_ALLOWEDIPS);
	assert_int_equal(diff_peer(d, 0xf0)->n_allowedips, 1);
	assert_true(diff_peer(d, 0x10)->flags & WG_PEER_HAS_KEEPALIVE);
	assert_int_equal(diff_peer(d, 0x10)->persistent_keepalive, 20);
	assert_true(diff_peer(d, 0xbb)->flags & WG_PEER_HAS_KEEPALIVE);
	assert_int_equal(diff_peer(d, 0xbb)->persistent_keepalive, 20);
	assert_false(diff_peer(d, 0xe0)->flags & WG_PEER_HAS_KEEPALIVE);
	wg_free_device(d);

	/* The next pass: the device has 0xf0 without keepalive; the diff turns it on and nothing waits. */
	wg_free_device(have);
	have = want_dev();
	have->peers[1].flags |= WG_PEER_HAS_KEEPALIVE;
	have->peers[1].persistent_keepalive = 20;
	peer(have, 0xf0, "192.0.2.3:51820", 0, ips_c);
	peer(have, 0x10, "192.0.2.4:51820", 20, NULL);
	peer(have, 0xe0, "192.0.2.5:51820", 0, NULL);
	d = wg_diff(have, want);
	assert_non_null(d);
	assert_int_equal(d->n_peers, 1);
	assert_int_equal(hold_first_keepalives(d, self, false), 0);
	assert_int_equal(d->peers[0].public_key[0], 0xf0);
	assert_int_equal(d->peers[0].flags, WG_PEER_HAS_PUBLIC_KEY | WG_PEER_UPDATE_ONLY | WG_PEER_HAS_KEEPALIVE);
	assert_int_equal(d->peers[0].persistent_keepalive, 20);
	wg_free_device(d);

	/* Inside the hold window (also_turning_on) that update waits too. */
	d = wg_diff(have, want);
	assert_non_null(d);
	assert_int_equal(hold_first_keepalives(d, self, true), 1);
	assert_int_equal(d->peers[0].flags, WG_PEER_HAS_PUBLIC_KEY | WG_PEER_UPDATE_ONLY);
	assert_int_equal(d->peers[0].persistent_keepalive, 0);
	wg_free_device(d);

	/* The greater key never waits. */
	memset(self, 0xff, MG_KEY_LEN);
	wg_free_device(have);
	have = have_dev();
	d = wg_diff(have, want);
	assert_non_null(d);
	assert_int_equal(hold_first_keepalives(d, self, true), 0);
	wg_free_device(d);
	d = wg_diff(have, want);
	assert_non_null(d);
	assert_int_equal(hold_first_keepalives(d, self, false), 0);
	assert_true(diff_peer(d, 0xf0)->flags & WG_PEER_HAS_KEEPALIVE);
	wg_free_device(d);
	wg_free_device(have);
	wg_free_device(want);
}

static void test_psk_and_device_fields(void **state)
{
	struct wg_device *have = have_dev(), *want = want_dev(), *d;

	(void)state;
	want->peers[1].flags |= WG_PEER_HAS_PRESHARED_KEY;
	memset(want->peers[1].preshared_key, 0x77, MG_KEY_LEN);
	memset(want->private_key, 0x62, MG_KEY_LEN);
	want->listen_port = 51821;
	want->flags |= WG_DEVICE_HAS_FWMARK;
	want->fwmark = 0;	/* have has none: equal */
	d = wg_diff(have, want);
	assert_int_equal(d->flags, WG_DEVICE_HAS_PRIVATE_KEY | WG_DEVICE_HAS_LISTEN_PORT);
	assert_int_equal(d->private_key[0], 0x62);
	assert_int_equal(d->listen_port, 51821);
	assert_int_equal(d->n_peers, 1);
	assert_int_equal(d->peers[0].flags, WG_PEER_HAS_PUBLIC_KEY | WG_PEER_UPDATE_ONLY |
						    WG_PEER_HAS_PRESHARED_KEY);
	assert_int_equal(d->peers[0].preshared_key[0], 0x77);
	wg_free_device(d);

	/* Dropping the PSK: set it to zero. */
	memcpy(have->peers[1].preshared_key, want->peers[1].preshared_key, MG_KEY_LEN);
	have->peers[1].flags |= WG_PEER_HAS_PRESHARED_KEY;
	want->peers[1].flags &= ~(uint32_t)WG_PEER_HAS_PRESHARED_KEY;
	d = wg_diff(have, want);
	assert_int_equal(d->n_peers, 1);
	assert_true(d->peers[0].flags & WG_PEER_HAS_PRESHARED_KEY);
	assert_int_equal(d->peers[0].preshared_key[0], 0);
	wg_free_device(d);
	wg_free_device(have);
	wg_free_device(want);
}

static void test_duplicate_wanted_keys(void **state)
{
	struct wg_device *have = wg_device_new("wg0"), *want = wg_device_new("wg0"), *d;

	(void)state;
	peer(want, 0xaa, NULL, -1, ips_a);
	peer(want, 0xaa, NULL, -1, ips_b);
	d = wg_diff(have, want);
	assert_int_equal(d->n_peers, 1);
	assert_int_equal(d->peers[0].n_allowedips, 2);	/* the first wins */
	wg_free_device(d);
	wg_free_device(have);
	wg_free_device(want);
}

/* Many peers: the sort-merge pairs them all, the result applies cleanly. */
static void test_large(void **state)
{
	struct wg_device *have = wg_device_new("wg0"), *want = wg_device_new("wg0"), *d;
	unsigned i;

	(void)state;
	for (i = 0; i < 20000; i++) {
		struct wg_peer *p;
		struct wg_allowedip a = { .family = AF_INET, .cidr = 32 };

		if (i < 15000) {
			p = wg_device_add_peer(have);
			p->flags = WG_PEER_HAS_PUBLIC_KEY | WG_PEER_HAS_KEEPALIVE;
			memcpy(p->public_key, &i, sizeof(i));
			a.ip4.s_addr = htonl(0x0a000000 + i);
			wg_peer_add_allowedip(p, &a);
		}
		if (i >= 5000) {
			p = wg_device_add_peer(want);
			p->flags = WG_PEER_HAS_PUBLIC_KEY;
			memcpy(p->public_key, &i, sizeof(i));
			a.ip4.s_addr = htonl(0x0a000000 + i);
			wg_peer_add_allowedip(p, &a);
		}
	}
	d = wg_diff(have, want);
	/* 5000 removed, 5000 added, 10000 unchanged. */
	assert_int_equal(d->n_peers, 10000);
	for (i = 0; i < 5000; i++)
		assert_true(d->peers[i].flags & WG_PEER_REMOVE_ME);
	for (; i < 10000; i++)
		assert_false(d->peers[i].flags & WG_PEER_REMOVE_ME);
	wg_free_device(d);
	wg_free_device(have);
	wg_free_device(want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_change_is_empty),
		cmocka_unit_test(test_empty_have),
		cmocka_unit_test(test_add_and_remove),
		cmocka_unit_test(test_change_endpoint),
		cmocka_unit_test(test_change_allowedips),
		cmocka_unit_test(test_allowedips_order_independent),
		cmocka_unit_test(test_keepalive_only),
		cmocka_unit_test(test_keepalive_hold_for_new_peers),
		cmocka_unit_test(test_psk_and_device_fields),
		cmocka_unit_test(test_duplicate_wanted_keys),
		cmocka_unit_test(test_large),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
