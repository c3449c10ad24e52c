// Access control of one network (#/networks/NAME/acl): the default policy,
// the rules (list, add, delete) and the matrix of who can reach whom. The
// matrix comes from the server (GET /networks/NAME/acl/matrix), which
// computes it from the same policy that decides the peers: nothing here
// re-implements the rules.
import { api, enc } from '../api.js';
import { h, clear, table, section, badge, fmtTime, confirmDialog, toast } from '../dom.js';
import { field, form, input, select, values, actionButton } from '../forms.js';
import { tagBadges } from '../tags.js';

const KIND_LABEL = { any: 'any node', node: 'node', tag: 'tag', extclient: 'ext client', egress: 'egress range' };
const SRC_KINDS = ['any', 'node', 'tag', 'extclient'];
const DST_KINDS = ['any', 'node', 'tag', 'extclient', 'egress'];

const POLICY_HINT = {
	allow: 'Allow all: every pair of nodes gets a tunnel unless a rule denies it.',
	deny: 'Deny all: a pair of nodes needs an allow rule.',
};

export async function aclView(main, [name]) {
	const path = `/networks/${enc(name)}`;
	const policyBox = h('div', { class: 'policy' });
	const matrixBox = h('div');
	const rulesBox = h('div');
	const sub = h('p', { class: 'hint' });
	let nodeNames = new Map();
	let clientNames = new Map();

	const src = selectorField('src', 'From', SRC_KINDS);
	const dst = selectorField('dst', 'To', DST_KINDS);
	const proto = select('proto', ['any', 'tcp', 'udp', 'icmp']);
	const ruleForm = form({
		label: 'New ACL rule',
		submit: 'Add rule',
		cls: 'grid-form rule-form',
		fields: [
			src.el,
			dst.el,
			field('Action', select('action', ['allow', 'deny'])),
			field('Protocol', proto),
			field('Ports', input('ports', { placeholder: '5432 or 8000-8100', inputmode: 'numeric', autocapitalize: 'none' }),
				'tcp or udp only; empty: every port.'),
		],
		onSubmit: async (f) => {
			const v = values(f);
			const body = { src: src.value(), dst: dst.value(), action: v.action };
			if (v.proto !== 'any') body.proto = v.proto;
			if (v.ports) body.ports = v.ports;
			const r = await api.post(`${path}/acl/rules`, body);
			toast(`Rule ${r.id} added.`);
			f.elements.ports.value = '';
			await load();
		},
	});

	main.append(
		h('div', { class: 'page-head' },
			h('div', null, h('a', { href: `#/networks/${enc(name)}`, class: 'back' }, `← ${name}`),
				h('h1', null, 'Access control'), sub),
			h('div', { class: 'row-actions' }, actionButton('Refresh', () => load(), { cls: 'btn' }))),
		section('Default policy', policyBox),
		section('Who can reach whom', matrixBox),
		section('Rules', rulesBox),
		section('Add a rule', h('p', { class: 'hint' },
			'A rule without protocol and ports holds both ways and decides the tunnel; one with a protocol or ports holds from "From" to "To" only.'),
		ruleForm));

	async function load() {
		const [acl, matrix, nodes, clients] = await Promise.all([
			api.get(`${path}/acl`), api.get(`${path}/acl/matrix`), api.get(`${path}/nodes`),
			api.get(`/extclients?network=${enc(name)}`).catch(() => []),
		]);
		nodeNames = new Map(nodes.map((x) => [String(x.host_id), x.host_name]));
		clientNames = new Map(clients.map((c) => [String(c.id), c.name]));
		for (const s of [src, dst]) s.setOptions(nodes, clients);
		sub.textContent = `Network ${name} · ${nodes.length} node${nodes.length === 1 ? '' : 's'} · ${acl.rules.length} rule${acl.rules.length === 1 ? '' : 's'}`;
		renderPolicy(acl.default_policy);
		clear(matrixBox).append(matrixView(matrix));
		clear(rulesBox).append(table([
			{ title: '#', key: 'id' },
			{ title: 'From', render: (r) => selectorText(r.src) },
			{ title: 'To', render: (r) => selectorText(r.dst) },
			{ title: 'Action', render: (r) => badge(r.action, r.action === 'allow' ? 'ok' : 'deny') },
			{ title: 'Protocol / ports', render: (r) => h('code', null, limitText(r)) },
			{ title: 'Created', render: (r) => fmtTime(r.created_at) },
			{ title: 'Actions', class: 'actions-cell', render: (r) => h('div', { class: 'row-actions' }, actionButton('Delete', async () => {
				if (!await confirmDialog(`Delete rule ${r.id} (${r.action} ${plainSelector(r.src)} → ${plainSelector(r.dst)})?`)) return;
				await api.del(`${path}/acl/rules/${r.id}`);
				toast(`Rule ${r.id} deleted.`);
				await load();
			}, { cls: 'btn btn-small btn-danger' })) },
		], acl.rules.map((r) => ({ ...r, __key: r.id })), {
			empty: acl.default_policy === 'deny' ? 'No rules: no pair of nodes can reach each other.' : 'No rules: every pair of nodes can reach each other.',
		}));
	}

	function renderPolicy(current) {
		const choice = (value, label) => {
			const on = current === value;
			const b = actionButton(label, async () => {
				if (on) return;
				if (value === 'deny' && !await confirmDialog(
					`Switch ${name} to deny all? Every pair of nodes without an allow rule loses its tunnel at once.`,
					{ ok: 'Switch to deny all' })) return;
				await api.patch(path, { default_policy: value });
				toast(`${name}: default policy ${value}.`);
				await load();
			}, { cls: ['btn', 'seg', on ? `seg-on seg-${value}` : null].filter(Boolean).join(' '), where: policyBox });
			b.setAttribute('aria-pressed', String(on));
			b.dataset.policy = value;
			return b;
		};
		clear(policyBox).append(
			h('div', { class: 'segmented', role: 'group', 'aria-label': 'Default policy' }, choice('allow', 'Allow all'), choice('deny', 'Deny all')),
			h('p', { class: 'hint' }, POLICY_HINT[current] || ''));
	}

	function selectorText(sel) {
		let v = sel.value;
		if (sel.kind === 'node') v = nodeNames.get(sel.value) || `#${sel.value}`;
		if (sel.kind === 'extclient') v = clientNames.get(sel.value) || `#${sel.value}`;
		return h('span', { class: 'selector-text' }, h('span', { class: 'sel-kind' }, KIND_LABEL[sel.kind] || sel.kind),
			sel.kind === 'any' ? null : [' ', h('strong', { class: sel.kind === 'egress' ? 'mono' : null }, v)]);
	}

	function plainSelector(sel) {
		if (sel.kind === 'any') return 'any node';
		if (sel.kind === 'node') return nodeNames.get(sel.value) || `node ${sel.value}`;
		if (sel.kind === 'extclient') return clientNames.get(sel.value) || `ext client ${sel.value}`;
		return `${KIND_LABEL[sel.kind] || sel.kind} ${sel.value}`;
	}

	await load();
}

