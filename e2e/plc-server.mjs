// A local PLC directory for tests: every operation is validated with
// @did-plc/lib (the reference implementation) before it is accepted.
import http from 'node:http'
import * as plc from '@did-plc/lib'

export function startPLC() {
  const logs = new Map() // did → [{operation, cid, nullified, createdAt}]
  const server = http.createServer(async (req, res) => {
    const send = (status, body) => {
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(JSON.stringify(body))
    }
    try {
      const [, did, ...rest] = decodeURIComponent(new URL(req.url, 'http://x').pathname).split('/')
      const sub = rest.join('/')
      const ops = logs.get(did) ?? []
      if (req.method === 'POST') {
        let body = ''
        for await (const chunk of req) body += chunk
        const op = JSON.parse(body)
        if (ops.length === 0) {
          await plc.assureValidCreationOp(did, op)
        } else {
          await plc.assureValidNextOp(did, ops, op)
        }
        const { cid } = await plc.getLastOpWithCid([...ops.map((o) => o.operation), op])
        ops.push({ did, operation: op, cid, nullified: false, createdAt: new Date() })
        logs.set(did, ops)
        return send(200, {})
      }
      if (ops.length === 0) return send(404, { message: `DID not registered: ${did}` })
      const data = await plc.validateOperationLog(did, ops.map((o) => o.operation))
      if (sub === 'log/last') return send(200, ops[ops.length - 1].operation)
      if (sub === 'log') return send(200, ops.map((o) => o.operation))
      if (sub === 'log/audit') return send(200, ops.map((o) => ({ ...o, cid: o.cid.toString(), createdAt: o.createdAt.toISOString() })))
      if (sub === 'data') return send(200, data)
      if (sub === '') return send(200, plc.formatDidDoc(data))
      return send(404, { message: 'not found' })
    } catch (err) {
      send(400, { message: String(err?.message ?? err) })
    }
  })
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${server.address().port}`, logs }))
  })
}
