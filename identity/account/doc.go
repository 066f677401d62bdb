// Package account holds every operation of an account's life, written once:
// create, sign in (with the emailed second factor), sessions and their
// refresh chains, app passwords, emailed tokens, email confirmation and
// change, password change and reset, handle changes, deactivation,
// activation, deletion and status. The XRPC handlers, the pages, the admin
// API and the `hearth` command all call these functions; none re-implements
// them.
//
// It lives under identity because an account is who someone is on this
// server (a DID, a handle, the credentials that prove it), and because both
// the HTTP face (package xrpc) and the pages (package web, which never
// imports xrpc) must reach it. It is the one identity package that composes
// the layers below it: store for the data file, repo for the first and last
// commit, blob for the blobs a deleted account leaves, and identity/plc for
// the DID. It knows nothing of HTTP: no http.Request comes in, and errors go
// out as sentinels (errors.Is) that the callers map to their own words —
// XRPC error names in xrpc, sentences in web.
//
// Each change lands in one store transaction together with the firehose
// event that announces it (through the Events interface) and the mail that
// carries its code (through the Mailer interface). Nothing here sends mail
// or talks to a relay inline.
//
// Emailed tokens look like the reference PDS's (XXXXX-XXXXX, upper-case
// base32), last 15 minutes, are single-use, and are bound to one account and
// one purpose: an account has one live token per purpose, and a new request
// replaces the old one.
//
// Verify keeps the access tokens whose signature it checked, by their
// bytes, so a client's every request is not parsed and HMACed again; the
// claims still meet the clock on every use, and Current looks the session
// up anew, so ending a session ends its tokens at once.
package account