function limitText(r) {
	if (r.proto === 'any' && !r.ports) return 'any';
	return r.ports ? `${r.proto}/${r.ports}` : r.proto;
}

// A selector: its kind, then a node, an ext client or a text value (tag,
// CIDR) depending on the kind. One .field named `which`, so that the
// server's "src: ..." / "dst: ..." errors land next to it.
function selectorField(which, label, kinds) {
	const labelId = `${which}-label`;
	const kind = select(`${which}_kind`, kinds.map((k) => ({ value: k, label: KIND_LABEL[k] })), { 'aria-label': `${label}: kind` });
	const nodeSel = h('select', { name: `${which}_node`, 'aria-label': `${label}: node` });
	const clientSel = h('select', { name: `${which}_extclient`, 'aria-label': `${label}: ext client` });
	const text = input(`${which}_text`, { autocapitalize: 'none', spellcheck: 'false' });
	const sync = () => {
		const k = kind.value;
		nodeSel.hidden = nodeSel.disabled = k !== 'node';
		clientSel.hidden = clientSel.disabled = k !== 'extclient';
		text.hidden = text.disabled = k !== 'tag' && k !== 'egress';
		text.placeholder = k === 'egress' ? '172.31.77.0/24' : 'db';
		text.setAttribute('aria-label', `${label}: ${k === 'egress' ? 'range (CIDR)' : 'tag'}`);
	};
	kind.addEventListener('change', sync);
	sync();
	const el = h('div', { class: 'field selector', dataset: { field: which }, role: 'group', 'aria-labelledby': labelId },
		h('span', { class: 'label', id: labelId }, label),
		h('div', { class: 'selector-row' }, kind, nodeSel, clientSel, text),
		h('p', { class: 'field-error', 'aria-live': 'polite' }));
	const fill = (sel, items, empty) => {
		const keep = sel.value;
		clear(sel).append(...(items.length ? items.map(([v, t]) => h('option', { value: v, selected: v === keep }, t))
			: [h('option', { value: '' }, empty)]));
	};
	return {
		el,
		setOptions(nodes, clients) {
			fill(nodeSel, nodes.map((x) => [String(x.host_id), `${x.host_name} (${x.address})`]), 'no nodes');
			fill(clientSel, clients.map((c) => [String(c.id), c.name]), 'no ext clients');
		},
		value() {
			const k = kind.value;
			if (k === 'any') return { kind: k };
			if (k === 'node') return { kind: k, value: nodeSel.value };
			if (k === 'extclient') return { kind: k, value: clientSel.value };
			return { kind: k, value: text.value.trim() };
		},
	};
}

