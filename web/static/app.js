// Password strength meter: a rough guide, the server only requires 8 characters.
for (const input of document.querySelectorAll('input[data-strength]')) {
  const meter = document.getElementById(input.dataset.strength)
  input.addEventListener('input', () => {
    const v = input.value
    let score = 0
    if (v.length >= 8) score++
    if (v.length >= 14) score++
    if (/[a-z]/.test(v) && /[A-Z]/.test(v)) score++
    if (/[0-9]/.test(v) && /[^A-Za-z0-9]/.test(v)) score++
    meter.value = score
  })
}

// Copy buttons: the clipboard API where the page is a secure context, else
// the older copy command on a selection (a phone on http://192.168.…).
// Without JavaScript they stay hidden and the text stays selectable.
async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text)
  const area = document.createElement('textarea')
  area.value = text
  area.setAttribute('readonly', '')
  area.style.position = 'fixed'
  area.style.opacity = '0'
  document.body.append(area)
  area.select()
  const ok = document.execCommand('copy')
  area.remove()
  if (!ok) throw new Error('copy refused')
}
for (const button of document.querySelectorAll('button[data-copy]')) {
  button.hidden = false
  const label = button.textContent
  button.addEventListener('click', async () => {
    try {
      await copyText(button.dataset.copy)
      button.textContent = 'Copied'
    } catch {
      button.textContent = 'Select and copy it'
    }
    setTimeout(() => (button.textContent = label), 2000)
  })
}

// Recovery key: make a P-256 key pair with the browser's own crypto, put
// the public did:key in the form and show the private key once. Without
// JavaScript, the person pastes a did:key made elsewhere.
const makeKey = document.getElementById('make-key')
if (makeKey && window.crypto && crypto.subtle) {
  makeKey.hidden = false
  makeKey.addEventListener('click', async () => {
    const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])
    const raw = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey)) // 0x04 ‖ x ‖ y
    const compressed = new Uint8Array(33)
    compressed[0] = raw[64] & 1 ? 0x03 : 0x02
    compressed.set(raw.slice(1, 33), 1)
    // multicodec p256-pub (0x1200, varint 0x80 0x24), then base58btc.
    document.getElementById('recovery-key').value = 'did:key:z' + base58(new Uint8Array([0x80, 0x24, ...compressed]))
    const jwk = await crypto.subtle.exportKey('jwk', pair.privateKey)
    const d = atob(jwk.d.replace(/-/g, '+').replace(/_/g, '/'))
    const hex = Array.from(d, (c) => c.charCodeAt(0).toString(16).padStart(2, '0')).join('')
    document.getElementById('new-key-private').textContent = 'P-256 private key (hex): ' + hex
    document.getElementById('new-key').hidden = false
  })
}

function base58(bytes) {
  const alphabet = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'
  let n = 0n
  for (const b of bytes) n = n * 256n + BigInt(b)
  let out = ''
  while (n > 0n) {
    out = alphabet[Number(n % 58n)] + out
    n /= 58n
  }
  for (const b of bytes) {
    if (b !== 0) break
    out = '1' + out
  }
  return out
}
