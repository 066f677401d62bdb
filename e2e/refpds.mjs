// The reference PDS (@atproto/pds from npm) as a real peer for tests, run in
// this process on loopback with its data in a temp folder.
//
//   const ref = await startReferencePDS({ plcUrl, port, smtpUrl, emailFrom, appViewUrl, appViewDid })
//   ref.url, ref.did, ref.adminPassword, ref.emailToken(did, purpose), await ref.close()
//
//   node refpds.mjs smoke     creates an account on a fresh reference and posts
//   node refpds.mjs serve     runs one, with its own PLC directory, until
//                             stdin closes; prints {"url": …} when ready
//                             (build/load measures it beside Hearth)
//
// Facts it builds on (shared design notes, "Running the reference PDS
// offline"): dev mode for http://localhost, the PLC directory named by
// hostname (the reference's safe fetch refuses IP hosts), PDS.start()
// listening on every interface (here it is bound to 127.0.0.1 instead), and
// handles ending in .test with hostname localhost.
import http from 'node:http'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Secp256k1Keypair } from '@atproto/crypto'
import { PDS, envToCfg, envToSecrets, readEnv } from '@atproto/pds'
import Database from 'better-sqlite3'

export function freePort() {
  return new Promise((resolve) => {
    const s = http.createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port
      s.close(() => resolve(p))
    })
  })
}

// localURL names a loopback URL by the hostname localhost, as the reference
// needs for the PLC directory.
export const localURL = (url) => url.replace('://127.0.0.1:', '://localhost:')

