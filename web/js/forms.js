// Form building and error placement: an API error is shown next to the field
// it names (the server's messages start with or mention the field name,
// e.g. "ipv4_range overlaps network 'a'"), else at the top of the form.
import { h, clear } from './dom.js';

let uid = 0;

// field(label, input, hint?) -> <div class="field"> with label, input, hint
// and an error slot. The input's name is what API errors are matched on.
export function field(label, input, hint) {
	const id = input.id || `f${++uid}`;
	input.id = id;
	const err = h('p', { class: 'field-error', id: `${id}-err`, 'aria-live': 'polite' });
	input.setAttribute('aria-describedby', `${id}-err`);
	const wide = input.type === 'checkbox' || input.type === 'radio';
	if (wide) {
		return h('div', { class: 'field field-check', dataset: { field: input.name || '' } },
			h('label', { for: id }, input, h('span', null, label)),
			hint ? h('p', { class: 'hint' }, hint) : null, err);
	}
	return h('div', { class: 'field', dataset: { field: input.name || '' } },
		h('label', { for: id }, label), input,
		hint ? h('p', { class: 'hint' }, hint) : null, err);
}

export function input(name, props = {}) {
	return h('input', { name, type: 'text', autocomplete: 'off', ...props });
}

export function select(name, options, props = {}) {
	return h('select', { name, ...props },
		options.map((o) => (typeof o === 'string' ? h('option', { value: o }, o) : h('option', { value: o.value, selected: o.selected }, o.label))));
}

// form({onSubmit, submit, fields, ...}) -> <form>. onSubmit(form, values)
// is awaited with the submit button busy; an ApiError it throws is placed
// next to its field. Returns the <form>.
export function form({ onSubmit, submit = 'Save', fields = [], extra = [], cls, label }) {
	const top = h('p', { class: 'form-error', role: 'alert' });
	const btn = h('button', { type: 'submit', class: 'btn btn-primary' }, submit);
	const f = h('form', { class: ['form', cls], novalidate: true, 'aria-label': label },
		top, fields, h('div', { class: 'actions' }, btn, extra));
	f.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		clearErrors(f);
		if (!f.checkValidity()) {
			for (const el of f.elements) {
				if (el.willValidate && !el.checkValidity()) showFieldError(f, el.name, el.validationMessage);
			}
			return;
		}
		await busy(btn, async () => {
			try {
				await onSubmit(f);
			} catch (e) {
				showError(f, e);
			}
		});
	});
	return f;
}

export function clearErrors(f) {
	for (const e of f.querySelectorAll('.field-error, .form-error')) clear(e);
	for (const e of f.querySelectorAll('[aria-invalid]')) e.removeAttribute('aria-invalid');
}

export function showFieldError(f, name, message) {
	const el = name && f.querySelector(`.field[data-field="${CSS.escape(name)}"] .field-error`);
	if (!el) return false;
	el.textContent = message;
	const inp = f.querySelector(`[name="${CSS.escape(name)}"]`);
	if (inp) inp.setAttribute('aria-invalid', 'true');
	return true;
}

// Place an error next to the field its message names, else at the top.
export function showError(f, e) {
	const message = e && e.message ? e.message : String(e);
	if (e && e.field && showFieldError(f, e.field, message)) return;
	const names = [...f.querySelectorAll('.field[data-field]')].map((d) => d.dataset.field).filter(Boolean);
	// Longest names first so "ipv4_range" wins over "range".
	names.sort((a, b) => b.length - a.length);
	const mentions = (n) => [n, n.replace(/_/g, ' ')].some((w) => new RegExp(`(^|[^a-z0-9_])${w.replace(/[-]/g, '\\-')}([^a-z0-9_]|$)`, 'i').test(message));
	const hit = names.find(mentions);
	if (hit && showFieldError(f, hit, message)) return;
	const top = f.querySelector('.form-error');
	if (top) top.textContent = message;
}

// busy(button, fn): disable the button and show a spinner while fn runs.
export async function busy(btn, fn) {
	if (btn.disabled) return undefined;
	btn.disabled = true;
	btn.classList.add('busy');
	btn.setAttribute('aria-busy', 'true');
	try {
		return await fn();
	} finally {
		btn.disabled = false;
		btn.classList.remove('busy');
		btn.removeAttribute('aria-busy');
	}
}

// values(form) -> {name: value} of its named inputs (checkboxes: booleans).
export function values(f) {
	const out = {};
	for (const el of f.elements) {
		if (!el.name) continue;
		if (el.type === 'checkbox') out[el.name] = el.checked;
		else if (el.type === 'radio') { if (el.checked) out[el.name] = el.value; }
		else out[el.name] = el.value.trim();
	}
	return out;
}

// An inline action button: runs fn with a spinner; errors go to a toast-like
// message next to the button (in `where`, default the button's parent).
export function actionButton(label, fn, { cls = 'btn', where, title } = {}) {
	const b = h('button', { type: 'button', class: cls, title });
	b.textContent = label;
	b.addEventListener('click', () => busy(b, async () => {
		const slot = where || b.parentElement;
		const old = slot && slot.querySelector(':scope > .inline-error');
		if (old) old.remove();
		try {
			await fn(b);
		} catch (e) {
			if (slot && slot.isConnected) slot.append(h('p', { class: 'inline-error', role: 'alert' }, e.message || String(e)));
		}
	}));
	return b;
}

// formDialog(title, makeForm(done)) -> Promise<boolean>: a modal holding the
// form makeForm builds; its onSubmit calls done() once the change is saved.
export function formDialog(title, makeForm) {
	return new Promise((resolve) => {
		let result = false;
		const dlg = h('dialog', { class: 'modal', 'aria-label': title }, h('h2', null, title));
		const done = () => { result = true; dlg.close(); };
		const f = makeForm(done);
		const cancel = h('button', { type: 'button', class: 'btn' }, 'Cancel');
		cancel.addEventListener('click', () => dlg.close());
		f.querySelector('.actions').append(cancel);
		dlg.append(f);
		dlg.addEventListener('close', () => { dlg.remove(); resolve(result); });
		document.body.append(dlg);
		dlg.showModal();
		const first = f.querySelector('input:not([type=hidden]), select, textarea');
		if (first) first.focus();
	});
}

// Optional integer from a form value: '' -> undefined.
export function optInt(v) {
	if (v === '' || v === undefined || v === null) return undefined;
	const n = Number(v);
	return Number.isInteger(n) ? n : v; // let the server explain a bad value
}
