package lexicon

import "embed"

// The official schemas of the com.atproto, app.bsky, chat.bsky and
// tools.ozone namespaces (and the few others upstream keeps under com),
// copied unchanged from the atproto repository with their licences; see
// schemas/SOURCE.md.
//
//go:embed schemas
var schemasFS embed.FS

// Default returns a new catalog of the embedded official schemas. It
// parses each the first time it is asked for, and keeps it; a schema that
// does not parse is an error at its lookup (TestDefault loads them all).
// Each catalog parses its own, so a caller may Add to its catalog without
// affecting anyone else's.
func Default() (*Catalog, error) {
	c := NewCatalog()
	c.src, c.dir = schemasFS, "schemas"
	return c, nil
}
