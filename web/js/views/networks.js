// Networks: the list, create, edit, delete; the per-network dashboard with
// its nodes (rename host, edit its tags, remove node, egress and ingress
// gateway roles, relays, the DNS server node) and a link to its access
// control (views/acl.js).
import { api, enc } from '../api.js';
import { h, append, clear, table, section, badge, fmtTime, fmtAge, confirmDialog, toast } from '../dom.js';
import { field, form, input, select, values, optInt, formDialog, actionButton, showFieldError } from '../forms.js';
import { go, onLeave } from '../app.js';
import { parseTags, tagBadges, explainTagError } from '../tags.js';

function networkFields(n) {
	return [
		field('Listen port', input('listen_port', { type: 'number', min: 1, max: 65535, value: n ? n.listen_port : '', placeholder: '51821', inputmode: 'numeric' })),
		field('Keepalive (s)', input('keepalive', { type: 'number', min: 0, max: 3600, value: n ? n.keepalive : '', placeholder: '20', inputmode: 'numeric' })),
		field('MTU', input('mtu', { type: 'number', min: 1280, max: 9000, value: n ? n.mtu : '', placeholder: '1420', inputmode: 'numeric' })),
		field('Default policy', select('default_policy', [
			{ value: 'allow', label: 'allow', selected: !n || n.default_policy === 'allow' },
			{ value: 'deny', label: 'deny', selected: n && n.default_policy === 'deny' },
		])),
	];
}

function settingsBody(v) {
	const body = {};
	for (const k of ['listen_port', 'keepalive', 'mtu']) {
		const x = optInt(v[k]);
		if (x !== undefined) body[k] = x;
	}
	if (v.default_policy) body.default_policy = v.default_policy;
	return body;
}

export async function networksView(main) {
	const list = h('div', { class: 'list' });
	const createCard = section('New network', form({
		label: 'New network',
		submit: 'Create network',
		cls: 'grid-form',
		fields: [
			field('Name', input('name', { required: true, pattern: '[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?', maxlength: 32, placeholder: 'office', autocapitalize: 'none' }),
				'a-z, 0-9 and -, up to 32.'),
			field('IPv4 range', input('ipv4_range', { required: true, placeholder: '10.20.0.0/24', inputmode: 'decimal' })),
			field('IPv6 range', input('ipv6_range', { placeholder: 'fd00:20::/64 (optional)' })),
			...networkFields(null),
		],
		onSubmit: async (f) => {
			const v = values(f);
			const body = { name: v.name, ipv4_range: v.ipv4_range, ...settingsBody(v) };
			if (v.ipv6_range) body.ipv6_range = v.ipv6_range;
			const n = await api.post('/networks', body);
			toast(`Network ${n.name} created.`);
			f.reset();
			await load();
		},
	}));
	createCard.id = 'new-network';

	main.append(
		h('div', { class: 'page-head' }, h('h1', null, 'Networks')),
		section(null, list),
		createCard);

	async function load() {
		const nets = await api.get('/networks');
		clear(list).append(table([
			{ title: 'Name', render: (n) => h('a', { href: `#/networks/${enc(n.name)}`, class: 'strong' }, n.name) },
			{ title: 'IPv4', key: 'ipv4_range', class: 'mono' },
			{ title: 'IPv6', key: 'ipv6_range', class: 'mono' },
			{ title: 'Port', key: 'listen_port' },
			{ title: 'Policy', render: (n) => badge(n.default_policy, n.default_policy === 'allow' ? 'ok' : 'warn') },
			{ title: 'Revision', key: 'revision' },
			{ title: 'Created', render: (n) => fmtTime(n.created_at) },
			{ title: 'Actions', class: 'actions-cell', render: (n) => h('div', { class: 'row-actions' },
				h('a', { class: 'btn btn-small', href: `#/networks/${enc(n.name)}` }, 'Open'),
				actionButton('Delete', async () => {
					if (!await confirmDialog(`Delete network ${n.name}? This cannot be undone.`)) return;
					await api.del(`/networks/${enc(n.name)}`);
					toast(`Network ${n.name} deleted.`);
					await load();
				}, { cls: 'btn btn-small btn-danger' })) },
		], nets.map((n) => ({ ...n, __key: n.name })), { empty: 'No networks yet: create the first one below.' }));
	}
	await load();
}

