// Browser tests of the meshgate admin console: Playwright (playwright-core)
// driving Debian's chromium against a real meshgated started by run.sh.
//
//   MG_BASE=http://127.0.0.1:PORT MG_DATA=DATADIR node --test console.test.mjs
//
// The steps run in order and share one browser; each main screen is
// screenshotted into tests/web/screenshots/ (light and dark, desktop and phone).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BASE = process.env.MG_BASE;
const DATA = process.env.MG_DATA;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SHOTS = process.env.MG_SCREENSHOTS || path.join(HERE, 'screenshots');
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-web-'));
const XSS = '<img src=x onerror=alert(1)>';
const ADMIN = { username: 'admin', password: 'correct horse battery' };
const USER = { username: 'bob', password: 'bob-password-123' };
const NET = 'lab';
const HOST = 'gw1';
const CLIENT = 'phone-1';

if (!BASE || !DATA) throw new Error('MG_BASE and MG_DATA must be set (tests/web/run.sh sets them)');
fs.mkdirSync(SHOTS, { recursive: true });

let browser;
let admin; // { ctx, page } for the admin's session
const problems = []; // CSP violations, page errors, unexpected dialogs
const s = {}; // state shared by the steps

// A browser context with the checks every page gets: a dialog (alert,
// confirm, ...) fails the run, as do script errors and CSP violations.
async function newPage(opts = {}) {
	const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 }, acceptDownloads: true, ...opts });
	const page = await ctx.newPage();
	page.on('dialog', async (d) => {
		problems.push(`a ${d.type()} dialog opened: ${d.message()}`);
		await d.dismiss().catch(() => {});
	});
	page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
	page.on('console', (m) => {
		if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) problems.push(`CSP: ${m.text()}`);
	});
	// Nothing may leave loopback.
	await ctx.route((url) => !url.href.startsWith(BASE) && !url.protocol.startsWith('blob') && !url.protocol.startsWith('data'), (r) => {
		problems.push(`request outside the server: ${r.request().url()}`);
		return r.abort();
	});
	page.setDefaultTimeout(8000);
	return { ctx, page };
}

async function shot(page, name) {
	await page.evaluate(() => document.fonts && document.fonts.ready);
	await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

async function gotoHash(page, hash, ready) {
	await page.goto(`${BASE}/${hash}`);
	if (ready) await page.locator(ready).first().waitFor();
}

function field(page, form, name) {
	return page.locator(`${form} .field[data-field="${name}"]`);
}

function zbar(file) {
	// With -Sbinary zbarimg writes the symbol's bytes exactly (no newline added).
	const out = execFileSync('zbarimg', ['--raw', '-q', '-Sbinary', file], { stdio: ['ignore', 'pipe', 'ignore'] });
	return out.toString('utf8');
}

async function login(page, who) {
	await gotoHash(page, '#/login', 'form[aria-label="Log in"]');
	await page.fill('input[name=username]', who.username);
	await page.fill('input[name=password]', who.password);
	await page.click('form[aria-label="Log in"] button[type=submit]');
	// Attached, not visible: on a phone it sits behind the menu button.
	await page.locator('#logout').waitFor({ state: 'attached' });
}

before(async () => {
	browser = await chromium.launch({
		executablePath: CHROMIUM,
		headless: true,
		// playwright gives the browser a fresh temporary --user-data-dir.
		args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
			'--disable-background-networking', '--disable-component-update', '--disable-sync'],
	});
	admin = await newPage();
});

after(async () => {
	if (browser) await browser.close();
	fs.rmSync(TMP, { recursive: true, force: true });
});

test('console is served with a strict CSP and the first-run setup screen', async () => {
	const { page } = admin;
	const res = await page.goto(`${BASE}/`);
	const csp = res.headers()['content-security-policy'] || '';
	assert.match(csp, /script-src 'self'/);
	assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
	assert.match(csp, /frame-ancestors 'none'/);
	assert.equal(res.headers()['x-content-type-options'], 'nosniff');
	await page.locator('form[aria-label="First-run setup"]').waitFor();
	assert.equal(new URL(page.url()).hash, '#/setup');
	// No inline scripts or style attributes in the shell.
	const html = await (await page.request.get(`${BASE}/index.html`)).text();
	assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/);
	assert.doesNotMatch(html, /\sstyle=/);
	await shot(page, '01-setup');

	// A wrong setup token is refused, with the message shown in the form.
	await page.fill('input[name=setup_token]', 'wrong-token');
	await page.fill('input[name=password]', ADMIN.password);
	await page.fill('input[name=password2]', ADMIN.password);
	await page.click('form[aria-label="First-run setup"] button[type=submit]');
	await assert.doesNotReject(page.locator('form[aria-label="First-run setup"] .form-error:has-text("setup token"), form[aria-label="First-run setup"] .field-error:has-text("setup token")').first().waitFor());

	const token = fs.readFileSync(path.join(DATA, 'setup-token'), 'utf8').trim();
	await page.fill('input[name=setup_token]', token);
	await page.fill('input[name=username]', ADMIN.username);
	await page.click('form[aria-label="First-run setup"] button[type=submit]');
	await page.locator('h1:text-is("Networks")').waitFor();
	assert.equal(fs.existsSync(path.join(DATA, 'setup-token')), false, 'setup token removed after setup');
	// The session token stays in the HttpOnly cookie: nothing in JS storage
	// but the CSRF value.
	const stored = await page.evaluate(() => JSON.stringify({ ...sessionStorage, ...localStorage }));
	assert.doesNotMatch(stored, /mgs_/);
	assert.equal(await page.evaluate(() => document.cookie), '', 'the session cookie is HttpOnly');
	const cookies = await admin.ctx.cookies();
	const sess = cookies.find((c) => c.name === 'mg_session');
	assert.ok(sess && sess.httpOnly && sess.sameSite === 'Strict');
});

