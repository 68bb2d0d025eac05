package ssh

import (
	"os"
	"syscall"
	"time"
)

// fileStamp identifies a version of a file without reading it. The change
// time is part of it because, unlike the modification time, no tool sets it.
type fileStamp struct {
	size         int64
	mtime, ctime int64 // ns
	dev, ino     uint64
}

func stampOf(fi os.FileInfo) fileStamp {
	s := fileStamp{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		s.ctime = st.Ctim.Nano()
		s.dev, s.ino = uint64(st.Dev), st.Ino
	}
	return s
}

// changed is when the file last changed, as far as its stamp tells.
func (s fileStamp) changed() time.Time { return time.Unix(0, max(s.mtime, s.ctime)) }
