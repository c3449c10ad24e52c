// The signed-in user's account: change the password.
import { api } from '../api.js';
import { h, section, toast } from '../dom.js';
import { field, form, input } from '../forms.js';
import { state } from '../app.js';

export async function accountView(main) {
	const me = await api.get('/me');
	main.append(h('div', { class: 'page-head' }, h('h1', null, 'Account')),
		section(null, h('dl', { class: 'props' },
			h('dt', null, 'Username'), h('dd', null, me.username),
			h('dt', null, 'Role'), h('dd', null, me.role))),
		section('Change password', form({
			label: 'Change password',
			submit: 'Change password',
			fields: [
				field('Current password', input('current_password', { type: 'password', required: true, autocomplete: 'current-password' })),
				field('New password', input('new_password', { type: 'password', required: true, minlength: 10, maxlength: 256, autocomplete: 'new-password' }), '10 to 256 characters.'),
			],
			onSubmit: async (f) => {
				await api.post('/me/password', { current_password: f.elements.current_password.value, new_password: f.elements.new_password.value });
				toast('Password changed.');
				f.reset();
			},
		})));
	state.me = me;
}