// --- the dashboard -----------------------------------------------------------

export async function networkView(main, [name]) {
	const path = `/networks/${enc(name)}`;
	let net = await api.get(path);
	const stats = h('div', { class: 'stats' });
	const nodesBox = h('div');
	const clientsBox = h('div');
	const head = h('h1', null, name);
	const sub = h('p', { class: 'hint' });

	main.append(
		h('div', { class: 'page-head' },
			h('div', null, h('a', { href: '#/networks', class: 'back' }, '← Networks'), head, sub),
			h('div', { class: 'row-actions' },
				h('a', { class: 'btn', href: `#/networks/${enc(name)}/acl` }, 'Access control'),
				actionButton('Refresh', () => load(), { cls: 'btn' }))),
		stats,
		section('Nodes', nodesBox),
		section('External clients', clientsBox),
		section('Settings', form({
			label: 'Network settings',
			submit: 'Save settings',
			cls: 'grid-form',
			fields: networkFields(net),
			onSubmit: async (f) => {
				const body = settingsBody(values(f));
				if (body.default_policy === 'deny' && net.default_policy !== 'deny' && !await confirmDialog(
					`Switch ${name} to deny all? Every pair of nodes without an allow rule loses its tunnel at once.`,
					{ ok: 'Switch to deny all' })) return;
				net = await api.patch(path, body);
				toast(`Network ${name} saved (revision ${net.revision}).`);
				await load();
			},
		})),
		section('Delete network', h('p', { class: 'hint' }, 'A network can be deleted once it has no nodes and no enrollment key names it.'),
			h('div', { class: 'row-actions' }, actionButton('Delete network', async () => {
				if (!await confirmDialog(`Delete network ${name}? This cannot be undone.`)) return;
				await api.del(path);
				toast(`Network ${name} deleted.`);
				go('#/networks');
			}, { cls: 'btn btn-danger' }))));

	async function load() {
		const [n, nodes, hosts, clients] = await Promise.all([
			api.get(path), api.get(`${path}/nodes`), api.get('/hosts'),
			api.get(`/extclients?network=${enc(name)}`).catch(() => []),
		]);
		net = n;
		const hostById = new Map(hosts.map((x) => [x.id, x]));
		const nodeByHost = new Map(nodes.map((x) => [x.host_id, x]));
		const dnsNode = nodes.find((x) => x.dns_server);
		append(clear(sub), [
			`${n.ipv4_range}${n.ipv6_range ? ` · ${n.ipv6_range}` : ''} · port ${n.listen_port} · policy ${n.default_policy} · DNS `,
			h('span', { class: ['dns-address', n.dns_address && 'mono'], title: 'The mesh address of the network\'s DNS server node' }, n.dns_address || 'none'),
			n.dns_address && dnsNode ? ` (${dnsNode.host_name})` : null]);
		const online = nodes.filter((x) => x.online).length;
		const live = clients.filter((c) => c.enabled && !c.expired);
		// Full mesh among the nodes that are not relayed; a relayed node
		// peers only with its relay (which carries the others' traffic); an
		// ingress gateway also peers with its live ext clients.
		// That is only an estimate: access rules take pairs away. What a
		// host reported at its last check-in (NODE "peers") is what its
		// interface has, and wins wherever it is known.
		const direct = nodes.filter((x) => !x.relayed_by).length;
		const relayedCount = nodes.length - direct;
		const estimate = (x) => (x.relayed_by ? 1 : direct - 1 + (x.relay || []).length) +
			(x.ingress ? live.filter((c) => c.gateway_host_id === x.host_id).length : 0);
		const reported = nodes.length > 0 && nodes.every((x) => x.peers != null);
		// Each node pair is in both nodes' counts, each client in its gateway's only.
		const peerLinks = reported ? Math.round((nodes.reduce((t, x) => t + x.peers, 0) + live.length) / 2) :
			(direct * (direct - 1)) / 2 + relayedCount + live.length;
		const peersCell = (x) => (x.peers != null ?
			h('span', { class: 'peers-reported', title: 'As the host reported at its last check-in' }, String(x.peers)) :
			h('span', { class: 'peers-estimate', title: 'Estimate: no check-in with peers yet; access rules not counted' },
				String(estimate(x))));
		clear(stats).append(
			stat('Nodes', nodes.length), stat('Online', `${online} / ${nodes.length}`),
			stat('Peer links', peerLinks), stat('Ext clients', clients.length), stat('Revision', n.revision));
		const hasHandshake = nodes.some((x) => 'last_handshake' in x);
		clear(nodesBox).append(table([
			{ title: 'Host', render: (x) => h('span', { class: 'strong' }, x.host_name) },
			{ title: 'Address', class: 'mono', render: (x) => [x.address, x.address6 ? h('br') : null, x.address6] },
			{ title: 'Endpoint', class: 'mono', render: (x) => (hostById.get(x.host_id) || {}).endpoint },
			{ title: 'Status', render: (x) => badge(x.online ? 'online' : 'offline', x.online ? 'ok' : 'off') },
			{ title: 'Last check-in', render: (x) => h('span', { title: fmtTime(x.last_checkin) }, fmtAge(x.last_checkin)) },
			hasHandshake ? { title: 'Handshake', render: (x) => fmtAge(x.last_handshake) } : null,
			{ title: 'Peers', render: peersCell },
			{ title: 'Roles', render: (x) => roleBadges(x, nodeByHost) },
			{ title: 'Tags', render: (x) => tagsCell(x, hostById.get(x.host_id)) },
			{ title: 'Actions', class: 'actions-cell', render: (x) => nodeActions(x, hostById.get(x.host_id), nodes) },
		].filter(Boolean), nodes.map((x) => ({ ...x, __key: x.host_name })), {
			empty: 'No nodes yet: create an enrollment key and register a host with it.',
		}));
		clear(clientsBox).append(table([
			{ title: 'Name', render: (c) => h('a', { href: `#/extclients/${c.id}`, class: 'strong' }, c.name) },
			{ title: 'Address', key: 'address', class: 'mono' },
			{ title: 'Gateway', key: 'gateway_name' },
			{ title: 'State', render: (c) => clientState(c) },
		], clients, { empty: 'No external clients in this network.' }),
		h('p', null, h('a', { class: 'btn', href: `#/extclients?network=${enc(name)}` }, 'Manage ext clients')));
	}

	// The host's tags, with a button to edit them (they select ACL rules).
	function tagsCell(x, host) {
		const edit = actionButton('Edit', async () => {
			if (await editTags(host || { id: x.host_id, name: x.host_name, tags: [] })) await load();
		}, { cls: 'btn btn-small', title: 'Edit the tags (ACL rules select hosts by tag)' });
		edit.setAttribute('aria-label', `Edit the tags of ${x.host_name}`);
		return h('div', { class: 'row-actions tags-cell' }, tagBadges((host || {}).tags), edit);
	}

	function nodeActions(x, host, nodes) {
		const cell = h('div', { class: 'row-actions node-actions' });
		cell.append(
			actionButton('Rename', async () => {
				if (await renameHost(host || { id: x.host_id, name: x.host_name })) await load();
			}, { cls: 'btn btn-small', title: 'Rename the host' }),
			actionButton(x.egress.length ? 'Egress…' : 'Make egress', async () => {
				if (await egressDialog(path, x)) await load();
			}, { cls: 'btn btn-small' }),
			actionButton(x.ingress ? 'Remove ingress' : 'Make ingress', async () => {
				if (x.ingress) await api.del(`${path}/nodes/${x.host_id}/ingress`);
				else await api.put(`${path}/nodes/${x.host_id}/ingress`);
				toast(`${x.host_name} is ${x.ingress ? 'no longer' : 'now'} an ingress gateway.`);
				await load();
			}, { cls: 'btn btn-small', where: cell }),
			actionButton('Relay…', async () => {
				if (await relayDialog(path, x, nodes)) await load();
			}, { cls: 'btn btn-small', title: `Choose the nodes ${x.host_name} relays`, where: cell }),
			dnsToggle(x, nodes, cell),
			actionButton('Remove', async () => {
				if (!await confirmDialog(`Remove ${x.host_name} from ${name}? Its ext clients through this gateway are deleted too.`, { ok: 'Remove' })) return;
				await api.del(`${path}/nodes/${x.host_id}`);
				toast(`${x.host_name} removed from ${name}.`);
				await load();
			}, { cls: 'btn btn-small btn-danger', where: cell }));
		return cell;
	}

	// The DNS server role: at most one node per network. Moving it from
	// another node, or removing it, changes the DNS server of every host
	// and ext client of the network, so both ask first.
	function dnsToggle(x, nodes, cell) {
		const current = nodes.find((d) => d.dns_server);
		const b = actionButton('DNS server', async () => {
			if (x.dns_server) {
				if (!await confirmDialog(`Stop serving DNS from ${x.host_name}? Every host and ext client of ${name} that uses the network's DNS server loses it (${x.address}).`,
					{ ok: 'Remove DNS server' })) return;
				await api.del(`${path}/nodes/${x.host_id}/dns`);
				toast(`${x.host_name} is no longer the DNS server of ${name}.`);
			} else {
				if (current && current.host_id !== x.host_id && !await confirmDialog(
					`Move the DNS server of ${name} from ${current.host_name} to ${x.host_name}? Every host and ext client that uses the network's DNS server switches from ${current.address} to ${x.address}.`,
					{ ok: 'Move DNS server', danger: false })) return;
				await api.put(`${path}/nodes/${x.host_id}/dns`);
				toast(`${x.host_name} is now the DNS server of ${name} (${x.address}).`);
			}
			await load();
		}, {
			cls: 'btn btn-small btn-toggle',
			where: cell,
			title: x.dns_server ? `${x.host_name} is the network's DNS server: click to remove the role`
				: `Make ${x.host_name} the network's DNS server (it must run dnsmasq: the appliance's own node)`,
		});
		b.setAttribute('aria-pressed', x.dns_server ? 'true' : 'false');
		b.setAttribute('aria-label', `DNS server: ${x.host_name}`);
		return b;
	}

	await load();
	if (!main.isConnected) return; // the user has moved on meanwhile
	const timer = setInterval(() => {
		if (document.hidden || document.querySelector('dialog[open]')) return;
		load().catch(() => {});
	}, 15000);
	onLeave(() => clearInterval(timer));
}

