// The Bluesky client library against a running Hearth.
//
//   node client.mjs <hearth-binary>
//
// Starts a local PLC directory (validating with @did-plc/lib) and a relay
// stand-in, runs Hearth with them, then drives @atproto/api's AtpAgent
// through what the Bluesky app does, while @atproto/sync's Firehose and a
// raw subscriber read subscribeRepos: every #commit must verify (signature,
// record proofs) and invert exactly to its prevData using @atproto/repo's
// MST. Prints a JSON summary; exits non-zero on the first failure.
import { spawn } from 'node:child_process'
import http from 'node:http'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import assert from 'node:assert/strict'
import { AtpAgent } from '@atproto/api'
import { Firehose } from '@atproto/sync'
import { IdResolver } from '@atproto/identity'
import { MST, MemoryBlockstore, readCarWithRoot, verifyRepoCar } from '@atproto/repo'
import { decodeAll } from '@atproto/lex-cbor'
import { verifySignature } from '@atproto/crypto'
import { startPLC } from './plc-server.mjs'

const binary = process.argv[2]
const summary = { steps: [] }
const step = (name) => summary.steps.push(name)

function freePort() {
  return new Promise((resolve) => {
    const s = http.createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port
      s.close(() => resolve(p))
    })
  })
}

async function waitHealthy(url) {
  for (let i = 0; i < 200; i++) {
    try {
      const r = await fetch(url + '/xrpc/_health')
      if (r.ok) return await r.json()
    } catch {}
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error('Hearth did not become healthy')
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

async function main() {
  const plc = await startPLC()
  const crawls = []
  const relay = http.createServer(async (req, res) => {
    let body = ''
    for await (const c of req) body += c
    crawls.push({ path: req.url, body })
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end('{}')
  })
  await new Promise((r) => relay.listen(0, '127.0.0.1', r))
  const appview = await startAppView(plc.url)
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const data = mkdtempSync(path.join(tmpdir(), 'hearth-e2e-'))
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
    HEARTH_RELAYS: `http://127.0.0.1:${relay.address().port}`,
    HEARTH_DEV: 'true',
    HEARTH_APPVIEW: `${appview.did}#bsky_appview`,
  }
  let logs = ''
  const proc = spawn(binary, [], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  proc.stdout.on('data', (d) => (logs += d))
  proc.stderr.on('data', (d) => (logs += d))
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })))
  try {
    const health = await waitHealthy(url)
    step('health ' + health.version)

    // Firehose consumers start before any account exists.
    // A plain fetch: the default one refuses loopback addresses (SSRF guard).
    const idResolver = new IdResolver({ plcUrl: plc.url, fetch: globalThis.fetch })
    const verified = []
    const fhErrors = []
    const firehose = new Firehose({
      idResolver,
      service: url.replace('http', 'ws'),
      handleEvent: (evt) => verified.push(evt),
      onError: (err) => fhErrors.push(err),
    })
    firehose.start()
    const raw = []
    const ws = new WebSocket(url.replace('http', 'ws') + '/xrpc/com.atproto.sync.subscribeRepos')
    ws.binaryType = 'arraybuffer'
    ws.onmessage = (m) => raw.push(new Uint8Array(m.data))
    await new Promise((r, j) => { ws.onopen = r; ws.onerror = j })
    await sleep(300)

    // Sign up, as the app does.
    const agent = new AtpAgent({ service: url })
    const desc = await agent.com.atproto.server.describeServer()
    assert.deepEqual(desc.data.availableUserDomains, ['.test'])
    await agent.createAccount({ handle: 'alice.test', email: 'alice@example.com', password: 'correct horse' })
    const did = agent.session.did
    assert.ok(did.startsWith('did:plc:'))
    step('createAccount ' + did)
    const doc = await (await fetch(`${plc.url}/${did}`)).json()
    assert.equal(doc.service[0].serviceEndpoint, url)
    const plcData = await (await fetch(`${plc.url}/${did}/data`)).json()
    const signingKey = plcData.verificationMethods.atproto
    step('PLC document validated by @did-plc/lib')

    // Log in again, resume, refresh.
    const a2 = new AtpAgent({ service: url })
    await a2.login({ identifier: 'alice.test', password: 'correct horse' })
    const a3 = new AtpAgent({ service: url })
    await a3.resumeSession(a2.session)
    const before = a3.session.refreshJwt
    await a3.sessionManager.refreshSession()
    assert.notEqual(a3.session.refreshJwt, before)
    const s = await a3.com.atproto.server.getSession()
    assert.equal(s.data.handle, 'alice.test')
    step('login, resumeSession, refreshSession')

    // Profile, posts, likes, follows, lists, deletes.
    await agent.upsertProfile((p) => ({ ...(p ?? {}), displayName: 'Alice', description: 'on Hearth' }))
    await agent.upsertProfile((p) => ({ ...p, displayName: 'Alice A.' }))
    const prof = await agent.com.atproto.repo.getRecord({ repo: did, collection: 'app.bsky.actor.profile', rkey: 'self' })
    assert.equal(prof.data.value.displayName, 'Alice A.')
    const p1 = await agent.post({ text: 'Hello from Hearth 🔥', createdAt: new Date().toISOString(), langs: ['en'] })
    const p2 = await agent.post({ text: 'A reply', reply: { root: p1, parent: p1 }, createdAt: new Date().toISOString() })
    const like = await agent.like(p1.uri, p1.cid)
    await agent.repost(p2.uri, p2.cid)
    await agent.createAccount({ handle: 'bob.test', email: 'bob@example.com', password: 'pw bob' })
    const bob = agent.session.did
    await agent.login({ identifier: 'alice@example.com', password: 'correct horse' })
    const follow = await agent.follow(bob)
    const list = await agent.com.atproto.repo.listRecords({ repo: did, collection: 'app.bsky.feed.post' })
    assert.equal(list.data.records.length, 2)
    await agent.deleteLike(like.uri)
    await agent.deleteFollow(follow.uri)
    await agent.deletePost(p2.uri)
    const after = await agent.com.atproto.repo.listRecords({ repo: did, collection: 'app.bsky.feed.post' })
    assert.equal(after.data.records.length, 1)
    const dr = await agent.com.atproto.repo.describeRepo({ repo: did })
    assert.ok(dr.data.collections.includes('app.bsky.feed.post'))
    step('profile, post, reply, like, repost, follow, list, delete')

    // An image post: uploadBlob, app.bsky.embed.images, and the bytes back.
    const jpeg = tinyJPEG()
    const up = await agent.uploadBlob(jpeg, { encoding: 'image/jpeg' })
    assert.equal(up.data.blob.mimeType, 'image/jpeg')
    const imgPost = await agent.post({
      text: 'a picture', createdAt: new Date().toISOString(),
      embed: { $type: 'app.bsky.embed.images', images: [{ alt: 'grey', image: up.data.blob }] },
    })
    const got = await agent.com.atproto.sync.getBlob({ did, cid: up.data.blob.ref.toString() })
    assert.deepEqual(Buffer.from(got.data), Buffer.from(jpeg))
    const rec = await agent.com.atproto.repo.getRecord({ repo: did, collection: 'app.bsky.feed.post', rkey: imgPost.uri.split('/').pop() })
    assert.equal(rec.data.value.embed.images[0].image.ref.toString(), up.data.blob.ref.toString())
    step('image post: uploadBlob, embed, getBlob byte-identical')

    // Reads go through Hearth to the AppView, which checks every
    // service-auth token against the account's DID document.
    appview.rev = (await agent.com.atproto.sync.getLatestCommit({ did })).data.rev
    const tl = await agent.getTimeline({ limit: 10 })
    assert.equal(tl.data.feed[0].post.uri, 'at://did:plc:appview/app.bsky.feed.post/1')
    const prof2 = await agent.getProfile({ actor: did })
    assert.equal(prof2.data.displayName, 'Alice A.')
    const viaHeader = agent.withProxy('bsky_appview', appview.did)
    await viaHeader.getTimeline()
    assert.ok(appview.verified >= 3, `AppView verified ${appview.verified} tokens`)
    assert.equal(appview.rejected, 0)
    // Read-after-write: a post the AppView has not indexed yet shows at once.
    appview.rev = (await agent.com.atproto.sync.getLatestCommit({ did })).data.rev
    const fresh = await agent.post({ text: 'just now', createdAt: new Date().toISOString() })
    const tl2 = await agent.getTimeline({ limit: 10 })
    assert.equal(tl2.data.feed[0].post.uri, fresh.uri)
    step('proxy: getTimeline, getProfile, atproto-proxy; tokens verified; read-after-write')

    // Invalid records are refused.
    await assert.rejects(agent.com.atproto.repo.createRecord({ repo: did, collection: 'app.bsky.feed.post', record: { text: 'no date' } }), /createdAt|Invalid/)
    step('invalid record refused')

    // App passwords.
    const ap = await agent.com.atproto.server.createAppPassword({ name: 'phone' })
    const phone = new AtpAgent({ service: url })
    await phone.login({ identifier: 'alice.test', password: ap.data.password })
    await phone.post({ text: 'from an app password', createdAt: new Date().toISOString() })
    await assert.rejects(phone.com.atproto.server.listAppPasswords())
    step('app password login, post, reduced scope')

    // Handle change goes to PLC and the firehose.
    await agent.com.atproto.identity.updateHandle({ handle: 'alice2.test' })
    const res = await agent.com.atproto.identity.resolveHandle({ handle: 'alice2.test' })
    assert.equal(res.data.did, did)
    step('updateHandle')

    // The full repo verifies with the reference implementation.
    const car = new Uint8Array(await (await fetch(`${url}/xrpc/com.atproto.sync.getRepo?did=${did}`)).arrayBuffer())
    const v = await verifyRepoCar(car, did, signingKey)
    step(`getRepo verified (${v.creates.length} records)`)

    await sleep(800)
    ws.close()
    await firehose.destroy()
    if (fhErrors.length) throw new Error('firehose errors: ' + fhErrors.map((e) => (e.cause?.stack ?? e.cause ?? '') + ' ' + (e.stack ?? e)).join('\n'))

    // Every #commit inverts to its prevData with the reference MST.
    let commits = 0, lastSeq = 0
    const kinds = {}
    for (const frame of raw) {
      const [header, body] = decodeAll(frame)
      assert.equal(header.op, 1, `error frame ${JSON.stringify(body)}`)
      kinds[header.t] = (kinds[header.t] ?? 0) + 1
      assert.ok(body.seq > lastSeq, 'seq increases')
      lastSeq = body.seq
      if (header.t !== '#commit') continue
      commits++
      assert.equal(body.tooBig, false)
      assert.equal(body.rebase, false)
      const { root, blocks } = await readCarWithRoot(body.blocks)
      assert.equal(root.toString(), body.commit.toString())
      const storage = new MemoryBlockstore(blocks)
      let mst = MST.load(storage, (await readCommit(storage, root)).data)
      for (const op of [...body.ops].reverse()) {
        if (op.action === 'create') mst = await mst.delete(op.path)
        else if (op.action === 'update') mst = await mst.update(op.path, op.prev)
        else if (op.action === 'delete') mst = await mst.add(op.path, op.prev)
      }
      const inverted = (await mst.getPointer()).toString()
      if (body.prevData) assert.equal(inverted, body.prevData.toString(), `commit ${body.seq} inverts`)
      else assert.equal(body.since, null)
    }
    assert.ok(kinds['#identity'] >= 3 && kinds['#account'] >= 2 && kinds['#sync'] >= 2, JSON.stringify(kinds))
    summary.firehose = { frames: raw.length, commits, kinds, verifiedBySync: verified.length }
    assert.ok(verified.filter((e) => e.event === 'create').length >= 5, 'Firehose saw the creates')
    step('firehose: every commit verified and inverted')

    // Cursor replay from 0 gives the same frames.
    const replay = []
    const ws2 = new WebSocket(url.replace('http', 'ws') + '/xrpc/com.atproto.sync.subscribeRepos?cursor=0')
    ws2.binaryType = 'arraybuffer'
    ws2.onmessage = (m) => replay.push(new Uint8Array(m.data))
    await sleep(800)
    ws2.close()
    assert.ok(replay.length >= raw.length, `replay gave ${replay.length} frames, live ${raw.length}`)
    step('cursor replay')

    assert.ok(crawls.some((c) => c.path.includes('requestCrawl') && c.body.includes('localhost')), 'requestCrawl sent')
    step('requestCrawl')
    summary.ok = true
  } finally {
    proc.kill('SIGTERM')
    const { code, signal } = await exited
    summary.exit = { code, signal }
    plc.server.close()
    relay.close()
    appview.server.close()
    rmSync(data, { recursive: true, force: true })
    if (!summary.ok || code !== 0) process.stderr.write(logs.slice(-4000))
  }
  assert.equal(summary.exit.code, 0, 'Hearth exits cleanly on SIGTERM')
  console.log(JSON.stringify(summary))
}

