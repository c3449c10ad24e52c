// External clients: list, create, enable/disable, expiry, delete; the detail
// screen with a scannable QR code (a blob: URL of qr.png fetched with the
// session cookie) and a download of the wg-quick .conf.
import { api, enc, request } from '../api.js';
import { h, clear, table, section, badge, fmtTime, fmtAge, confirmDialog, toast, toLocalInput, fromLocalInput } from '../dom.js';
import { field, form, input, select, values, optInt, formDialog, actionButton } from '../forms.js';
import { state, go, onLeave } from '../app.js';
import { clientState } from './networks.js';

const isAdmin = () => state.me && state.me.role === 'admin';

function splitList(s) {
	return s.split(/[\s,]+/).map((x) => x.trim()).filter(Boolean);
}

async function setEnabled(c, enabled) {
	await api.patch(`/extclients/${c.id}`, { enabled });
	toast(`${c.name} ${enabled ? 'enabled' : 'disabled'}.`);
}

function expiryDialog(c) {
	return formDialog(`Expiry of ${c.name}`, (done) => {
		const clearBtn = actionButton('Never expire', async () => {
			await api.patch(`/extclients/${c.id}`, { expires_at: null });
			toast(`${c.name} no longer expires.`);
			done();
		});
		return form({
			label: 'Expiry',
			submit: 'Set expiry',
			fields: [field('Expires at', input('expires_at', { type: 'datetime-local', required: true, value: toLocalInput(c.expires_at) }))],
			extra: [clearBtn],
			onSubmit: async (f) => {
				await api.patch(`/extclients/${c.id}`, { expires_at: fromLocalInput(values(f).expires_at) });
				toast(`Expiry of ${c.name} set.`);
				done();
			},
		});
	});
}

