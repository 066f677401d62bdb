package lexicon

import (
	"embed"
	"io/fs"
)

// The official schemas (com.atproto, app.bsky, chat.bsky, tools.ozone),
// copied unchanged from the atproto repository with their licenses.
//
//go:embed schemas
var schemasFS embed.FS

// Default returns a catalog of the embedded official schemas.
func Default() (*Catalog, error) {
	sub, err := fs.Sub(schemasFS, "schemas")
	if err != nil {
		return nil, err
	}
	c := NewCatalog()
	if err := c.LoadFS(sub); err != nil {
		return nil, err
	}
	return c, nil
}
