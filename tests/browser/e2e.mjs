// End-to-end test of the example server's cookie-mode demo page (GET /) in headless Chromium.
//
//   node e2e.mjs http://127.0.0.1:3000
//
// Drives Debian's /usr/bin/chromium (override with CHROMIUM=/path) through playwright-core; no
// browser is downloaded. Logs in as bob through the page, checks what the page shows and what
// scripts can read, refreshes with and without the CSRF header, logs out, and checks that the
// old session is dead. Saves a screenshot to artifacts/browser-e2e.png (ARTIFACTS_DIR overrides
// the directory). Prints one line per check, then `N passed, M failed` as the last line; exits
// non-zero on any failure.

import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const base = (process.argv[2] || process.env.BASE_URL || '').replace(/\/+$/, '');
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const artifacts = resolve(process.env.ARTIFACTS_DIR || join(here, '..', '..', 'artifacts'));
const screenshot = join(artifacts, 'browser-e2e.png');
const USER = 'bob';
const PASSWORD = 'bob-dev-password';

let passed = 0;
let failed = 0;

function check(name, ok, detail = '') {
  if (ok) {
    passed += 1;
    console.log(`ok   - ${name}`);
  } else {
    failed += 1;
    console.log(`FAIL - ${name}${detail ? `: ${detail}` : ''}`);
  }
}

function finish() {
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 && passed > 0 ? 0 : 1);
}

if (!/^https?:\/\//.test(base)) {
  console.log('usage: node e2e.mjs <base URL, e.g. http://127.0.0.1:3000>');
  failed += 1;
  finish();
}

const text = (page, id) => page.locator(`#${id}`).innerText();
const status = (page, id) => page.locator(`#${id}`).getAttribute('data-status');

// Clicks `selector` and waits until the page reports the action finished (`data-actions` grows).
async function act(page, selector) {
  const before = Number((await page.locator('body').getAttribute('data-actions')) || '0');
  await page.click(selector);
  await page.waitForFunction(
    (n) => Number(document.body.dataset.actions || '0') > n,
    before,
    { timeout: 15000 },
  );
}

// Cookies as the browser stores them (HttpOnly ones included), by name.
async function jar(context) {
  // Without URLs: every cookie, including the refresh cookie whose Path is the refresh endpoint.
  const all = await context.cookies();
  return Object.fromEntries(all.map((c) => [c.name, c]));
}

const findCookie = (cookies, suffix) =>
  Object.values(cookies).find((c) => c.name === suffix || c.name.endsWith(`-${suffix}`));

