// Repository interop with @atproto/repo, the reference implementation.
//
//   node repo.mjs verify <car> <did> <did:key>
//     Fully verifies a CAR Hearth exported: commit signature, DID, the MST
//     and every record. Prints {root, data, rev, records:[{path,cid}]}.
//   node repo.mjs verify-proof <car> <did> <did:key> <collection> <rkey> <cid|null>
//     Checks a record proof CAR (sync.getRecord) for one claim.
//   node repo.mjs make <out.car> <count>
//     Builds a repo with @atproto/repo (creates, then an update and a
//     delete), writes its CAR, prints {did, signingKey, privateKey, root,
//     data, rev, records}.
import { readFileSync, writeFileSync } from 'node:fs'
import { Repo, MemoryBlockstore, verifyRepoCar, verifyProofs, readCarWithRoot, getFullRepo, WriteOpAction } from '@atproto/repo'
import { Secp256k1Keypair } from '@atproto/crypto'
import { CID } from 'multiformats/cid'

const [cmd, ...args] = process.argv.slice(2)

async function collect(iter) {
  const parts = []
  let n = 0
  for await (const p of iter) { parts.push(p); n += p.length }
  const out = new Uint8Array(n)
  let o = 0
  for (const p of parts) { out.set(p, o); o += p.length }
  return out
}

async function listRecords(repo) {
  const out = []
  for (const e of await repo.data.list()) out.push({ path: e.key, cid: e.value.toString() })
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
}

async function verify([car, did, didKey]) {
  const bytes = readFileSync(car)
  const v = await verifyRepoCar(bytes, did, didKey)
  const { root, blocks } = await readCarWithRoot(bytes)
  const storage = new MemoryBlockstore(blocks)
  const repo = await Repo.load(storage, root)
  // Every record must be present and decodable.
  for (const e of await repo.data.list()) {
    const [collection, rkey] = e.key.split('/')
    const rec = await repo.getRecord(collection, rkey)
    if (rec === null) throw new Error(`record ${e.key} missing`)
  }
  return {
    ok: true,
    root: v.commit.cid.toString(),
    data: repo.commit.data.toString(),
    rev: v.commit.rev,
    creates: v.creates.length,
    records: await listRecords(repo),
  }
}

async function verifyProof([car, did, didKey, collection, rkey, cid]) {
  const claim = { collection, rkey, cid: cid === 'null' ? null : CID.parse(cid) }
  const res = await verifyProofs(readFileSync(car), [claim], did, didKey)
  if (res.verified.length !== 1) throw new Error(`claim not verified: ${JSON.stringify(res.unverified)}`)
  return { ok: true }
}

// tidLike gives distinct, sortable TID-shaped record keys.
function tidLike(i) {
  const alphabet = '234567abcdefghijklmnopqrstuvwxyz'
  let s = ''
  for (let n = i; s.length < 11; n = Math.floor(n / 32)) s = alphabet[n % 32] + s
  return '3k' + s
}

async function make([out, countStr]) {
  const count = Number(countStr)
  const key = await Secp256k1Keypair.create({ exportable: true })
  const did = 'did:plc:' + 'e2e'.padEnd(24, 'a')
  const storage = new MemoryBlockstore()
  const creates = []
  const now = new Date().toISOString()
  creates.push({ action: WriteOpAction.Create, collection: 'app.bsky.actor.profile', rkey: 'self', record: { $type: 'app.bsky.actor.profile', displayName: 'E2E' } })
  for (let i = 0; i < count; i++) {
    const rkey = tidLike(i)
    if (i % 3 === 0) {
      creates.push({ action: WriteOpAction.Create, collection: 'app.bsky.graph.follow', rkey, record: { $type: 'app.bsky.graph.follow', subject: did, createdAt: now } })
    } else {
      creates.push({ action: WriteOpAction.Create, collection: 'app.bsky.feed.post', rkey, record: { $type: 'app.bsky.feed.post', text: `post ${i} ✨`, createdAt: now, langs: ['en'] } })
    }
  }
  let repo = await Repo.create(storage, did, key, creates)
  // A second commit: update one record, delete another.
  const posts = creates.filter((c) => c.collection === 'app.bsky.feed.post')
  repo = await repo.applyWrites([
    { action: WriteOpAction.Update, collection: 'app.bsky.feed.post', rkey: posts[0].rkey, record: { $type: 'app.bsky.feed.post', text: 'edited', createdAt: now } },
    { action: WriteOpAction.Delete, collection: 'app.bsky.feed.post', rkey: posts[1].rkey },
  ], key)
  writeFileSync(out, await collect(getFullRepo(storage, repo.cid)))
  return {
    did,
    signingKey: key.did(),
    privateKey: Buffer.from(await key.export()).toString('hex'),
    root: repo.cid.toString(),
    data: repo.commit.data.toString(),
    rev: repo.commit.rev,
    records: await listRecords(repo),
  }
}

const cmds = { verify, 'verify-proof': verifyProof, make }
try {
  if (!cmds[cmd]) throw new Error(`unknown command ${cmd}`)
  console.log(JSON.stringify(await cmds[cmd](args)))
} catch (err) {
  console.error(`repo.mjs ${cmd}: ${err?.stack ?? err}`)
  process.exit(1)
}
