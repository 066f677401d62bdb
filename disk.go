package main

import (
	"fmt"
	"syscall"

	"github.com/hearth-pds/hearth/web"
)

// Thresholds of the disk warnings.
const (
	lowDiskFraction = 0.10    // warn under 10% free…
	lowDiskBytes    = 1 << 30 // …or under 1 GiB free
	// arm32FileLimit is about the largest bbolt file a 32-bit ARM process
	// can map (armv6/armv7): the address space is 4 GiB, and the map must
	// be one piece of it.
	arm32FileLimit  = 2 << 30
	fileLimitWarnAt = 0.75
)

// diskHealth reads the free space of the data folder's file system and
// sets the file-size limit of this platform, with a warning in words for
// each that is close to its end.
func diskHealth(dir string, fileBytes int64, goarch string) web.DiskStatus {
	d := web.DiskStatus{FileBytes: fileBytes}
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err == nil {
		d.Free, d.Total = int64(st.Bavail)*int64(st.Bsize), int64(st.Blocks)*int64(st.Bsize)
		if d.Total > 0 && (float64(d.Free) < lowDiskFraction*float64(d.Total) || d.Free < lowDiskBytes) {
			d.Warnings = append(d.Warnings, fmt.Sprintf(
				"The disk of the data folder is nearly full: %s free of %s. When it fills, posts and uploads fail until space is freed; remove other files or move Hearth to a larger disk.",
				sizeWords(d.Free), sizeWords(d.Total)))
		}
	}
	if goarch == "arm" {
		d.FileLimit = arm32FileLimit
		if float64(fileBytes) >= fileLimitWarnAt*float64(d.FileLimit) {
			d.Warnings = append(d.Warnings, fmt.Sprintf(
				"The data file is %s, close to the %s a 32-bit ARM system can open. Compact it (hearth compact), or move to a 64-bit system (arm64).",
				sizeWords(fileBytes), sizeWords(d.FileLimit)))
		}
	}
	return d
}
