// Package repo holds atproto repositories: signed v3 commits over a Merkle
// Search Tree of records, the writer that applies a batch of record
// operations in one store transaction, the diff each commit produces, CAR
// export and import, and the check of a record proof fetched from another
// PDS (VerifyRecordProof: signed commit, MST path, record block).
//
// A write loads only the MST nodes on the paths it touches, signs a new
// commit with a rev that always increases, stores the new blocks, deletes the
// blocks the commit made unreachable (so the repo bucket holds exactly the
// reachable blocks and a full export is a scan of it), and returns a Commit
// describing the change: new blocks, removed CIDs, the operations with their
// previous CIDs, prevData, and the sync 1.1 covering proof a relay needs to
// invert the operations. A Writer remembers the data root of each commit
// it signs, so the next write on that repository starts from it without
// decoding the head commit again.
//
// Sub-packages hold the parts: cid (content identifiers), dagcbor (the data
// model), syntax (NSIDs, record keys, TIDs, AT-URIs…), mst (the tree) and
// car (the file format).
package repo
