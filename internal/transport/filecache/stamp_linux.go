package filecache

import (
	"io/fs"
	"syscall"
)

// StampOf is the Stamp of the file fi describes. The change time is part of
// it because, unlike the modification time, no tool sets it; the inode tells
// a replaced file (rename over it) from a rewritten one.
func StampOf(fi fs.FileInfo) Stamp {
	s := Stamp{exists: true, size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		s.ctime = st.Ctim.Nano()
		s.dev, s.ino = uint64(st.Dev), st.Ino
	}
	return s
}
