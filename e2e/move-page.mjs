// "Bring my account here" in a real browser on a phone-sized screen, from
// the reference PDS (@atproto/pds, in this process) as the old host: an
// account with posts, a like, a follow, a profile with a PNG avatar and
// preferences is made there; chromium opens /move on Hearth, types the old
// handle (its .test name resolves nowhere, so the old host's address goes
// under "My handle cannot be found"), the old password, a new handle and
// email, follows the self-refreshing progress page, answers the PLC code
// form with the code the reference made (read from its database) and waits
// for the final check. @atproto/api then checks that the account signs in
// on Hearth, every record is there with its CID, the avatar is
// byte-identical, the PLC document points at Hearth and the reference
// refuses writes. No relay is configured, so the check says none was
// asked. Screenshots go to e2e/artifacts/move-*.png.
//
//   node move-page.mjs <hearth-binary>
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import zlib from 'node:zlib'
import assert from 'node:assert/strict'
import { AtpAgent } from '@atproto/api'
import { startPLC } from './plc-server.mjs'
import { startReferencePDS } from './refpds.mjs'
import { launchBrowser, phone, sleep, startHearth } from './hearth.mjs'

const binary = process.argv[2]
if (!binary) {
  console.error('usage: node move-page.mjs <hearth-binary>')
  process.exit(2)
}
const artifacts = path.join(path.dirname(new URL(import.meta.url).pathname), 'artifacts')
mkdirSync(artifacts, { recursive: true })
const COLLECTIONS = ['app.bsky.actor.profile', 'app.bsky.feed.post', 'app.bsky.feed.like', 'app.bsky.graph.follow']

// makePNG draws a w×h PNG of one colour.
function makePNG(w, h, [r, g, b]) {
  const chunk = (type, data) => {
    const len = Buffer.alloc(4)
    len.writeUInt32BE(data.length)
    const td = Buffer.concat([Buffer.from(type), data])
    const crc = Buffer.alloc(4)
    crc.writeUInt32BE(zlib.crc32(td))
    return Buffer.concat([len, td, crc])
  }
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(w, 0)
  ihdr.writeUInt32BE(h, 4)
  ihdr[8] = 8
  ihdr[9] = 2
  const row = Buffer.concat([Buffer.from([0]), Buffer.from(Array.from({ length: w }, () => [r, g, b]).flat())])
  const raw = Buffer.concat(Array.from({ length: h }, () => row))
  return new Uint8Array(
    Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk('IHDR', ihdr),
      chunk('IDAT', zlib.deflateSync(raw)),
      chunk('IEND', Buffer.alloc(0)),
    ]),
  )
}

async function waitHealthy(url) {
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(url + '/xrpc/_health')).ok) return
    } catch {}
    await sleep(50)
  }
  throw new Error(`${url} did not become healthy`)
}

// records lists every record of the account, collection by collection: uri → cid.
async function records(url, did) {
  const agent = new AtpAgent({ service: url })
  const out = {}
  for (const collection of COLLECTIONS) {
    out[collection] = {}
    let cursor
    do {
      const res = await agent.com.atproto.repo.listRecords({ repo: did, collection, limit: 100, cursor })
      for (const r of res.data.records) out[collection][r.uri] = r.cid
      cursor = res.data.cursor
    } while (cursor)
  }
  return out
}

const pdsOf = (doc) => doc.service?.find((s) => s.id === '#atproto_pds' || s.id === doc.id + '#atproto_pds')?.serviceEndpoint

