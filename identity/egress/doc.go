// Package egress is the one road out: every outbound HTTP request Hearth
// makes (handle and DID resolution, the PLC directory, the XRPC proxy, the
// relay crawler, later OAuth client metadata) goes through a client from a
// Factory.
//
// The guard sits in the dialer's Control function, which runs after DNS
// and just before connect(2), once per address tried. So it sees the
// address actually dialed — for every redirect hop and every DNS answer,
// including a public-looking name whose records point at 10.0.0.1 or
// 169.254.169.254 — and refuses it before a packet leaves. Checking the
// text of a URL cannot do that. Outside development mode (Options.AllowPrivate)
// only public unicast addresses are dialed; see IsPublic for the ranges.
//
// In development mode only, Options.Hosts (HEARTH_DEV_RESOLVE) answers for
// some names in place of DNS, in the dialer, so every hop of every fetch
// sees it: an end-to-end test serves a confidential OAuth client from
// loopback under a name like client.test, which the client library
// insists on. Outside development mode New ignores it and says so.
//
// Each use of the network asks for its own client (Use): its total time
// limit, its response-size limit and how many redirects it follows. The
// clients of one Factory share one transport and its idle connections. An
// answer that arrives after its request's deadline is refused as a timeout:
// net/http's transport can hand one over when it races the cancellation.
//
// Errors of a fetch carry the address and the reason a connection failed,
// which is a map of the local network to whoever chose the URL. Redact logs
// that detail and returns an error whose text says only that the fetch
// failed; callers branch on it with errors.Is.
//
// The package lives under identity because identity resolution is its first
// user and identity may import nothing of Hearth above it; xrpc, plc and the
// relay crawler import it from there.
package egress
