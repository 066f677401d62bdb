// Package oauth makes Hearth an OAuth authorization server for atproto
// apps, and holds the token check its resource server (package xrpc)
// applies to every route and the proxy.
//
// What lives where:
//
//   - server.go: the metadata documents, /oauth/jwks, lifetimes, the key
//     that signs access tokens (meta "oauth-signing-key", P-256).
//   - par.go, authorize.go, token.go: pushed authorization requests (PKCE
//     S256 only, each code_challenge once), the page-facing calls Pending,
//     Approve and Deny (package web shows the sign-in and consent), the
//     token endpoint (one-time codes, rotating refresh tokens: a spent one
//     coming back ends its grant) and revocation, which authenticates
//     the client as the token endpoint does, refuses another client's
//     token, and ends the whole grant whichever token it names.
//   - device.go: the accounts that signed in on each browser (by the
//     hash of its device cookie, which each password sign-in replaces),
//     for the sign-in page's account chooser;
//     prompt (none, login, consent, select_account) is kept from PAR for
//     the page, and Refuse answers login_required or consent_required.
//   - dpop.go: DPoP proofs (ES256 only; typ, jwk, htm, htu against the
//     public URL, iat window, jti replay cache, ath) and server nonces.
//   - client.go, clientauth.go: client metadata fetched from the client_id
//     URL through the guarded egress client (no redirects, 64 KiB, 5 s),
//     validated and cached; loopback development clients; private_key_jwt.
//   - scope.go, allow.go: scopes parsed into Permissions (data), include:
//     permission sets (a set grants only within its own namespace;
//     unknown entries are ignored), and Allows, the one rule every call
//     is checked against.
//   - sets.go, sets_record.go: permission sets beyond the embedded
//     lexicons, resolved at PAR over the network (DNS TXT
//     _lexicon.<authority>, the DID document, the com.atproto.lexicon.schema
//     record at its PDS) and cached in memory (not when the PAR gave up
//     first). The record is fetched with com.atproto.sync.getRecord and
//     believed only as its CAR proves it (repo.VerifyRecordProof): a commit
//     of that DID signed by the document's #atproto key, the MST path to
//     com.atproto.lexicon.schema/<nsid>, the record block under the CID the
//     tree names, strict DAG-CBOR; within 64 KiB and 64 blocks. One that
//     does not resolve or prove is an invalid_scope, and so is a scope
//     naming more than maxNetworkSets of them.
//     Requests and grants keep the scope expanded (Permissions.Expanded),
//     so the resource server resolves nothing and a grant keeps what was
//     approved.
//
// Access tokens are ES256 JWTs (typ at+jwt) whose cnf.jkt binds them to
// the client's DPoP key and whose jti names their grant; the resource
// server looks the grant up at each call, so a revocation is immediate.
// All state lives in the bbolt file (store/oauth.go, store/doc.go) but the
// DPoP replay cache and the nonce key, which are in memory: a restart
// changes the nonce key, so no proof made before it verifies after it.
package oauth
