// Package move brings an account here from another PDS (bsky.social or any
// host), server-side, for a person who only has a browser: the steps goat
// and the Bluesky migration guide take, run by a Runner.
//
// The Runner is an XRPC client of the old host, through clients of
// identity/egress with a time and size limit per kind of call (JSON
// answers, the repository CAR, each blob), and it calls package account
// directly for the local side. The steps, in order (see Steps):
//
//	resolve the handle → DID → the old PDS (identity/resolve)
//	old createSession (with the sign-in code if the old host asks for one)
//	old getServiceAuth(aud = this server, lxm = createAccount) → account.Service.Create
//	old sync.getRepo streamed into account.Service.Import
//	each missing blob (blob.ListMissing): old sync.getBlob → blob.Store.Upload
//	old app.bsky.actor.getPreferences → stored here
//	old identity.requestPlcOperationSignature (the old host mails a code)
//	old identity.signPlcOperation with that code and RecommendedCredentials
//	  → account.Service.SubmitPLCOperation
//	account.Service.Activate, and the relays asked to crawl
//	old server.deactivateAccount
//	the check: records and blobs on both sides, the DID document pointing here
//
// Each step's outcome is stored, with counts and the last error, in the
// data file (store bucket moves, one JSON State per DID), so a move resumes
// where it was after an interruption or a restart (Resume). Every step is
// safe to run again. The old host's access and refresh tokens are stored
// too, since a resume needs them, and dropped when the move ends. The old
// password and the mailed codes are never stored: a restart before the
// account exists here asks for the password again, and one while the
// identity code is pending asks the old host for a new code.
//
// Start refuses, with a sentence and nothing made or stored, what cannot
// work: an unknown handle, a wrong password, a handle or email already
// used here. Later failures stop the move on its step with a sentence
// (State.Error) until Retry.
package move