function stat(label, value) {
	return h('div', { class: 'stat' }, h('span', { class: 'stat-value' }, String(value)), h('span', { class: 'stat-label' }, label));
}

export function clientState(c) {
	if (c.expired) return badge('expired', 'warn');
	return c.enabled ? badge('enabled', 'ok') : badge('disabled', 'off');
}

// The node's roles: gateway (ingress, egress), relay, relayed, DNS server.
function roleBadges(x, nodeByHost) {
	const hostName = (id) => (nodeByHost.get(id) || { host_name: `host ${id}` }).host_name;
	const out = [];
	if (x.dns_server) out.push(badge('DNS server', 'info'));
	if (x.ingress) out.push(badge('ingress', 'info'));
	if (x.egress.length) {
		const inet = x.egress.some((r) => r.range === '0.0.0.0/0');
		out.push(badge(inet ? 'internet gw' : `egress ×${x.egress.length}`, 'info'));
	}
	const relayed = (x.relay || []).map(hostName);
	if (relayed.length) {
		// A long list is cut short; the badge's title has all of it.
		const shown = relayed.length > 3 ? `${relayed.slice(0, 2).join(', ')} +${relayed.length - 2}` : relayed.join(', ');
		const b = badge(`relay for ${shown}`, 'info');
		b.title = `Relays ${relayed.join(', ')}`;
		out.push(b);
	}
	if (x.relayed_by) out.push(badge(`relayed by ${hostName(x.relayed_by)}`, 'warn'));
	return out.length ? h('span', { class: 'badges' }, out) : null;
}

