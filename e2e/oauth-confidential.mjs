// OAuth with the official client library as a confidential client: its
// metadata (client_id https://client.test:PORT/client-metadata.json) and
// its key set (jwks_uri) are served over https here, with the certificate
// the Go test made; Hearth trusts it through SSL_CERT_FILE and finds
// client.test on loopback through HEARTH_DEV_RESOLVE, and chromium through
// --host-resolver-rules. Every PAR and token request is authenticated with
// a private_key_jwt assertion (read off the wire). Through the DPoP session:
// a post, the token endpoint refusing with invalid_client a request with no
// assertion, one signed by another key under the client's kid and the
// client's own assertion replayed; then a refresh, a revocation without
// the assertion refused, the sign-out and the old access token refused.
// Screenshots go to e2e/artifacts/oauthc-*.png.
//
//   node oauth-confidential.mjs <hearth-binary> <cert.pem> <key.pem>
import { mkdirSync, readFileSync } from 'node:fs'
import https from 'node:https'
import path from 'node:path'
import assert from 'node:assert/strict'
import { Agent, AtpAgent } from '@atproto/api'
import { JoseKey, NodeOAuthClient } from '@atproto/oauth-client-node'
import { startPLC } from './plc-server.mjs'
import { freePort, launchBrowser, memoryStore, phone, startHearth } from './hearth.mjs'

const [binary, certFile, keyFile] = process.argv.slice(2)
const artifacts = path.join(path.dirname(new URL(import.meta.url).pathname), 'artifacts')
mkdirSync(artifacts, { recursive: true })

const password = 'Correct Horse 42!'
const assertionType = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'

const decode = (part) => JSON.parse(Buffer.from(part, 'base64url').toString())

// startApp is the app's web side on https://client.test:PORT: the client
// metadata, the key set and the redirect target. docs() gives what it
// serves (set once the client exists).
async function startApp(docs) {
  const port = await freePort()
  const origin = `https://client.test:${port}`
  const waiting = []
  const fetched = []
  const server = https.createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, (req, res) => {
    const u = new URL(req.url, origin)
    fetched.push(u.pathname)
    const doc = docs()[u.pathname]
    if (doc) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(doc))
      return
    }
    if (u.pathname !== '/callback') {
      res.writeHead(404).end()
      return
    }
    res.writeHead(200, { 'content-type': 'text/html' })
    res.end('<!doctype html><title>back in the app</title><p>Back in the app.</p>')
    waiting.shift()?.(u.searchParams)
  })
  await new Promise((r) => server.listen(port, '127.0.0.1', r))
  return {
    port, origin, fetched,
    next: () => new Promise((resolve) => waiting.push(resolve)),
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(r) }),
  }
}

// recording is the client's fetch: it keeps the form of every request to
// Hearth's /oauth/ endpoints, as sent.
function recording(sent) {
  return async (input, init) => {
    const req = new Request(input, init)
    const u = new URL(req.url)
    if (req.method === 'POST' && u.pathname.startsWith('/oauth/')) {
      sent.push({ path: u.pathname, form: new URLSearchParams(await req.clone().text()) })
    }
    return fetch(req)
  }
}

