// OAuth with the official client library in a real browser: Hearth (OAuth
// on by default) is the authorization server and the PDS of an account on
// the local PLC directory; @atproto/oauth-client-node is a loopback client
// whose redirect lands on a small callback server here, and Debian's
// chromium signs in and approves on Hearth's own page at phone size. Then,
// through the DPoP session (@atproto/api's Agent): a post, a forced token
// refresh, the sign-out (revocation) and the old access token refused. Two
// more clients check scopes: one with only
// repo:app.bsky.feed.like?action=create (likes, cannot post) and one with
// include:app.bsky.authCreatePosts; a last one, asking prompt=select_account,
// picks the account from the chooser of this browser's accounts.
// Screenshots go to
// e2e/artifacts/oauth-*.png.
//
//   node oauth.mjs <hearth-binary>
import { mkdirSync } from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import assert from 'node:assert/strict'
import { Agent, AtpAgent } from '@atproto/api'
import { NodeOAuthClient } from '@atproto/oauth-client-node'
import { startPLC } from './plc-server.mjs'
import { freePort, launchBrowser, memoryStore, phone, startHearth } from './hearth.mjs'

const binary = process.argv[2]
const artifacts = path.join(path.dirname(new URL(import.meta.url).pathname), 'artifacts')
mkdirSync(artifacts, { recursive: true })

const password = 'Correct Horse 42!'

