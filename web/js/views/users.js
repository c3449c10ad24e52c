// Users (admins): list, create, change role, reset password, delete. A
// `user` has no nav item; opening #/users shows the API's 403.
import { api } from '../api.js';
import { h, clear, table, section, badge, fmtTime, confirmDialog, toast } from '../dom.js';
import { field, form, input, select, values, formDialog, actionButton } from '../forms.js';
import { state } from '../app.js';

const ROLES = ['user', 'admin'];

export async function usersView(main) {
	main.append(h('div', { class: 'page-head' }, h('h1', null, 'Users')));
	const users = await api.get('/users'); // 403 for a `user`: shown by the router
	const list = h('div');
	main.append(section('Accounts', list),
		section('New user', form({
			label: 'New user',
			submit: 'Create user',
			cls: 'grid-form',
			fields: [
				field('Username', input('username', { required: true, maxlength: 64, autocomplete: 'off', autocapitalize: 'none' })),
				field('Password', input('password', { type: 'password', required: true, minlength: 10, maxlength: 256, autocomplete: 'new-password' }), '10 to 256 characters.'),
				field('Role', select('role', ROLES)),
			],
			onSubmit: async (f) => {
				const v = values(f);
				const u = await api.post('/users', { username: v.username, password: f.elements.password.value, role: v.role });
				toast(`User ${u.username} created.`);
				f.reset();
				await load();
			},
		})));

	async function load(rows) {
		const all = rows || await api.get('/users');
		clear(list).append(table([
			{ title: 'Username', render: (u) => h('span', { class: 'strong' }, u.username) },
			{ title: 'Role', render: (u) => badge(u.role, u.role === 'admin' ? 'admin' : null) },
			{ title: 'Created', render: (u) => fmtTime(u.created_at) },
			{ title: 'Actions', class: 'actions-cell', render: (u) => h('div', { class: 'row-actions' },
				actionButton(u.role === 'admin' ? 'Make user' : 'Make admin', async () => {
					await api.patch(`/users/${u.id}`, { role: u.role === 'admin' ? 'user' : 'admin' });
					toast(`${u.username} is now ${u.role === 'admin' ? 'a user' : 'an admin'}.`);
					await load();
				}, { cls: 'btn btn-small' }),
				actionButton('Set password', async () => { await passwordDialog(u); }, { cls: 'btn btn-small' }),
				u.id === state.me.id ? null : actionButton('Delete', async () => {
					if (!await confirmDialog(`Delete user ${u.username}? Their sessions and API tokens stop working.`)) return;
					await api.del(`/users/${u.id}`);
					toast(`User ${u.username} deleted.`);
					await load();
				}, { cls: 'btn btn-small btn-danger' })) },
		], all.map((u) => ({ ...u, __key: u.username }))));
	}
	await load(users);
}

function passwordDialog(u) {
	return formDialog(`New password for ${u.username}`, (done) => form({
		label: 'Set password',
		submit: 'Set password',
		fields: [field('Password', input('password', { type: 'password', required: true, minlength: 10, maxlength: 256, autocomplete: 'new-password' }))],
		onSubmit: async (f) => {
			await api.patch(`/users/${u.id}`, { password: f.elements.password.value });
			toast(`Password of ${u.username} changed.`);
			done();
		},
	}));
}
