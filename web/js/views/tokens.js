// API tokens: the caller's own (admins see all), create (shown once, copy),
// revoke.
import { api } from '../api.js';
import { h, clear, table, section, fmtTime, confirmDialog, toast, secretBox } from '../dom.js';
import { field, form, input, select, values, actionButton } from '../forms.js';
import { state } from '../app.js';

const EXPIRY = [
	{ value: '', label: 'never' },
	{ value: String(86400), label: '1 day' },
	{ value: String(7 * 86400), label: '7 days' },
	{ value: String(30 * 86400), label: '30 days', selected: true },
	{ value: String(90 * 86400), label: '90 days' },
	{ value: String(365 * 86400), label: '1 year' },
];

export async function tokensView(main) {
	const list = h('div');
	const created = h('div', { class: 'created-secret' });
	let users = new Map();
	if (state.me.role === 'admin') {
		try { users = new Map((await api.get('/users')).map((u) => [u.id, u.username])); } catch { /* names only */ }
	}
	main.append(h('div', { class: 'page-head' }, h('h1', null, 'API tokens')),
		section('New token', form({
			label: 'New API token',
			submit: 'Create token',
			cls: 'grid-form',
			fields: [
				field('Name', input('name', { required: true, maxlength: 128, placeholder: 'ci deploy' })),
				field('Expires in', select('expires_in', EXPIRY)),
			],
			onSubmit: async (f) => {
				const v = values(f);
				const body = { name: v.name };
				if (v.expires_in) body.expires_in = Number(v.expires_in);
				const t = await api.post('/tokens', body);
				clear(created).append(secretBox(`Token “${t.name}”`, t.token, 'Shown only now: use it as "Authorization: Bearer TOKEN".'));
				toast('API token created.');
				f.reset();
				await load();
			},
		}), created),
		section('Tokens', list));

	async function load() {
		const tokens = await api.get('/tokens');
		clear(list).append(table([
			{ title: 'Name', render: (t) => h('span', { class: 'strong token-name' }, t.name) },
			users.size ? { title: 'User', render: (t) => users.get(t.user_id) || `#${t.user_id}` } : null,
			{ title: 'Created', render: (t) => fmtTime(t.created_at) },
			{ title: 'Expires', render: (t) => (t.expires_at ? fmtTime(t.expires_at) : 'never') },
			{ title: 'Actions', class: 'actions-cell', render: (t) => h('div', { class: 'row-actions' }, actionButton('Revoke', async () => {
				if (!await confirmDialog(`Revoke the token “${t.name}”?`, { ok: 'Revoke' })) return;
				await api.del(`/tokens/${t.id}`);
				toast('Token revoked.');
				await load();
			}, { cls: 'btn btn-small btn-danger' })) },
		].filter(Boolean), tokens.map((t) => ({ ...t, __key: t.id })), { empty: 'No API tokens.' }));
	}
	await load();
}