test('log out and log in again', async () => {
	const { page } = admin;
	await page.click('#logout');
	await page.locator('form[aria-label="Log in"]').waitFor();
	assert.equal((await page.request.get(`${BASE}/api/v1/me`)).status(), 401, 'the session is gone after logout');
	await shot(page, '02-login');
	await page.fill('input[name=username]', ADMIN.username);
	await page.fill('input[name=password]', 'not the password');
	await page.click('form[aria-label="Log in"] button[type=submit]');
	await page.locator('form[aria-label="Log in"] :is(.field-error, .form-error):has-text("invalid username or password")').first().waitFor();
	await login(page, ADMIN);
	await page.locator('h1:text-is("Networks")').waitFor();
	assert.equal((await page.request.get(`${BASE}/api/v1/me`)).status(), 200);
});

test('networks: create, field errors, edit on the dashboard', async () => {
	const { page } = admin;
	await gotoHash(page, '#/networks', 'form[aria-label="New network"]');
	const f = 'form[aria-label="New network"]';
	await page.fill(`${f} input[name=name]`, NET);
	await page.fill(`${f} input[name=ipv4_range]`, '10.77.0.0/24');
	await page.click(`${f} button[type=submit]`);
	await page.locator(`tr[data-key="${NET}"]`).waitFor();

	// The server's error is placed next to the field it names.
	await page.fill(`${f} input[name=name]`, 'other');
	await page.fill(`${f} input[name=ipv4_range]`, '10.77.0.0/25');
	await page.click(`${f} button[type=submit]`);
	await field(page, f, 'ipv4_range').locator('.field-error:has-text("overlaps")').waitFor();
	assert.equal(await page.getAttribute(`${f} input[name=ipv4_range]`, 'aria-invalid'), 'true');
	await page.fill(`${f} input[name=ipv4_range]`, '10.78.0.0/24');
	await page.fill(`${f} input[name=mtu]`, '100');
	await page.click(`${f} button[type=submit]`);
	await field(page, f, 'mtu').locator('.field-error:not(:empty)').waitFor();
	await page.fill(`${f} input[name=mtu]`, '');
	await page.click(`${f} button[type=submit]`);
	await page.locator('tr[data-key="other"]').waitFor();
	await shot(page, '03-networks');

	// Delete with confirmation (Cancel keeps it, Delete removes it).
	await page.click('tr[data-key="other"] button:has-text("Delete")');
	await page.click('dialog[open] button[value=cancel]');
	assert.equal(await page.locator('tr[data-key="other"]').count(), 1);
	await page.click('tr[data-key="other"] button:has-text("Delete")');
	await page.click('dialog[open] button[value=ok]');
	await page.locator('tr[data-key="other"]').waitFor({ state: 'detached' });

	// Edit (PATCH) from the dashboard.
	await page.click(`tr[data-key="${NET}"] a:has-text("Open")`);
	const sf = 'form[aria-label="Network settings"]';
	await page.locator(sf).waitFor();
	await page.fill(`${sf} input[name=keepalive]`, '25');
	await page.click(`${sf} button[type=submit]`);
	await page.locator('.toast:has-text("saved")').waitFor();
	const net = await (await page.request.get(`${BASE}/api/v1/networks/${NET}`)).json();
	assert.equal(net.keepalive, 25);
	assert.equal(net.revision, 2);
});

test('enrollment keys: create, token shown once with a copy button', async () => {
	const { page } = admin;
	await gotoHash(page, '#/keys', 'form[aria-label="New enrollment key"]');
	const f = 'form[aria-label="New enrollment key"]';
	await page.check(`${f} input[name=net][value="${NET}"]`);
	await page.fill(`${f} input[name=uses]`, '3');
	await page.click(`${f} button[type=submit]`);
	const secret = page.locator('.secret .secret-value');
	await secret.waitFor();
	s.enrollToken = await secret.inputValue();
	assert.ok(s.enrollToken.length > 40);
	const decoded = JSON.parse(Buffer.from(s.enrollToken, 'base64url').toString());
	assert.match(decoded.key, /^mge_/);
	await page.click('.secret button:has-text("Copy")');
	await page.locator('.secret .copy-status:not(:empty)').waitFor();
	const keys = await (await page.request.get(`${BASE}/api/v1/enrollment-keys`)).json();
	assert.equal(keys.length, 1);
	await page.locator(`tr[data-key="${keys[0].id}"]:has-text("3")`).waitFor();
	// An unlimited key too, then delete it.
	await page.check(`${f} input[name=net][value="${NET}"]`);
	await page.check(`${f} input[name=mode][value=unlimited]`);
	assert.equal(await page.isDisabled(`${f} input[name=uses]`), true);
	await page.click(`${f} button[type=submit]`);
	await page.locator('tr:has-text("unlimited")').waitFor();
	await shot(page, '04-keys');
	await page.click('tr:has-text("unlimited") button:has-text("Delete")');
	await page.click('dialog[open] button[value=ok]');
	await page.locator('tr:has-text("unlimited")').waitFor({ state: 'detached' });
});

