// Account migration between real hosts, step by step as goat and the Bluesky
// migration guide do it, judged with @atproto/api and @atproto/repo.
//
//   node migrate.mjs <hearth-binary> <smtp-url> <messages-url>
//
// One account (posts, likes, follows, a profile with an avatar, an image post,
// preferences) is born on the reference PDS (@atproto/pds, in this process)
// and moves reference → Hearth A → Hearth B → a second reference: so
// reference → Hearth, Hearth → Hearth, and the same account back from Hearth
// to a reference. (The first reference cannot take the DID back: it keeps the
// deactivated copy, and a DID, handle or email it holds is refused at
// createAccount, so the way back goes to a fresh reference.) Every host mails
// to the Go test's mailtest receiver; the PLC tokens are read from that mail.
//
// After each move: every record present with the same CID (listRecords per
// collection, and the repo CAR verified by @atproto/repo against the new
// signing key), blobs byte-identical, preferences equal, the PLC document
// names the new host and its signing key, the new host's firehose carries
// #identity, #account (active) and #sync for the DID, and the old host
// refuses writes.
//
// Prints a JSON summary {ok, steps, timings, defects, failure}. On the first
// failing call it prints the exact request and answer to stderr and exits 1;
// answers that are wrong but usable (checked raw, the run goes on) are listed
// in defects, and the run exits 0 with ok false.
import { spawn } from 'node:child_process'
import http from 'node:http'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import zlib from 'node:zlib'
import assert from 'node:assert/strict'
import { AtpAgent } from '@atproto/api'
import { verifyRepoCar } from '@atproto/repo'
import { decodeAll } from '@atproto/lex-cbor'
import { startPLC } from './plc-server.mjs'
import { startReferencePDS, freePort } from './refpds.mjs'

const [binary, smtpURL, messagesURL] = process.argv.slice(2)
if (!binary || !smtpURL || !messagesURL) {
  console.error('usage: node migrate.mjs <hearth-binary> <smtp-url> <messages-url>')
  process.exit(2)
}
const summary = { ok: false, steps: [], timings: {} }
const step = (name) => summary.steps.push(name)
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const CODE = /\b[A-Z2-7]{5}-[A-Z2-7]{5}\b/
const COLLECTIONS = ['app.bsky.actor.profile', 'app.bsky.feed.post', 'app.bsky.feed.like', 'app.bsky.graph.follow']

// A failing call is reported as exactly what was asked and answered.
class StepError extends Error {
  constructor(info) {
    super(`${info.host} ${info.call}: ${info.status ?? ''} ${info.error ?? ''} ${info.message ?? ''}`.replace(/\s+/g, ' '))
    this.info = info
  }
}
async function call(host, name, params, fn) {
  try {
    return await fn()
  } catch (err) {
    if (err instanceof StepError) throw err
    throw new StepError({
      host: `${host.name} (${host.url})`,
      call: name,
      request: params,
      status: err.status,
      error: err.error,
      message: err.message,
      ...(err.validationError && { validationError: err.validationError.message, answer: err.responseBody }),
    })
  }
}

// Defects that do not stop the run (the raw answer is still usable) are
// collected and fail it at the end; each names the call and the answer.
const defects = []
async function accountStatus(agent, host) {
  try {
    return (await agent.com.atproto.server.checkAccountStatus()).data
  } catch (err) {
    const res = await fetch(`${host.url}/xrpc/com.atproto.server.checkAccountStatus`, {
      headers: { authorization: `Bearer ${agent.session?.accessJwt}` },
    })
    const answer = await res.json().catch(() => null)
    defects.push({
      host: `${host.name} (${host.url})`,
      call: 'com.atproto.server.checkAccountStatus',
      status: res.status,
      error: err.error,
      message: err.validationError?.message ?? err.message,
      answer,
    })
    if (!res.ok) throw new StepError(defects.pop())
    return answer
  }
}

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
  ihdr[8] = 8 // bit depth
  ihdr[9] = 2 // truecolour
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

