// The meshgate admin console: hash routing (#/networks, #/networks/NAME, ...),
// the session, the top bar. Each screen lives in views/*.js and renders
// into <main>.
import { api, csrf, onUnauthorized } from './api.js';
import { h, clear, toast } from './dom.js';
import { setupView, loginView } from './views/auth.js';
import { networksView, networkView } from './views/networks.js';
import { aclView } from './views/acl.js';
import { keysView } from './views/keys.js';
import { extclientsView, extclientView } from './views/extclients.js';
import { usersView } from './views/users.js';
import { tokensView } from './views/tokens.js';
import { auditView } from './views/audit.js';
import { accountView } from './views/account.js';

export const state = { me: null, setupNeeded: false };

const NAV = [
	{ href: '#/networks', label: 'Networks', admin: true },
	{ href: '#/keys', label: 'Enrollment keys', admin: true },
	{ href: '#/extclients', label: 'Ext clients' },
	{ href: '#/users', label: 'Users', admin: true },
	{ href: '#/tokens', label: 'API tokens' },
	{ href: '#/audit', label: 'Audit log', admin: true },
	{ href: '#/account', label: 'Account' },
];

// Routes: [regex, view, needs session]. Views get (main, params, query).
const ROUTES = [
	[/^\/setup$/, setupView, false],
	[/^\/login$/, loginView, false],
	[/^\/networks$/, networksView, true],
	[/^\/networks\/([a-z0-9-]+)$/, networkView, true],
	[/^\/networks\/([a-z0-9-]+)\/acl$/, aclView, true],
	[/^\/keys$/, keysView, true],
	[/^\/extclients$/, extclientsView, true],
	[/^\/extclients\/(\d+)$/, extclientView, true],
	[/^\/users$/, usersView, true],
	[/^\/tokens$/, tokensView, true],
	[/^\/audit$/, auditView, true],
	[/^\/account$/, accountView, true],
];

// Cleanup functions of the current screen (timers, blob URLs), run on leave.
let cleanups = [];
export function onLeave(fn) { cleanups.push(fn); }

export function homeRoute() {
	return state.me && state.me.role === 'admin' ? '#/networks' : '#/extclients';
}

export function go(hash) {
	if (location.hash === hash) render();
	else location.hash = hash;
}

function parseHash() {
	const raw = location.hash.replace(/^#/, '') || '/';
	const q = raw.indexOf('?');
	const path = q < 0 ? raw : raw.slice(0, q);
	const query = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
	return { path, query };
}

function renderChrome() {
	const bar = document.getElementById('topbar');
	const nav = document.getElementById('nav');
	const who = document.getElementById('whoami');
	clear(nav);
	clear(who);
	if (!state.me) {
		bar.hidden = true;
		return;
	}
	bar.hidden = false;
	const { path } = parseHash();
	const admin = state.me.role === 'admin';
	for (const item of NAV) {
		if (item.admin && !admin) continue;
		const active = path === item.href.slice(1) || path.startsWith(`${item.href.slice(1)}/`);
		nav.append(h('a', { href: item.href, class: active ? 'active' : null, 'aria-current': active ? 'page' : null }, item.label));
	}
	const logout = h('button', { type: 'button', class: 'btn btn-small', id: 'logout' }, 'Log out');
	logout.addEventListener('click', doLogout);
	who.append(h('span', { class: 'who-name', title: `Signed in as ${state.me.username}` }, state.me.username),
		h('span', { class: ['badge', admin ? 'badge-admin' : null] }, state.me.role), logout);
}

async function doLogout() {
	try {
		await api.post('/logout', undefined, { quiet401: true });
	} catch { /* the session may already be gone */ }
	csrf.clear();
	state.me = null;
	toast('Logged out.');
	go('#/login');
}

let renderSeq = 0;
export async function render() {
	const seq = ++renderSeq;
	for (const fn of cleanups.splice(0)) { try { fn(); } catch { /* ignore */ } }
	const main = document.getElementById('main');
	const { path, query } = parseHash();
	document.getElementById('nav').classList.remove('open');
	document.getElementById('nav-toggle').setAttribute('aria-expanded', 'false');

	if (state.setupNeeded && path !== '/setup') return go('#/setup');
	if (!state.setupNeeded && path === '/setup') return go(state.me ? homeRoute() : '#/login');

	let route = ROUTES.find(([re]) => re.test(path));
	if (!route) return go(state.me ? homeRoute() : '#/login');
	if (route[2] && !state.me) return go('#/login');
	if (path === '/login' && state.me) return go(homeRoute());

	renderChrome();
	// Each screen renders into its own container: a screen still loading
	// when the user moves on writes into a detached element, not the page.
	const view = h('div', { class: 'view' });
	clear(main).append(view);
	main.setAttribute('aria-busy', 'true');
	const params = path.match(route[0]).slice(1).map(decodeURIComponent);
	try {
		await route[1](view, params, query);
	} catch (e) {
		view.append(h('div', { class: 'error-panel', role: 'alert' }, h('strong', null, 'Error: '), e.message || String(e)));
	} finally {
		if (seq === renderSeq) main.removeAttribute('aria-busy');
	}
	if (seq === renderSeq) {
		const h1 = main.querySelector('h1');
		document.title = h1 ? `${h1.textContent} · meshgate` : 'meshgate';
	}
}

// Called by the login and setup screens once a session exists.
export async function signedIn(login) {
	csrf.set(login.csrf);
	state.me = login.user;
	state.setupNeeded = false;
	go(homeRoute());
}

async function boot() {
	onUnauthorized(() => {
		if (!state.me) return;
		state.me = null;
		csrf.clear();
		toast('Your session has ended: please log in again.', 'error');
		go('#/login');
	});
	document.getElementById('nav-toggle').addEventListener('click', (ev) => {
		const nav = document.getElementById('nav');
		const open = nav.classList.toggle('open');
		ev.currentTarget.setAttribute('aria-expanded', String(open));
	});
	try {
		const s = await api.get('/setup');
		state.setupNeeded = Boolean(s.needed);
	} catch (e) {
		const main = document.getElementById('main');
		clear(main).append(h('div', { class: 'error-panel', role: 'alert' }, `Cannot reach the server: ${e.message}`));
		return;
	}
	// A session cookie alone is not enough: writes need the CSRF value
	// from this tab's login, so without it the user logs in again.
	if (!state.setupNeeded && csrf.get()) {
		try {
			state.me = await api.get('/me', { quiet401: true });
		} catch {
			csrf.clear();
		}
	}
	window.addEventListener('hashchange', render);
	render();
}

boot();
