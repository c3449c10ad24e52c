// The REST API client. Authentication is the HttpOnly mg_session cookie set
// by POST /api/v1/login (the session token itself is never kept in JS); the
// CSRF value from the login answer is kept in sessionStorage and sent as
// X-CSRF-Token on every write.

const CSRF_KEY = 'meshgate.csrf';
const WRITE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export class ApiError extends Error {
	constructor(status, message) {
		super(message);
		this.status = status;
	}
}

export const csrf = {
	get: () => sessionStorage.getItem(CSRF_KEY),
	set: (v) => sessionStorage.setItem(CSRF_KEY, v),
	clear: () => sessionStorage.removeItem(CSRF_KEY),
};

// Listeners told when a request answers 401 (the session is gone).
const unauthorized = new Set();
export function onUnauthorized(fn) { unauthorized.add(fn); }

// The progress bar: shown while any request has been running for 150 ms.
let inflight = 0;
let showTimer = null;
function progress(delta) {
	inflight += delta;
	const bar = document.getElementById('progress');
	if (!bar) return;
	if (inflight > 0 && !showTimer && bar.hidden) {
		showTimer = setTimeout(() => { showTimer = null; if (inflight > 0) bar.hidden = false; }, 150);
	} else if (inflight === 0) {
		clearTimeout(showTimer);
		showTimer = null;
		bar.hidden = true;
	}
}

// request(method, path, body?, {raw, quiet401}) -> parsed JSON, null for 204,
// or the Response itself with raw: true. Throws ApiError with the server's
// {"error"} message.
export async function request(method, path, body, opts = {}) {
	const headers = { Accept: 'application/json' };
	const init = { method, headers, credentials: 'same-origin', cache: 'no-store', redirect: 'error' };
	if (body !== undefined) {
		headers['Content-Type'] = 'application/json';
		init.body = JSON.stringify(body);
	}
	if (WRITE.has(method)) {
		const c = csrf.get();
		if (c) headers['X-CSRF-Token'] = c;
	}
	let res;
	progress(1);
	try {
		res = await fetch(`/api/v1${path}`, init);
	} catch {
		throw new ApiError(0, 'Cannot reach the server.');
	} finally {
		progress(-1);
	}
	if (!res.ok) {
		let message = `${res.status} ${res.statusText}`;
		try {
			const j = await res.json();
			if (j && typeof j.error === 'string') message = j.error;
		} catch { /* not JSON */ }
		if (res.status === 429) {
			const after = res.headers.get('Retry-After');
			if (after) message += ` (try again in ${after} s)`;
		}
		if (res.status === 401 && !opts.quiet401) for (const fn of unauthorized) fn(message);
		throw new ApiError(res.status, message);
	}
	if (opts.raw) return res;
	if (res.status === 204) return null;
	const type = res.headers.get('Content-Type') || '';
	return type.includes('application/json') ? res.json() : res.text();
}

export const api = {
	get: (p, o) => request('GET', p, undefined, o),
	post: (p, b, o) => request('POST', p, b === undefined ? {} : b, o),
	put: (p, b, o) => request('PUT', p, b, o),
	patch: (p, b, o) => request('PATCH', p, b, o),
	del: (p, o) => request('DELETE', p, undefined, o),
};

export const enc = encodeURIComponent;