async function main() {
  const started = Date.now()
  const steps = []
  const plc = await startPLC()
  const ref = await startReferencePDS({ plcUrl: plc.url })
  const hearth = await startHearth(binary, (url) => ({
    HEARTH_PUBLIC_URL: url,
    HEARTH_PLC_URL: plc.url,
    HEARTH_HOSTNAME: 'localhost',
    HEARTH_HANDLE_DOMAINS: '.test',
    HEARTH_INVITE_REQUIRED: 'false',
    HEARTH_RELAYS: '',
    HEARTH_DEV: 'true',
    HEARTH_RATE_LIMITS: 'false',
  }))
  const url = hearth.url
  const browser = await launchBrowser()
  try {
    await waitHealthy(url)

    // The account on the reference, with what a person has.
    const n = Date.now() % 100000
    const oldHandle = `walker${n}.test`
    const newHandle = `walker${n}-here.test`
    const email = `${oldHandle}@mail.test`
    const password = 'walking-house-7'
    const old = new AtpAgent({ service: ref.url })
    await old.createAccount({ handle: oldHandle, email, password })
    const did = old.session.did
    const avatarBytes = makePNG(16, 16, [200, 60, 40])
    const avatar = (await old.uploadBlob(avatarBytes, { encoding: 'image/png' })).data.blob
    await old.com.atproto.repo.putRecord({
      repo: did,
      collection: 'app.bsky.actor.profile',
      rkey: 'self',
      record: { $type: 'app.bsky.actor.profile', displayName: 'Walking Person', description: 'moves by browser', avatar },
    })
    const posts = []
    for (let i = 0; i < 3; i++) posts.push(await old.post({ text: `post ${i} before the move`, createdAt: new Date().toISOString() }))
    await old.like(posts[0].uri, posts[0].cid)
    await old.follow('did:plc:ewvi7nxzyoun6zhxrhs64oiz')
    const prefs = [
      { $type: 'app.bsky.actor.defs#adultContentPref', enabled: false },
      { $type: 'app.bsky.actor.defs#threadViewPref', sort: 'oldest' },
    ]
    await old.app.bsky.actor.putPreferences({ preferences: prefs })
    const before = await records(ref.url, did)
    const count = Object.values(before).reduce((k, m) => k + Object.keys(m).length, 0)
    assert.equal(count, 6, 'records on the reference')
    const avatarCid = avatar.ref.toString()

    // The browser, at phone size.
    const page = await (await browser.newContext({ viewport: phone })).newPage()
    const shot = async (name) => {
      await page.screenshot({ path: path.join(artifacts, `move-${steps.length + 1}-${name}.png`), fullPage: true })
      steps.push(name)
    }
    await page.goto(url + '/move')
    await page.getByRole('heading', { name: 'Bring my account here' }).waitFor()
    await page.fill('#old', oldHandle)
    await page.fill('#password', password)
    await page.fill('#name', newHandle.replace(/\.test$/, ''))
    assert.equal(await page.inputValue('select[name="domain"]'), '.test', 'the handle domain offered')
    await page.fill('#email', `new-${email}`)
    await page.click('summary:has-text("My handle cannot be found")')
    await page.fill('#host', ref.url)
    await shot('form')
    await page.click('button:has-text("Bring my account here")')

    // The progress page follows the runner by itself until it asks for the code.
    await page.getByRole('heading', { name: `Bringing @${oldHandle} here` }).waitFor({ timeout: 15_000 })
    await shot('progress')
    await page.locator('#code').waitFor({ timeout: 30_000 })
    const main = await page.textContent('main')
    assert.ok(main.includes('Records copied: 6 of 6'), `records copied shown: ${main}`)
    assert.ok(main.includes('Images and videos: 1 of 1'), `blobs copied shown: ${main}`)
    let token
    for (let i = 0; i < 100 && !token; i++) {
      token = ref.emailToken(did, 'plc_operation')
      if (!token) await sleep(50)
    }
    assert.ok(token, 'the reference made a PLC token')
    await page.fill('#code', token)
    await shot('plc-code')
    await page.click('button:has-text("Point my identity here")')

    // The final check.
    await page.getByText('Your account lives here now').waitFor({ timeout: 30_000 })
    const table = await page.textContent('table')
    for (const want of ['6 here, 6 on your old host', '1 of 1', 'copied', 'points here', 'turned off', 'not asked']) {
      assert.ok(table.includes(want), `the check shows ${want}: ${table}`)
    }
    await shot('done')

    // @atproto/api judges the result.
    const agent = new AtpAgent({ service: url })
    await agent.login({ identifier: newHandle, password })
    assert.equal(agent.session.did, did, 'the account signs in on Hearth with its DID')
    assert.equal(agent.session.handle, newHandle, 'under its new handle')
    assert.deepEqual(await records(url, did), before, 'every record, with its CID')
    const got = await agent.com.atproto.sync.getBlob({ did, cid: avatarCid })
    assert.ok(Buffer.from(got.data).equals(Buffer.from(avatarBytes)), 'the avatar is byte-identical')
    const gotPrefs = (await agent.app.bsky.actor.getPreferences()).data.preferences
    assert.deepEqual(gotPrefs, (await old.app.bsky.actor.getPreferences()).data.preferences, 'preferences')
    const doc = await (await fetch(`${plc.url}/${did}`)).json()
    assert.equal(pdsOf(doc), url, 'the PLC document names Hearth')
    assert.ok(doc.alsoKnownAs.includes(`at://${newHandle}`), `the PLC document names the new handle: ${doc.alsoKnownAs}`)
    const status = (await agent.com.atproto.server.checkAccountStatus()).data
    assert.equal(status.activated, true, 'active on Hearth')
    assert.equal(status.validDid, true, 'valid DID on Hearth')
    await agent.post({ text: 'hello from Hearth', createdAt: new Date().toISOString() })
    let refusal
    try {
      await old.post({ text: 'written on the old host after the move', createdAt: new Date().toISOString() })
    } catch (err) {
      refusal = `${err.status} ${err.error}`
    }
    assert.ok(refusal, 'the reference refuses writes after the move')
    console.log(JSON.stringify({ ok: true, steps, did, records: count, refusal, ms: Date.now() - started }))
  } catch (err) {
    console.error(hearth.logs().slice(-5000))
    throw err
  } finally {
    await browser.close()
    await hearth.stop()
    await ref.close()
    plc.server.close()
  }
}

main().catch((err) => {
  console.error(err?.stack ?? err)
  process.exit(1)
})