export async function extclientsView(main, _params, query) {
	const admin = isAdmin();
	let nets = [];
	let users = [];
	if (admin) [nets, users] = await Promise.all([api.get('/networks'), api.get('/users').catch(() => [])]);
	const filter = query.get('network') || '';
	const list = h('div');
	const userName = new Map(users.map((u) => [u.id, u.username]));

	// The create form: admins pick the network and one of its ingress
	// gateways; users (who cannot list networks) type them in.
	let netField;
	let gwField;
	const gwSelect = select('gateway_host_id', [], { required: true });
	if (admin) {
		const netSelect = select('network', nets.map((n) => ({ value: n.name, label: n.name, selected: n.name === filter })), { required: true });
		const loadGateways = async () => {
			clear(gwSelect);
			if (!netSelect.value) return;
			const nodes = await api.get(`/networks/${enc(netSelect.value)}/nodes`);
			const gws = nodes.filter((x) => x.ingress);
			for (const g of gws) gwSelect.append(h('option', { value: g.host_id }, `${g.host_name} (${g.address})`));
			if (!gws.length) gwSelect.append(h('option', { value: '' }, 'no ingress gateway in this network'));
		};
		netSelect.addEventListener('change', () => loadGateways().catch(() => {}));
		netField = field('Network', netSelect);
		gwField = field('Ingress gateway', gwSelect, 'Make a node an ingress gateway on the network dashboard.');
		if (nets.length) await loadGateways();
	} else {
		netField = field('Network', input('network', { required: true, value: filter, autocapitalize: 'none' }));
		gwField = field('Gateway host ID', input('gateway_host_id', { type: 'number', min: 1, required: true, inputmode: 'numeric' }), 'Ask your administrator for the gateway.');
	}
	const fields = [
		netField, gwField,
		field('Name', input('name', { required: true, maxlength: 63, placeholder: 'alice-phone', autocapitalize: 'none' }), 'Letters, digits and -.'),
		field('DNS servers', input('dns', { placeholder: '1.1.1.1, 9.9.9.9' }), 'Optional, comma-separated.'),
		field('Extra allowed IPs', input('extra_allowed_ips', { placeholder: '192.168.50.0/24' }), 'Optional site ranges behind this client.'),
		field('Expires at', input('expires_at', { type: 'datetime-local' }), 'Optional.'),
		field('Full tunnel (route all traffic through the gateway)', h('input', { type: 'checkbox', name: 'full_tunnel' })),
		field('Enabled', h('input', { type: 'checkbox', name: 'enabled', checked: true })),
	];
	if (admin && users.length > 1) {
		fields.splice(2, 0, field('Owner', select('owner_user_id', users.map((u) => ({ value: u.id, label: `${u.username} (${u.role})`, selected: u.id === state.me.id })))));
	}
	const created = h('div');
	const f = form({
		label: 'New ext client',
		submit: 'Create client',
		cls: 'grid-form',
		fields,
		onSubmit: async (fm) => {
			const v = values(fm);
			const body = { network: v.network, gateway_host_id: optInt(v.gateway_host_id), name: v.name, full_tunnel: v.full_tunnel, enabled: v.enabled };
			const dns = splitList(v.dns);
			if (dns.length) body.dns = dns;
			const extra = splitList(v.extra_allowed_ips);
			if (extra.length) body.extra_allowed_ips = extra;
			const exp = fromLocalInput(v.expires_at);
			if (exp) body.expires_at = exp;
			if (v.owner_user_id && Number(v.owner_user_id) !== state.me.id) body.owner_user_id = Number(v.owner_user_id);
			const c = await api.post('/extclients', body);
			toast(`Ext client ${c.name} created.`);
			go(`#/extclients/${c.id}`);
		},
	});

	main.append(h('div', { class: 'page-head' }, h('h1', null, 'External clients'),
		filter ? h('a', { class: 'btn', href: '#/extclients' }, `Network ${filter} ✕`) : null),
	section('Clients', list),
	section('New client', f, created));

	async function load() {
		const clients = await api.get(`/extclients${filter ? `?network=${enc(filter)}` : ''}`);
		clear(list).append(table([
			{ title: 'Name', render: (c) => h('a', { href: `#/extclients/${c.id}`, class: 'strong' }, c.name) },
			{ title: 'Network', key: 'network' },
			{ title: 'Gateway', key: 'gateway_name' },
			{ title: 'Address', key: 'address', class: 'mono' },
			{ title: 'State', render: (c) => clientState(c) },
			{ title: 'Expires', render: (c) => (c.expires_at ? h('span', { title: fmtTime(c.expires_at) }, fmtAge(c.expires_at)) : 'never') },
			admin ? { title: 'Owner', render: (c) => (c.owner_user_id === null ? null : userName.get(c.owner_user_id) || `#${c.owner_user_id}`) } : null,
			{ title: 'Actions', class: 'actions-cell', render: (c) => h('div', { class: 'row-actions' },
				h('a', { class: 'btn btn-small', href: `#/extclients/${c.id}` }, 'QR / config'),
				actionButton(c.enabled ? 'Disable' : 'Enable', async () => { await setEnabled(c, !c.enabled); await load(); }, { cls: 'btn btn-small' }),
				actionButton('Expiry', async () => { if (await expiryDialog(c)) await load(); }, { cls: 'btn btn-small' }),
				actionButton('Delete', async () => {
					if (!await confirmDialog(`Delete ext client ${c.name}?`)) return;
					await api.del(`/extclients/${c.id}`);
					toast(`${c.name} deleted.`);
					await load();
				}, { cls: 'btn btn-small btn-danger' })) },
		].filter(Boolean), clients.map((c) => ({ ...c, __key: c.name })), { empty: 'No external clients.' }));
	}
	await load();
}

