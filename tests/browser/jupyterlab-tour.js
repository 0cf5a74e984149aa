#!/usr/bin/env node
// Real-browser end-to-end test: JupyterLab + the llm-analytics kernel in Debian's headless
// chromium, driven by playwright-core. tests/test_browser.py starts JupyterLab (with the fake
// model server) on a temporary copy of notebooks/ and runs this script; it exits 0 when every
// check passed, 1 when one failed, 2 on a timeout or crash.
//
// Environment:
//   JLAB_URL         base URL of the running JupyterLab, e.g. http://127.0.0.1:8888 (required)
//   JLAB_TOKEN       its token (required)
//   NOTEBOOK         notebook path under the server root (default tour.ipynb)
//   ERROR_QUESTION   source of the added question cell that must end in a ValidationError
//   ARTIFACTS_DIR    where screenshots go (default tests/artifacts)
//   CHROMIUM         browser binary (default /usr/bin/chromium)
//   RUN_TIMEOUT_MS   how long "Run All Cells" may take (default 120000)
//   TOTAL_TIMEOUT_MS hard limit for the whole script (default 270000)
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');

const env = process.env;
const JLAB_URL = (env.JLAB_URL || '').replace(/\/+$/, '');
const TOKEN = env.JLAB_TOKEN || '';
const NOTEBOOK = env.NOTEBOOK || 'tour.ipynb';
const ERROR_QUESTION = env.ERROR_QUESTION || 'Which files are in the working directory?';
const ARTIFACTS = env.ARTIFACTS_DIR || path.resolve(__dirname, '..', 'artifacts');
const CHROMIUM = env.CHROMIUM || '/usr/bin/chromium';
const RUN_TIMEOUT = Number(env.RUN_TIMEOUT_MS || 120000);
const TOTAL_TIMEOUT = Number(env.TOTAL_TIMEOUT_MS || 270000);

// Questions of the tour (recorded answers) and what each must show.
const Q_REVENUE = "What's the total revenue by category?";
const Q_CHART = 'Plot monthly revenue as a line chart';
const KERNEL_IDLE = 'LLM Analytics | Idle';
// Text of the markdown cell (added by test_browser.py) whose formula MathJax must typeset.
const MATH_MARKER = env.MATH_MARKER || 'real math still renders';

const t0 = Date.now();
const oneLine = (s) => s.replace(/\s*\n\s*/g, ' ');
const log = (...a) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1)}s]`, ...a);

let playwright;
try {
  playwright = require('playwright-core');
} catch (e) {
  console.error('playwright-core is not installed in tests/browser: run tests/setup-browser.sh');
  process.exit(1);
}
if (!JLAB_URL || !TOKEN) {
  console.error('JLAB_URL and JLAB_TOKEN must be set (tests/test_browser.py sets them)');
  process.exit(1);
}
if (!fs.existsSync(CHROMIUM)) {
  console.error(`${CHROMIUM} not found: run tests/setup-browser.sh (installs Debian's chromium)`);
  process.exit(1);
}

let context = null;
let userDataDir = null;
let currentPage = null; // for a screenshot when the script fails

async function cleanup() {
  if (context) {
    const c = context;
    context = null;
    await Promise.race([c.close().catch(() => {}), new Promise((r) => setTimeout(r, 10000))]);
  }
  if (userDataDir) {
    fs.rmSync(userDataDir, { recursive: true, force: true });
    userDataDir = null;
  }
}

// Hard limit: whatever hangs, the script ends (Playwright kills its browser on exit).
const watchdog = setTimeout(() => {
  console.error(`TIMEOUT: the browser test did not finish within ${TOTAL_TIMEOUT} ms`);
  process.exit(2);
}, TOTAL_TIMEOUT);
watchdog.unref();