// startAppView is a stand-in AppView (did:web on loopback) that accepts a
// request only with a service-auth token signed by the caller's key as its
// DID document (from the PLC directory) states it.
async function startAppView(plcUrl) {
  const state = { verified: 0, rejected: 0, rev: '2222222222222' }
  const server = http.createServer(async (req, res) => {
    const u = new URL(req.url, 'http://x')
    const send = (status, body, headers = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers })
      res.end(JSON.stringify(body))
    }
    if (u.pathname === '/.well-known/did.json') {
      return send(200, { id: state.did, service: [{ id: '#bsky_appview', type: 'BskyAppView', serviceEndpoint: state.url }] })
    }
    try {
      const tok = (req.headers.authorization ?? '').replace(/^Bearer /, '')
      const [h, p, s] = tok.split('.')
      const claims = JSON.parse(Buffer.from(p, 'base64url'))
      const nsid = u.pathname.replace('/xrpc/', '')
      if (claims.aud !== state.did) throw new Error(`aud ${claims.aud}`)
      if (claims.lxm !== nsid) throw new Error(`lxm ${claims.lxm} for ${nsid}`)
      if (claims.exp * 1000 < Date.now()) throw new Error('expired')
      const data = await (await fetch(`${plcUrl}/${claims.iss}/data`)).json()
      const ok = await verifySignature(data.verificationMethods.atproto, new TextEncoder().encode(`${h}.${p}`), Buffer.from(s, 'base64url'))
      if (!ok) throw new Error('bad signature')
      state.verified++
      const headers = { 'atproto-repo-rev': state.rev }
      if (nsid === 'app.bsky.feed.getTimeline') return send(200, { feed: [{ post: { uri: 'at://did:plc:appview/app.bsky.feed.post/1', cid: 'bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm', author: { did: 'did:plc:appview', handle: 'appview.test' }, record: {}, indexedAt: new Date().toISOString() } }] }, headers)
      if (nsid === 'app.bsky.actor.getProfile') return send(200, { did: claims.iss, handle: 'alice2.test', displayName: 'Alice A.' }, headers)
      return send(200, {}, headers)
    } catch (err) {
      state.rejected++
      return send(401, { error: 'AuthRequired', message: String(err.message ?? err) })
    }
  })
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  state.url = `http://127.0.0.1:${server.address().port}`
  state.did = `did:web:localhost%3A${server.address().port}`
  state.server = server
  return state
}

// tinyJPEG is a small valid-enough JPEG: SOI, an EXIF block without GPS,
// a scan, EOI.
function tinyJPEG() {
  const tiff = Buffer.from('49492a00080000000100' + '0f010200040000004865780000000000', 'hex')
  const exif = Buffer.concat([Buffer.from('Exif\0\0', 'binary'), tiff])
  const len = Buffer.alloc(2)
  len.writeUInt16BE(exif.length + 2)
  return new Uint8Array(Buffer.concat([
    Buffer.from([0xff, 0xd8, 0xff, 0xe1]), len, exif,
    Buffer.from([0xff, 0xda, 0x00, 0x02]), Buffer.alloc(3000, 0x80), Buffer.from([0xff, 0xd9]),
  ]))
}

async function readCommit(storage, cid) {
  const bytes = await storage.getBytes(cid)
  const [obj] = decodeAll(bytes)
  return obj
}

main().catch((err) => {
  console.error(err?.stack ?? err)
  console.error(JSON.stringify(summary))
  process.exit(1)
})