export async function extclientView(main, [id]) {
	let c = await api.get(`/extclients/${id}`);
	const info = h('div');
	const qrBox = h('div', { class: 'qr-box' });
	const actions = h('div', { class: 'row-actions' });
	const head = h('h1', null, c.name);
	main.append(
		h('div', { class: 'page-head' }, h('div', null, h('a', { href: '#/extclients', class: 'back' }, '← External clients'), head)),
		h('div', { class: 'two-col' },
			section('Scan with the WireGuard app', qrBox),
			section('Client', info, actions)));

	let blobUrl = null;
	onLeave(() => { if (blobUrl) URL.revokeObjectURL(blobUrl); });

	async function loadQr() {
		clear(qrBox);
		if (!c.has_private_key) {
			qrBox.append(h('p', { class: 'hint' }, 'This client brought its own key pair: the server has no private key, so there is no QR code or config to download.'));
			return;
		}
		qrBox.append(h('div', { class: 'spinner', role: 'progressbar', 'aria-label': 'Loading the QR code' }));
		try {
			const res = await request('GET', `/extclients/${c.id}/qr.png`, undefined, { raw: true });
			const blob = await res.blob();
			if (blobUrl) URL.revokeObjectURL(blobUrl);
			blobUrl = URL.createObjectURL(blob);
			const img = h('img', { class: 'qr', id: 'qr', src: blobUrl, alt: `QR code with the WireGuard configuration of ${c.name}`, width: 400, height: 400 });
			clear(qrBox).append(img,
				h('p', { class: 'hint' }, 'The QR code holds the private key: show it only to the device owner.'),
				h('div', { class: 'row-actions' },
					actionButton('Download .conf', () => downloadConf(c), { cls: 'btn btn-primary', title: `Download ${c.name}.conf` }),
					actionButton('Show config', async (b) => {
						const text = await api.get(`/extclients/${c.id}/config`);
						b.replaceWith(h('pre', { class: 'conf' }, text));
					}, { cls: 'btn' })));
		} catch (e) {
			clear(qrBox).append(h('p', { class: 'inline-error', role: 'alert' }, e.message));
		}
	}

	function renderInfo() {
		head.textContent = c.name;
		const dl = h('dl', { class: 'props' });
		const row = (k, v) => dl.append(h('dt', null, k), h('dd', null, v === null || v === undefined || v === '' ? '—' : v));
		row('State', clientState(c));
		row('Network', c.network);
		row('Gateway', `${c.gateway_name} (#${c.gateway_host_id})`);
		row('Address', [c.address, c.address6].filter(Boolean).join(', '));
		row('Public key', h('code', null, c.public_key));
		row('DNS', c.dns.join(', '));
		row('Tunnel', c.full_tunnel ? 'full (all traffic)' : 'split');
		row('Extra allowed IPs', c.extra_allowed_ips.join(', '));
		row('Expires', c.expires_at ? `${fmtTime(c.expires_at)} (${fmtAge(c.expires_at)})` : 'never');
		row('Created', fmtTime(c.created_at));
		clear(info).append(dl);
		clear(actions).append(
			actionButton(c.enabled ? 'Disable' : 'Enable', async () => {
				await setEnabled(c, !c.enabled);
				c = await api.get(`/extclients/${id}`);
				renderInfo();
			}, { cls: 'btn', where: actions }),
			actionButton('Set expiry', async () => {
				if (await expiryDialog(c)) { c = await api.get(`/extclients/${id}`); renderInfo(); }
			}, { cls: 'btn', where: actions }),
			actionButton('Delete', async () => {
				if (!await confirmDialog(`Delete ext client ${c.name}?`)) return;
				await api.del(`/extclients/${c.id}`);
				toast(`${c.name} deleted.`);
				go('#/extclients');
			}, { cls: 'btn btn-danger', where: actions }));
	}
	renderInfo();
	await loadQr();
}

async function downloadConf(c) {
	const res = await request('GET', `/extclients/${c.id}/config`, undefined, { raw: true });
	const blob = await res.blob();
	const cd = res.headers.get('Content-Disposition') || '';
	const m = /filename="?([A-Za-z0-9._-]+)"?/.exec(cd);
	const url = URL.createObjectURL(new Blob([blob], { type: 'application/octet-stream' }));
	const a = h('a', { href: url, download: m ? m[1] : `${c.name}.conf`, class: 'offscreen' });
	document.body.append(a);
	a.click();
	a.remove();
	setTimeout(() => URL.revokeObjectURL(url), 10000);
}
