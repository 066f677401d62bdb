package web

// DiskStatus is the room left for the data: the free space of the data
// folder's file system, and the data file against this platform's limit.
type DiskStatus struct {
	Free, Total int64
	FileBytes   int64
	// FileLimit is the largest data file this platform can open (about
	// 2 GiB on 32-bit ARM); 0 when it is bounded only by the disk.
	FileLimit int64
	// Warnings are sentences for the owner, each with a next step.
	Warnings []string
}
