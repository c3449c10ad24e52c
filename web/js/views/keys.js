// Enrollment keys: list, create (uses / unlimited / until expiry), show the
// token once with a copy button, delete.
import { api } from '../api.js';
import { h, clear, table, section, badge, fmtTime, confirmDialog, toast, secretBox, fromLocalInput } from '../dom.js';
import { field, form, input, values, actionButton } from '../forms.js';
import { parseTags, tagBadges, explainTagError } from '../tags.js';

export async function keysView(main) {
	const [nets] = await Promise.all([api.get('/networks')]);
	const list = h('div');
	const created = h('div', { class: 'created-secret' });

	const netBoxes = nets.map((n) => h('label', { class: 'inline-check' },
		h('input', { type: 'checkbox', name: 'net', value: n.name, checked: nets.length === 1 }), ` ${n.name}`));
	const netsField = h('div', { class: 'field', dataset: { field: 'networks' } },
		h('span', { class: 'label' }, 'Networks'),
		nets.length ? h('div', { class: 'checks' }, netBoxes) : h('p', { class: 'hint' }, 'Create a network first.'),
		h('p', { class: 'field-error', 'aria-live': 'polite' }));
	const mode = (value, label, checked) => h('label', { class: 'inline-check' },
		h('input', { type: 'radio', name: 'mode', value, checked }), ` ${label}`);
	const usesInput = input('uses', { type: 'number', min: 1, value: 1, inputmode: 'numeric' });
	const f = form({
		label: 'New enrollment key',
		submit: 'Create key',
		cls: 'grid-form',
		fields: [
			netsField,
			h('div', { class: 'field', dataset: { field: 'unlimited' } },
				h('span', { class: 'label' }, 'Uses'),
				h('div', { class: 'checks' }, mode('uses', 'Limited', true), mode('unlimited', 'Unlimited', false), mode('expiry', 'Until it expires', false)),
				h('p', { class: 'field-error', 'aria-live': 'polite' })),
			field('Number of uses', usesInput),
			field('Expires at', input('expires_at', { type: 'datetime-local' }), 'Optional; required for "until it expires".'),
			field('Tags', input('tags', { placeholder: 'office, lab', autocapitalize: 'none', spellcheck: 'false' }),
				'Comma-separated, optional; hosts joining with the key get them (ACL rules select hosts by tag).'),
		],
		onSubmit: async (fm) => {
			const v = values(fm);
			const body = { networks: [...fm.querySelectorAll('input[name=net]:checked')].map((x) => x.value) };
			if (v.mode === 'uses') body.uses = Number(v.uses);
			if (v.mode === 'unlimited') body.unlimited = true;
			const exp = fromLocalInput(v.expires_at);
			if (exp) body.expires_at = exp;
			else if (v.mode === 'expiry') throw Object.assign(new Error('Pick the expiry time.'), { field: 'expires_at' });
			const tags = parseTags(v.tags);
			if (tags.length) body.tags = tags;
			let key;
			try {
				key = await api.post('/enrollment-keys', body);
			} catch (e) {
				throw explainTagError(e, tags);
			}
			clear(created).append(secretBox(`Enrollment key ${key.id}`, key.token,
				'Shown only now: copy it to the host (meshgate join TOKEN).'));
			toast(`Enrollment key ${key.id} created.`);
			await load();
		},
	});
	const syncUses = () => { usesInput.disabled = f.elements.mode.value !== 'uses'; };
	for (const r of f.querySelectorAll('input[name=mode]')) r.addEventListener('change', syncUses);

	main.append(h('div', { class: 'page-head' }, h('h1', null, 'Enrollment keys')),
		section('New key', f, created),
		section('Keys', list));

	async function load() {
		const keys = await api.get('/enrollment-keys');
		clear(list).append(table([
			{ title: 'ID', key: 'id' },
			{ title: 'Networks', render: (k) => k.networks.join(', ') },
			{ title: 'Uses left', render: (k) => (k.unlimited || k.uses_remaining === null ? badge('unlimited', 'info') : String(k.uses_remaining)) },
			{ title: 'Expires', render: (k) => (k.expires_at ? fmtTime(k.expires_at) : 'never') },
			{ title: 'Tags', render: (k) => tagBadges(k.tags) },
			{ title: 'Created', render: (k) => fmtTime(k.created_at) },
			{ title: 'Actions', class: 'actions-cell', render: (k) => h('div', { class: 'row-actions' }, actionButton('Delete', async () => {
				if (!await confirmDialog(`Delete enrollment key ${k.id}? Hosts can no longer join with it.`)) return;
				await api.del(`/enrollment-keys/${k.id}`);
				toast(`Enrollment key ${k.id} deleted.`);
				await load();
			}, { cls: 'btn btn-small btn-danger' })) },
		], keys.map((k) => ({ ...k, __key: k.id })), { empty: 'No enrollment keys.' }));
	}
	await load();
}
