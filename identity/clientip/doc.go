// Package clientip decides who is at the other end of a request: the
// client's address, and whether it reached Hearth over HTTPS.
//
// Behind a reverse proxy every request comes from the proxy's address, so
// rate limits, logs and the pages would see one client. The proxy says who
// it serves in X-Forwarded-For and X-Forwarded-Proto, but anyone can send
// those headers. They are believed only when the peer — the address that
// opened the TCP connection — is a trusted proxy (HEARTH_TRUSTED_PROXIES,
// loopback by default). Then the client is the rightmost address of
// X-Forwarded-For that is not itself a trusted proxy: each proxy appends
// the address it saw, so everything left of the first untrusted hop was
// written by the client and proves nothing.
//
// Resolve is the one function that decides. Middleware runs it once per
// request and keeps the answer in the request's context; Addr and Secure
// read it there, in xrpc (rate limits, the request log, firehose caps) and
// in web (sign-in attempts, secure cookies) alike.
//
// It lives under identity beside egress, its outbound counterpart, because
// both xrpc and web need it and web may not import xrpc; like egress it
// imports only the standard library, so any package may use it.
package clientip
