// First-run setup and login.
import { api } from '../api.js';
import { h } from '../dom.js';
import { field, form, input, values } from '../forms.js';
import { signedIn } from '../app.js';

function authCard(title, intro, f) {
	return h('div', { class: 'auth' },
		h('div', { class: 'auth-card card' },
			h('div', { class: 'auth-brand' }, h('img', { src: 'img/logo.svg', alt: '', width: 40, height: 40 }), h('span', null, 'meshgate')),
			h('h1', null, title), intro ? h('p', { class: 'hint' }, intro) : null, f));
}

export async function setupView(main) {
	const f = form({
		label: 'First-run setup',
		submit: 'Create admin account',
		fields: [
			field('Setup token', input('setup_token', { required: true, autocomplete: 'off', spellcheck: 'false' }),
				'Printed in the server log at first start and stored in DATADIR/setup-token.'),
			field('Admin username', input('username', { required: true, autocomplete: 'username', value: 'admin' })),
			field('Password', input('password', { type: 'password', required: true, minlength: 10, maxlength: 256, autocomplete: 'new-password' }),
				'10 to 256 characters.'),
			field('Repeat password', input('password2', { type: 'password', required: true, autocomplete: 'new-password' })),
		],
		onSubmit: async (fm) => {
			const v = values(fm);
			if (v.password !== fm.elements.password2.value) {
				throw Object.assign(new Error('The passwords do not match.'), { field: 'password2' });
			}
			await api.post('/setup', { setup_token: v.setup_token, username: v.username, password: fm.elements.password.value });
			const login = await api.post('/login', { username: v.username, password: fm.elements.password.value });
			await signedIn(login);
		},
	});
	f.elements.password2.addEventListener('input', () => f.elements.password2.setCustomValidity(''));
	main.append(authCard('Welcome to meshgate', 'Create the first administrator account with the one-time setup token.', f));
	f.elements.setup_token.focus();
}

export async function loginView(main) {
	const f = form({
		label: 'Log in',
		submit: 'Log in',
		fields: [
			field('Username', input('username', { required: true, autocomplete: 'username', autocapitalize: 'none' })),
			field('Password', input('password', { type: 'password', required: true, autocomplete: 'current-password' })),
		],
		onSubmit: async (fm) => {
			const v = values(fm);
			const login = await api.post('/login', { username: v.username, password: fm.elements.password.value }, { quiet401: true });
			await signedIn(login);
		},
	});
	main.append(authCard('Log in', null, f));
	f.elements.username.focus();
}
