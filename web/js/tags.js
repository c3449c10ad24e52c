// Tags of hosts and enrollment keys (they select ACL rules): parsing the
// comma-separated input, showing them, and naming the tag the server refused.
import { h, badge } from './dom.js';

// A tag is a DNS label; the server decides, this only finds the culprit.
const LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

export function parseTags(text) {
	return [...new Set(text.split(',').map((t) => t.trim()).filter(Boolean))];
}

export function tagBadges(tags) {
	return tags && tags.length ? h('span', { class: 'badges tags' }, tags.map((t) => badge(t, 'tag'))) : null;
}

// The server says "tags: must be ..." without saying which one: add the
// first tag that is not a label, and point the error at the tags field.
export function explainTagError(e, tags) {
	if (!e || !/^tags?:/.test(e.message || '')) return e;
	const bad = tags.find((t) => !LABEL.test(t));
	if (bad !== undefined) e.message = `${e.message} (“${bad}”)`;
	e.field = 'tags';
	return e;
}
