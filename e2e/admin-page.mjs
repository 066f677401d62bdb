// The status page's admin powers in a real browser on a phone-sized
// screen: the admin logs in at /status, makes an invite code that a new
// account signs up with, sees it listed and disables it, takes the account
// down (its @atproto/api sign-in fails with AccountTakedown), lifts the
// takedown, resets its password and signs in with the one shown. Its HTTPS
// page (no horizontal overflow at 390 px, no serious axe violation) refuses
// a key file that is not there, in words, and keeps the proxy mode.
// Screenshots go to e2e/artifacts/admin-*.png.
//
//   node admin-page.mjs <hearth-binary>
import { mkdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import assert from 'node:assert/strict'
import { AtpAgent } from '@atproto/api'
import { startPLC } from './plc-server.mjs'
import { launchBrowser, makeOwner, phone, startHearth } from './hearth.mjs'

const binary = process.argv[2]
const artifacts = path.join(path.dirname(new URL(import.meta.url).pathname), 'artifacts')
mkdirSync(artifacts, { recursive: true })

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')
const adminPassword = 'e2e admin password'
const bobPassword = 'Bob Is Here 7!'

// signIn answers "ok" or the XRPC error name of a sign-in with password.
async function signIn(url, identifier, password) {
  const agent = new AtpAgent({ service: url })
  try {
    await agent.login({ identifier, password })
    return 'ok'
  } catch (err) {
    if (err?.error) return err.error
    throw err
  }
}

async function main() {
  const plc = await startPLC()
  const hearth = await startHearth(binary, { HEARTH_PLC_URL: plc.url, HEARTH_RELAYS: '', HEARTH_ADMIN_PASSWORD: adminPassword })
  const url = hearth.url
  const browser = await launchBrowser()
  const steps = []
  try {
    const wizard = await (await browser.newContext()).newPage()
    const owner = await makeOwner(wizard, hearth, { password: 'Owner Password 1!' })
    const host = owner.slice(owner.indexOf('.') + 1)
    const bob = `bob.${host}`

    const context = await browser.newContext({ viewport: phone, bypassCSP: true }) // bypassCSP: for axe-core's script only
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: url })
    const page = await context.newPage()
    const shot = async (name) => {
      await page.screenshot({ path: path.join(artifacts, `admin-${steps.length + 1}-${name}.png`), fullPage: true })
      steps.push(name)
    }
    const card = (handle) => page.locator(`[id="account-${handle}"]`)

    await page.goto(url + '/status')
    await page.fill('#identifier', 'admin')
    await page.fill('#password', adminPassword)
    await page.click('button:has-text("Log in")')
    await page.getByRole('heading', { name: 'Invite codes' }).waitFor()

    await page.click('button:has-text("Create an invite code")')
    const code = (await page.textContent('p.ok code.big')).trim()
    const row = page.locator('tr.invite', { hasText: code })
    assert.ok((await row.textContent()).includes('0 of 1'), 'the new code is listed, unused')
    await row.locator('button:has-text("Copy")').click()
    await row.locator('button:has-text("Copied")').waitFor()
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), code, 'the copy button copies the code')
    await shot('invite')

    const agent = new AtpAgent({ service: url })
    await agent.createAccount({ handle: bob, email: 'bob@example.com', password: bobPassword, inviteCode: code })
    await page.goto(url + '/status')
    assert.ok((await row.textContent()).includes('1 of 1'), 'the code shows its use')
    assert.ok((await card(bob).textContent()).includes('bob@example.com'), 'the account is listed with its email')
    await row.locator('button:has-text("Disable")').click()
    await page.getByText(`The invite code ${code} is disabled`).waitFor()
    assert.ok((await row.textContent()).includes('disabled'), 'the code shows disabled')

    await card(bob).locator('button:has-text("Take down")').click()
    await page.getByText(`@${bob} is taken down`).waitFor()
    assert.ok((await card(bob).textContent()).includes('takendown'))
    await shot('taken-down')
    assert.equal(await signIn(url, bob, bobPassword), 'AccountTakedown', 'a taken-down account cannot sign in')
    assert.equal(await card(owner).locator('button:has-text("Take down")').count(), 0, 'the owner has no takedown button')

    await card(bob).locator('button:has-text("Lift the takedown")').click()
    await page.getByText(`The takedown of @${bob} is lifted`).waitFor()
    assert.equal(await signIn(url, bob, bobPassword), 'ok', 'the lifted account signs in')

    await card(bob).locator('button:has-text("Reset password")').click()
    const fresh = (await page.textContent('#new-password')).trim()
    await shot('new-password')
    assert.equal(await signIn(url, bob, bobPassword), 'AuthenticationRequired', 'the old password no longer signs in')
    assert.equal(await signIn(url, bob, fresh), 'ok', 'the password shown signs in')

    await card(bob).locator('button:has-text("Delete")').click()
    await page.fill('#confirm-handle', 'not bob')
    await page.click(`button:has-text("Delete @${bob} for good")`)
    await page.getByText('The handle you typed is not').waitFor()
    await shot('delete-confirm')
    await page.fill('#confirm-handle', bob)
    await page.click(`button:has-text("Delete @${bob} for good")`)
    await page.getByText(`@${bob} is deleted`).waitFor()
    assert.equal(await card(bob).count(), 0, 'the deleted account is gone from the list')
    await shot('deleted')

    await page.click('a:has-text("HTTPS: how people reach this server safely")')
    await page.getByRole('heading', { name: 'Change it' }).waitFor()
    const fit = await page.evaluate(() => ({ sw: document.documentElement.scrollWidth, iw: window.innerWidth }))
    assert.ok(fit.sw <= fit.iw, `HTTPS page: scrollWidth ${fit.sw} > innerWidth ${fit.iw}`)
    await page.addScriptTag({ content: axeSource })
    const axe = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }))
    const serious = axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id)
    assert.deepEqual(serious, [], 'HTTPS page: serious axe violations')
    await page.check('input[name="tls"][value="files"]')
    await page.fill('#tls-cert', '/nonexistent/fullchain.pem')
    await page.fill('#tls-key', '/nonexistent/privkey.pem')
    await page.click('button:has-text("Save and restart")')
    await page.getByText('There is no file at /nonexistent/fullchain.pem or /nonexistent/privkey.pem').waitFor()
    await shot('https-refused')
    await page.goto(url + '/status/https')
    assert.ok((await page.textContent('#https-now')).includes('A web server you already run'), 'the refused choice is not stored')
    assert.ok(await page.isChecked('input[name="tls"][value="off"]'), 'the proxy mode stays chosen')
    console.log(JSON.stringify({ ok: true, steps }))
  } catch (err) {
    console.error(hearth.logs())
    throw err
  } finally {
    await browser.close()
    await hearth.stop()
    plc.server.close()
  }
}

main().catch((err) => {
  console.error(err?.stack ?? err)
  process.exit(1)
})
