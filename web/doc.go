// Package web is Hearth's appliance face: the first-run setup wizard, the
// owner's status page and the account page where any account here manages
// itself, embedded in the binary (HTML, CSS and a little JavaScript; every
// form works without it).
//
// It does not import the XRPC layer. It declares the few operations it needs
// as the Backend interface, which main.go implements. The account page calls
// the account service (identity/account) through Backend.Accounts at each
// request, and turns its refusals into sentences in one place (sentence.go).
// The wizard is locked by a one-time setup code printed to the daemon's log;
// the status page needs the owner's password or the admin password; the
// account page the account's own password (never an app password). The
// status page holds the admin's powers too (admin.go): take down and lift,
// reset a password, delete an account (never the owner's), invite codes,
// and asking the relays to crawl now. The move page (move.go) drives the
// account mover (identity/account/move) for "Bring my account here"; the
// wizard (wizard.go) offers a local trial, and its address step sets how
// HTTPS is served (TLSChoice, checked and stored by the backend), which
// the HTTPS page (admin_https.go) changes after setup through the same
// check, naming a stored choice that failed to start; the
// status page's cards and charts (cards.go, charts.go) say in words what is
// fine and what needs the owner, down to the public certificate's end and
// each account a relay holds out of step (relays_accounts.go). The OAuth sign-in and consent page and the account page's
// Connected apps (oauth.go) call the authorization server (xrpc/oauth)
// through the OAuth interface, which main.go adapts; its account chooser
// (oauth_device.go) offers the accounts that signed in on this browser,
// known by a device cookie, and honours the app's prompt and login_hint.
// Pages carry a strict
// Content-Security-Policy, forms a CSRF token, and POSTs must be
// same-origin.
//
// Page sessions (session.go) cost nothing until they step up: an anonymous
// visitor's cookie is signed with a key made at each start and names no
// stored state, so a flood of GET /login keeps nothing in memory. Entering
// the setup code, making the owner, and each accepted password keep the
// session under a fresh id; the id from before is worth nothing after.
// Kept sessions are found with one map read and swept once a minute; a
// restart signs everyone out.
package web