async function main() {
  const plc = await startPLC()
  let client
  const app = await startApp(() => ({
    '/client-metadata.json': client?.clientMetadata,
    '/jwks.json': client?.jwks,
  }))
  const hearth = await startHearth(binary, (url) => ({
    HEARTH_HOSTNAME: 'localhost',
    HEARTH_PUBLIC_URL: url,
    HEARTH_HANDLE_DOMAINS: '.test',
    HEARTH_PLC_URL: plc.url,
    HEARTH_ADMIN_PASSWORD: 'e2e-admin',
    HEARTH_INVITE_REQUIRED: 'false',
    HEARTH_RELAYS: '',
    HEARTH_DEV: 'true',
    HEARTH_RATE_LIMITS: 'false',
    HEARTH_DEV_RESOLVE: 'client.test=127.0.0.1',
    SSL_CERT_FILE: certFile,
  }))
  const url = hearth.url
  const browser = await launchBrowser([`--host-resolver-rules=MAP client.test 127.0.0.1`])
  const steps = []
  const step = (s) => {
    steps.push(s)
    console.error('step:', s)
  }
  try {
    await hearth.healthy()
    const handle = 'carol.test'
    const pw = new AtpAgent({ service: url })
    await pw.createAccount({ handle, email: 'carol@example.com', password })
    const did = pw.session.did
    step('account ' + did)

    const kid = 'e2e-key-1'
    const key = await JoseKey.generate(['ES256'], kid)
    const clientId = `${app.origin}/client-metadata.json`
    const redirect = `${app.origin}/callback`
    const sent = []
    client = new NodeOAuthClient({
      clientMetadata: {
        client_id: clientId,
        client_name: 'Confidential e2e app',
        client_uri: app.origin + '/',
        redirect_uris: [redirect],
        scope: 'atproto transition:generic',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        application_type: 'web',
        token_endpoint_auth_method: 'private_key_jwt',
        token_endpoint_auth_signing_alg: 'ES256',
        jwks_uri: app.origin + '/jwks.json',
        dpop_bound_access_tokens: true,
      },
      keyset: [key],
      stateStore: memoryStore(),
      sessionStore: memoryStore(),
      handleResolver: url,
      plcDirectoryUrl: plc.url,
      allowHttp: true,
      fetch: recording(sent),
      requestLock: async (_name, fn) => fn(),
    })
    // checkAuth: each request (or the last n) carried an assertion of the
    // client's key for this issuer.
    const checkAuth = (reqs) => {
      assert.ok(reqs.length > 0)
      for (const { path, form } of reqs) {
        assert.equal(form.get('client_id'), clientId, path)
        assert.equal(form.get('client_assertion_type'), assertionType, path)
        const [h, p] = form.get('client_assertion').split('.')
        const header = decode(h), claims = decode(p)
        assert.equal(header.alg, 'ES256', path)
        assert.equal(header.kid, kid, path)
        assert.equal(claims.iss, clientId, path)
        assert.equal(claims.sub, clientId, path)
        assert.equal(claims.aud, url, path)
      }
    }

    const ctx = await browser.newContext({ viewport: phone, ignoreHTTPSErrors: true })
    const page = await ctx.newPage()
    let n = 0
    const shot = (name) => page.screenshot({ path: path.join(artifacts, `oauthc-${++n}-${name}.png`), fullPage: true })

    const authUrl = await client.authorize(handle)
    const back = app.next()
    await page.goto(authUrl.toString())
    await page.locator('#password').waitFor()
    await shot('sign-in')
    await page.fill('#password', password)
    await page.click('button:has-text("Continue")')
    await page.getByRole('button', { name: 'Allow' }).waitFor()
    assert.ok((await page.content()).includes('client.test'), 'the consent page names the app by its domain')
    await shot('consent')
    await page.click('button:has-text("Allow")')
    const params = await back
    await page.waitForURL((u) => u.toString().startsWith(redirect))
    await shot('back-in-app')
    assert.equal(params.get('iss'), url)
    const { session } = await client.callback(params)
    assert.equal(session.did, did)
    // (The first PAR may be sent twice: again with the DPoP nonce.)
    assert.deepEqual([...new Set(sent.map((r) => r.path))], ['/oauth/par', '/oauth/token'])
    checkAuth(sent)
    const exchange = sent.at(-1)
    assert.equal(exchange.form.get('grant_type'), 'authorization_code')
    assert.ok(app.fetched.includes('/client-metadata.json') && app.fetched.includes('/jwks.json'),
      'Hearth fetched the metadata and the key set: ' + app.fetched)
    step('signed in through the page; PAR and code exchange authenticated with private_key_jwt')

    const agent = new Agent(session)
    const post = await agent.post({ text: 'Hello from a confidential client', createdAt: new Date().toISOString() })
    const rkey = post.uri.split('/').pop()
    const got = await pw.com.atproto.repo.getRecord({ repo: did, collection: 'app.bsky.feed.post', rkey })
    assert.equal(got.data.value.text, 'Hello from a confidential client')
    step('posted through the DPoP session')

    // The token endpoint for this client, with a good refresh token and a
    // good DPoP proof, but a client authentication that must fail.
    const { refresh_token: refresh } = await session.getTokenSet(false)
    const tokenCall = async (extra) => {
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refresh, client_id: clientId, ...extra })
      const res = await session.server.dpopFetch(url + '/oauth/token', {
        method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString(),
      })
      return { status: res.status, body: await res.json() }
    }
    const refusals = {}
    refusals.absent = await tokenCall({})
    const other = await JoseKey.generate(['ES256'], kid)
    const now = Math.floor(Date.now() / 1000)
    const forged = await other.createJwt({ alg: 'ES256', kid },
      { iss: clientId, sub: clientId, aud: url, jti: 'forged-' + now, iat: now, exp: now + 60 })
    refusals.otherKey = await tokenCall({ client_assertion_type: assertionType, client_assertion: forged })
    refusals.replayed = await tokenCall({ client_assertion_type: assertionType, client_assertion: exchange.form.get('client_assertion') })
    for (const [why, r] of Object.entries(refusals)) {
      assert.equal(r.status, 400, why + ': ' + JSON.stringify(r))
      assert.equal(r.body.error, 'invalid_client', why + ': ' + JSON.stringify(r))
    }
    assert.match(refusals.otherKey.body.error_description, /signature/)
    assert.match(refusals.replayed.body.error_description, /replayed/)
    step('invalid_client for no assertion, another key under the same kid, and a replayed assertion: ' +
      Object.values(refusals).map((r) => r.body.error_description).join('; '))

    // The refusals spent nothing: the same refresh token still works.
    const before = await session.getTokenSet(false)
    assert.equal(before.refresh_token, refresh)
    const mark = sent.length
    await session.getTokenInfo(true)
    const after = await session.getTokenSet(false)
    assert.notEqual(after.access_token, before.access_token)
    assert.notEqual(after.refresh_token, before.refresh_token)
    const refreshes = sent.slice(mark).filter((r) => r.path === '/oauth/token')
    assert.equal(refreshes.length, 1)
    assert.equal(refreshes[0].form.get('grant_type'), 'refresh_token')
    checkAuth(refreshes)
    assert.ok((await agent.post({ text: 'After the refresh', createdAt: new Date().toISOString() })).uri)
    step('refreshed with a fresh assertion and posted again')

    const old = after.access_token
    const withOld = () => session.server.dpopFetch(url + '/xrpc/com.atproto.server.getSession', { headers: { authorization: `DPoP ${old}` } })
    assert.equal((await withOld()).status, 200)
    // Revocation authenticates the client too (RFC 7009 §2.1): without
    // the assertion it is refused, and the token still works.
    const unauth = await fetch(url + '/oauth/revoke', {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: old, client_id: clientId }).toString(),
    })
    assert.equal(unauth.status, 400)
    assert.equal((await unauth.json()).error, 'invalid_client')
    assert.equal((await withOld()).status, 200, 'the refused revocation ended nothing')
    const beforeOut = sent.length
    await session.signOut()
    checkAuth(sent.slice(beforeOut).filter((r) => r.path === '/oauth/revoke'))
    const res = await withOld()
    assert.equal(res.status, 401, 'the revoked access token is refused')
    assert.equal((await res.json()).error, 'invalid_token')
    step('a revocation without the assertion refused; signed out with one; the old access token is refused')

    console.log(JSON.stringify({ ok: true, steps }))
  } catch (err) {
    console.error(err)
    console.error('--- hearth logs ---\n' + hearth.logs().slice(-8000))
    console.log(JSON.stringify({ ok: false, steps, error: String(err?.stack ?? err) }))
    process.exitCode = 1
  } finally {
    await browser.close()
    await app.close()
    await hearth.stop()
    plc.server.close()
  }
}

main()
