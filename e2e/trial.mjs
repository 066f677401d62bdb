// The walk from zero: the daemon on a fresh folder with no settings at all
// (only a free port, so tests can run side by side), a browser takes the
// local trial path to an account, @atproto/api signs in and posts, and the
// status page shows the post in its counts. On every page (wizard steps,
// error states, account page, login, status), at 390×844 and 1280×800: no
// horizontal overflow, no serious or critical axe-core violation, a label
// on every form control, and a keyboard order that follows the page.
// Screenshots land in e2e/artifacts/trial-*.png.
//
//   node trial.mjs <hearth-binary>
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createRequire } from 'node:module'
import assert from 'node:assert/strict'
import { AtpAgent } from '@atproto/api'
import { freePort, launchBrowser, phone, sleep } from './hearth.mjs'

const binary = process.argv[2]
const here = path.dirname(new URL(import.meta.url).pathname)
const artifacts = path.join(here, 'artifacts')
mkdirSync(artifacts, { recursive: true })
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')
const desktop = { width: 1280, height: 800 }

// startFresh runs the binary in an empty folder with no HEARTH_* setting
// but the listen address.
async function startFresh() {
  const port = await freePort()
  const dir = mkdtempSync(path.join(tmpdir(), 'hearth-zero-'))
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HEARTH_')))
  env.HEARTH_LISTEN = `127.0.0.1:${port}`
  let logs = ''
  const proc = spawn(binary, [], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] })
  proc.stdout.on('data', (d) => (logs += d))
  proc.stderr.on('data', (d) => (logs += d))
  const exited = new Promise((resolve) => proc.on('exit', resolve))
  for (let i = 0; i < 200 && !/setup_code=/.test(logs); i++) await sleep(50)
  return {
    url: `http://127.0.0.1:${port}`, port, logs: () => logs,
    code: logs.match(/setup_code=(\S+)/)?.[1],
    async stop() {
      proc.kill('SIGTERM')
      await exited
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

const checked = []

// check measures the page as it is, at both sizes, and saves screenshots.
async function check(page, name) {
  for (const [label, size] of [['phone', phone], ['desktop', desktop]]) {
    await page.setViewportSize(size)
    await sleep(50)
    const fit = await page.evaluate(() => ({ sw: document.documentElement.scrollWidth, iw: window.innerWidth }))
    assert.ok(fit.sw <= fit.iw, `${name} at ${label}: scrollWidth ${fit.sw} > innerWidth ${fit.iw}`)
    if (!(await page.evaluate(() => typeof window.axe !== 'undefined'))) await page.addScriptTag({ content: axeSource })
    const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }))
    const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
    assert.deepEqual(bad.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`), [], `${name} at ${label}: axe`)
    const unlabeled = await page.evaluate(() =>
      [...document.querySelectorAll('input, select, textarea, meter')]
        .filter((el) => el.type !== 'hidden' && !el.closest('[hidden]'))
        .filter((el) => !(el.labels?.length || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby')))
        .map((el) => el.id || el.name))
    assert.deepEqual(unlabeled, [], `${name} at ${label}: controls without a label`)
    await page.screenshot({ path: path.join(artifacts, `trial-${checked.length + 1}-${name}-${label}.png`), fullPage: true })
  }
  // Keyboard order: Tab visits the focusable elements in the page's order.
  const positive = await page.evaluate(() => [...document.querySelectorAll('[tabindex]')].filter((e) => e.tabIndex > 0).length)
  assert.equal(positive, 0, `${name}: positive tabindex`)
  await page.evaluate(() => {
    document.activeElement?.blur()
    window.scrollTo(0, 0)
  })
  await page.mouse.click(2, 2) // the header: Tab starts from the top
  const order = await page.evaluate(() => {
    const all = [...document.querySelectorAll('a[href], button, input, select, textarea, [tabindex]')]
      .filter((e) => !e.disabled && e.type !== 'hidden' && e.tabIndex >= 0 && e.getClientRects().length > 0)
    all.forEach((e, i) => (e.dataset.tabPos = String(i)))
    return all.length
  })
  const seen = []
  for (let i = 0; i < Math.min(order, 25); i++) {
    await page.keyboard.press('Tab')
    seen.push(await page.evaluate(() => Number(document.activeElement?.dataset?.tabPos ?? -1)))
  }
  // Until Tab leaves the page (-1, the browser's own controls), each step
  // goes to the next element of the page.
  const visited = seen.slice(0, seen.indexOf(-1) === -1 ? seen.length : seen.indexOf(-1))
  assert.ok(visited.length > 0 || order === 0, `${name}: Tab reaches nothing (${seen})`)
  for (let i = 1; i < visited.length; i++) {
    assert.ok(visited[i] > visited[i - 1], `${name}: Tab goes from element ${visited[i - 1]} to ${visited[i]} (${seen})`)
  }
  checked.push(name)
}

async function main() {
  const hearth = await startFresh()
  const url = hearth.url
  const browser = await launchBrowser()
  try {
    assert.ok(hearth.code, 'setup code in the log:\n' + hearth.logs())
    assert.ok(hearth.logs().includes(`http://localhost:${hearth.port}/setup`), 'the log names the setup link')
    const ctx = await browser.newContext({ viewport: phone, bypassCSP: true }) // bypassCSP: for axe-core's script only
    const page = await ctx.newPage()

    await page.goto(url + '/')
    await page.getByText('setup code').first().waitFor()
    await check(page, 'setup-code')
    await page.fill('#code', 'wrong-code')
    await page.click('button:has-text("Continue")')
    await page.getByText('not the setup code').waitFor()
    await check(page, 'setup-code-wrong')
    await page.fill('#code', hearth.code)
    await page.click('button:has-text("Continue")')
    await page.getByText('Where Hearth lives').waitFor()
    await check(page, 'where')
    // The Internet path refuses localhost in words, keeping the way to the trial.
    await page.fill('#hostname', 'localhost')
    await page.click('button[value="save"]')
    await page.getByText('reaches only this computer').waitFor()
    await check(page, 'where-localhost-refused')
    await page.click('button:has-text("Try it on this computer")')
    await page.getByText('Your account').waitFor({ timeout: 15000 }) // the restart page moves on by itself
    assert.ok(await page.locator('.trial-banner').isVisible(), 'trial banner on the wizard')
    // The handle's pattern works in Chromium: a bad name is invalid.
    await page.fill('#name', '-bad')
    assert.equal(await page.$eval('#name', (e) => e.validity.patternMismatch), true, 'the pattern checks the handle')
    await check(page, 'account-step')
    await page.fill('#name', 'alice')
    await page.fill('#email', 'alice@example.com')
    await page.fill('#password', 'Correct Horse 42!')
    await page.fill('#password2', 'Correct Horse 43!')
    await page.click('button:has-text("Create my account")')
    await page.getByText('passwords differ').waitFor()
    assert.equal(await page.inputValue('#name'), 'alice', 'the handle is kept')
    assert.equal(await page.inputValue('#email'), 'alice@example.com', 'the email is kept')
    assert.equal(await page.inputValue('#password'), '', 'the password is not kept')
    await check(page, 'account-step-refused')
    for (let i = 0; ; i++) {
      await page.fill('#password', 'Correct Horse 42!')
      await page.fill('#password2', 'Correct Horse 42!')
      await page.click('button:has-text("Create my account")')
      await page.waitForLoadState()
      if (!(await page.getByText('still restarting').count())) break
      assert.ok(i < 20, 'the restart never ended')
      await sleep(300)
    }
    await page.getByRole('heading', { name: 'Done' }).waitFor()
    assert.equal(await page.textContent('#hosting'), `http://localhost:${hearth.port}`, 'the address has its port')
    await check(page, 'done')

    // A client on this computer signs in and posts.
    const agent = new AtpAgent({ service: url })
    await agent.login({ identifier: 'alice.test', password: 'Correct Horse 42!' })
    agent.sessionManager.pdsUrl = new URL(url) // localhost may be ::1 first for Node
    const text = 'first post from a trial ' + Date.now()
    await agent.post({ text, createdAt: new Date().toISOString() })

    await page.goto(url + '/status')
    await page.locator('#account-alice\\.test').getByText('1 record').waitFor()
    assert.ok(await page.locator('.trial-banner').isVisible(), 'trial banner on the status page')
    assert.ok((await page.textContent('#relays-card')).includes('not federated'))
    await check(page, 'status')

    // The account page and the login page, from a fresh browser.
    const page2 = await (await browser.newContext({ viewport: phone, bypassCSP: true })).newPage()
    await page2.goto(url + '/login')
    await check(page2, 'login')
    await page2.fill('#identifier', 'admin')
    await page2.fill('#password', 'a guess')
    await page2.click('button:has-text("Log in")')
    await page2.getByText('admin-password').waitFor()
    await check(page2, 'login-refused')
    await page2.goto(url + '/account')
    await check(page2, 'account-sign-in')
    await page2.fill('#identifier', 'alice.test')
    await page2.fill('#password', 'Correct Horse 42!')
    await page2.click('button:has-text("Sign in")')
    await page2.getByRole('heading', { name: 'Your account', exact: true }).waitFor()
    await check(page2, 'account-page')

    // Leaving the trial is one button, and says the trial accounts stay local.
    await page.goto(url + '/status')
    assert.ok((await page.textContent('#trial')).includes('stay here, local'))
    await page.click('#trial button:has-text("Put it on the Internet")')
    await page.getByText('Where Hearth lives').waitFor({ timeout: 15000 })
    await check(page, 'where-after-trial')
    console.log(JSON.stringify({ ok: true, steps: checked }))
  } finally {
    await browser.close()
    await hearth.stop()
  }
}

main().catch((err) => {
  console.error(err?.stack ?? err)
  process.exit(1)
})
