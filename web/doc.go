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
// account page the account's own password (never an app password). Pages
// carry a strict Content-Security-Policy, forms a CSRF token, and POSTs must
// be same-origin.
package web