export async function startReferencePDS({ plcUrl, port, smtpUrl, emailFrom, appViewUrl, appViewDid, blobLimit } = {}) {
  if (!plcUrl) throw new Error('startReferencePDS: plcUrl is required')
  port ??= await freePort()
  const dir = mkdtempSync(path.join(tmpdir(), 'hearth-e2e-refpds-'))
  const rotation = await Secp256k1Keypair.create({ exportable: true })
  const hex = Buffer.from(await rotation.export()).toString('hex')
  const vars = {
    PDS_DEV_MODE: 'true',
    PDS_HOSTNAME: 'localhost',
    PDS_PORT: String(port),
    PDS_DATA_DIRECTORY: dir,
    PDS_BLOBSTORE_DISK_LOCATION: path.join(dir, 'blocks'),
    PDS_DID_PLC_URL: localURL(plcUrl),
    PDS_JWT_SECRET: 'e2e-jwt-secret-' + hex.slice(0, 16),
    PDS_ADMIN_PASSWORD: 'e2e-admin',
    PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX: hex,
    PDS_INVITE_REQUIRED: 'false',
    PDS_RATE_LIMITS_ENABLED: 'false',
    PDS_CRAWLERS: '',
    // No AppView runs, but 0.5.35 registers app.bsky.actor.get/putPreferences
    // (answered locally) only when one is configured: name a loopback port
    // nothing listens on, so proxied app.bsky calls fail fast and stay here.
    PDS_BSKY_APP_VIEW_URL: appViewUrl ?? `http://localhost:${await freePort()}`,
    PDS_BSKY_APP_VIEW_DID: appViewDid ?? 'did:web:appview.test',
  }
  if (blobLimit) vars.PDS_BLOB_UPLOAD_LIMIT = String(blobLimit)
  if (smtpUrl) {
    vars.PDS_EMAIL_SMTP_URL = smtpUrl
    vars.PDS_EMAIL_FROM_ADDRESS = emailFrom ?? 'refpds@mail.test'
  }
  // readEnv reads process.env: lend it ours for the moment, with every other
  // PDS_ variable (and an AppView or crawler from the caller's shell) away.
  const saved = { ...process.env }
  for (const k of Object.keys(process.env)) if (k.startsWith('PDS_')) delete process.env[k]
  Object.assign(process.env, vars)
  let env
  try {
    env = readEnv()
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k]
    Object.assign(process.env, saved)
  }
  const cfg = envToCfg(env)
  const secrets = envToSecrets(env)
  const pds = await PDS.create(cfg, secrets)
  // PDS.start() calls app.listen(port) on every interface: bind loopback.
  const listen = pds.app.listen.bind(pds.app)
  pds.app.listen = (p, ...rest) => listen(p, '127.0.0.1', ...rest)
  await pds.start()
  const url = `http://localhost:${port}`
  let accountDb
  return {
    pds,
    url,
    port,
    did: cfg.service.did,
    adminPassword: vars.PDS_ADMIN_PASSWORD,
    dir,
    // emailToken reads the newest email token of a purpose (plc_operation,
    // confirm_email…) from the reference's account database, for runs without
    // a mail receiver.
    emailToken(did, purpose) {
      accountDb ??= new Database(path.join(dir, 'account.sqlite'), { readonly: true, fileMustExist: true })
      const row = accountDb
        .prepare('SELECT token FROM email_token WHERE did = ? AND purpose = ? ORDER BY requestedAt DESC LIMIT 1')
        .get(did, purpose)
      return row?.token
    },
    async close() {
      accountDb?.close()
      await pds.destroy()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

// The smoke step: a fresh reference, one account, one post, read back.
async function smoke() {
  const { startPLC } = await import('./plc-server.mjs')
  const { AtpAgent } = await import('@atproto/api')
  const started = Date.now()
  const plc = await startPLC()
  const ref = await startReferencePDS({ plcUrl: plc.url })
  const ready = Date.now() - started
  try {
    const agent = new AtpAgent({ service: ref.url })
    const handle = `smoke${Date.now() % 100000}.test`
    await agent.createAccount({ handle, email: `${handle}@mail.test`, password: 'smoke-pass' })
    const did = agent.session.did
    const post = await agent.post({ text: 'hello from the reference', createdAt: new Date().toISOString() })
    const got = await agent.com.atproto.repo.getRecord({ repo: did, collection: 'app.bsky.feed.post', rkey: post.uri.split('/').pop() })
    if (got.data.value.text !== 'hello from the reference') throw new Error('post did not read back')
    const doc = await (await fetch(`${plc.url}/${did}`)).json()
    const pds = doc.service?.find((s) => s.id === '#atproto_pds')?.serviceEndpoint
    if (pds !== ref.url) throw new Error(`PLC names ${pds}, want ${ref.url}`)
    // Only loopback is listened on.
    const addr = ref.pds.server.address()
    if (addr.address !== '127.0.0.1') throw new Error(`listening on ${addr.address}`)
    console.log(JSON.stringify({ ok: true, did, handle, post: post.uri, serviceDid: ref.did, readyMs: ready, totalMs: Date.now() - started }))
  } finally {
    await ref.close()
    plc.server.close()
  }
}

// serve runs a reference for another process to measure: the PLC directory
// shares this process, so its CPU is counted only while accounts are made.
async function serve() {
  const { startPLC } = await import('./plc-server.mjs')
  const plc = await startPLC()
  const blobLimit = Number(process.env.REFPDS_BLOB_LIMIT || 0) || undefined
  const ref = await startReferencePDS({ plcUrl: plc.url, port: Number(process.env.REFPDS_PORT || 0) || undefined, blobLimit })
  console.log(JSON.stringify({ url: ref.url, pid: process.pid }))
  await new Promise((resolve) => {
    process.stdin.on('end', resolve)
    process.stdin.on('close', resolve)
    process.stdin.resume()
  })
  await ref.close()
  plc.server.close()
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const modes = { smoke, serve }
  const run = modes[process.argv[2]]
  if (!run) {
    console.error('usage: node refpds.mjs smoke|serve')
    process.exit(2)
  }
  run().then(
    () => process.exit(0),
    (err) => {
      console.error(err)
      process.exit(1)
    },
  )
}
