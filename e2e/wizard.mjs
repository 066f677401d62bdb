// A person with only the binary: a real browser (Debian's chromium driven by
// playwright-core) walks the setup wizard on a fresh data folder, then the
// new owner logs in with @atproto/api and posts, then the browser opens the
// status page and downloads a backup that must be a bbolt file holding that
// post. On the way, the address step sets HTTPS to the owner's own
// certificate files (a wrong path first, refused in words), and Hearth
// serves HTTPS with them after its restart. Screenshots of each step go to
// e2e/artifacts/.
//
//   node wizard.mjs <hearth-binary>
import http from 'node:http'
import tls from 'node:tls'
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import assert from 'node:assert/strict'
import { AtpAgent } from '@atproto/api'
import { startPLC } from './plc-server.mjs'
import { freePort, launchBrowser, phone, sleep, startHearth } from './hearth.mjs'

const binary = process.argv[2]
const artifacts = path.join(path.dirname(new URL(import.meta.url).pathname), 'artifacts')
mkdirSync(artifacts, { recursive: true })

// selfSigned makes a certificate and key for host and its subdomains.
function selfSigned(host) {
  const dir = mkdtempSync(path.join(tmpdir(), 'hearth-cert-'))
  const cert = path.join(dir, 'fullchain.pem')
  const key = path.join(dir, 'privkey.pem')
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
    '-subj', `/CN=${host}`, '-addext', `subjectAltName=DNS:${host},DNS:*.${host}`, '-keyout', key, '-out', cert], { stdio: 'ignore' })
  return { cert, key }
}

// servedCert is the certificate HTTPS at port answers for host with.
function servedCert(port, host) {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername: host, rejectUnauthorized: false }, () => {
      const c = s.getPeerCertificate()
      s.end()
      resolve(c)
    })
    s.on('error', reject)
  })
}

async function main() {
  const plc = await startPLC()
  const files = selfSigned('pds.hearth.dev')
  const httpsPort = await freePort()
  const crawls = []
  const relay = http.createServer((req, res) => { crawls.push(req.url); res.end('{}') })
  await new Promise((r) => relay.listen(0, '127.0.0.1', r))
  const hearth = await startHearth(binary, {
    HEARTH_PLC_URL: plc.url, HEARTH_RELAYS: `http://127.0.0.1:${relay.address().port}`,
    HEARTH_HTTPS_LISTEN: `127.0.0.1:${httpsPort}`, HEARTH_HTTP_LISTEN: `127.0.0.1:${await freePort()}`,
  })
  const url = hearth.url
  const browser = await launchBrowser()
  const steps = []
  try {
    const code = await hearth.setupCode()
    assert.ok(code, 'setup code in the log')
    const ctx = await browser.newContext({ acceptDownloads: true, viewport: phone })
    let page = await ctx.newPage()
    const shot = async (name) => {
      await page.screenshot({ path: path.join(artifacts, `${steps.length + 1}-${name}.png`), fullPage: true })
      steps.push(name)
    }

    await page.goto(url + '/')
    await page.getByText('setup code').first().waitFor()
    await shot('setup-code')
    await page.fill('#code', 'wrong-code')
    await page.click('button:has-text("Continue")')
    await page.getByText('not the setup code').waitFor()
    await page.fill('#code', code)
    await page.click('button:has-text("Continue")')
    await page.getByText('Where Hearth lives').waitFor()
    // The check looks the name up in DNS: use one that resolves locally,
    // so the test sends no query out.
    await page.fill('#hostname', 'localhost')
    await page.click('button:has-text("Check")')
    await page.getByText('What Hearth sees').waitFor()
    await page.fill('#hostname', 'pds.hearth.dev')
    await shot('address')
    // HTTPS: the proxy is the default; the owner brings certificate files,
    // mistyping the key's path first.
    assert.ok(await page.isChecked('input[name=tls][value=off]'), 'behind a proxy is the default')
    await page.check('input[name=tls][value=files]')
    await page.fill('#tls-cert', files.cert)
    await page.fill('#tls-key', files.key + '.typo')
    await page.click('button:has-text("Put it on the Internet")')
    await page.getByText('There is no file at').waitFor()
    assert.ok(await page.isChecked('input[name=tls][value=files]'), 'the choice is kept')
    assert.equal(await page.inputValue('#hostname'), 'pds.hearth.dev', 'the name is kept')
    await shot('address-https-refused')
    await page.fill('#tls-key', files.key)
    await page.click('button:has-text("Put it on the Internet")')
    await page.getByText('Your account').waitFor() // the restart page moves on by itself
    await page.fill('#name', 'owner')
    await page.fill('#email', 'owner@example.com')
    await page.fill('#password', 'Correct Horse 42!')
    await page.fill('#password2', 'Correct Horse 42!')
    assert.ok(Number(await page.$eval('#strength', (m) => m.value)) >= 3, 'strength meter moves')
    await shot('owner')
    await page.click('button:has-text("Create my account")')
    await page.getByText('Done').waitFor()
    const hosting = await page.textContent('.big code')
    assert.equal(hosting, 'https://pds.hearth.dev')
    assert.ok((await page.textContent('main')).includes('127.0.0.1'), 'the done page lists the relay')
    await shot('done')
    const served = await servedCert(httpsPort, 'pds.hearth.dev')
    assert.equal(served.subject?.CN, 'pds.hearth.dev', 'HTTPS serves the certificate chosen in the wizard')

    // The owner posts from a client.
    const agent = new AtpAgent({ service: url })
    await agent.login({ identifier: 'owner.pds.hearth.dev', password: 'Correct Horse 42!' })
    // The session names the public address (https://pds.hearth.dev); this
    // test has no DNS for it, so keep talking to the loopback address.
    agent.sessionManager.pdsUrl = new URL(url)
    const text = 'first post from my own Hearth ' + Date.now()
    await agent.post({ text, createdAt: new Date().toISOString() })

    // The status page from another browser session: it needs a login.
    const ctx2 = await browser.newContext({ acceptDownloads: true })
    const page2 = await ctx2.newPage()
    await page2.goto(url + '/status')
    await page2.waitForURL(/\/login/)
    page = page2
    await page.fill('#identifier', 'owner.pds.hearth.dev')
    await page.fill('#password', 'Correct Horse 42!')
    await page.click('button:has-text("Log in")')
    await page.getByText('owner.pds.hearth.dev').first().waitFor()
    await shot('status')
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('text=Download a backup')])
    const file = readFileSync(await download.path())
    assert.equal(file.readUInt32LE(16), 0xed0cdaed, 'backup starts with the bbolt magic')
    assert.ok(file.includes(Buffer.from(text)), 'backup holds the post')
    console.log(JSON.stringify({ ok: true, steps, backupBytes: file.length }))
  } finally {
    await browser.close()
    await hearth.stop()
    plc.server.close()
    relay.close()
  }
}

main().catch((err) => {
  console.error(err?.stack ?? err)
  process.exit(1)
})