// startCallback is the app's redirect target: it hands every callback's
// query to the waiting promise and shows a plain page.
async function startCallback() {
  const port = await freePort()
  const waiting = []
  const server = http.createServer((req, res) => {
    const u = new URL(req.url, `http://127.0.0.1:${port}`)
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
    redirect: `http://127.0.0.1:${port}/callback`,
    next: () => new Promise((resolve) => waiting.push(resolve)),
    close: () => new Promise((r) => server.close(r)),
  }
}

function makeClient(plc, hearth, cb, scope, responseMode = 'query') {
  const clientId = `http://localhost?${new URLSearchParams({ redirect_uri: cb.redirect, scope })}`
  return new NodeOAuthClient({
    clientMetadata: {
      client_id: clientId,
      redirect_uris: [cb.redirect],
      scope,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      application_type: 'native',
      dpop_bound_access_tokens: true,
    },
    stateStore: memoryStore(),
    sessionStore: memoryStore(),
    handleResolver: hearth.url,
    plcDirectoryUrl: plc.url,
    allowHttp: true,
    responseMode,
    requestLock: async (_name, fn) => fn(),
  })
}

async function main() {
  const plc = await startPLC()
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
  }))
  const url = hearth.url
  const cb = await startCallback()
  const browser = await launchBrowser()
  const steps = []
  const step = (s) => {
    steps.push(s)
    console.error('step:', s)
  }
  try {
    await hearth.healthy()
    const handle = 'alice.test'
    const pw = new AtpAgent({ service: url })
    await pw.createAccount({ handle, email: 'alice@example.com', password })
    const did = pw.session.did
    step('account ' + did)

    const ctx = await browser.newContext({ viewport: phone })
    const page = await ctx.newPage()
    const shots = { n: 0 }
    const shot = (name) => page.screenshot({ path: path.join(artifacts, `oauth-${++shots.n}-${name}.png`), fullPage: true })

    // signIn runs the flow in the browser; first is whether the page asks
    // for the password (later clients find the browser signed in); choose
    // picks the account from the chooser of this browser's accounts.
    const signIn = async (client, { first, name, remember = false, remembered = false, choose = false, prompt }) => {
      const authUrl = await client.authorize(handle, prompt ? { prompt } : undefined)
      const back = cb.next()
      await page.goto(authUrl.toString())
      if (choose) {
        const pick = page.getByRole('button', { name: '@' + handle })
        await pick.waitFor()
        assert.equal(await page.locator('#password').count(), 0, 'the chooser asks no password')
        await shot(`${name}-chooser`)
        await pick.click()
      }
      if (first) {
        await page.locator('#password').waitFor()
        assert.equal(await page.inputValue('#identifier'), handle, 'the login hint fills the identifier')
        await shot(`${name}-sign-in`)
        await page.fill('#password', password)
        await page.click('button:has-text("Continue")')
      }
      if (!remembered) {
        await page.getByRole('button', { name: 'Allow' }).waitFor()
        await shot(`${name}-consent`)
        if (remember) await page.check('input[name="remember"]')
        await page.click('button:has-text("Allow")')
      }
      const query = await back
      // The answer's parameters, in the query or (response_mode=fragment)
      // the fragment, as the browser arrived.
      await page.waitForURL((u) => u.toString().startsWith(cb.redirect))
      const arrived = new URL(page.url())
      const params = client.responseMode === 'fragment' ? new URLSearchParams(arrived.hash.slice(1)) : query
      if (client.responseMode === 'fragment') assert.equal(query.get('code'), null, 'no code in the query in fragment mode')
      assert.equal(params.get('iss'), url, 'the callback carries iss')
      const { session } = await client.callback(params)
      assert.equal(session.did, did)
      return session
    }

    // 1. transition:generic: post, refresh, sign out.
    const full = makeClient(plc, hearth, cb, 'atproto transition:generic')
    const session = await signIn(full, { first: true, name: 'generic' })
    step('signed in through the page; callback and code exchange accepted')
    const agent = new Agent(session)
    const post = await agent.post({ text: 'Hello over OAuth', createdAt: new Date().toISOString() })
    assert.match(post.uri, /^at:\/\/did:plc:.*\/app\.bsky\.feed\.post\//)
    const got = await pw.com.atproto.repo.getRecord({ repo: did, collection: 'app.bsky.feed.post', rkey: post.uri.split('/').pop() })
    assert.equal(got.data.value.text, 'Hello over OAuth')
    step('posted through the DPoP session')

    const before = await session.getTokenSet(false)
    const info = await session.getTokenInfo(true)
    const after = await session.getTokenSet(false)
    assert.notEqual(after.access_token, before.access_token, 'the refresh gives a new access token')
    assert.notEqual(after.refresh_token, before.refresh_token, 'the refresh token rotates')
    assert.equal(info.sub, did)
    const again = await agent.post({ text: 'After the refresh', createdAt: new Date().toISOString() })
    assert.ok(again.uri)
    step('token refreshed and used')

    // Successful resource answers carry the DPoP nonce too.
    const ok = await session.fetchHandler('/xrpc/com.atproto.server.getSession', { method: 'GET' })
    assert.equal(ok.status, 200)
    assert.ok(ok.headers.get('dpop-nonce'), 'a successful answer carries DPoP-Nonce')
    // The DPoP-bound token sent as Bearer is refused.
    const old = after.access_token
    const asBearer = await fetch(url + '/xrpc/com.atproto.server.getSession', { headers: { authorization: `Bearer ${old}` } })
    assert.equal(asBearer.status, 400)
    assert.equal((await asBearer.json()).error, 'InvalidToken')
    // The same token with a fresh proof from the same key works until the
    // sign-out, and is refused after it.
    const server = session.server
    const withOld = () => server.dpopFetch(url + '/xrpc/com.atproto.server.getSession', { headers: { authorization: `DPoP ${old}` } })
    assert.equal((await withOld()).status, 200, 'the access token works before the sign-out')
    await session.signOut()
    const res = await withOld()
    assert.equal(res.status, 401, 'the revoked access token is refused')
    const body = await res.json()
    // As the reference PDS words it: the OAuth error code as the XRPC error.
    assert.equal(body.error, 'invalid_token', JSON.stringify(body))
    assert.match(res.headers.get('www-authenticate') ?? '', /^DPoP .*error="invalid_token"/)
    await assert.rejects(full.restore(did), 'the client forgot the session')
    step('signed out; the old access token is refused')

    // CORS as a browser app sees it: from the app's origin, chromium reads
    // the metadata and a refused PAR with its DPoP-Nonce (the DPoP header
    // needs a preflight).
    const cors = await page.evaluate(async (url) => {
      const meta = await (await fetch(url + '/.well-known/oauth-authorization-server')).json()
      const par = await fetch(url + '/oauth/par', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: 'not.a.proof' },
        body: 'client_id=x',
      })
      return { issuer: meta.issuer, status: par.status, nonce: par.headers.get('dpop-nonce'), body: await par.json() }
    }, url)
    assert.equal(cors.issuer, url)
    assert.equal(cors.status, 400)
    assert.ok(cors.nonce, 'DPoP-Nonce is readable cross-origin')
    assert.equal(cors.body.error, 'invalid_dpop_proof')
    step('CORS: metadata and PAR answers readable from the app origin')

    // 2. Only likes.
    const liker = makeClient(plc, hearth, cb, 'atproto repo:app.bsky.feed.like?action=create')
    // Declining sends the app access_denied, with iss.
    {
      const authUrl = await liker.authorize(handle)
      const back = cb.next()
      await page.goto(authUrl.toString())
      await page.click('button:has-text("Decline")')
      const params = await back
      assert.equal(params.get('error'), 'access_denied')
      assert.equal(params.get('iss'), url)
      await assert.rejects(liker.callback(params), (err) => err.params?.get('error') === 'access_denied')
    }
    step('declining answers access_denied')
    await signIn(liker, { first: false, name: 'like-only', remember: true })
    // Remembered: the next sign-in goes straight back to the app.
    const likeSession = await signIn(liker, { first: false, name: 'like-only-remembered', remembered: true })
    const likeAgent = new Agent(likeSession)
    const like = await likeAgent.like(post.uri, post.cid)
    assert.ok(like.uri.includes('app.bsky.feed.like'))
    await assert.rejects(likeAgent.post({ text: 'not allowed', createdAt: new Date().toISOString() }), (err) => {
      assert.equal(err.status, 403)
      assert.equal(err.error, 'ScopeMissingError')
      return true
    })
    step('like-only client likes and is refused a post with ScopeMissingError')

    // 3. The permission set that allows posting, answered in the fragment.
    const poster = makeClient(plc, hearth, cb, 'atproto include:app.bsky.authCreatePosts', 'fragment')
    const postSession = await signIn(poster, { first: false, name: 'include' })
    const postAgent = new Agent(postSession)
    const p3 = await postAgent.post({ text: 'Posted with a permission set', createdAt: new Date().toISOString() })
    assert.ok(p3.uri)
    await assert.rejects(postAgent.like(post.uri, post.cid), (err) => err.status === 403 && err.error === 'ScopeMissingError')
    step('include:app.bsky.authCreatePosts (response_mode=fragment) posts and cannot like')

    // 4. A second app on this browser, asking to choose the account
    // (prompt=select_account): the chooser offers the account that signed
    // in here, picked without the password.
    const chooser = makeClient(plc, hearth, cb, 'atproto transition:generic')
    const chosen = await signIn(chooser, { first: false, name: 'chooser', choose: true, prompt: 'select_account' })
    const chosenPost = await new Agent(chosen).post({ text: 'Signed in from the chooser', createdAt: new Date().toISOString() })
    assert.ok(chosenPost.uri)
    step('a second sign-in on the same browser picks the account from the chooser')

    console.log(JSON.stringify({ ok: true, steps }))
  } catch (err) {
    console.error(err)
    console.error('--- hearth logs ---\n' + hearth.logs().slice(-8000))
    console.log(JSON.stringify({ ok: false, steps, error: String(err?.stack ?? err) }))
    process.exitCode = 1
  } finally {
    await browser.close()
    await cb.close()
    await hearth.stop()
    plc.server.close()
  }
}

main()
