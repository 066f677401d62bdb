// The account page in a real browser on a phone-sized screen: after the
// wizard makes the owner, a fresh browser signs in at /account, changes the
// password, makes an app password and revokes it, deactivates and
// reactivates; @atproto/api checks which passwords sign in. Screenshots go
// to e2e/artifacts/account-*.png.
//
//   node account.mjs <hearth-binary>
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import assert from 'node:assert/strict'
import { AtpAgent } from '@atproto/api'
import { startPLC } from './plc-server.mjs'
import { launchBrowser, makeOwner, phone, startHearth } from './hearth.mjs'

const binary = process.argv[2]
const artifacts = path.join(path.dirname(new URL(import.meta.url).pathname), 'artifacts')
mkdirSync(artifacts, { recursive: true })

const first = 'Correct Horse 42!'
const second = 'Battery Staple 43?'

// signsIn reports whether @atproto/api can sign in with password.
async function signsIn(url, identifier, password) {
  const agent = new AtpAgent({ service: url })
  try {
    await agent.login({ identifier, password })
    return true
  } catch (err) {
    if (err?.status === 401 || err?.error === 'AuthenticationRequired') return false
    throw err
  }
}

async function main() {
  const plc = await startPLC()
  const hearth = await startHearth(binary, { HEARTH_PLC_URL: plc.url, HEARTH_RELAYS: '' })
  const url = hearth.url
  const browser = await launchBrowser()
  const steps = []
  try {
    const wizard = await (await browser.newContext()).newPage()
    const handle = await makeOwner(wizard, hearth, { password: first })

    const page = await (await browser.newContext({ viewport: phone })).newPage()
    const shot = async (name) => {
      await page.screenshot({ path: path.join(artifacts, `account-${steps.length + 1}-${name}.png`), fullPage: true })
      steps.push(name)
    }
    const main = () => page.textContent('main')

    await page.goto(url + '/login')
    await page.click('a[href="/account"]')
    await page.getByRole('heading', { name: 'Your account' }).waitFor()
    await page.fill('#identifier', handle)
    await page.fill('#password', 'not my password')
    await page.click('button:has-text("Sign in")')
    await page.getByText('is wrong').waitFor()
    await shot('sign-in-refused')
    await page.fill('#password', first)
    await page.click('button:has-text("Sign in")')
    await page.getByText('Sign out').waitFor()
    assert.ok((await main()).includes('did:plc:'), 'the page shows the DID')
    assert.ok((await main()).includes('no mail server'), 'the page says codes are shown here')
    await shot('signed-in')

    await page.fill('#current', first)
    await page.fill('#new', second)
    await page.fill('#new2', second)
    await page.click('button:has-text("Change my password")')
    await page.getByText('Your password is changed').waitFor()
    await shot('password-changed')
    assert.equal(await signsIn(url, handle, first), false, 'the old password no longer signs in')
    assert.equal(await signsIn(url, handle, second), true, 'the new password signs in')

    await page.fill('#ap-name', 'my phone')
    await page.click('button:has-text("Create an app password")')
    const appPassword = (await page.textContent('.new-secret code')).trim()
    assert.match(appPassword, /^[a-z2-7]{4}(-[a-z2-7]{4}){3}$/)
    await shot('app-password')
    assert.equal(await signsIn(url, handle, appPassword), true, 'the app password signs in')
    await page.click('button[aria-label="Revoke my phone"]')
    await page.getByText('is revoked').waitFor()
    assert.equal(await signsIn(url, handle, appPassword), false, 'the revoked app password no longer signs in')

    await page.click('button:has-text("Deactivate my account")')
    await page.getByText('Your account is deactivated').waitFor()
    assert.ok((await page.textContent('table')).includes('deactivated'), 'the state shows deactivated')
    await shot('deactivated')
    await page.click('button:has-text("Reactivate my account")')
    await page.getByText('Your account is active again').waitFor()
    assert.ok((await page.textContent('table')).includes('active'), 'the state shows active')

    await page.click('button:has-text("Sign out")')
    await page.locator('#identifier').waitFor()
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
