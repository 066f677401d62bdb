// Package xrpc is Hearth's HTTP face: the XRPC router, its error format,
// authentication of callers, rate limits, and the handlers of the
// com.atproto.* methods Hearth serves itself (server, repo, sync, identity).
//
// Handlers are thin: they parse and check the request, then call into
// package repo for repository changes (one store transaction each) and into
// package store for account state. XRPC error names and status codes are
// decided here and nowhere else.
package xrpc
