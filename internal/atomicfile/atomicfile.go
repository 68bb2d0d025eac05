// Package atomicfile writes a file so that readers see the old content or the
// new, never a part: a temporary file beside the target (a rename is atomic
// only within one file system), written, given its mode, synced, renamed over
// the target, and the directory synced so the rename survives a crash. Plans,
// reports, merged reports and metrics files are all written this way.
package atomicfile

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
)

// Write writes data to path atomically with mode perm.
func Write(path string, data []byte, perm os.FileMode) error {
	return Stream(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// Stream writes what write produces to path atomically with mode perm, through
// a buffer (a 10,000-host plan is ~17 MB: not worth holding twice). The
// temporary file starts with a dot and never ends like the target, so
// collectors that read a directory (node_exporter's *.prom) skip it. On error
// the target is untouched and the temporary file removed.
func Stream(path string, perm os.FileMode, write func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err = f.Chmod(perm); err != nil { // before any byte: a 0600 file is never readable by others
		return err
	}
	bw := bufio.NewWriterSize(f, 256<<10)
	if err = write(bw); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync() // make the rename durable; not every file system supports it
		d.Close()
	}
	return nil
}
