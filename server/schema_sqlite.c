/*
 * SQLite schema migrations. Migration i brings the schema from version i to
 * i + 1 (PRAGMA user_version). Never edit a migration that has shipped: add a
 * new one.
 */
#include "schema_sqlite.h"

const char *const sqlite_migrations[] = {
	/* 0 -> 1: the first schema. */
	"CREATE TABLE users ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  username TEXT NOT NULL UNIQUE COLLATE NOCASE,"
	"  password_hash TEXT NOT NULL,"
	"  role TEXT NOT NULL CHECK (role IN ('admin', 'user')),"
	"  created_at INTEGER NOT NULL);"
	"CREATE TABLE sessions ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  token_hash TEXT NOT NULL UNIQUE,"
	"  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	"  created_at INTEGER NOT NULL,"
	"  expires_at INTEGER NOT NULL);"
	"CREATE INDEX sessions_user ON sessions(user_id);"
	"CREATE TABLE api_tokens ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  token_hash TEXT NOT NULL UNIQUE,"
	"  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	"  name TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  expires_at INTEGER);"
	"CREATE INDEX api_tokens_user ON api_tokens(user_id);"
	"CREATE TABLE networks ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  name TEXT NOT NULL UNIQUE,"
	"  ipv4_range TEXT NOT NULL,"
	"  ipv6_range TEXT,"
	"  listen_port INTEGER NOT NULL,"
	"  keepalive INTEGER NOT NULL,"
	"  mtu INTEGER NOT NULL,"
	"  default_policy TEXT NOT NULL CHECK (default_policy IN ('allow', 'deny')),"
	"  revision INTEGER NOT NULL DEFAULT 1,"
	"  created_at INTEGER NOT NULL);"
	"CREATE TABLE enrollment_keys ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  token_hash TEXT NOT NULL UNIQUE,"
	"  uses_remaining INTEGER CHECK (uses_remaining IS NULL OR uses_remaining >= 0),"
	"  unlimited INTEGER NOT NULL DEFAULT 0,"
	"  expires_at INTEGER,"
	"  created_at INTEGER NOT NULL);"
	"CREATE TABLE enrollment_key_networks ("
	"  key_id INTEGER NOT NULL REFERENCES enrollment_keys(id) ON DELETE CASCADE,"
	"  network_id INTEGER NOT NULL REFERENCES networks(id) ON DELETE CASCADE,"
	"  PRIMARY KEY (key_id, network_id));"
	"CREATE TABLE enrollment_key_tags ("
	"  key_id INTEGER NOT NULL REFERENCES enrollment_keys(id) ON DELETE CASCADE,"
	"  tag TEXT NOT NULL,"
	"  PRIMARY KEY (key_id, tag));"
	"CREATE TABLE hosts ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  name TEXT NOT NULL UNIQUE COLLATE NOCASE,"
	"  public_key TEXT NOT NULL UNIQUE,"
	"  listen_port INTEGER NOT NULL,"
	"  endpoint_override TEXT,"
	"  observed_ip TEXT,"
	"  os TEXT NOT NULL DEFAULT '',"
	"  version TEXT NOT NULL DEFAULT '',"
	"  token_hash TEXT NOT NULL UNIQUE,"
	"  revision INTEGER NOT NULL DEFAULT 1,"
	"  last_checkin INTEGER,"
	"  created_at INTEGER NOT NULL);"
	"CREATE TABLE host_local_endpoints ("
	"  host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,"
	"  address TEXT NOT NULL,"
	"  PRIMARY KEY (host_id, address));"
	"CREATE TABLE nodes ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,"
	"  network_id INTEGER NOT NULL REFERENCES networks(id) ON DELETE RESTRICT,"
	"  address TEXT NOT NULL,"
	"  address6 TEXT,"
	"  connected INTEGER NOT NULL DEFAULT 1,"
	"  created_at INTEGER NOT NULL,"
	"  UNIQUE (host_id, network_id),"
	"  UNIQUE (network_id, address),"
	"  UNIQUE (network_id, address6));"
	"CREATE INDEX nodes_network ON nodes(network_id);"
	/* What each change touched, so updates can be published as deltas. */
	"CREATE TABLE changes ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  action TEXT NOT NULL,"
	"  subject TEXT NOT NULL,"
	"  subject_host INTEGER,"
	"  at INTEGER NOT NULL);"
	"CREATE TABLE change_networks ("
	"  change_id INTEGER NOT NULL REFERENCES changes(id) ON DELETE CASCADE,"
	"  network_id INTEGER NOT NULL REFERENCES networks(id) ON DELETE CASCADE,"
	"  network_revision INTEGER NOT NULL,"
	"  PRIMARY KEY (change_id, network_id));"
	/* No foreign key on host_id: the record outlives a deleted host. */
	"CREATE TABLE change_hosts ("
	"  change_id INTEGER NOT NULL REFERENCES changes(id) ON DELETE CASCADE,"
	"  host_id INTEGER NOT NULL,"
	"  host_revision INTEGER NOT NULL,"
	"  PRIMARY KEY (change_id, host_id));"
	"CREATE INDEX change_hosts_host ON change_hosts(host_id, host_revision);"
	/* What each host last reported about its peers (check-ins). */
	"CREATE TABLE peer_stats ("
	"  host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,"
	"  peer_key TEXT NOT NULL,"
	"  last_handshake INTEGER NOT NULL,"
	"  rx_bytes INTEGER NOT NULL,"
	"  tx_bytes INTEGER NOT NULL,"
	"  endpoint TEXT,"
	"  updated_at INTEGER NOT NULL,"
	"  PRIMARY KEY (host_id, peer_key));"
	"CREATE TABLE audit_log ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  at INTEGER NOT NULL,"
	"  actor TEXT NOT NULL,"
	"  action TEXT NOT NULL,"
	"  target TEXT NOT NULL,"
	"  source_ip TEXT NOT NULL,"
	"  detail TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX audit_log_at ON audit_log(at);",

	/* 1 -> 2: gateways and external clients. */
	"ALTER TABLE nodes ADD COLUMN ingress INTEGER NOT NULL DEFAULT 0;"
	"CREATE TABLE egress_ranges ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  node_id INTEGER NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,"
	"  network_id INTEGER NOT NULL REFERENCES networks(id) ON DELETE CASCADE,"
	"  range TEXT NOT NULL,"
	"  nat INTEGER NOT NULL DEFAULT 1,"
	/* Set when the admin said this range wins over an overlapping one of another gateway. */
	"  wins INTEGER NOT NULL DEFAULT 0,"
	"  UNIQUE (node_id, range));"
	"CREATE INDEX egress_ranges_network ON egress_ranges(network_id);"
	"CREATE TABLE ext_clients ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  network_id INTEGER NOT NULL REFERENCES networks(id) ON DELETE CASCADE,"
	"  gateway_node_id INTEGER NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,"
	"  name TEXT NOT NULL,"
	"  public_key TEXT NOT NULL UNIQUE,"
	/* Only when the server generated the key pair: secretbox(nonce || ciphertext), base64. */
	"  private_key_enc TEXT,"
	"  address TEXT NOT NULL,"
	"  address6 TEXT,"
	"  dns TEXT NOT NULL DEFAULT '',"
	"  mtu INTEGER,"
	"  keepalive INTEGER,"
	"  full_tunnel INTEGER NOT NULL DEFAULT 0,"
	"  enabled INTEGER NOT NULL DEFAULT 1,"
	"  expires_at INTEGER,"
	"  owner_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,"
	"  created_at INTEGER NOT NULL,"
	"  UNIQUE (network_id, name),"
	"  UNIQUE (network_id, address),"
	"  UNIQUE (network_id, address6));"
	"CREATE INDEX ext_clients_gateway ON ext_clients(gateway_node_id);"
	"CREATE INDEX ext_clients_owner ON ext_clients(owner_user_id);"
	/* A site behind a client: extra ranges routed to it. */
	"CREATE TABLE ext_client_ranges ("
	"  client_id INTEGER NOT NULL REFERENCES ext_clients(id) ON DELETE CASCADE,"
	"  range TEXT NOT NULL,"
	"  PRIMARY KEY (client_id, range));",

	/* 2 -> 3: access control: host tags and rules between selectors. */
	"CREATE TABLE host_tags ("
	"  host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,"
	"  tag TEXT NOT NULL,"
	"  PRIMARY KEY (host_id, tag));"
	"CREATE INDEX host_tags_tag ON host_tags(tag);"
	"CREATE TABLE acl_rules ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  network_id INTEGER NOT NULL REFERENCES networks(id) ON DELETE CASCADE,"
	"  src_kind TEXT NOT NULL CHECK (src_kind IN ('any', 'node', 'tag', 'extclient')),"
	"  src_value TEXT NOT NULL DEFAULT '',"
	"  dst_kind TEXT NOT NULL CHECK (dst_kind IN ('any', 'node', 'tag', 'extclient', 'egress')),"
	"  dst_value TEXT NOT NULL DEFAULT '',"
	"  action TEXT NOT NULL CHECK (action IN ('allow', 'deny')),"
	"  proto TEXT NOT NULL DEFAULT 'any' CHECK (proto IN ('any', 'tcp', 'udp', 'icmp')),"
	"  port_from INTEGER,"
	"  port_to INTEGER,"
	"  created_at INTEGER NOT NULL);"
	"CREATE INDEX acl_rules_network ON acl_rules(network_id);",

	/* 3 -> 4: a node's newest handshake is looked up by the peer's key. */
	"CREATE INDEX peer_stats_peer ON peer_stats(peer_key);",

	/* 4 -> 5: custom DNS names of a network (node and ext client names are derived). */
	"CREATE TABLE dns_entries ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  network_id INTEGER NOT NULL REFERENCES networks(id) ON DELETE CASCADE,"
	/* Relative to the network, lower case: "db" is db.NETWORK. */
	"  name TEXT NOT NULL,"
	"  address TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  UNIQUE (network_id, name));",

	/*
	 * 5 -> 6: relays and the DNS server of a network. A relayed node
	 * reaches its network only through the node named by relayed_by (of
	 * the same network); deleting the relay's node un-relays it. A node
	 * with dns_server = 1 runs dnsmasq on its mesh address for the
	 * network (at most one per network).
	 */
	"ALTER TABLE nodes ADD COLUMN relayed_by INTEGER REFERENCES nodes(id) ON DELETE SET NULL;"
	"CREATE INDEX nodes_relayed_by ON nodes(relayed_by);"
	"ALTER TABLE nodes ADD COLUMN dns_server INTEGER NOT NULL DEFAULT 0;"
	"CREATE UNIQUE INDEX nodes_dns_server ON nodes(network_id) WHERE dns_server = 1;",

	/*
	 * 6 -> 7: how many peers of its network a node's host reported at its
	 * last check-in that listed its peers (NULL before one): the console's
	 * peer count, which knows ACLs, relays and ext clients because it is
	 * what the interface has.
	 */
	"ALTER TABLE nodes ADD COLUMN reported_peers INTEGER;",
};

const unsigned sqlite_n_migrations = sizeof(sqlite_migrations) / sizeof(sqlite_migrations[0]);