function renameHost(host) {
	return formDialog(`Rename host ${host.name}`, (done) => form({
		label: 'Rename host',
		submit: 'Rename',
		fields: [field('Host name', input('name', { required: true, value: host.name, maxlength: 63, autocapitalize: 'none' }))],
		onSubmit: async (f) => {
			const v = values(f);
			await api.patch(`/hosts/${host.id}`, { name: v.name });
			toast(`Host renamed to ${v.name}.`);
			done();
		},
	}));
}

function editTags(host) {
	return formDialog(`Tags of ${host.name}`, (done) => form({
		label: 'Host tags',
		submit: 'Save tags',
		fields: [field('Tags', input('tags', { value: (host.tags || []).join(', '), placeholder: 'db, office', autocapitalize: 'none', spellcheck: 'false' }),
			'Comma-separated; ACL rules select hosts by tag. Empty: no tags.')],
		onSubmit: async (f) => {
			const tags = parseTags(values(f).tags);
			try {
				await api.patch(`/hosts/${host.id}`, { tags });
			} catch (e) {
				throw explainTagError(e, tags);
			}
			toast(tags.length ? `Tags of ${host.name}: ${tags.join(', ')}.` : `${host.name} has no tags now.`);
			done();
		},
	}));
}

function egressDialog(path, node) {
	const inetRanges = new Set(['0.0.0.0/0', '::/0']);
	const existing = node.egress.filter((r) => !inetRanges.has(r.range));
	const isInet = node.egress.some((r) => r.range === '0.0.0.0/0');
	return formDialog(`Egress gateway: ${node.host_name}`, (done) => {
		const rows = h('div', { class: 'ranges' });
		const addRow = (r = { range: '', nat: true }) => {
			const row = h('div', { class: 'range-row' },
				h('input', { type: 'text', class: 'range-cidr', value: r.range, placeholder: '192.168.1.0/24', 'aria-label': 'Range (CIDR)' }),
				h('label', { class: 'inline-check' }, h('input', { type: 'checkbox', class: 'range-nat', checked: r.nat !== false }), ' NAT'),
				h('button', { type: 'button', class: 'btn btn-small', 'aria-label': 'Remove range', onclick: () => row.remove() }, '✕'));
			rows.append(row);
		};
		for (const r of existing) addRow(r);
		if (!existing.length) addRow();
		const rangesField = h('div', { class: 'field', dataset: { field: 'ranges' } },
			h('span', { class: 'label' }, 'Ranges reachable through this node'),
			rows,
			h('button', { type: 'button', class: 'btn btn-small', onclick: () => addRow() }, '+ Add range'),
			h('p', { class: 'field-error', 'aria-live': 'polite' }));
		const extra = [];
		if (node.egress.length) {
			extra.push(actionButton('Remove egress role', async () => {
				await api.del(`${path}/nodes/${node.host_id}/egress`);
				toast(`${node.host_name} is no longer an egress gateway.`);
				done();
			}, { cls: 'btn btn-danger' }));
		}
		return form({
			label: 'Egress gateway',
			submit: 'Save egress',
			fields: [
				rangesField,
				field('Internet gateway (0.0.0.0/0 and ::/0 with NAT)', h('input', { type: 'checkbox', name: 'internet_gateway', checked: isInet })),
				field('Wins over overlapping ranges of other gateways', h('input', { type: 'checkbox', name: 'wins', checked: node.egress.some((r) => r.wins) })),
			],
			extra,
			onSubmit: async (f) => {
				const v = values(f);
				const ranges = [...rows.querySelectorAll('.range-row')]
					.map((row) => ({ range: row.querySelector('.range-cidr').value.trim(), nat: row.querySelector('.range-nat').checked }))
					.filter((r) => r.range);
				const body = { ranges };
				if (v.internet_gateway) body.internet_gateway = true;
				if (v.wins) body.wins = true;
				await api.put(`${path}/nodes/${node.host_id}/egress`, body);
				toast(`Egress saved for ${node.host_name}.`);
				done();
			},
		});
	});
}

