// Package resolve finds DID documents (did:plc through a PLC directory,
// did:web over HTTPS) and resolves handles to DIDs (DNS TXT _atproto, then
// https://<handle>/.well-known/atproto-did), with timeouts, size limits and a
// small TTL cache.
package resolve
