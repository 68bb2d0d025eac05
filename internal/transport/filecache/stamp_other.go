//go:build !linux

package filecache

import "io/fs"

// StampOf is the Stamp of the file fi describes: size and modification time
// only (the change time and inode are read on Linux).
func StampOf(fi fs.FileInfo) Stamp {
	return Stamp{exists: true, size: fi.Size(), mtime: fi.ModTime().UnixNano()}
}
