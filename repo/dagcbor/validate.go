package dagcbor

// Validate reports whether data is exactly one strict DAG-CBOR item.
// TODO(helper): replace with the full strict walker.
func Validate(data []byte) error { return nil }
