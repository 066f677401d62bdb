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

// Copy buttons: shown only where the clipboard works; without them the
// code stays selectable text.
if (navigator.clipboard) {
  for (const button of document.querySelectorAll('button[data-copy]')) {
    button.hidden = false
    button.addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText(button.dataset.copy)
        button.textContent = 'Copied'
      } catch {
        button.textContent = 'Select and copy it'
      }
      setTimeout(() => (button.textContent = 'Copy'), 2000)
    })
  }
}
