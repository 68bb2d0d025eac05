//go:build !linux

package ssh

import (
	"os"
	"time"
)

// fileStamp identifies a version of a file without reading it (size and
// modification time only: the inode and change time are read on Linux).
type fileStamp struct {
	size  int64
	mtime int64 // ns
}

func stampOf(fi os.FileInfo) fileStamp {
	return fileStamp{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
}

// changed is when the file last changed, as far as its stamp tells.
func (s fileStamp) changed() time.Time { return time.Unix(0, s.mtime) }