// Mail: each message is taken once; the newest unseen one to an address.
const mailTaken = new Set()
async function plcTokenMail(to, from, what) {
  const deadline = Date.now() + 15_000
  while (Date.now() < deadline) {
    const msgs = await (await fetch(messagesURL)).json()
    for (let i = msgs.length - 1; i >= 0; i--) {
      if (mailTaken.has(i) || !msgs[i].to.includes(to)) continue
      mailTaken.add(i)
      assert.equal(msgs[i].from, from, `${what}: the mail's envelope sender`)
      const code = (msgs[i].text || msgs[i].raw).match(CODE)
      assert.ok(code, `${what}: no XXXXX-XXXXX code in ${JSON.stringify(msgs[i].subject)}: ${JSON.stringify(msgs[i].text)}`)
      return code[0]
    }
    await sleep(50)
  }
  throw new Error(`${what}: no mail to ${to} within 15 s`)
}

async function waitHealthy(url) {
  for (let i = 0; i < 200; i++) {
    try {
      const r = await fetch(url + '/xrpc/_health')
      if (r.ok) return await r.json()
    } catch {}
    await sleep(50)
  }
  throw new Error(`${url} did not become healthy`)
}

async function startHearth(name, plc, relayURL, cleanups) {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const data = mkdtempSync(path.join(tmpdir(), `hearth-e2e-mig-${name}-`))
  const env = {
    ...process.env,
    HEARTH_DATA: data,
    HEARTH_LISTEN: `127.0.0.1:${port}`,
    HEARTH_HOSTNAME: 'localhost',
    HEARTH_PUBLIC_URL: url,
    HEARTH_HANDLE_DOMAINS: '.test',
    HEARTH_PLC_URL: plc.url,
    HEARTH_ADMIN_PASSWORD: 'e2e-admin',
    HEARTH_INVITE_REQUIRED: 'false',
    HEARTH_RELAYS: relayURL,
    HEARTH_DEV: 'true',
    HEARTH_RATE_LIMITS: 'false',
    HEARTH_SMTP_URL: smtpURL,
    HEARTH_EMAIL_FROM: `${name}@mail.test`,
  }
  const proc = spawn(binary, [], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  const host = { name, url, kind: 'hearth', logs: '' }
  proc.stdout.on('data', (d) => (host.logs += d))
  proc.stderr.on('data', (d) => (host.logs += d))
  const exited = new Promise((resolve) => proc.on('exit', resolve))
  cleanups.push(async () => {
    proc.kill('SIGTERM')
    await Promise.race([exited, sleep(5000)])
    rmSync(data, { recursive: true, force: true })
  })
  await waitHealthy(url)
  return host
}

// The firehose of a host from the start: the frames for one DID.
async function firehoseFor(url, did) {
  const frames = []
  const ws = new WebSocket(url.replace('http', 'ws') + '/xrpc/com.atproto.sync.subscribeRepos?cursor=0')
  ws.binaryType = 'arraybuffer'
  ws.onmessage = (m) => {
    const [header, body] = decodeAll(new Uint8Array(m.data))
    if (body?.did === did || body?.repo === did) frames.push({ t: header.t, body })
  }
  await new Promise((r, j) => {
    ws.onopen = r
    ws.onerror = j
  })
  await sleep(700)
  ws.close()
  return frames
}

const didKeyOf = (doc, id = '#atproto') => {
  const vm = doc.verificationMethod?.find((v) => v.id === id || v.id === doc.id + id)
  return vm && 'did:key:' + vm.publicKeyMultibase
}
const pdsOf = (doc) => doc.service?.find((s) => s.id === '#atproto_pds' || s.id === doc.id + '#atproto_pds')?.serviceEndpoint

async function listAll(agent, host, did, collection) {
  const out = new Map()
  let cursor
  do {
    const res = await call(host, 'com.atproto.repo.listRecords', { repo: did, collection, cursor }, () =>
      agent.com.atproto.repo.listRecords({ repo: did, collection, limit: 100, cursor }),
    )
    for (const r of res.data.records) out.set(r.uri, r.cid)
    cursor = res.data.cursor
  } while (cursor)
  return out
}

// The account's whole state on a host: records by collection, blobs, prefs.
async function snapshot(agent, host, did, prefsAgent = agent) {
  const records = {}
  for (const c of COLLECTIONS) records[c] = Object.fromEntries(await listAll(agent, host, did, c))
  const prefs = (await call(host, 'app.bsky.actor.getPreferences', {}, () => prefsAgent.app.bsky.actor.getPreferences())).data.preferences
  return { records, prefs }
}

// migrate moves the account from old to neu exactly as goat does, and
// returns the new host's agent.
async function migrate(old, neu, acct) {
  const t0 = Date.now()
  const did = acct.did
  const oldAgent = acct.agent
  const newAgent = new AtpAgent({ service: neu.url })
  const desc = await call(neu, 'com.atproto.server.describeServer', {}, () => newAgent.com.atproto.server.describeServer())
  const serviceDid = desc.data.did

  const sa = await call(old, 'com.atproto.server.getServiceAuth', { aud: serviceDid, lxm: 'com.atproto.server.createAccount' }, () =>
    oldAgent.com.atproto.server.getServiceAuth({ aud: serviceDid, lxm: 'com.atproto.server.createAccount' }),
  )
  const createBody = { did, handle: acct.handle, email: acct.email, password: acct.password }
  const created = await call(neu, 'com.atproto.server.createAccount', { ...createBody, password: '…', authorization: 'Bearer <service auth from old>' }, () =>
    newAgent.com.atproto.server.createAccount(createBody, {
      headers: { authorization: `Bearer ${sa.data.token}` },
    }),
  )
  assert.equal(created.data.did, did, 'createAccount answers the DID it was given')
  await call(neu, 'com.atproto.server.getSession (resumeSession with the createAccount tokens)', {}, () =>
    newAgent.resumeSession({ ...created.data, active: false }),
  )
  const status0 = { data: await accountStatus(newAgent, neu) }
  summary.statusAfterCreate ??= {}
  summary.statusAfterCreate[neu.name] = status0.data
  assert.equal(status0.data.activated, false, `${neu.name}: a migrating account starts deactivated (checkAccountStatus ${JSON.stringify(status0.data)})`)

  const car = await call(old, 'com.atproto.sync.getRepo', { did }, () => oldAgent.com.atproto.sync.getRepo({ did }))
  await call(neu, 'com.atproto.repo.importRepo', { body: `CAR of ${car.data.length} bytes`, encoding: 'application/vnd.ipld.car' }, () =>
    newAgent.com.atproto.repo.importRepo(car.data, { encoding: 'application/vnd.ipld.car' }),
  )

  let moved = 0
  for (let round = 0; round < 5; round++) {
    const missing = []
    let cursor
    do {
      const res = await call(neu, 'com.atproto.repo.listMissingBlobs', { cursor }, () =>
        newAgent.com.atproto.repo.listMissingBlobs({ limit: 500, cursor }),
      )
      missing.push(...res.data.blobs)
      cursor = res.data.cursor
    } while (cursor)
    if (missing.length === 0) break
    for (const { cid } of missing) {
      const blob = await call(old, 'com.atproto.sync.getBlob', { did, cid }, () => oldAgent.com.atproto.sync.getBlob({ did, cid }))
      const mime = blob.headers['content-type'] ?? 'application/octet-stream'
      const up = await call(neu, 'com.atproto.repo.uploadBlob', { cid, bytes: blob.data.length, encoding: mime }, () =>
        newAgent.com.atproto.repo.uploadBlob(blob.data, { encoding: mime }),
      )
      assert.equal(up.data.blob.ref.toString(), cid, `${neu.name}: uploadBlob answers the CID listMissingBlobs named`)
      moved++
    }
  }
  const status1 = { data: await accountStatus(newAgent, neu) }
  assert.equal(status1.data.expectedBlobs, status1.data.importedBlobs, `${neu.name}: blobs after the upload loop: ${JSON.stringify(status1.data)}`)

  const prefs = await call(old, 'app.bsky.actor.getPreferences', {}, () => oldAgent.app.bsky.actor.getPreferences())
  await call(neu, 'app.bsky.actor.putPreferences', prefs.data, () => newAgent.app.bsky.actor.putPreferences(prefs.data))

  const rec = await call(neu, 'com.atproto.identity.getRecommendedDidCredentials', {}, () =>
    newAgent.com.atproto.identity.getRecommendedDidCredentials(),
  )
  await call(old, 'com.atproto.identity.requestPlcOperationSignature', {}, () => oldAgent.com.atproto.identity.requestPlcOperationSignature())
  const token = await plcTokenMail(acct.email, `${old.name}@mail.test`, `${old.name} PLC token`)
  const signBody = { token, ...rec.data }
  const signed = await call(old, 'com.atproto.identity.signPlcOperation', { ...signBody, token: '<from mail>' }, () =>
    oldAgent.com.atproto.identity.signPlcOperation(signBody),
  )
  await call(neu, 'com.atproto.identity.submitPlcOperation', { operation: signed.data.operation }, () =>
    newAgent.com.atproto.identity.submitPlcOperation({ operation: signed.data.operation }),
  )
  await call(neu, 'com.atproto.server.activateAccount', {}, () => newAgent.com.atproto.server.activateAccount())
  await call(old, 'com.atproto.server.deactivateAccount', {}, () => oldAgent.com.atproto.server.deactivateAccount({}))
  const ms = Date.now() - t0
  summary.timings[`${old.name}→${neu.name}`] = ms
  step(`${old.name} → ${neu.name}: moved (${moved} blobs, CAR ${car.data.length} B) in ${ms} ms`)
  return { agent: newAgent, recommended: rec.data }
}

// verify checks the account on its new host against what it had on the old.
async function verify(old, neu, acct, before, moved) {
  const did = acct.did
  const agent = moved.agent
  const what = `${old.name} → ${neu.name}`
  const plcDoc = await (await fetch(`${acct.plcURL}/${did}`)).json()
  assert.equal(pdsOf(plcDoc), neu.url, `${what}: PLC document's PDS endpoint`)
  const wantKey = moved.recommended.verificationMethods?.atproto
  // (@did-plc/lib's formatted document spells the key in the older
  // uncompressed multibase form: compare the did:key of the PLC data.)
  const plcData = await (await fetch(`${acct.plcURL}/${did}/data`)).json()
  assert.equal(plcData.verificationMethods?.atproto, wantKey, `${what}: PLC data's signing key is the new host's`)
  assert.equal(plcData.services?.atproto_pds?.endpoint, neu.url, `${what}: PLC data's PDS endpoint`)
  assert.ok(didKeyOf(plcDoc), `${what}: PLC document has an #atproto verification method`)

  const status = { data: await accountStatus(agent, neu) }
  assert.equal(status.data.activated, true, `${what}: checkAccountStatus after activation: ${JSON.stringify(status.data)}`)
  assert.equal(status.data.validDid, true, `${what}: checkAccountStatus validDid: ${JSON.stringify(status.data)}`)

  // listRecords without a session (anyone can read them); preferences with the account's.
  const after = await snapshot(new AtpAgent({ service: neu.url }), neu, did, agent)
  assert.deepEqual(after.records, before.records, `${what}: records and CIDs`)
  assert.deepEqual(after.prefs, before.prefs, `${what}: preferences`)

  // The imported head commit is the old host's, signed with the old key (the
  // reference keeps it so too, until the account's first write on the new
  // host): verify the CAR with whichever key signed it, then write, and
  // verify again with the new key alone.
  const repoCar = async () => (await call(neu, 'com.atproto.sync.getRepo', { did }, () => agent.com.atproto.sync.getRepo({ did }))).data
  const car = await repoCar()
  let verified
  try {
    verified = await verifyRepoCar(car, did, wantKey)
  } catch {
    verified = await verifyRepoCar(car, did, acct.oldKey)
  }
  const fromCar = {}
  for (const c of COLLECTIONS) fromCar[c] = {}
  for (const cr of verified.creates) {
    fromCar[cr.collection] ??= {}
    fromCar[cr.collection][`at://${did}/${cr.collection}/${cr.rkey}`] = cr.cid.toString()
  }
  assert.deepEqual(fromCar, before.records, `${what}: the new host's repo CAR (verified by @atproto/repo)`)
  const fresh = await call(neu, 'com.atproto.repo.createRecord (first post on the new host)', {}, () =>
    agent.post({ text: `hello from ${neu.name}`, createdAt: new Date().toISOString() }),
  )
  const afterWrite = await verifyRepoCar(await repoCar(), did, wantKey).catch((err) => {
    throw new Error(`${what}: the repo after the first write on ${neu.name} does not verify with the new key: ${err.message}`)
  })
  assert.ok(afterWrite.creates.some((cr) => `at://${did}/${cr.collection}/${cr.rkey}` === fresh.uri), `${what}: the new post is in the re-signed repo`)

  for (const [cid, bytes] of Object.entries(acct.blobs)) {
    const got = await call(neu, 'com.atproto.sync.getBlob', { did, cid }, () => agent.com.atproto.sync.getBlob({ did, cid }))
    assert.ok(Buffer.from(got.data).equals(Buffer.from(bytes)), `${what}: blob ${cid} byte-identical`)
  }

  const frames = await firehoseFor(neu.url, did)
  const kinds = frames.map((f) => f.t)
  for (const t of ['#identity', '#account', '#sync']) assert.ok(kinds.includes(t), `${what}: new host's firehose has ${t} for the DID (saw ${kinds})`)
  const lastAccount = frames.filter((f) => f.t === '#account').pop()
  assert.equal(lastAccount.body.active, true, `${what}: the last #account frame is active: ${JSON.stringify(lastAccount.body)}`)

  try {
    await acct.agent.com.atproto.repo.createRecord({
      repo: did,
      collection: 'app.bsky.feed.post',
      record: { $type: 'app.bsky.feed.post', text: 'written after the move', createdAt: new Date().toISOString() },
    })
    throw new Error(`${what}: the old host ${old.name} still accepts writes`)
  } catch (err) {
    if (err.message.includes('still accepts writes')) throw err
    summary.refusals ??= {}
    summary.refusals[old.name] = `createRecord: ${err.status} ${err.error}`
  }
  // The new host takes writes (and they do not disturb the next move's check).
  step(`${what}: ${Object.values(after.records).reduce((n, m) => n + Object.keys(m).length, 0)} records, ${Object.keys(acct.blobs).length} blobs, prefs, PLC doc, firehose ${[...new Set(kinds)].join(' ')}, old host refuses writes`)
}

// populate gives the account on its first host everything a person has.
async function populate(agent, host, did) {
  const blobs = {}
  const upload = async (bytes) => {
    const res = await call(host, 'com.atproto.repo.uploadBlob', { bytes: bytes.length }, () => agent.uploadBlob(bytes, { encoding: 'image/png' }))
    blobs[res.data.blob.ref.toString()] = bytes
    return res.data.blob
  }
  const avatar = await upload(makePNG(16, 16, [200, 60, 40]))
  await call(host, 'com.atproto.repo.putRecord (profile)', {}, () =>
    agent.com.atproto.repo.putRecord({
      repo: did,
      collection: 'app.bsky.actor.profile',
      rkey: 'self',
      record: { $type: 'app.bsky.actor.profile', displayName: 'Migrating Person', description: 'moves house', avatar },
    }),
  )
  const posts = []
  for (let i = 0; i < 3; i++) posts.push(await agent.post({ text: `post ${i} before moving`, createdAt: new Date().toISOString() }))
  const image = await upload(makePNG(32, 24, [30, 120, 220]))
  posts.push(
    await agent.post({
      text: 'a picture',
      createdAt: new Date().toISOString(),
      embed: { $type: 'app.bsky.embed.images', images: [{ alt: 'blue', image, aspectRatio: { width: 32, height: 24 } }] },
    }),
  )
  for (const p of posts.slice(0, 2)) await agent.like(p.uri, p.cid)
  for (const other of ['did:plc:ewvi7nxzyoun6zhxrhs64oiz', 'did:plc:z72i7hdynmk6r22z27h6tvur']) await agent.follow(other)
  await call(host, 'app.bsky.actor.putPreferences', {}, () =>
    agent.app.bsky.actor.putPreferences({
      preferences: [
        { $type: 'app.bsky.actor.defs#adultContentPref', enabled: false },
        { $type: 'app.bsky.actor.defs#savedFeedsPrefV2', items: [{ id: '3l6ovcmm2vd2j', type: 'timeline', value: 'following', pinned: true }] },
        { $type: 'app.bsky.actor.defs#threadViewPref', sort: 'oldest' },
      ],
    }),
  )
  return blobs
}

async function main() {
  const cleanups = []
  const hosts = []
  const started = Date.now()
  try {
    const plc = await startPLC()
    cleanups.push(async () => plc.server.close())
    const relay = http.createServer((req, res) => {
      req.resume()
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('{}')
    })
    await new Promise((r) => relay.listen(0, '127.0.0.1', r))
    cleanups.push(async () => relay.close())
    const relayURL = `http://127.0.0.1:${relay.address().port}`

    const startRef = async (name) => {
      const ref = await startReferencePDS({ plcUrl: plc.url, smtpUrl: smtpURL, emailFrom: `${name}@mail.test` })
      cleanups.push(() => ref.close())
      const host = { name, url: ref.url, kind: 'reference', ref }
      hosts.push(host)
      return host
    }
    const ref1 = await startRef('reference')
    const hearthA = await startHearth('hearth-a', plc, relayURL, cleanups)
    const hearthB = await startHearth('hearth-b', plc, relayURL, cleanups)
    hosts.push(hearthA, hearthB)
    summary.timings.startup = Date.now() - started
    step(`hosts up: ${ref1.url} (reference 0.5.35), ${hearthA.url}, ${hearthB.url} in ${summary.timings.startup} ms`)

    const handle = `mover${Date.now() % 100000}.test`
    const acct = { handle, email: `${handle}@mail.test`, password: 'moving-house-1', plcURL: plc.url }
    acct.agent = new AtpAgent({ service: ref1.url })
    await call(ref1, 'com.atproto.server.createAccount', { handle }, () =>
      acct.agent.createAccount({ handle, email: acct.email, password: acct.password }),
    )
    acct.did = acct.agent.session.did
    acct.blobs = await populate(acct.agent, ref1, acct.did)
    let before = await snapshot(acct.agent, ref1, acct.did)
    step(`account ${acct.did} on the reference: ${Object.values(before.records).reduce((n, m) => n + Object.keys(m).length, 0)} records, ${Object.keys(acct.blobs).length} blobs, ${before.prefs.length} preferences`)

    let from = ref1
    const route = [hearthA, hearthB, null]
    for (let to of route) {
      if (to === null) to = await startRef('reference-2')
      before = await snapshot(acct.agent, from, acct.did)
      acct.oldKey = (await (await fetch(`${plc.url}/${acct.did}/data`)).json()).verificationMethods.atproto
      const moved = await migrate(from, to, acct)
      await verify(from, to, acct, before, moved)
      acct.agent = moved.agent
      from = to
    }
    summary.timings.total = Date.now() - started
    summary.defects = defects
    summary.ok = defects.length === 0
    if (defects.length) console.error(`DEFECTS ${JSON.stringify(defects, null, 2)}`)
  } catch (err) {
    summary.failure = err instanceof StepError ? err.info : { message: err.message }
    console.error(err instanceof StepError ? `FAILED CALL ${JSON.stringify(err.info, null, 2)}` : err)
    for (const h of hosts) if (h.logs) console.error(`--- ${h.name} log (tail)\n${h.logs.slice(-3000)}`)
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => {})
  }
  console.log(JSON.stringify(summary))
  if (!summary.ok) console.error(`steps done:\n  ${summary.steps.join('\n  ')}\ntimings ${JSON.stringify(summary.timings)}`)
  // A run that went through with defects exits 0: the Go test names each.
  process.exit(summary.ok || (summary.defects?.length && !summary.failure) ? 0 : 1)
}

main()