// Everything the page knows about its cells, read in the browser.
function readCells() {
  const text = (el) => (el ? el.innerText || el.textContent || '' : '');
  return Array.from(document.querySelectorAll('.jp-NotebookPanel .jp-Notebook .jp-Cell')).map((cell, index) => {
    const lines = Array.from(cell.querySelectorAll('.jp-InputArea-editor .cm-line')).map((l) => l.textContent);
    const outputs = Array.from(cell.querySelectorAll('.jp-OutputArea-output'));
    return {
      index,
      type: cell.classList.contains('jp-CodeCell') ? 'code' : cell.classList.contains('jp-MarkdownCell') ? 'markdown' : 'raw',
      source: lines.join('\n'),
      prompt: text(cell.querySelector('.jp-InputArea-prompt')).trim(),
      outputText: outputs.map((o) => text(o)).join('\n'),
      markdownCode: Array.from(cell.querySelectorAll('.jp-OutputArea-output.jp-RenderedMarkdown pre, .jp-OutputArea-output .jp-RenderedMarkdown pre')).map((p) => text(p)),
      tables: Array.from(cell.querySelectorAll('.jp-OutputArea-output table.dataframe')).map((t) => text(t)),
      images: Array.from(cell.querySelectorAll('.jp-OutputArea-output img')).map((img) => ({
        src: (img.getAttribute('src') || '').slice(0, 40),
        width: img.naturalWidth,
        height: img.naturalHeight,
      })),
      math: cell.querySelectorAll('.jp-OutputArea-output mjx-container, .jp-OutputArea-output .MathJax').length,
      errors: Array.from(cell.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')).map((e) => text(e)),
    };
  });
}

async function statusBar(page) {
  return page.evaluate(() => (document.querySelector('#jp-main-statusbar') || {}).innerText || '');
}

async function screenshotWholeNotebook(page, file) {
  // JupyterLab scrolls inside the notebook, so a "full page" screenshot is only the viewport:
  // make the viewport as tall as the notebook's content first.
  const height = await page.evaluate(() => {
    const scroller = document.querySelector('.jp-NotebookPanel .jp-WindowedPanel-outer') ||
      document.querySelector('.jp-NotebookPanel .jp-Notebook');
    return scroller ? scroller.scrollHeight : 1000;
  });
  const vp = page.viewportSize();
  await page.setViewportSize({ width: vp.width, height: Math.min(Math.max(height + 200, 1000), 16000) });
  await page.waitForTimeout(500);
  await page.screenshot({ path: file, fullPage: true });
  await page.setViewportSize(vp);
  log(`screenshot ${file}`);
}

async function main() {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'llm-analytics-chromium-'));
  const failures = [];
  const check = (ok, what, detail) => {
    log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
    if (!ok) failures.push(detail === undefined ? what : `${what}: ${typeof detail === 'string' ? detail : JSON.stringify(detail)}`);
  };

  log(`launching ${CHROMIUM}`);
  context = await playwright.chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-quic',
    ],
    viewport: { width: 1400, height: 1000 },
    timeout: 60000,
  });
  const page = context.pages()[0] || (await context.newPage());
  currentPage = page;
  page.setDefaultTimeout(30000);

  const consoleErrors = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') {
      const loc = msg.location();
      consoleErrors.push(`console.error: ${msg.text()}${loc && loc.url ? ` (${loc.url}:${loc.lineNumber})` : ''}`);
    } else if (msg.type() === 'warning') {
      log(`console.warning: ${msg.text().slice(0, 300)}`);
    }
  });
  page.on('pageerror', (err) => consoleErrors.push(`pageerror: ${err.message}`));
  page.on('requestfailed', (req) => log(`request failed: ${req.url().slice(0, 200)} ${req.failure() && req.failure().errorText}`));

  const url = `${JLAB_URL}/lab/tree/${encodeURI(NOTEBOOK)}?token=${encodeURIComponent(TOKEN)}`;
  log(`opening ${url.replace(TOKEN, '<token>')}`);
  await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 60000 });
  await page.waitForSelector('.jp-NotebookPanel .jp-Notebook .jp-CodeCell', { timeout: 60000 });

  log('waiting for the kernel to be idle');
  try {
    await page.waitForFunction(
      (idle) => {
        const bar = document.querySelector('#jp-main-statusbar');
        const ind = document.querySelector('.jp-NotebookPanel .jp-Notebook-ExecutionIndicator');
        return bar && bar.innerText.includes(idle) && (!ind || ind.getAttribute('data-status') === 'idle');
      },
      KERNEL_IDLE,
      { timeout: 90000, polling: 250 },
    );
  } catch (e) {
    await page.screenshot({ path: path.join(ARTIFACTS, 'jupyterlab-kernel-not-idle.png') }).catch(() => {});
    throw new Error(`the kernel never became idle; status bar: ${JSON.stringify(await statusBar(page))}`);
  }

  // More room for the notebook in the screenshots: close the file browser.
  const leftTab = page.locator('.jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current');
  if (await leftTab.count()) await leftTab.first().click();

  // The control cell's formula is typeset once MathJax has loaded: after that, outputs are
  // typeset as soon as they render, so "no math in the outputs" below is not a race.
  log('waiting for MathJax to typeset the control cell');
  await page.waitForFunction(
    (marker) => Array.from(document.querySelectorAll('.jp-MarkdownCell')).some(
      (c) => c.innerText.includes(marker) && c.querySelector('mjx-container, .MathJax')),
    MATH_MARKER,
    { timeout: 60000, polling: 250 },
  );

  const before = await page.evaluate(readCells);
  const codeBefore = before.filter((c) => c.type === 'code');
  log(`notebook has ${before.length} cells, ${codeBefore.length} code cells`);
  check(codeBefore.length >= 3 && codeBefore.every((c) => !c.outputText.trim()),
    'the copied notebook starts without outputs', codeBefore.map((c) => c.outputText.slice(0, 80)));
  check(codeBefore.length && codeBefore[codeBefore.length - 1].source.trim() === '%code',
    'the last cell is %code', codeBefore.length && codeBefore[codeBefore.length - 1].source);

  log('Run menu -> Run All Cells');
  await page.locator('#jp-menu-panel .lm-MenuBar-itemLabel', { hasText: /^Run$/ }).click();
  await page.locator('.lm-Menu .lm-Menu-itemLabel', { hasText: /^Run All Cells$/ }).click();

  log(`waiting up to ${RUN_TIMEOUT / 1000}s for every cell to run`);
  try {
    await page.waitForFunction(
      ([n, idle]) => {
        const cells = Array.from(document.querySelectorAll('.jp-NotebookPanel .jp-Notebook .jp-CodeCell'));
        if (cells.length < n) return false;
        const prompts = cells.map((c) => (c.querySelector('.jp-InputArea-prompt') || {}).textContent || '');
        const bar = document.querySelector('#jp-main-statusbar');
        return prompts.slice(0, n).every((p) => /\[\d+\]/.test(p)) && bar && bar.innerText.includes(idle);
      },
      [codeBefore.length, KERNEL_IDLE],
      { timeout: RUN_TIMEOUT, polling: 500 },
    );
  } catch (e) {
    const cells = await page.evaluate(readCells).catch(() => []);
    await screenshotWholeNotebook(page, path.join(ARTIFACTS, 'jupyterlab-tour.png')).catch(() => {});
    throw new Error(`not every cell ran within ${RUN_TIMEOUT / 1000}s: ` +
      JSON.stringify(cells.filter((c) => c.type === 'code').map((c) => [c.prompt, c.source.slice(0, 50)])) +
      `; status bar: ${JSON.stringify(await statusBar(page))}`);
  }
  log('all cells ran');
  // %code's set_next_input payload adds one cell below it; give JupyterLab a moment for that.
  await page.waitForFunction(
    (n) => document.querySelectorAll('.jp-NotebookPanel .jp-Notebook .jp-CodeCell').length > n,
    codeBefore.length,
    { timeout: 10000, polling: 250 },
  ).catch(() => log('no cell was added below %code'));
  await page.waitForTimeout(1000); // let the last outputs render (images decode)

  const cells = await page.evaluate(readCells);
  const find = (source) => cells.find((c) => c.type === 'code' && c.source.trim() === source);

  // The recorded-answer question: generated code, result table, interpretation.
  const revenue = find(Q_REVENUE);
  check(!!revenue, `cell "${Q_REVENUE}" found`);
  if (revenue) {
    check(revenue.markdownCode.some((t) => t.includes('groupby')),
      'the generated code is shown as a rendered markdown code block with groupby', revenue.markdownCode);
    check(revenue.outputText.includes('Replayed a recorded answer'),
      'the answer was replayed from the recorded answers', revenue.outputText.slice(0, 500));
    check(revenue.tables.some((t) => t.includes('Electronics') && t.includes('252625.8')),
      'the result is an HTML table (table.dataframe) with the revenue by category', revenue.tables);
    check(revenue.outputText.includes('generates the highest revenue'),
      'the interpretation text is shown', oneLine(revenue.outputText).slice(-250));
    // Markdown outputs go through JupyterLab's LaTeX pass: "$252,625.80, ... $104,276.60"
    // must read as money, not be typeset as a formula.
    check(revenue.outputText.includes('at $252,625.80, followed by Furniture at $104,276.60'),
      'the dollar amounts in the interpretation read as text', oneLine(revenue.outputText).slice(-250));
  }
  const chart = find(Q_CHART);
  check(!!chart, `cell "${Q_CHART}" found`);
  if (chart) {
    check(chart.images.some((i) => i.src.startsWith('data:image/png') && i.width > 100 && i.height > 100),
      'the chart is a rendered <img> with a data:image/png source', chart.images);
  }

  // The added question the recordings do not cover: the fake model's code is refused twice.
  const refused = find(ERROR_QUESTION);
  check(!!refused, `cell "${ERROR_QUESTION}" found`);
  if (refused) {
    check(/\[\d+\]/.test(refused.prompt), 'the error cell ran', refused.prompt);
    check(refused.errors.some((t) => t.includes('ValidationError')),
      'the error cell shows a ValidationError error output', refused.errors);
    check(refused.outputText.includes('os.listdir'),
      'the refused code is shown', refused.outputText.slice(0, 400));
  }
  const mathCells = cells.filter((c) => c.math);
  check(!mathCells.length, 'no output is typeset as LaTeX math (unescaped $ in text/markdown)',
    mathCells.map((c) => [c.source.slice(0, 50), oneLine(c.outputText).slice(-160)]));
  const unexpected = cells.filter((c) => c !== refused && c.errors.length);
  check(!unexpected.length, 'no other cell shows an error', unexpected.map((c) => [c.source.slice(0, 40), c.errors]));

  // %code: JupyterLab honours the set_next_input payload with a new %%python cell below.
  const codeIdx = cells.findIndex((c) => c.type === 'code' && c.source.trim() === '%code');
  const codeCell = cells[codeIdx];
  const next = cells[codeIdx + 1];
  check(codeIdx >= 0 && /\[\d+\]/.test(codeCell.prompt), 'the %code cell ran', codeCell && codeCell.prompt);
  check(!!codeCell && codeCell.outputText.includes('new %%python cell below'),
    '%code says it put the code in a new cell', codeCell && codeCell.outputText);
  check(!!next && next.type === 'code' && next.source.startsWith('%%python\n') && next.source.split('\n').length > 1 &&
    next.source.split('\n')[1].trim() !== '',
  'a new cell below %code holds %%python and the last generated code', next && next.source.slice(0, 200));

  await screenshotWholeNotebook(page, path.join(ARTIFACTS, 'jupyterlab-tour.png'));
  // The %code cell and the cell it created, at a normal window size.
  if (codeIdx >= 0 && next) {
    const newCell = page.locator('.jp-NotebookPanel .jp-Notebook .jp-Cell').nth(codeIdx + 1);
    await newCell.scrollIntoViewIfNeeded();
    await newCell.locator('.jp-InputPrompt').click();
    await page.waitForTimeout(300);
  }
  const shot = path.join(ARTIFACTS, 'jupyterlab-code-cell.png');
  await page.screenshot({ path: shot, fullPage: true });
  log(`screenshot ${shot}`);

  check(consoleErrors.length === 0, 'no JavaScript errors in the console', consoleErrors);

  await cleanup();
  if (failures.length) {
    console.error(`\n${failures.length} check(s) failed:\n - ${failures.join('\n - ')}`);
    return 1;
  }
  log('all browser checks passed');
  return 0;
}

main().then(
  (code) => process.exit(code),
  async (err) => {
    console.error(`ERROR: ${err && err.stack ? err.stack : err}`);
    if (currentPage) {
      const file = path.join(ARTIFACTS, 'jupyterlab-failure.png');
      await Promise.race([
        currentPage.screenshot({ path: file }).then(() => console.error(`screenshot ${file}`)),
        new Promise((r) => setTimeout(r, 10000)),
      ]).catch(() => {});
    }
    await cleanup();
    process.exit(2);
  },
);
