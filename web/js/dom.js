// DOM helpers. Text from the API only ever goes in as text nodes
// (createTextNode / textContent); nothing here parses HTML.

// h('tag', {props}, ...children): props are attributes, except
//   class      -> className (string or array, falsy entries dropped)
//   text       -> textContent
//   on<Event>  -> addEventListener (e.g. onclick, onsubmit, oninput)
//   dataset    -> element.dataset entries
//   checked / disabled / hidden / required / selected / multiple / readOnly
//              -> boolean properties
//   value      -> the value property
// Children: strings and numbers become text nodes, null/false/undefined are
// skipped, arrays are flattened.
const BOOL_PROPS = new Set(['checked', 'disabled', 'hidden', 'required', 'selected', 'multiple', 'readOnly', 'open']);

export function h(tag, props, ...children) {
	const el = document.createElement(tag);
	if (props) {
		for (const [k, v] of Object.entries(props)) {
			if (v === undefined || v === null || v === false && !BOOL_PROPS.has(k)) continue;
			if (k === 'class') {
				el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
			} else if (k === 'text') {
				el.textContent = String(v);
			} else if (k === 'dataset') {
				for (const [dk, dv] of Object.entries(v)) el.dataset[dk] = String(dv);
			} else if (k.startsWith('on') && typeof v === 'function') {
				el.addEventListener(k.slice(2).toLowerCase(), v);
			} else if (BOOL_PROPS.has(k)) {
				el[k] = Boolean(v);
			} else if (k === 'value') {
				el.value = String(v);
			} else {
				el.setAttribute(k, v === true ? '' : String(v));
			}
		}
	}
	append(el, children);
	return el;
}

export function append(el, children) {
	for (const c of children.flat(Infinity)) {
		if (c === null || c === undefined || c === false) continue;
		el.append(c instanceof Node ? c : document.createTextNode(String(c)));
	}
	return el;
}

export function clear(el) {
	while (el.firstChild) el.removeChild(el.firstChild);
	return el;
}

// --- formatting ------------------------------------------------------------

export function fmtTime(unix) {
	if (unix === null || unix === undefined) return '—';
	const d = new Date(unix * 1000);
	return d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

export function fmtAge(unix, now = Date.now() / 1000) {
	if (!unix) return 'never';
	let s = Math.round(now - unix);
	const future = s < 0;
	s = Math.abs(s);
	let out;
	if (s < 60) out = `${s} s`;
	else if (s < 3600) out = `${Math.floor(s / 60)} min`;
	else if (s < 86400) out = `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
	else out = `${Math.floor(s / 86400)} d`;
	return future ? `in ${out}` : `${out} ago`;
}

// A unix time as the value of an <input type="datetime-local"> (local time).
export function toLocalInput(unix) {
	if (!unix) return '';
	const d = new Date(unix * 1000);
	const p = (n) => String(n).padStart(2, '0');
	return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

export function fromLocalInput(value) {
	if (!value) return null;
	const t = new Date(value).getTime();
	return Number.isFinite(t) ? Math.floor(t / 1000) : null;
}

// --- common widgets --------------------------------------------------------

export function badge(text, kind) {
	return h('span', { class: ['badge', kind && `badge-${kind}`] }, text);
}

export function table(columns, rows, { empty = 'Nothing here yet.', caption } = {}) {
	if (!rows.length) return h('p', { class: 'empty' }, empty);
	return h('div', { class: 'table-wrap' },
		h('table', { class: 'table' },
			caption ? h('caption', null, caption) : null,
			h('thead', null, h('tr', null, columns.map((c) => h('th', { scope: 'col', class: c.class }, c.title)))),
			h('tbody', null, rows.map((r) => h('tr', { dataset: r.__key !== undefined ? { key: r.__key } : undefined },
				columns.map((c) => {
					const v = c.render ? c.render(r) : r[c.key];
					return h('td', { class: c.class, 'data-label': c.title }, v === null || v === undefined || v === '' ? '—' : v);
				}))))));
}

export function section(title, ...children) {
	return h('section', { class: 'card' }, title ? h('h2', null, title) : null, children);
}

export function toast(message, kind = 'ok') {
	const box = document.getElementById('toasts');
	const t = h('div', { class: ['toast', `toast-${kind}`] }, message);
	box.append(t);
	while (box.children.length > 3) box.firstElementChild.remove();
	setTimeout(() => t.remove(), kind === 'error' ? 8000 : 4000);
}

// Copy text to the clipboard: the async API where the page is a secure
// context, else the selection of a temporary text area.
export async function copyText(text) {
	if (navigator.clipboard && window.isSecureContext) {
		try {
			await navigator.clipboard.writeText(text);
			return true;
		} catch { /* fall back below */ }
	}
	const ta = h('textarea', { readonly: '', class: 'offscreen' });
	ta.value = text;
	document.body.append(ta);
	ta.select();
	let ok = false;
	try { ok = document.execCommand('copy'); } catch { ok = false; }
	ta.remove();
	return ok;
}

// A box showing a secret once, with a copy button.
export function secretBox(title, value, note) {
	const input = h('input', { type: 'text', readOnly: true, value, class: 'secret-value', 'aria-label': title, spellcheck: 'false' });
	const status = h('span', { class: 'copy-status', 'aria-live': 'polite' });
	const btn = h('button', {
		type: 'button', class: 'btn', onclick: async () => {
			const ok = await copyText(value);
			if (!ok) { input.select(); }
			status.textContent = ok ? 'Copied' : 'Press Ctrl+C to copy';
		},
	}, 'Copy');
	input.addEventListener('focus', () => input.select());
	return h('div', { class: 'secret', role: 'region', 'aria-label': title },
		h('strong', null, title),
		note ? h('p', { class: 'hint' }, note) : null,
		h('div', { class: 'secret-row' }, input, btn, status));
}

// A modal confirmation (a <dialog> element, not window.confirm).
export function confirmDialog(message, { ok = 'Delete', danger = true } = {}) {
	return new Promise((resolve) => {
		const dlg = h('dialog', { class: 'modal' },
			h('form', { method: 'dialog' },
				h('p', null, message),
				h('div', { class: 'actions' },
					h('button', { value: 'cancel', class: 'btn', type: 'submit' }, 'Cancel'),
					h('button', { value: 'ok', class: ['btn', danger ? 'btn-danger' : 'btn-primary'], type: 'submit' }, ok))));
		dlg.addEventListener('close', () => {
			resolve(dlg.returnValue === 'ok');
			dlg.remove();
		});
		document.body.append(dlg);
		dlg.showModal();
		dlg.querySelector('button[value="cancel"]').focus();
	});
}
