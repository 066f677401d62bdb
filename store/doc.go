// Package store is Hearth's single bbolt file: its bucket layout, typed
// access to it, and the group commit that lets many writers share one fsync.
//
// Everything a PDS keeps lives here, so that one read-write transaction can
// change a repository, its record index, its blob references and the event
// that announces the change, and land all of it or none of it.
//
// Bucket layout (keys are bytes; "‖" is concatenation):
//
//	meta                      server-wide settings and secrets, by name ("jwt-secret",
//	                          "plc-rotation-key", "seq": the last event number in files
//	                          from before a bucket's sequence held it,
//	                          "mail.last-error": the mail sender's last failure)
//	accounts/<did>            Account (JSON): handle, email, password hash, signing key, status
//	handles/<handle>          did, lower-case handle index
//	emails/<email>            did, lower-case email index
//	refresh/<id>              RefreshToken (JSON): server-side refresh sessions
//	apppass/<did>‖0x00‖<name> AppPassword (JSON)
//	invites/<code>            InviteCode (JSON)
//	prefs/<did>               app.bsky preferences (JSON array), kept on the PDS
//	subjects/<did>‖0x00‖<kind>[‖0x00‖<id>] Subject (JSON): an admin takedown of a
//	                          repo, a record (id collection/rkey) or a blob (id CID)
//	tokens/<did>‖0x00‖<purpose> EmailToken (JSON): the one live emailed code of
//	                          that purpose (confirm_email, reset_password, …)
//	events/<seq>              uvarint(len did) ‖ did ‖ unix ns (8) ‖ encoded firehose frame;
//	                          seq is 8 bytes big-endian so a cursor replay is one Seek. New
//	                          events wait in the journal until its replay (events.go)
//	lastseq                   empty; its sequence is the last event number issued (the
//	                          events bucket's sequence, in files from before, may be larger)
//	blobs/<cid>               blob Meta (JSON): chunk id, size, type, takedown (package blob)
//	blobchunks/<id>/<batch>/<n> blob bytes in 256 KiB chunks: a bucket per blob (id, 8 bytes) and per
//	                          upload batch (n/4), n 4 bytes big-endian; files from before hold
//	                          blobchunks/<id>‖<n> (read and deleted where they are, see blob/chunks.go)
//	blobowners/<did>‖0‖<cid>  Owner (JSON): reference count, temporary or not, first rev
//	blobmissing/<did>‖0‖<cid> missing (JSON): reference count and a record of a blob
//	                          an imported repo uses that is not uploaded yet (package blob)
//	blobpending/<id>          unix seconds: an upload in progress, swept if it never finishes
//	outbox/<id>               Mail (JSON): a mail not yet delivered, with its attempts and
//	                          next try; id is 8 bytes big-endian from NextSequence, so a
//	                          scan is the order mails were queued (package account/mail)
//	moves/<did>               move state (JSON, package identity/account/move): an account
//	                          being brought here from another host — the step reached,
//	                          record and blob counts, the last error, and the old host's
//	                          access and refresh tokens, which a resume needs; the tokens
//	                          are dropped when the move ends
//	certs/<key>               what HEARTH_TLS=auto caches (CertCache, an autocert.Cache):
//	                          "acme_account+key" the ACME account key, "<domain>" the
//	                          certificate chain and its private key, PEM; autocert names
//	                          the keys, and an ECDSA certificate's key has no suffix
//	oauthreq/<id>             OAuthRequest (JSON): a pushed authorization request (PAR), its
//	                          client, redirect, scope, PKCE challenge and DPoP key thumbprint;
//	                          once approved, the account's DID (package xrpc/oauth)
//	oauthcode/<sha256(code)>  request id: a one-time authorization code, deleted when used
//	oauthgrant/<id>           OAuthGrant (JSON): one app's session on one account — scope,
//	                          DPoP key thumbprint, hard end, key of the live refresh token
//	oauthrefresh/<sha256(rt)> grant id: the one live refresh token of each grant (hex keys)
//	oauthgrantof/<did>‖0x00‖<id> empty: the grants of an account ("Connected apps")
//	oauthpkce/<sha256(cc)>    unix seconds (8 bytes): a code_challenge seen, refused if reused
//	oauthremember/<did>‖0x00‖<client_id> scope an account approved and asked to remember
//	oauthspent/<sha256(rt)>   grant id: a rotated refresh token, kept while its grant lives so
//	                          that a replay ends the grant (the newest MaxSpentRefresh of each)
//	oauthspentof/<id>‖0x00‖<sha256(rt)> sequence (8 bytes; empty in older files): the spent
//	                          refresh tokens of a grant, oldest forgotten first
//	oauthdevice/<sha256(device)>‖0x00‖<did> unix nanoseconds (8 bytes): when the account last
//	                          signed in on that browser (the sign-in page's account chooser)
//	plc/<did>‖0x00‖<n>        the local PLC directory of a trial (package identity/plc/plclocal):
//	                          operation n (4 bytes big-endian) of did, as the JSON it accepted,
//	                          checked against the ones before it; empty outside a trial
//	journal/<n>               a block put or delete of a commit, not yet in its repo's blocks
//	                          bucket: op (1 put, 2 delete) ‖ uvarint len ‖ did ‖ uvarint len ‖
//	                          cid ‖ (put) rev ‖ block bytes; or an event not yet in the events
//	                          bucket: 3 ‖ uvarint len ‖ did ‖ uvarint 8 ‖ seq ‖ unix ns (8) ‖
//	                          frame; n is 8 bytes big-endian, in order.
//	                          Replayed into the blocks buckets and emptied every 4096 ops
//	                          or so, at Open and at Close (journal.go)
//	repos/<did>/              one nested bucket per hosted repository
//	    head                  key in the repo bucket: root CID (36 bytes) ‖ rev (13-byte TID)
//	    blocks/<cid>          rev (13 bytes) ‖ block bytes; the rev is the commit that
//	                          first wrote the block, so "export since rev" is a scan
//	    records/<coll>/<rkey> record CID (36 bytes); a cursor scan lists a collection
//	    refs/<cid>            uvarint count of record paths whose value is that CID,
//	                          kept only above one (a stored record block without an
//	                          entry has one); the block is deleted at zero
//
// CIDs are stored in their 36-byte binary form. The package imports nothing
// else of Hearth's, so it speaks in bytes and strings; package repo gives
// them meaning.
//
// Tx.Account keeps each account decoded beside the exact bytes it came from
// and reuses it only while the file still holds those bytes: every
// authenticated request loads its account, and the cache can never be
// stale.
//
// Update runs its function in a group commit: while one bbolt transaction
// is being committed, further calls queue and are then applied together in
// the next transaction, one fsync for all of them. The caller that finds
// no transaction under way runs the queue itself (group.go), so a lone
// write never waits on another goroutine. A function may run more than
// once (when another function in its group fails), and must have no
// effects outside the transaction. After a commit, disk blocks are
// reserved past the file's end with fallocate (reserve_linux.go), so the
// pages bbolt next grows into are not allocated during an fsync.
//
// A commit's repository blocks go through the block journal (journal.go):
// appended in order to one bucket and replayed into the CID-keyed blocks
// buckets every few thousand ops, keeping only each block's last op, so
// that the MST blocks the next commit replaces are never written where
// they would scatter a write over the file. Repo's reads see the journal
// and the buckets as one; Open and Close replay what is left. New events
// go the same way, so a write does not rewrite the events bucket's last
// leaf, which holds only a few frames; Events reads the bucket, then the
// journal of its transaction's snapshot. DB.LastSeq gives the last event
// number committed without a transaction; the store's commit handler sets
// it before the ones that publish a transaction's events run, so a
// subscriber woken by the first of them knows how far behind it is.
package store
