// The audit log, newest first, filtered by actor, action, since and limit
// (the filters live in the URL: #/audit?actor=user:admin&action=network.create).
import { api } from '../api.js';
import { h, clear, table, section, fmtTime, toLocalInput, fromLocalInput } from '../dom.js';
import { field, form, input, values } from '../forms.js';
import { go } from '../app.js';

export async function auditView(main, _params, query) {
	const list = h('div');
	const f = form({
		label: 'Filter the audit log',
		submit: 'Filter',
		cls: 'grid-form filters',
		fields: [
			field('Actor', input('actor', { value: query.get('actor') || '', placeholder: 'user:admin', autocapitalize: 'none' })),
			field('Action', input('action', { value: query.get('action') || '', placeholder: 'network.create', autocapitalize: 'none' })),
			field('Since', input('since', { type: 'datetime-local', value: query.get('since') ? toLocalInput(Number(query.get('since'))) : '' })),
			field('Limit', input('limit', { type: 'number', min: 1, max: 1000, value: query.get('limit') || 100, inputmode: 'numeric' })),
		],
		extra: [h('a', { class: 'btn', href: '#/audit' }, 'Clear')],
		onSubmit: async (fm) => {
			const v = values(fm);
			const q = new URLSearchParams();
			if (v.actor) q.set('actor', v.actor);
			if (v.action) q.set('action', v.action);
			const since = fromLocalInput(v.since);
			if (since) q.set('since', String(since));
			if (v.limit && v.limit !== '100') q.set('limit', v.limit);
			const s = q.toString();
			go(`#/audit${s ? `?${s}` : ''}`);
		},
	});
	main.append(h('div', { class: 'page-head' }, h('h1', null, 'Audit log')), section(null, f), section(null, list));

	const q = new URLSearchParams();
	for (const k of ['actor', 'action', 'since', 'limit']) if (query.get(k)) q.set(k, query.get(k));
	try {
		const rows = await api.get(`/audit${q.toString() ? `?${q}` : ''}`);
		const filterLink = (k, v) => {
			const nq = new URLSearchParams(q);
			nq.set(k, v);
			return h('a', { href: `#/audit?${nq}`, title: `Show only ${k} ${v}` }, v);
		};
		list.append(table([
			{ title: 'Time', render: (r) => fmtTime(r.at) },
			{ title: 'Actor', render: (r) => filterLink('actor', r.actor) },
			{ title: 'Action', render: (r) => filterLink('action', r.action) },
			{ title: 'Target', key: 'target' },
			{ title: 'Source', key: 'source_ip', class: 'mono' },
			{ title: 'Detail', key: 'detail' },
		], rows, { empty: 'No entries match.' }));
	} catch (e) {
		clear(list);
		// Bad filter values: show the error next to the filter form.
		const top = f.querySelector('.form-error');
		top.textContent = e.message;
		if (e.status === 401 || e.status === 403) throw e;
	}
}