const profile = mkdtempSync(join(tmpdir(), 'tokengate-e2e-'));
let context;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    viewport: { width: 1000, height: 900 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const page = context.pages()[0] || (await context.newPage());
  const consoleErrors = [];
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  // Every request the page makes must stay on the server under test (no external resources).
  const foreign = [];
  page.on('request', (r) => {
    if (!r.url().startsWith(base)) foreign.push(r.url());
  });

  // ----- the page, logged out -----
  const response = await page.goto(`${base}/`, { waitUntil: 'load' });
  check('GET / serves the demo page', response && response.status() === 200,
    `status ${response && response.status()}`);
  const csp = (response && response.headers()['content-security-policy']) || '';
  check('the page\'s CSP allows its own script by hash only (no unsafe-inline)',
    /script-src 'sha256-[A-Za-z0-9+/=]+'/.test(csp) && !csp.includes('unsafe-inline'), csp);
  await page.waitForFunction(() => Number(document.body.dataset.actions || '0') >= 1, null, { timeout: 15000 });
  check('logged out: nobody shown', (await text(page, 'who')) === 'nobody', await text(page, 'who'));
  check('logged out: /editor/drafts is 401', (await status(page, 'editor-result')) === '401',
    await text(page, 'editor-result'));

  // ----- log in as bob through the page -----
  await page.fill('#username', USER);
  await page.fill('#password', PASSWORD);
  await act(page, '#login');
  check('login through POST /auth/session succeeds', (await status(page, 'login-result')) === '200',
    await text(page, 'login-result'));
  check('the page shows bob as logged in', (await text(page, 'who')) === USER, await text(page, 'who'));
  const subject = await text(page, 'subject');
  check('the page shows the subject of GET /me', /^[^\s]+$/.test(subject) && subject !== 'none', subject);
  const roles = await text(page, 'roles');
  check('the page shows bob\'s roles (editor)', roles.split(', ').includes('editor'), roles);
  check('editor call allowed (GET /editor/drafts 200)', (await status(page, 'editor-result')) === '200',
    await text(page, 'editor-result'));
  const admin = await text(page, 'admin-result');
  check('admin call denied (GET /admin/stats 403 insufficient_scope)',
    (await status(page, 'admin-result')) === '403' && admin.includes('insufficient_scope'), admin);

  // ----- what scripts can read -----
  let cookies = await jar(context);
  const access = findCookie(cookies, 'access_token');
  const refresh = findCookie(cookies, 'refresh_token');
  const csrf = findCookie(cookies, 'csrf_token');
  check('the browser holds an HttpOnly access cookie', Boolean(access && access.httpOnly),
    JSON.stringify(access && { name: access.name, httpOnly: access.httpOnly }));
  check('the browser holds an HttpOnly refresh cookie scoped to the refresh path',
    Boolean(refresh && refresh.httpOnly && refresh.path === '/auth/session/refresh'),
    JSON.stringify(refresh && { name: refresh.name, httpOnly: refresh.httpOnly, path: refresh.path }));
  check('the CSRF cookie is readable by scripts (not HttpOnly)', Boolean(csrf && !csrf.httpOnly));
  const sameSite = [access, refresh, csrf].every((c) => c && c.sameSite === 'Lax');
  check('every cookie is SameSite=Lax', sameSite);
  const visible = await page.evaluate(() => document.cookie);
  const names = visible.split(';').map((p) => p.split('=')[0].trim()).filter(Boolean);
  check('document.cookie shows only the CSRF cookie',
    names.length === 1 && csrf && names[0] === csrf.name, JSON.stringify(names));
  check('document.cookie cannot read the access token',
    Boolean(access) && !visible.includes(access.value) && !visible.includes('access_token'));
  check('document.cookie cannot read the refresh token',
    Boolean(refresh) && !visible.includes(refresh.value) && !visible.includes('refresh_token'));
  const storage = await page.evaluate(() => [localStorage.length, sessionStorage.length]);
  check('nothing in localStorage or sessionStorage', storage[0] === 0 && storage[1] === 0,
    JSON.stringify(storage));

  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: screenshot, fullPage: true });

  // ----- CSRF -----
  // An unsafe cookie-authenticated request without the header, made by the page's own origin.
  const noHeader = await page.evaluate(async () => {
    const r = await fetch('/auth/session', { method: 'DELETE', credentials: 'same-origin' });
    return { status: r.status, body: await r.json().catch(() => null) };
  });
  check('DELETE /auth/session without X-CSRF-Token is 403 csrf_failed',
    noHeader.status === 403 && noHeader.body && noHeader.body.error === 'csrf_failed',
    JSON.stringify(noHeader));
  const wrong = await page.evaluate(async () => {
    const r = await fetch('/auth/session', {
      method: 'DELETE', credentials: 'same-origin', headers: { 'X-CSRF-Token': 'not-the-token' },
    });
    return r.status;
  });
  check('DELETE /auth/session with a wrong X-CSRF-Token is 403', wrong === 403, String(wrong));
  await act(page, '#refresh-no-csrf');
  check('refresh without the CSRF header is refused (403)', (await status(page, 'refresh-result')) === '403',
    await text(page, 'refresh-result'));
  cookies = await jar(context);
  check('the refused requests left the session alone',
    findCookie(cookies, 'access_token')?.value === access.value);

  // ----- the state-changing call with the CSRF header: refresh -----
  await act(page, '#refresh');
  check('refresh with the CSRF header succeeds (200)', (await status(page, 'refresh-result')) === '200',
    await text(page, 'refresh-result'));
  cookies = await jar(context);
  const access2 = findCookie(cookies, 'access_token');
  const refresh2 = findCookie(cookies, 'refresh_token');
  check('refresh rotated both tokens',
    Boolean(access2 && refresh2) && access2.value !== access.value && refresh2.value !== refresh.value);
  check('still bob, editor call still allowed after refresh',
    (await text(page, 'who')) === USER && (await status(page, 'editor-result')) === '200');

  // ----- log out -----
  await act(page, '#logout');
  check('logout (DELETE /auth/session) succeeds (204)', (await status(page, 'logout-result')) === '204',
    await text(page, 'logout-result'));
  cookies = await jar(context);
  check('logout cleared every cookie',
    !findCookie(cookies, 'access_token') && !findCookie(cookies, 'refresh_token') && !findCookie(cookies, 'csrf_token'),
    JSON.stringify(Object.keys(cookies)));
  check('logged out: the page shows nobody', (await text(page, 'who')) === 'nobody');
  check('logged out: /editor/drafts fails (401)', (await status(page, 'editor-result')) === '401',
    await text(page, 'editor-result'));
  check('logged out: /admin/stats fails (401)', (await status(page, 'admin-result')) === '401',
    await text(page, 'admin-result'));
  check('logged out: /me fails (401)', (await status(page, 'me-result')) === '401');
  // The tokens themselves are dead, not just forgotten by the browser.
  const replay = await context.request.get(`${base}/editor/drafts`, {
    headers: { Authorization: `Bearer ${access2.value}` },
  });
  check('the logged-out access token is revoked server-side (401)', replay.status() === 401,
    String(replay.status()));
  const replayRefresh = await context.request.post(`${base}/auth/refresh`, {
    data: { refresh_token: refresh2.value },
  });
  check('the logged-out refresh token is revoked server-side (401)', replayRefresh.status() === 401,
    String(replayRefresh.status()));

  check('no script errors on the page', consoleErrors.length === 0, consoleErrors.join(' | '));
  check('the page loaded nothing from elsewhere', foreign.length === 0, foreign.join(' '));
} catch (e) {
  check('the test ran to the end', false, e && e.stack ? e.stack.split('\n').slice(0, 3).join(' ') : String(e));
} finally {
  if (context) await context.close().catch(() => {});
  rmSync(profile, { recursive: true, force: true });
}
console.log(`screenshot: ${screenshot}`);
finish();