// --- the matrix ---------------------------------------------------------------

const ACCESS_TEXT = { allow: 'allow', deny: 'deny', limited: 'limited' };

function cellDetail(c) {
	if (c.access === 'limited') return [...c.allow, ...c.deny.map((x) => `not ${x}`)].join(', ');
	if (c.access === 'deny' && c.tunnel) return 'replies only';
	return '';
}

function cellTitle(from, to, c) {
	if (c.access === 'allow') return `${from} → ${to}: allowed`;
	if (c.access === 'limited') {
		const parts = [];
		if (c.allow.length) parts.push(`only ${c.allow.join(', ')}`);
		if (c.deny.length) parts.push(`not ${c.deny.join(', ')}`);
		return `${from} → ${to}: ${parts.join('; ')}`;
	}
	return c.tunnel ? `${from} → ${to}: peers, but ${from} may open nothing to ${to}` : `${from} → ${to}: no tunnel`;
}

function matrixView(m) {
	if (!m.nodes.length) return h('p', { class: 'empty' }, 'No nodes yet.');
	const names = m.nodes.map((n) => n.name);
	const rows = m.nodes.map((n, i) => h('tr', { dataset: { from: n.name } },
		h('th', { scope: 'row', class: 'matrix-name', title: `${n.name} · ${n.address}` }, n.name, tagBadges(n.tags)),
		m.cells[i].map((c, j) => {
			if (!c) return h('td', { class: 'cell cell-self', dataset: { from: n.name, to: names[j], access: 'self' }, 'aria-label': `${n.name} itself` }, '—');
			const detail = cellDetail(c);
			return h('td', {
				class: ['cell', `cell-${c.access}`, c.access === 'deny' && c.tunnel ? 'cell-tunnel' : null],
				dataset: { from: n.name, to: names[j], access: c.access },
				title: cellTitle(n.name, names[j], c),
			}, h('span', { class: 'cell-access' }, ACCESS_TEXT[c.access] || c.access),
			detail ? h('span', { class: 'cell-detail' }, detail) : null);
		})));
	return h('div', null,
		m.truncated ? h('p', { class: 'hint warn-text' }, `Showing the first ${m.nodes.length} of ${m.total_nodes} nodes (by name).`) : null,
		h('div', { class: 'matrix-wrap', tabindex: '0', role: 'region', 'aria-label': 'ACL matrix: rows from, columns to' },
			h('table', { class: 'matrix' },
				h('caption', null, 'Rows: from · columns: to'),
				h('thead', null, h('tr', null, h('th', { scope: 'col', class: 'matrix-corner' }, 'from ↓ to →'),
					m.nodes.map((n) => h('th', { scope: 'col', class: 'matrix-name', title: `${n.name} · ${n.address}` }, n.name)))),
				h('tbody', null, rows))),
		h('div', { class: 'legend' },
			h('span', null, h('span', { class: 'cell cell-allow' }, 'allow'), ' everything passes'),
			h('span', null, h('span', { class: 'cell cell-limited' }, 'limited'), ' only / not the protocols and ports listed'),
			h('span', null, h('span', { class: 'cell cell-deny' }, 'deny'), ' no tunnel, or replies only')));
}