test('a host registered through the API is listed as a node on the dashboard', async () => {
	const { page } = admin;
	const pub = crypto.randomBytes(32).toString('base64');
	const res = await fetch(`${BASE}/api/v1/hosts/register`, {
		method: 'POST',
		headers: { 'Content-Type': 'application/json' },
		body: JSON.stringify({ token: s.enrollToken, public_key: pub, name: HOST, endpoint: '198.51.100.9:51821' }),
	});
	assert.equal(res.status, 201);
	const reg = await res.json();
	s.hostId = reg.host.id;
	s.hostToken = reg.host_token;
	// A second host that stays offline.
	const res2 = await fetch(`${BASE}/api/v1/hosts/register`, {
		method: 'POST',
		headers: { 'Content-Type': 'application/json' },
		body: JSON.stringify({ token: s.enrollToken, public_key: crypto.randomBytes(32).toString('base64'), name: 'laptop', endpoint: '203.0.113.7:51821' }),
	});
	assert.equal(res2.status, 201);
	// gw1 checks in: online, and it reports no peers at all (as under an
	// access rule that keeps laptop away).
	const ci = await fetch(`${BASE}/api/v1/hosts/self/checkin`, {
		method: 'POST',
		headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${s.hostToken}` },
		body: JSON.stringify({ peers: [] }),
	});
	assert.equal(ci.status, 200);

	await gotoHash(page, `#/networks/${NET}`, `tr[data-key="${HOST}"]`);
	const row = page.locator(`tr[data-key="${HOST}"]`);
	await row.locator('td:has-text("198.51.100.9:51821")').waitFor();
	await row.locator('td:has-text("10.77.0.")').waitFor();
	await row.locator('.badge:text-is("online")').waitFor();
	await row.locator('td:has-text("ago")').waitFor();
	await page.locator('tr[data-key="laptop"] .badge:text-is("offline")').waitFor();
	await page.locator('.stat:has-text("Nodes") .stat-value:text-is("2")').waitFor();
	await page.locator('.stat:has-text("Online") .stat-value:text-is("1 / 2")').waitFor();
	// Peers: what gw1 reported (0), not the estimate from the roles (1),
	// which laptop (no check-in) still shows, marked as such.
	await row.locator('td[data-label="Peers"] .peers-reported:text-is("0")').waitFor();
	await page.locator('tr[data-key="laptop"] td[data-label="Peers"] .peers-estimate:text-is("1")').waitFor();
	assert.match(await page.locator('tr[data-key="laptop"] .peers-estimate').getAttribute('title'), /^Estimate/);
	await shot(page, '05-dashboard');
});

test('nodes: rename, egress and ingress gateway from the UI', async () => {
	const { page } = admin;
	// Rename laptop -> laptop-2 (PATCH /hosts/{id}).
	await page.click('tr[data-key="laptop"] button:has-text("Rename")');
	await page.fill('dialog[open] input[name=name]', 'laptop-2');
	await page.click('dialog[open] button[type=submit]');
	await page.locator('tr[data-key="laptop-2"]').waitFor();
	// Remove it from the network (with confirmation).
	await page.click('tr[data-key="laptop-2"] button:has-text("Remove")');
	await page.click('dialog[open] button[value=ok]');
	await page.locator('tr[data-key="laptop-2"]').waitFor({ state: 'detached' });

	const row = page.locator(`tr[data-key="${HOST}"]`);
	// Egress: one range without NAT; a bad range is reported in the dialog.
	await row.locator('button:has-text("Make egress")').click();
	await page.fill('dialog[open] .range-cidr', '192.168.77.1/24');
	await page.click('dialog[open] button[type=submit]');
	await page.locator('dialog[open] .field[data-field="ranges"] .field-error:has-text("ranges[0]")').waitFor();
	await page.fill('dialog[open] .range-cidr', '192.168.77.0/24');
	await page.uncheck('dialog[open] .range-nat');
	await page.click('dialog[open] button[type=submit]');
	await row.locator('.badge:has-text("egress")').waitFor();
	let node = await (await page.request.get(`${BASE}/api/v1/networks/${NET}/nodes/${s.hostId}`)).json();
	assert.deepEqual(node.egress.map((r) => [r.range, r.nat]), [['192.168.77.0/24', false]]);
	// Unmake egress.
	await row.locator('button:has-text("Egress…")').click();
	await page.click('dialog[open] button:has-text("Remove egress role")');
	await row.locator('button:has-text("Make egress")').waitFor();
	// Ingress.
	await row.locator('button:has-text("Make ingress")').click();
	await row.locator('.badge:text-is("ingress")').waitFor();
	node = await (await page.request.get(`${BASE}/api/v1/networks/${NET}/nodes/${s.hostId}`)).json();
	assert.equal(node.ingress, true);
	assert.deepEqual(node.egress, []);
});

test('ext client: create in the UI, scannable QR equals the served .conf, download, disable', async () => {
	const { page } = admin;
	await gotoHash(page, `#/extclients?network=${NET}`, 'form[aria-label="New ext client"]');
	const f = 'form[aria-label="New ext client"]';
	await page.locator(`${f} select[name=gateway_host_id] option[value="${s.hostId}"]`).waitFor({ state: 'attached' });
	// A name the server refuses: the message lands next to the name field.
	await page.fill(`${f} input[name=name]`, 'bad name');
	await page.click(`${f} button[type=submit]`);
	await field(page, f, 'name').locator('.field-error:has-text("name:")').waitFor();
	await page.fill(`${f} input[name=name]`, CLIENT);
	await page.fill(`${f} input[name=dns]`, '10.77.0.1');
	await page.click(`${f} button[type=submit]`);
	await page.waitForURL(/#\/extclients\/\d+$/);
	s.clientId = Number(page.url().match(/(\d+)$/)[1]);
	const img = page.locator('img#qr');
	await img.waitFor();
	await page.waitForFunction(() => { const i = document.getElementById('qr'); return i && i.complete && i.naturalWidth > 0; });
	assert.match(await img.getAttribute('src'), /^blob:/);
	const box = await img.boundingBox();
	assert.ok(box.width >= 300 && box.height >= 300, `QR shown large enough (${box.width}x${box.height})`);
	await shot(page, '06-extclient-qr');

	const conf = await (await page.request.get(`${BASE}/api/v1/extclients/${s.clientId}/config`)).text();
	assert.match(conf, /^\[Interface\]/);
	assert.match(conf, /PrivateKey = /);
	assert.match(conf, /Endpoint = 198\.51\.100\.9:51821/);
	// The served PNG decodes to exactly the .conf ...
	const png = path.join(TMP, 'qr.png');
	fs.writeFileSync(png, await (await page.request.get(`${BASE}/api/v1/extclients/${s.clientId}/qr.png`)).body());
	assert.equal(zbar(png), conf);
	// ... and so does the image as the browser shows it.
	const crop = path.join(TMP, 'qr-crop.png');
	await img.screenshot({ path: crop });
	assert.equal(zbar(crop), conf);

	// The download button saves NAME.conf with the same content.
	const [dl] = await Promise.all([page.waitForEvent('download'), page.click('button:has-text("Download .conf")')]);
	assert.equal(dl.suggestedFilename(), `${CLIENT}.conf`);
	const saved = path.join(TMP, 'dl.conf');
	await dl.saveAs(saved);
	assert.equal(fs.readFileSync(saved, 'utf8'), conf);

	// Disable it.
	await page.click('.card button:text-is("Disable")');
	await page.locator('.props .badge:text-is("disabled")').waitFor();
	const c = await (await page.request.get(`${BASE}/api/v1/extclients/${s.clientId}`)).json();
	assert.equal(c.enabled, false);
	// Listed with its state; set an expiry from the list.
	await gotoHash(page, '#/extclients', `tr[data-key="${CLIENT}"]`);
	await page.locator(`tr[data-key="${CLIENT}"] .badge:text-is("disabled")`).waitFor();
	await page.click(`tr[data-key="${CLIENT}"] button:has-text("Expiry")`);
	await page.fill('dialog[open] input[name=expires_at]', '2099-01-01T12:00');
	await page.click('dialog[open] button[type=submit]');
	await page.locator(`tr[data-key="${CLIENT}"] td[data-label="Expires"]`).filter({ hasText: /^in \d+ d$/ }).waitFor();
	const c2 = await (await page.request.get(`${BASE}/api/v1/extclients/${s.clientId}`)).json();
	assert.ok(c2.expires_at > Date.now() / 1000);
	await shot(page, '07-extclients');
});

test('users: the admin creates a `user` account', async () => {
	const { page } = admin;
	await gotoHash(page, '#/users', 'form[aria-label="New user"]');
	const f = 'form[aria-label="New user"]';
	await page.fill(`${f} input[name=username]`, USER.username);
	await page.fill(`${f} input[name=password]`, 'short');
	await page.click(`${f} button[type=submit]`);
	await field(page, f, 'password').locator('.field-error:not(:empty)').waitFor();
	await page.fill(`${f} input[name=password]`, USER.password);
	await page.selectOption(`${f} select[name=role]`, 'user');
	await page.click(`${f} button[type=submit]`);
	await page.locator(`tr[data-key="${USER.username}"] .badge:text-is("user")`).waitFor();
	await shot(page, '08-users');
});

test('tokens: a token named like markup shows as text (no dialog, no <img>)', async () => {
	const { page } = admin;
	await gotoHash(page, '#/tokens', 'form[aria-label="New API token"]');
	const f = 'form[aria-label="New API token"]';
	await page.fill(`${f} input[name=name]`, XSS);
	await page.click(`${f} button[type=submit]`);
	await page.locator('.secret .secret-value').waitFor();
	const name = page.locator('td .token-name');
	await name.first().waitFor();
	assert.equal(await name.first().textContent(), XSS);
	assert.equal(await page.locator('img[src="x"]').count(), 0);
	await shot(page, '09-tokens');
	await page.reload();
	await page.locator('td .token-name').first().waitFor();
	assert.equal(await page.locator('img[src="x"]').count(), 0);
	await page.waitForTimeout(200);
	assert.deepEqual(problems, []);
});

test('audit log: filters by actor and action, markup shown as text', async () => {
	const { page } = admin;
	await gotoHash(page, '#/audit', 'table.table, p.empty');
	await page.locator(`td:text-is("${XSS}")`).first().waitFor();
	assert.equal(await page.locator('img[src="x"]').count(), 0);
	await shot(page, '10-audit');
	const f = 'form[aria-label="Filter the audit log"]';
	await page.fill(`${f} input[name=action]`, 'extclient.create');
	await page.click(`${f} button[type=submit]`);
	await page.waitForURL(/action=extclient\.create/);
	// The URL changes before the hashchange re-renders the list: wait for
	// the filtered rows rather than for any row (the old list may still be up).
	await waitColumn(page, 3, 'extclient.create');
	const actions = await page.locator('tbody tr td:nth-child(3)').allTextContents();
	assert.ok(actions.length >= 1 && actions.every((a) => a === 'extclient.create'), actions.join(','));
	// Click an actor to filter by it as well.
	await page.click('tbody tr td:nth-child(2) a');
	await page.waitForURL(/actor=user%3Aadmin/);
	await waitColumn(page, 2, 'user:admin');
	const actors = await page.locator('tbody tr td:nth-child(2)').allTextContents();
	assert.ok(actors.every((a) => a === 'user:admin'));
});

// Wait until the table's column n (1-based) has rows and all of them read `text`.
async function waitColumn(page, n, text) {
	await page.waitForFunction(([col, t]) => {
		const cells = [...document.querySelectorAll(`tbody tr td:nth-child(${col})`)];
		return cells.length > 0 && cells.every((td) => td.textContent === t);
	}, [n, text]);
}

// A write from the page's own session (cookie + the tab's CSRF value).
async function apiAs(page, method, p, body) {
	return page.evaluate(async ([m, url, b]) => {
		const res = await fetch(`/api/v1${url}`, {
			method: m,
			headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': sessionStorage.getItem('meshgate.csrf') },
			body: b === undefined ? undefined : JSON.stringify(b),
		});
		return { status: res.status, body: res.status === 204 ? null : await res.json() };
	}, [method, p, body]);
}

async function register(name, token) {
	const res = await fetch(`${BASE}/api/v1/hosts/register`, {
		method: 'POST',
		headers: { 'Content-Type': 'application/json' },
		body: JSON.stringify({ token, public_key: crypto.randomBytes(32).toString('base64'), name }),
	});
	assert.equal(res.status, 201, `register ${name}`);
	return (await res.json()).host;
}

// The matrix as the page shows it: {"from>to": access} for every cell.
async function shownMatrix(page) {
	return page.evaluate(() => Object.fromEntries([...document.querySelectorAll('table.matrix td.cell')]
		.map((td) => [`${td.dataset.from}>${td.dataset.to}`, td.dataset.access])));
}

async function waitMatrix(page, want) {
	const keys = Object.keys(want).sort();
	// Re-read the matrix until it is the one expected (bounded by the page's timeout).
	await page.waitForFunction(([w, k]) => {
		const cells = [...document.querySelectorAll('table.matrix td.cell')];
		if (cells.length !== k.length) return false;
		return cells.every((td) => w[`${td.dataset.from}>${td.dataset.to}`] === td.dataset.access);
	}, [want, keys]);
}

function matrixWant(names, allowPairs, other = 'deny') {
	const out = {};
	for (const a of names) {
		for (const b of names) {
			out[`${a}>${b}`] = a === b ? 'self' : allowPairs.some(([x, y]) => x === a && y === b) ? 'allow' : other;
		}
	}
	return out;
}

test('access control: deny-all matrix, allow rule in the UI, bad port, delete, policy toggle, tags as text', async () => {
	const { page } = admin;
	const ANET = 'acl';
	const NAMES = ['a1', 'a2', 'a3'];
	// A deny-all network, created in the UI.
	await gotoHash(page, '#/networks', 'form[aria-label="New network"]');
	const nf = 'form[aria-label="New network"]';
	await page.fill(`${nf} input[name=name]`, ANET);
	await page.fill(`${nf} input[name=ipv4_range]`, '10.79.0.0/24');
	await page.selectOption(`${nf} select[name=default_policy]`, 'deny');
	await page.click(`${nf} button[type=submit]`);
	await page.locator(`tr[data-key="${ANET}"] .badge:text-is("deny")`).waitFor();

	// An enrollment key with tags: markup in a tag is refused, and the
	// refusal shows the markup as text next to the tags field.
	await gotoHash(page, '#/keys', 'form[aria-label="New enrollment key"]');
	const kf = 'form[aria-label="New enrollment key"]';
	await page.check(`${kf} input[name=net][value="${ANET}"]`);
	await page.check(`${kf} input[name=mode][value=unlimited]`);
	await page.fill(`${kf} input[name=tags]`, `web, ${XSS}`);
	await page.click(`${kf} button[type=submit]`);
	const kerr = field(page, kf, 'tags').locator('.field-error');
	await kerr.filter({ hasText: XSS }).waitFor();
	assert.equal(await page.locator('img[src="x"]').count(), 0);
	await page.fill(`${kf} input[name=tags]`, 'web');
	await page.click(`${kf} button[type=submit]`);
	await page.locator('.secret .secret-value').waitFor();
	const token = await page.locator('.secret .secret-value').inputValue();
	const ids = {};
	for (const n of NAMES) {
		const host = await register(n, token);
		assert.deepEqual(host.tags, ['web'], "the key's tags are given to the host");
		ids[n] = host.id;
	}

	// The dashboard shows the tags; from there to the access control screen.
	await gotoHash(page, `#/networks/${ANET}`, 'tr[data-key="a1"]');
	await page.locator('tr[data-key="a1"] .badge-tag:text-is("web")').waitFor();
	await page.click('a:text-is("Access control")');
	await page.locator('h1:text-is("Access control")').waitFor();
	await page.locator('.segmented button[aria-pressed="true"]:text-is("Deny all")').waitFor();
	await waitMatrix(page, matrixWant(NAMES, []));
	assert.equal(await page.locator('table.matrix td.cell-deny').count(), 6);
	assert.equal(await page.locator('table.matrix td.cell-deny .cell-access:text-is("deny")').count(), 6, 'each cell says it in words too');

	// An allow rule between a1 and a2, made in the UI.
	const rf = 'form[aria-label="New ACL rule"]';
	await page.selectOption(`${rf} select[name=src_kind]`, 'node');
	await page.selectOption(`${rf} select[name=src_node]`, String(ids.a1));
	await page.selectOption(`${rf} select[name=dst_kind]`, 'node');
	await page.selectOption(`${rf} select[name=dst_node]`, String(ids.a2));
	await page.selectOption(`${rf} select[name=action]`, 'allow');
	await page.click(`${rf} button[type=submit]`);
	await waitMatrix(page, matrixWant(NAMES, [['a1', 'a2'], ['a2', 'a1']]));
	const ruleRow = page.locator('tbody tr:has(td[data-label="From"]:has-text("a1"))');
	await ruleRow.locator('td[data-label="To"]:has-text("a2")').waitFor();
	await ruleRow.locator('.badge:text-is("allow")').waitFor();
	// The server agrees: a1 and a2 are each other's only peers.
	const m = await (await page.request.get(`${BASE}/api/v1/networks/${ANET}/acl/matrix`)).json();
	assert.deepEqual(m.nodes.map((n) => n.name), NAMES);
	assert.deepEqual(m.cells[0][1], { access: 'allow', tunnel: true });
	assert.deepEqual(m.cells[0][2], { access: 'deny', tunnel: false });
	await shot(page, '17-acl');

	// A bad port: the server's error next to the ports field, nothing added.
	await page.selectOption(`${rf} select[name=src_kind]`, 'any');
	await page.selectOption(`${rf} select[name=dst_kind]`, 'tag');
	await page.fill(`${rf} input[name=dst_text]`, 'web');
	await page.selectOption(`${rf} select[name=proto]`, 'tcp');
	await page.fill(`${rf} input[name=ports]`, '70000');
	await page.click(`${rf} button[type=submit]`);
	await field(page, rf, 'ports').locator('.field-error:has-text("1-65535")').waitFor();
	assert.equal(await page.getAttribute(`${rf} input[name=ports]`, 'aria-invalid'), 'true');
	let acl = await (await page.request.get(`${BASE}/api/v1/networks/${ANET}/acl`)).json();
	assert.equal(acl.rules.length, 1, 'the bad rule was not added');
	// A selector the server refuses: the error is next to that selector.
	await page.selectOption(`${rf} select[name=proto]`, 'any');
	await page.fill(`${rf} input[name=ports]`, '');
	await page.fill(`${rf} input[name=dst_text]`, 'not a tag');
	await page.click(`${rf} button[type=submit]`);
	await field(page, rf, 'dst').locator('.field-error:has-text("dst")').waitFor();

	// A rule limited to tcp/5432 from a3 to a1: that cell is "limited" and
	// says so, the way back stays closed.
	await page.selectOption(`${rf} select[name=src_kind]`, 'node');
	await page.selectOption(`${rf} select[name=src_node]`, String(ids.a3));
	await page.selectOption(`${rf} select[name=dst_kind]`, 'node');
	await page.selectOption(`${rf} select[name=dst_node]`, String(ids.a1));
	await page.selectOption(`${rf} select[name=proto]`, 'tcp');
	await page.fill(`${rf} input[name=ports]`, '5432');
	await page.click(`${rf} button[type=submit]`);
	const limited = matrixWant(NAMES, [['a1', 'a2'], ['a2', 'a1']]);
	limited['a3>a1'] = 'limited';
	await waitMatrix(page, limited);
	const cell = page.locator('table.matrix td[data-from="a3"][data-to="a1"]');
	assert.equal(await cell.locator('.cell-access').textContent(), 'limited');
	assert.equal(await cell.locator('.cell-detail').textContent(), 'tcp/5432');
	await page.locator('table.matrix td[data-from="a1"][data-to="a3"] .cell-detail:text-is("replies only")').waitFor();
	const pgRow = page.locator('tbody tr:has(td[data-label="From"]:has-text("a3"))');
	await pgRow.locator('td[data-label="Protocol / ports"] code:text-is("tcp/5432")').waitFor();
	await shot(page, '17-acl-limited');
	await pgRow.locator('button:has-text("Delete")').click();
	await page.click('dialog[open] button[value=ok]');
	await waitMatrix(page, matrixWant(NAMES, [['a1', 'a2'], ['a2', 'a1']]));

	// Delete the rule (with confirmation): deny everywhere again.
	await ruleRow.locator('button:has-text("Delete")').click();
	await page.click('dialog[open] button[value=ok]');
	await waitMatrix(page, matrixWant(NAMES, []));
	await page.locator('.empty:has-text("No rules")').waitFor();
	acl = await (await page.request.get(`${BASE}/api/v1/networks/${ANET}/acl`)).json();
	assert.deepEqual(acl.rules, []);

	// The policy toggle: to allow at once, back to deny only after confirming.
	await page.click('.segmented button:text-is("Allow all")');
	await waitMatrix(page, matrixWant(NAMES, [], 'allow'));
	await page.click('.segmented button:text-is("Deny all")');
	await page.locator('dialog[open]:has-text("deny all")').waitFor();
	await page.click('dialog[open] button[value=cancel]');
	await page.locator('dialog[open]').waitFor({ state: 'detached' });
	assert.equal((await (await page.request.get(`${BASE}/api/v1/networks/${ANET}`)).json()).default_policy, 'allow');
	await page.click('.segmented button:text-is("Deny all")');
	await page.click('dialog[open] button[value=ok]');
	await waitMatrix(page, matrixWant(NAMES, []));
	assert.equal((await (await page.request.get(`${BASE}/api/v1/networks/${ANET}`)).json()).default_policy, 'deny');

	// Host tags from the node row: markup is refused and shown as text.
	await page.click('a.back');
	await page.locator('tr[data-key="a3"]').waitFor();
	await page.click('tr[data-key="a3"] td[data-label="Tags"] button:text-is("Edit")');
	await page.fill('dialog[open] input[name=tags]', `db, ${XSS}`);
	await page.click('dialog[open] button[type=submit]');
	const terr = page.locator('dialog[open] .field[data-field="tags"] .field-error');
	await terr.filter({ hasText: XSS }).waitFor();
	assert.ok((await terr.textContent()).includes(XSS));
	assert.equal(await page.locator('img[src="x"]').count(), 0);
	await page.fill('dialog[open] input[name=tags]', 'db, web');
	await page.click('dialog[open] button[type=submit]');
	await page.locator('tr[data-key="a3"] .badge-tag:text-is("db")').waitFor();
	const host = await (await page.request.get(`${BASE}/api/v1/hosts/${ids.a3}`)).json();
	assert.deepEqual(host.tags, ['db', 'web']);
	// A tag rule then opens a3 to everyone.
	const r = await apiAs(page, 'POST', `/networks/${ANET}/acl/rules`, { src: { kind: 'tag', value: 'db' }, dst: { kind: 'any' }, action: 'allow' });
	assert.equal(r.status, 201);
	await gotoHash(page, `#/networks/${ANET}/acl`, 'table.matrix');
	await waitMatrix(page, matrixWant(NAMES, [['a3', 'a1'], ['a1', 'a3'], ['a3', 'a2'], ['a2', 'a3']]));
	await page.locator('table.matrix tr[data-from="a3"] th .badge-tag:text-is("db")').waitFor();
	await page.locator('tbody tr:has(td[data-label="From"]:has-text("tag db"))').waitFor();
	assert.equal(await page.locator('img[src="x"]').count(), 0);

	// On a phone: the page does not scroll sideways, the matrix does.
	for (const scheme of ['light', 'dark']) {
		const phone = await newPage({ viewport: { width: 390, height: 844 }, colorScheme: scheme, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
		await login(phone.page, ADMIN);
		await gotoHash(phone.page, `#/networks/${ANET}/acl`, 'table.matrix');
		await waitMatrix(phone.page, matrixWant(NAMES, [['a3', 'a1'], ['a1', 'a3'], ['a3', 'a2'], ['a2', 'a3']]));
		const overflow = await phone.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
		assert.ok(overflow <= 1, `ACL screen is ${overflow}px wider than the phone screen`);
		const wrap = await phone.page.evaluate(() => getComputedStyle(document.querySelector('.matrix-wrap')).overflowX);
		assert.equal(wrap, 'auto');
		await shot(phone.page, `18-phone-acl-${scheme}`);
		await phone.ctx.close();
	}
	assert.deepEqual(problems, []);
});

test('relays and the DNS server node from the dashboard', async () => {
	const { page } = admin;
	const RNET = 'relay';
	let r = await apiAs(page, 'POST', '/networks', { name: RNET, ipv4_range: '10.81.0.0/24' });
	assert.equal(r.status, 201);
	r = await apiAs(page, 'POST', '/enrollment-keys', { networks: [RNET], unlimited: true });
	assert.equal(r.status, 201);
	const ids = {};
	for (const n of ['ha', 'hb', 'hc']) ids[n] = (await register(n, r.body.token)).id;
	const node = async (n) => (await page.request.get(`${BASE}/api/v1/networks/${RNET}/nodes/${ids[n]}`)).json();
	const network = async () => (await page.request.get(`${BASE}/api/v1/networks/${RNET}`)).json();
	const row = (n) => page.locator(`tr[data-key="${n}"]`);
	const dlg = 'dialog[open]';
	const relayError = page.locator(`${dlg} .field[data-field="relayed"] .field-error`);

	await gotoHash(page, `#/networks/${RNET}`, 'tr[data-key="hc"]');
	await page.locator('.page-head .dns-address:text-is("none")').waitFor();
	assert.match(await page.locator('.page-head p.hint').textContent(), /· DNS none$/);

	// ha relays hc: the dialog lists the two other nodes, not ha itself.
	await row('ha').locator('button:text-is("Relay…")').click();
	await page.locator(`${dlg} .relay-list`).waitFor();
	assert.equal(await page.locator(`${dlg} input[name=relayed]`).count(), 2);
	assert.equal(await page.locator(`${dlg} input[name=relayed][value="${ids.ha}"]`).count(), 0);
	await page.check(`${dlg} input[name=relayed][value="${ids.hc}"]`);
	await page.click(`${dlg} button[type=submit]`);
	await page.locator(dlg).waitFor({ state: 'detached' });
	await row('ha').locator('.badge:text-is("relay for hc")').waitFor();
	await row('hc').locator('.badge:text-is("relayed by ha")').waitFor();
	let a = await node('ha');
	let c = await node('hc');
	assert.deepEqual(a.relay, [ids.hc]);
	assert.equal(a.relayed_by, null);
	assert.equal(c.relayed_by, ids.ha);
	assert.deepEqual(c.relay, []);
	// The peer counts follow: hc has only its relay; ha also has hb.
	await row('hc').locator('td[data-label="Peers"] .peers-estimate:text-is("1")').waitFor();
	await row('ha').locator('td[data-label="Peers"] .peers-estimate:text-is("2")').waitFor();
	await row('hb').locator('td[data-label="Peers"] .peers-estimate:text-is("1")').waitFor();
	await shot(page, '19-relay');

	// hc (relayed by ha) relaying ha (a relay): refused with 409, the API's
	// message under the list, nothing changed.
	await row('hc').locator('button:text-is("Relay…")').click();
	await page.locator(`${dlg} .warn-text:has-text("relayed by ha")`).waitFor();
	await page.check(`${dlg} input[name=relayed][value="${ids.ha}"]`);
	await page.click(`${dlg} button[type=submit]`);
	await relayError.filter({ hasText: /relay/ }).waitFor();
	const refused = await apiAs(page, 'PUT', `/networks/${RNET}/nodes/${ids.hc}/relay`, { relayed: [ids.ha] });
	assert.equal(refused.status, 409);
	assert.equal(await relayError.textContent(), refused.body.error);
	await shot(page, '19-relay-409');
	await page.click(`${dlg} button:text-is("Cancel")`);
	await page.locator(dlg).waitFor({ state: 'detached' });
	a = await node('ha');
	c = await node('hc');
	assert.deepEqual(a.relay, [ids.hc]);
	assert.equal(a.relayed_by, null);
	assert.equal(c.relayed_by, ids.ha);
	assert.deepEqual(c.relay, []);

	// hb relaying hc (already relayed by ha): 409 as well.
	await row('hb').locator('button:text-is("Relay…")').click();
	await page.locator(`${dlg} .relay-option:has-text("hc") .hint:text-is("(relayed by ha)")`).waitFor();
	await page.check(`${dlg} input[name=relayed][value="${ids.hc}"]`);
	await page.click(`${dlg} button[type=submit]`);
	await relayError.filter({ hasText: "host 'hc' is already relayed by 'ha'" }).waitFor();
	await page.click(`${dlg} button:text-is("Cancel")`);
	assert.deepEqual((await node('hb')).relay, []);

	// ha relays hb and hc; then none checked: the role goes (DELETE).
	await row('ha').locator('button:text-is("Relay…")').click();
	assert.equal(await page.isChecked(`${dlg} input[name=relayed][value="${ids.hc}"]`), true);
	await page.check(`${dlg} input[name=relayed][value="${ids.hb}"]`);
	await page.click(`${dlg} button[type=submit]`);
	await row('ha').locator('.badge:text-is("relay for hb, hc")').waitFor();
	await row('hb').locator('.badge:text-is("relayed by ha")').waitFor();
	assert.deepEqual((await node('ha')).relay, [ids.hb, ids.hc]);
	await row('ha').locator('button:text-is("Relay…")').click();
	await page.uncheck(`${dlg} input[name=relayed][value="${ids.hb}"]`);
	await page.uncheck(`${dlg} input[name=relayed][value="${ids.hc}"]`);
	await page.click(`${dlg} button[type=submit]`);
	await row('ha').locator('.badge:has-text("relay for")').waitFor({ state: 'detached' });
	assert.deepEqual((await node('ha')).relay, []);
	assert.equal((await node('hb')).relayed_by, null);

	// "Stop relaying" in the dialog: the badges go, the API agrees.
	await row('ha').locator('button:text-is("Relay…")').click();
	await page.check(`${dlg} input[name=relayed][value="${ids.hc}"]`);
	await page.click(`${dlg} button[type=submit]`);
	await row('hc').locator('.badge:text-is("relayed by ha")').waitFor();
	await row('ha').locator('button:text-is("Relay…")').click();
	await page.click(`${dlg} button:text-is("Stop relaying")`);
	await page.locator(dlg).waitFor({ state: 'detached' });
	await row('hc').locator('.badge:has-text("relayed by")').waitFor({ state: 'detached' });
	assert.equal(await page.locator('tbody .badge:has-text("relay")').count(), 0);
	a = await node('ha');
	c = await node('hc');
	assert.deepEqual(a.relay, []);
	assert.equal(c.relayed_by, null);

	// hb becomes the DNS server (no other node had the role: no question).
	const hbAddr = (await node('hb')).address;
	const haAddr = (await node('ha')).address;
	await row('hb').locator('button:has-text("DNS server")').click();
	await page.locator(`.page-head .dns-address:text-is("${hbAddr}")`).waitFor();
	await row('hb').locator('.badge:text-is("DNS server")').waitFor();
	assert.equal(await row('hb').locator('button:has-text("DNS server")').getAttribute('aria-pressed'), 'true');
	assert.equal((await network()).dns_address, hbAddr);
	assert.equal((await node('hb')).dns_server, true);

	// Moving it to ha asks first: Cancel keeps hb, OK moves it.
	await row('ha').locator('button:has-text("DNS server")').click();
	await page.locator(`${dlg}:has-text("from hb to ha")`).waitFor();
	await shot(page, '20-dns-move');
	await page.click(`${dlg} button[value=cancel]`);
	await page.locator(dlg).waitFor({ state: 'detached' });
	assert.equal((await network()).dns_address, hbAddr);
	await row('ha').locator('button:has-text("DNS server")').click();
	await page.click(`${dlg} button[value=ok]`);
	await page.locator(`.page-head .dns-address:text-is("${haAddr}")`).waitFor();
	await row('ha').locator('.badge:text-is("DNS server")').waitFor();
	await row('hb').locator('.badge:text-is("DNS server")').waitFor({ state: 'detached' });
	assert.equal(await row('hb').locator('button:has-text("DNS server")').getAttribute('aria-pressed'), 'false');
	assert.equal((await network()).dns_address, haAddr);
	assert.match(await page.locator('.page-head p.hint').textContent(), new RegExp(`· DNS ${haAddr.replace(/\./g, '\\.')} \\(ha\\)$`));
	assert.equal((await node('hb')).dns_server, false);
	assert.equal((await node('ha')).dns_server, true);

	// The roles on a phone, light and dark: no sideways scrolling.
	await apiAs(page, 'PUT', `/networks/${RNET}/nodes/${ids.ha}/relay`, { relayed: [ids.hc] });
	for (const scheme of ['light', 'dark']) {
		const phone = await newPage({ viewport: { width: 390, height: 844 }, colorScheme: scheme, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
		await login(phone.page, ADMIN);
		await gotoHash(phone.page, `#/networks/${RNET}`, 'tr[data-key="ha"] .badge:text-is("relay for hc")');
		const overflow = await phone.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
		assert.ok(overflow <= 1, `relay dashboard is ${overflow}px wider than the phone screen`);
		await phone.page.locator('tr[data-key="ha"] button:text-is("Relay…")').click();
		await phone.page.locator('dialog[open] .relay-list').waitFor();
		await shot(phone.page, `21-phone-relay-${scheme}`);
		await phone.ctx.close();
	}
	await apiAs(page, 'DELETE', `/networks/${RNET}/nodes/${ids.ha}/relay`);
	assert.deepEqual(problems, []);
});

test('phone layout and dark mode', async () => {
	for (const scheme of ['light', 'dark']) {
		const { ctx, page } = await newPage({ viewport: { width: 390, height: 844 }, colorScheme: scheme, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
		await login(page, ADMIN);
		await gotoHash(page, `#/networks/${NET}`, `tr[data-key="${HOST}"]`);
		// No horizontal scrolling on a phone.
		const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
		assert.ok(overflow <= 1, `page is ${overflow}px wider than the phone screen`);
		assert.equal(await page.isVisible('#nav a[href="#/users"]'), false, 'nav collapsed behind the menu button');
		await shot(page, `11-phone-dashboard-${scheme}`);
		await page.click('#nav-toggle');
		await page.locator('#nav a[href="#/users"]').waitFor();
		await shot(page, `12-phone-menu-${scheme}`);
		await page.click('#nav a[href="#/extclients"]');
		await page.locator(`a:text-is("${CLIENT}")`).click();
		await page.waitForFunction(() => { const i = document.getElementById('qr'); return i && i.complete && i.naturalWidth > 0; });
		const box = await page.locator('img#qr').boundingBox();
		assert.ok(box.width >= 250, `QR ${box.width}px wide on a phone`);
		await shot(page, `13-phone-extclient-${scheme}`);
		if (scheme === 'dark') {
			const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
			assert.equal(bg, 'rgb(15, 20, 27)');
			await gotoHash(page, '#/networks', 'tbody tr');
			await page.setViewportSize({ width: 1280, height: 860 });
			await shot(page, '14-desktop-networks-dark');
		}
		await ctx.close();
	}
});

test('log out', async () => {
	const { page } = admin;
	await gotoHash(page, '#/networks', '#logout');
	await page.click('#logout');
	await page.locator('form[aria-label="Log in"]').waitFor();
	assert.equal((await page.request.get(`${BASE}/api/v1/me`)).status(), 401);
	assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'CSRF value cleared');
	// Back to a protected screen: the login form.
	await page.goto(`${BASE}/#/users`);
	await page.locator('form[aria-label="Log in"]').waitFor();
});

test('a `user` sees no Users screen and not the admin\'s ext client', async () => {
	const { ctx, page } = await newPage();
	await login(page, USER);
	assert.equal(new URL(page.url()).hash, '#/extclients');
	assert.equal(await page.locator('#nav a[href="#/users"]').count(), 0, 'no Users nav item');
	assert.equal(await page.locator('#nav a[href="#/networks"]').count(), 0, 'no Networks nav item');
	await page.locator('.empty:has-text("No external clients")').waitFor();
	assert.equal(await page.locator(`text=${CLIENT}`).count(), 0);
	await shot(page, '15-user-extclients');
	// Opening #/users shows the API's refusal.
	await page.goto(`${BASE}/#/users`);
	await page.locator('.error-panel:has-text("admin")').waitFor();
	assert.equal(await page.locator('form[aria-label="New user"]').count(), 0);
	await shot(page, '16-user-users-403');
	// The API refuses too.
	assert.equal((await page.request.get(`${BASE}/api/v1/users`)).status(), 403);
	assert.equal((await page.request.get(`${BASE}/api/v1/extclients/${s.clientId}`)).status(), 404);
	assert.equal((await page.request.get(`${BASE}/api/v1/extclients/${s.clientId}/config`)).status(), 404);
	const list = await (await page.request.get(`${BASE}/api/v1/extclients`)).json();
	assert.deepEqual(list, []);
	// The detail screen shows the 404, not the client.
	await page.goto(`${BASE}/#/extclients/${s.clientId}`);
	await page.locator('.error-panel:has-text("not found")').waitFor();
	assert.equal(await page.locator('img#qr').count(), 0);
	await ctx.close();
	assert.deepEqual(problems, [], 'no dialogs, page errors, CSP violations or outside requests');
});
