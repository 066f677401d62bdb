// What the browser scripts share: a free port, the daemon on a fresh data
// folder, and Debian's chromium.
import { spawn } from 'node:child_process'
import http from 'node:http'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { chromium } from 'playwright-core'

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

export function freePort() {
  return new Promise((resolve) => {
    const s = http.createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port
      s.close(() => resolve(p))
    })
  })
}

// startHearth runs binary on a fresh data folder with env added (or with
// env(url), when the variables need the address it listens on); logs() is
// what it has printed so far, stop() ends it and removes the folder.
export async function startHearth(binary, env = {}) {
  const port = await freePort()
  if (typeof env === 'function') env = env(`http://127.0.0.1:${port}`)
  const data = mkdtempSync(path.join(tmpdir(), 'hearth-e2e-'))
  let logs = ''
  const proc = spawn(binary, [], {
    env: { ...process.env, HEARTH_DATA: data, HEARTH_LISTEN: `127.0.0.1:${port}`, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  proc.stdout.on('data', (d) => (logs += d))
  proc.stderr.on('data', (d) => (logs += d))
  const exited = new Promise((resolve) => proc.on('exit', (code) => resolve(code)))
  return {
    url: `http://127.0.0.1:${port}`,
    logs: () => logs,
    // healthy waits up to 10 s for the daemon's first answer.
    async healthy() {
      for (let i = 0; i < 100; i++) {
        try {
          if ((await fetch(`http://127.0.0.1:${port}/xrpc/_health`)).ok) return
        } catch {}
        await sleep(100)
      }
      throw new Error('hearth did not answer /xrpc/_health:\n' + logs)
    },
    async setupCode() {
      for (let i = 0; i < 100 && !/setup_code=/.test(logs); i++) await sleep(50)
      return logs.match(/setup_code=(\S+)/)?.[1]
    },
    async stop() {
      proc.kill('SIGTERM')
      await exited
      rmSync(data, { recursive: true, force: true })
    },
  }
}

// launchBrowser starts chromium; extra are further command-line switches.
export function launchBrowser(extra = []) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync', ...extra],
  })
}

export const phone = { width: 390, height: 844 }

// memoryStore is an OAuth client's state or session store kept in memory.
export function memoryStore() {
  const m = new Map()
  return { async get(k) { return m.get(k) }, async set(k, v) { m.set(k, v) }, async del(k) { m.delete(k) } }
}

// makeOwner walks the wizard without looking around: setup code, hostname,
// owner account. It returns the owner's handle.
export async function makeOwner(page, hearth, { host = 'pds.hearth.dev', name = 'owner', email = 'owner@example.com', password }) {
  const code = await hearth.setupCode()
  if (!code) throw new Error('no setup code in the log')
  await page.goto(hearth.url + '/setup')
  await page.fill('#code', code)
  await page.click('button:has-text("Continue")')
  await page.fill('#hostname', host)
  await page.click('button:has-text("Put it on the Internet")')
  await page.getByText('Your account').waitFor() // the restart page moves on by itself
  await page.fill('#name', name)
  await page.fill('#email', email)
  await page.fill('#password', password)
  await page.fill('#password2', password)
  await page.click('button:has-text("Create my account")')
  await page.getByText('Done').waitFor()
  return `${name}.${host}`
}
