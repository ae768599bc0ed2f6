// The console in a real browser (Debian's chromium through puppeteer-core): staff logs in, sees the
// withheld .docm, requests the original; the approver logs in and approves; the security admin
// opens the statistics. Screenshots of the list, detail, approval and statistics pages go to
// $SCREENSHOTS at 1366x768 (an office PC). Run by tests/integration/console_browser_test.cpp.
// Exit 0: the flow worked; 1: a step failed (the message says which); 77: chromium not found.
import fs from 'node:fs';
import path from 'node:path';
import puppeteer from 'puppeteer-core';

const env = (k, d) => process.env[k] ?? d;
const url = env('CONSOLE_URL');
const chromium = env('CHROMIUM', '/usr/bin/chromium');
const shots = env('SCREENSHOTS');
const password = env('PASSWORD');
const staff = env('STAFF', 'tanaka');
const approver = env('APPROVER', 'sato');
const admin = env('ADMIN', 'joho-admin');
const fileName = env('ITEM_FILE', '.docm');
const ppapItem = env('PPAP_ITEM', '');
const ppapPassword = env('PPAP_PASSWORD', '');

if (!fs.existsSync(chromium)) {
  console.log('skipped: chromium not found');
  process.exit(77);
}
fs.mkdirSync(shots, { recursive: true });

const problems = [];
const browser = await puppeteer.launch({
  executablePath: chromium,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--lang=ja-JP',
         '--window-size=1366,768', '--no-first-run', '--disable-extensions'],
  defaultViewport: { width: 1366, height: 768 },
});

function fail(msg) {
  throw new Error(msg);
}

async function newPage() {
  const ctx = await browser.createBrowserContext();  // its own cookies: one person per context
  const page = await ctx.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('dialog', async (d) => {
    problems.push(`a dialog opened (script ran?): ${d.message()}`);
    await d.dismiss();
  });
  return page;
}

async function login(page, user) {
  await page.goto(`${url}/login`, { waitUntil: 'domcontentloaded' });
  await page.type('input[name=user]', user);
  await page.type('input[name=password]', password);
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('button[type=submit]')]);
  if (page.url().endsWith('/login')) fail(`${user} could not log in`);
}

async function text(page) {
  return page.evaluate(() => document.body.innerText);
}

async function shot(page, name) {
  const file = path.join(shots, name);
  await page.screenshot({ path: file });
  console.log(`screenshot ${file}`);
}

async function clickAndWait(page, selector) {
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click(selector)]);
}

try {
  // 1. Staff: the list shows the withheld .docm; the detail; the request.
  const s = await newPage();
  await login(s, staff);
  await s.goto(`${url}/items`, { waitUntil: 'load' });
  let t = await text(s);
  if (!t.includes('隔離一覧')) fail('staff: no 隔離一覧 heading');
  if (!t.includes(fileName)) fail(`staff: ${fileName} is not in the list:\n${t}`);
  await shot(s, 'list.png');
  const link = await s.$$eval('table.items a', (as, f) => {
    const a = as.find((x) => x.closest('td').innerText.includes(f));
    return a ? a.getAttribute('href') : null;
  }, fileName);
  if (!link) fail('staff: no link to the item');
  await s.goto(`${url}${link}`, { waitUntil: 'load' });
  t = await text(s);
  if (!t.includes('取り除いた・作り直したもの')) fail('staff: the detail page lacks the removed objects');
  await shot(s, 'detail.png');
  await s.screenshot({ path: path.join(shots, 'detail-full.png'), fullPage: true });
  await s.type('textarea[name=reason]', '取引先から届いた様式のマクロが業務に必要です。');
  await clickAndWait(s, 'form[action$="/request"] button[type=submit]');
  t = await text(s);
  if (!t.includes('申請しました')) fail(`staff: the request was not confirmed:\n${t}`);
  await shot(s, 'requested.png');

  // 1b. Staff: the PPAP item's password form; the password opens it (the console runs
  //     `mugai vault unlock`); the page says it is on its way.
  if (ppapItem) {
    await s.goto(`${url}/items`, { waitUntil: 'load' });
    const plink = await s.$$eval('table.items a', (as, f) => {
      const a = as.find((x) => x.innerText.includes(f));
      return a ? a.getAttribute('href') : null;
    }, ppapItem);
    if (!plink) fail(`staff: the PPAP item ${ppapItem} is not in the list`);
    await s.goto(`${url}${plink}`, { waitUntil: 'load' });
    if (!(await s.$('input[type=password][name=password]'))) fail('staff: no password form on the PPAP item');
    await s.type('input[name=password]', ppapPassword);
    await shot(s, 'unlock.png');
    await clickAndWait(s, 'form[action$="/unlock"] button[type=submit]');
    t = await text(s);
    if (!t.includes('解除しました')) fail(`staff: the PPAP item was not opened:\n${t}`);
  }

  // 2. The approver: 承認待ち lists it; approve.
  const a = await newPage();
  await login(a, approver);
  await a.goto(`${url}/approvals`, { waitUntil: 'load' });
  t = await text(a);
  if (!t.includes('マクロが業務に必要です')) fail(`approver: the request is not waiting:\n${t}`);
  await clickAndWait(a, 'table.items a');
  await a.type('textarea[name=reason]', '業務上必要と認めます。');
  await shot(a, 'approve.png');
  await clickAndWait(a, 'button[value=approve]');
  t = await text(a);
  if (!t.includes('承認しました')) fail(`approver: not approved:\n${t}`);

  // 3. The security admin: statistics (inline SVG), and the list in English.
  const m = await newPage();
  await login(m, admin);
  await m.goto(`${url}/stats`, { waitUntil: 'load' });
  if ((await m.$$('svg.chart')).length < 2) fail('admin: the statistics have no charts');
  await shot(m, 'stats.png');
  await m.screenshot({ path: path.join(shots, 'stats-full.png'), fullPage: true });
  await m.goto(`${url}/items?lang=en`, { waitUntil: 'load' });
  t = await text(m);
  if (!t.includes('Withheld items')) fail('admin: no English');
  await shot(m, 'list-en.png');
  await m.goto(`${url}/rules?lang=ja`, { waitUntil: 'load' });
  await shot(m, 'rules.png');

  if (problems.length) fail(problems.join('\n'));
  console.log('browser flow: ok');
  await browser.close();
  process.exit(0);
} catch (e) {
  console.log(`browser flow FAILED: ${e.message}`);
  if (problems.length) console.log(problems.join('\n'));
  await browser.close();
  process.exit(1);
}
