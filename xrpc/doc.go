// Package xrpc is Hearth's HTTP face: the XRPC router, its error format,
// authentication of callers, rate limits, the handlers of the methods Hearth
// serves itself (com.atproto server, repo, sync and identity; blobs; the
// app.bsky preferences), and the proxy that forwards every other method to
// the AppView, chat or moderation service — or the atproto-proxy target —
// with a service-auth token, merging the caller's newest records into the
// answers the caller expects to see them in (read-after-write).
//
// Handlers are thin: they parse and check the request, then call into
// package identity/account for everything about accounts and sessions, and
// into package repo for repository changes (one store transaction each,
// which also counts blob references and appends the firehose event). XRPC
// error names and status codes are decided here and nowhere else: errors.go
// maps the account operations' sentinels through one table.
//
// Methods of com.atproto that Hearth does not serve are answered with 501
// MethodNotImplemented and never forwarded: they belong to the PDS. Only
// com.atproto.label and com.atproto.moderation go out, as they do from the
// reference PDS; and getRecord of a repo not hosted here, which the
// reference asks of the AppView (anonymous callers' without a token).
package xrpc