// The nodes `node` relays: a checkbox per other node of the network. Saving
// PUTs the chosen set (it replaces the old one); none chosen DELETEs the
// role. The server refuses what cannot be (a relay relayed, a node relayed
// by another relay, ...): its message shows under the list, nothing changes.
function relayDialog(path, node, nodes) {
	const nameOf = new Map(nodes.map((x) => [x.host_id, x.host_name]));
	const mine = new Set(node.relay || []);
	const others = nodes.filter((x) => x.host_id !== node.host_id);
	return formDialog(`Relay: ${node.host_name}`, (done) => {
		const labelId = `relay-label-${node.host_id}`;
		const list = h('div', { class: 'relay-list', role: 'group', 'aria-labelledby': labelId },
			others.length ? others.map((x) => {
				let note = null;
				if (x.relayed_by && x.relayed_by !== node.host_id) note = `relayed by ${nameOf.get(x.relayed_by) || `host ${x.relayed_by}`}`;
				else if ((x.relay || []).length) note = 'a relay itself';
				return h('label', { class: 'relay-option' },
					h('input', { type: 'checkbox', name: 'relayed', value: x.host_id, checked: mine.has(x.host_id) }),
					h('span', { class: 'strong' }, x.host_name),
					h('span', { class: 'mono muted' }, x.address),
					note ? h('span', { class: 'hint' }, `(${note})`) : null);
			}) : h('p', { class: 'empty' }, 'No other nodes in this network.'));
		const relayedField = h('div', { class: 'field', dataset: { field: 'relayed' } },
			h('span', { class: 'label', id: labelId }, `Nodes that reach the network through ${node.host_name}`),
			list,
			h('p', { class: 'hint' }, 'A relayed node (e.g. behind a symmetric NAT) has the relay as its only peer in this network. None checked: it relays nobody.'),
			h('p', { class: 'field-error', 'aria-live': 'polite' }));
		const extra = [];
		if (mine.size) {
			extra.push(actionButton('Stop relaying', async () => {
				await api.del(`${path}/nodes/${node.host_id}/relay`);
				toast(`${node.host_name} relays nobody now.`);
				done();
			}, { cls: 'btn btn-danger' }));
		}
		const f = form({
			label: 'Relayed nodes',
			submit: 'Save relays',
			fields: [
				node.relayed_by ? h('p', { class: 'hint warn-text' },
					`${node.host_name} is relayed by ${nameOf.get(node.relayed_by) || `host ${node.relayed_by}`}: a relayed node cannot relay others.`) : null,
				relayedField,
			],
			extra,
			onSubmit: async (form_) => {
				const chosen = [...form_.querySelectorAll('input[name=relayed]:checked')].map((i) => Number(i.value));
				if (chosen.length === mine.size && chosen.every((id) => mine.has(id))) { done(); return; }
				try {
					if (chosen.length) await api.put(`${path}/nodes/${node.host_id}/relay`, { relayed: chosen });
					else await api.del(`${path}/nodes/${node.host_id}/relay`);
				} catch (e) {
					// Whatever the server refuses is about the list.
					if (showFieldError(form_, 'relayed', e.message || String(e))) return;
					throw e;
				}
				toast(chosen.length ? `${node.host_name} relays ${chosen.map((id) => nameOf.get(id) || id).join(', ')}.`
					: `${node.host_name} relays nobody now.`);
				done();
			},
		});
		return f;
	});
}
