// Package mst is the Merkle Search Tree of an atproto repository: an
// ordered map from repo paths (collection/rkey) to record CIDs whose shape,
// and so whose root CID, depends only on its contents.
//
// A key's layer is the number of leading zero bits of SHA-256(key) divided
// by two (fan-out about 4). Nodes are loaded lazily through a BlockGetter:
// reads and writes touch only the nodes on their paths. Commit reports the
// new node blocks and the CIDs of nodes that left the tree, so the store can
// hold exactly the reachable blocks. Proof and CoveringProof give the nodes a
// consumer needs to check a key, or to invert a commit's operations (sync
// 1.1). Verify checks a whole tree from untrusted blocks.
//
// A Cache (Tree.UseCache) keeps decoded nodes by CID across trees, so that
// each write to a repository does not read and decode again the path the
// previous one made; a CID names its bytes, so one cache serves every tree.
// Nodes are encoded by hand (the shape is fixed), held to the generic
// DAG-CBOR encoder by a test.
package mst
